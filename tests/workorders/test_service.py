"""The whole service: in-process (API → outbox → MQTT) and as ``python -m workorders.service``."""

from __future__ import annotations

import asyncio
import json
import signal
import stat
import sys
from pathlib import Path

import aiohttp
import aiomqtt
import pytest

from tests.workorders.peers import free_port, running_mosquitto, wait_until
from workorders.service import run_service

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("no_asyncio_errors")]

ORDER = {"caller_number": "13800138000", "category": "consult", "menu_path": ["1"]}


async def test_an_order_posted_to_the_api_pops_on_mqtt(tmp_path: Path) -> None:
    http_port, mqtt_port = free_port(), free_port()
    token_file = tmp_path / "secrets" / "admin-token"
    ready = asyncio.Event()
    async with (
        running_mosquitto(mqtt_port, tmp_path / "broker"),
        aiomqtt.Client("127.0.0.1", mqtt_port, identifier="test-subscriber") as subscriber,
    ):
        await subscriber.subscribe("hotline/pops/#", qos=1)
        service = asyncio.create_task(
            run_service(
                f"sqlite+aiosqlite:///{tmp_path / 'var' / 'hotline.db'}",
                "127.0.0.1",
                http_port,
                "127.0.0.1",
                mqtt_port,
                token_file,
                ready=ready,
            )
        )
        try:
            async with asyncio.timeout(10):
                await ready.wait()
            ivr_token = (tmp_path / "secrets" / "ivr-token").read_text().strip()
            async with aiohttp.ClientSession(f"http://127.0.0.1:{http_port}") as http:
                response = await http.post(
                    "/api/v1/workorders",
                    json=ORDER,
                    headers={"Authorization": f"Bearer {ivr_token}", "Idempotency-Key": "k"},
                )
                assert response.status == 201
                number = (await response.json())["number"]
                admin = {"Authorization": f"Bearer {token_file.read_text().strip()}"}
                fetched = await http.get(f"/api/v1/workorders/{number}", headers=admin)
                assert fetched.status == 200
            async with asyncio.timeout(10):
                message = await anext(aiter(subscriber.messages))
            assert isinstance(message.payload, bytes)
            event = json.loads(message.payload)
            assert (str(message.topic), event["type"]) == ("hotline/pops/intake", "order.created")
            assert event["payload"]["order_number"] == number
            assert event["payload"]["category_label"] == "咨询"
        finally:
            service.cancel()
            [outcome] = await asyncio.gather(service, return_exceptions=True)
        assert isinstance(outcome, asyncio.CancelledError)
    for name in ("admin-token", "ivr-token"):
        assert stat.S_IMODE((tmp_path / "secrets" / name).stat().st_mode) == 0o600


@pytest.mark.parametrize("signal_number", [signal.SIGTERM, signal.SIGINT])
async def test_the_process_stops_cleanly_on_a_signal(tmp_path: Path, signal_number: int) -> None:
    http_port = free_port()
    command = [
        sys.executable,
        "-W",
        "error",
        "-m",
        "workorders.service",
        "--db",
        f"sqlite+aiosqlite:///{tmp_path / 'hotline.db'}",
        "--host",
        "127.0.0.1",
        "--port",
        str(http_port),
        "--mqtt-host",
        "127.0.0.1",
        "--mqtt-port",
        str(free_port()),  # no broker: the publisher keeps retrying, the API still serves
        "--token-file",
        str(tmp_path / "admin-token"),
    ]
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        async with aiohttp.ClientSession(f"http://127.0.0.1:{http_port}") as http:

            async def healthy() -> bool:
                try:
                    async with http.get("/healthz") as response:
                        return response.status == 200
                except aiohttp.ClientConnectionError:
                    return False

            await wait_until(healthy, seconds=30)
            token = (tmp_path / "admin-token").read_text().strip()
            auth = {"Authorization": f"Bearer {token}"}
            created = await http.post(
                "/api/v1/workorders", json=ORDER, headers={**auth, "Idempotency-Key": "k"}
            )
            assert created.status == 201
            listed = await http.get(
                "/api/v1/workorders", params={"caller": "13800138000"}, headers=auth
            )
            assert len((await listed.json())["items"]) == 1
        process.send_signal(signal_number)
        async with asyncio.timeout(20):
            _stdout, stderr_bytes = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    stderr = stderr_bytes.decode()
    assert process.returncode == 0, stderr
    assert "work-order service stopped" in stderr
    for trouble in (
        "Traceback",
        "Exception ignored",
        "Warning:",
        "never retrieved",
        "was never awaited",
        "destroyed but it is pending",
        "Unclosed",
    ):
        assert trouble not in stderr, stderr
    # Logs mention the caller only masked, and the access log leaves out ?caller=.
    assert "138****8000" in stderr
    assert "13800138000" not in stderr
