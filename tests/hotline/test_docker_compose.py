"""``docker/compose.yaml``: valid Compose, and consistent with the configuration it mounts.

There is no Docker engine here. Validity is checked by Debian's ``docker-compose``
(``config -q``), or the ``docker compose`` plugin where installed, and by the
compose-spec JSON Schema that Debian's ``docker-compose`` package ships.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from hotline.edge import dispatcher_list
from hotline.workers import worker_count, worker_slots
from settings.node import load_settings

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
DOCKER = REPO / "docker"
COMPOSE = DOCKER / "compose.yaml"
COMPOSE_SPEC = Path("/usr/lib/python3/dist-packages/compose/config/compose_spec.json")


def compose() -> dict[str, Any]:
    return dict(yaml.safe_load(COMPOSE.read_text(encoding="utf-8")))


def _compose_command() -> list[str] | None:
    docker = shutil.which("docker")
    if (
        docker
        and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0
    ):
        return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


def test_docker_compose_accepts_the_file() -> None:
    command = _compose_command()
    if command is None:
        pytest.skip("neither `docker compose` nor docker-compose is installed (./dev installs it)")
    result = subprocess.run([*command, "-f", str(COMPOSE), "config", "-q"],
                            capture_output=True, text=True, cwd=REPO)  # fmt: skip
    assert result.returncode == 0, result.stderr


def test_the_file_matches_the_compose_spec_schema() -> None:
    if not COMPOSE_SPEC.exists():
        pytest.skip(f"{COMPOSE_SPEC} missing (apt-get install docker-compose)")
    schema = json.loads(COMPOSE_SPEC.read_text())  # its "$schema" URI is unknown to jsonschema
    jsonschema.Draft201909Validator(schema).validate(compose())


def _address(service: dict[str, Any]) -> str:
    return str(service["networks"]["hotline"]["ipv4_address"])


def test_the_edge_dispatches_to_exactly_the_workers_the_ivr_nodes_run() -> None:
    services = compose()["services"]
    edge = services["edge"]
    assert f"LISTEN=udp:{_address(edge)}:5060" in edge["command"]
    expected: list[tuple[str, int]] = []
    for name in ("ivr-1", "ivr-2"):
        service = services[name]
        config = service["command"][service["command"].index("--config") + 1]
        assert "--ivr-only" in service["command"]
        assert any(
            v.startswith(f"./{Path(config).relative_to('docker')}:") for v in service["volumes"]
        )
        settings = load_settings(REPO / config)
        assert settings.ivr.host == _address(service)  # its Contact and SDP address
        assert (settings.edge.host, settings.edge.port) == (_address(edge), 5060)
        assert (settings.api.host, settings.mqtt.host) == ("workorders", "mosquitto")
        slots = worker_slots(settings, worker_count(settings))
        expected += [(slot.host, slot.sip_port) for slot in slots]
        drain = settings.ivr.drain_seconds
        grace = int(re.fullmatch(r"(\d+)s", service["stop_grace_period"]).group(1))  # type: ignore[union-attr]
        assert grace > drain  # docker must not kill a draining node
    listed = [line.split()[:4] for line in (DOCKER / "kamailio/dispatcher.list").read_text()
              .splitlines() if line and not line.startswith("#")]  # fmt: skip
    assert listed == [line.split()[:4] for line in dispatcher_list(expected).splitlines()]


def test_the_python_image_is_debian_with_python_3_11_and_no_kamailio() -> None:
    dockerfile = (DOCKER / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim-bookworm$", dockerfile, re.MULTILINE)
    installs = " ".join(re.findall(r"apt-get install[^\n]*", dockerfile))
    assert "kamailio" not in installs
    edge = (DOCKER / "kamailio/Dockerfile").read_text()
    assert "kamailio" in edge and "COPY docker/kamailio/kamailio.cfg" in edge
