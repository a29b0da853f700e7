"""Blind transfer (REFER) from the SIP adapter, against real peers on loopback.

baresip is the caller (it carries out the REFER), Kamailio the edge (it turns
the context embedded in Refer-To into headers and enforces the ring timeout),
and a scripted phone registered as ``120`` plays the dedicated line.
"""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ivr.sip.pyvoip_adapter import CallLeg, LegAudio, LegEnded, LegTransfer, SipFrontEnd
from tests.e2e.conftest import make_wav
from tests.e2e.peers import Baresip, Kamailio, free_port, require, wait_for
from tests.e2e.sip_phone import ScriptedPhone

pytestmark = pytest.mark.e2e

CONTEXT = {"X-Hotline-Order": "12320-20261123-00007", "X-Hotline-Category": "emergency"}


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    require("kamailio", "baresip", "sox")
    kamailio = Kamailio(tmp_path_factory.mktemp("edge"), workers=(free_port(),))
    kamailio.start()
    yield kamailio
    kamailio.stop()


@pytest.fixture
async def transfer_run(edge: Kamailio, tmp_path: Path) -> AsyncIterator:  # type: ignore[type-arg]
    """Runs one call that is transferred to 120 as soon as it is answered."""
    outcome: dict[str, list[object]] = {"events": []}

    async def on_call(leg: CallLeg) -> None:
        leg.transfer(f"sip:120@127.0.0.1:{edge.port}", outcome["headers"])  # type: ignore[arg-type]
        async with asyncio.timeout(20):
            while True:
                event = await leg.events.get()
                if isinstance(event, LegAudio):
                    leg.audio_taken()
                    continue
                outcome["events"].append(event)
                if isinstance(event, LegTransfer) and event.stage == "answered":
                    leg.hangup()
                if isinstance(event, LegTransfer) and event.stage == "failed":
                    leg.hangup()
                if isinstance(event, LegEnded):
                    return

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        low = s.getsockname()[1] & ~1
    (worker_port,) = edge.workers  # the edge dispatches calls to 12320 there
    front = SipFrontEnd(
        loop=asyncio.get_running_loop(), on_call=on_call, proxy=("127.0.0.1", edge.port),
        listen=("127.0.0.1", worker_port), username="12320", rtp_ports=(low, low + 10),
    )  # fmt: skip
    await asyncio.to_thread(front.start)
    await asyncio.to_thread(
        wait_for, lambda: _dispatcher_state(edge, worker_port) == "up", 10, "the edge's probe"
    )
    silence = make_wav(tmp_path / "silence.wav", ["-n"], ["trim", "0", "60"])

    async def run(behaviour: str, headers: dict[str, str]) -> tuple[list[object], ScriptedPhone]:
        outcome["headers"] = headers  # type: ignore[assignment]
        phone = await asyncio.to_thread(lambda: ScriptedPhone.at(edge, "120", behaviour))
        caller = Baresip(tmp_path / f"caller-{behaviour}", user="13800138000",
                         proxy_port=edge.port, audio_source=silence)  # fmt: skip
        await asyncio.to_thread(caller.start)
        try:
            await asyncio.to_thread(caller.command, "dial", f"sip:12320@127.0.0.1:{edge.port}")
            async with asyncio.timeout(25):
                while not any(isinstance(e, LegEnded) for e in outcome["events"]):  # noqa: ASYNC110
                    await asyncio.sleep(0.1)  # the events come from the SIP threads
        finally:
            await asyncio.to_thread(caller.stop)
            await asyncio.to_thread(phone.stop)
        return outcome["events"], phone

    yield run
    await asyncio.to_thread(front.stop)
    await asyncio.to_thread(  # so that the next test's worker is seen coming up
        wait_for, lambda: _dispatcher_state(edge, worker_port) == "down", 10, "the edge's probe"
    )


def _dispatcher_state(edge: Kamailio, port: int) -> str | None:
    """``up`` or ``down``: how the edge's dispatcher last saw the worker on ``port``."""
    states = re.findall(rf"IVR worker sip:(?:\w+@)?127\.0\.0\.1:{port} (up|down)", edge.log())
    return states[-1] if states else None


async def test_refer_reaches_the_line_with_context_headers_and_the_ivr_leg_ends(
    transfer_run,  # type: ignore[no-untyped-def]
) -> None:
    events, phone = await transfer_run("answer", CONTEXT)
    stages = [e.stage for e in events if isinstance(e, LegTransfer)]
    assert stages[0] == "accepted" and stages[-1] == "answered"
    assert isinstance(events[-1], LegEnded) and events[-1].reason == "local"
    (invite,) = phone.invites
    assert invite.startswith("INVITE sip:120@")
    assert "?" not in invite.split("\r\n", 1)[0]  # the edge moved the context into headers
    assert phone.header_values("X-Hotline-Order") == ["12320-20261123-00007"]
    assert phone.header_values("X-Hotline-Category") == ["emergency"]
    assert "13800138000" in phone.header_values("From")[0]


async def test_a_busy_line_is_reported_as_a_failed_transfer(transfer_run) -> None:  # type: ignore[no-untyped-def]
    events, _ = await transfer_run("busy", CONTEXT)
    failed = [e for e in events if isinstance(e, LegTransfer) and e.stage == "failed"]
    assert [e.code for e in failed] == [486]


async def test_the_edge_enforces_the_ring_timeout(transfer_run) -> None:  # type: ignore[no-untyped-def]
    # Without the header the edge's default INVITE timer (60 s) would outlast the run's 25 s.
    events, phone = await transfer_run("ring", {**CONTEXT, "X-Hotline-Ring-Timeout": "2"})
    failed = [e for e in events if isinstance(e, LegTransfer) and e.stage == "failed"]
    assert [e.code for e in failed] == [408]
    assert any(r.startswith("CANCEL") for r in phone.requests)  # the line stopped ringing
