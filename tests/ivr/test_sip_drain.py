"""Draining a worker at the SIP layer: real pyVoIP threads, a scripted edge on loopback."""

from __future__ import annotations

import asyncio
import threading
import uuid

import pytest

from tests.ivr import test_pyvoip_adapter as adapter_tests
from tests.ivr.sip_peer import Received, invite
from tests.ivr.test_pyvoip_adapter import Harness, _answered_call, _free_udp

pytestmark = pytest.mark.integration

harness = adapter_tests.harness  # the adapter tests' fixture: a SipFrontEnd behind a scripted edge


def _options(proxy_port: int) -> tuple[str, str]:
    call_id = uuid.uuid4().hex
    text = (
        "OPTIONS sip:127.0.0.1 SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:{proxy_port};branch=z9hG4bK{uuid.uuid4().hex[:12]}\r\n"
        "From: <sip:dispatcher@localhost>;tag=probe1\r\n"
        "To: <sip:127.0.0.1>\r\n"
        f"Call-ID: {call_id}\r\n"
        "CSeq: 10 OPTIONS\r\n"
        "Max-Forwards: 70\r\n"
        "Content-Length: 0\r\n\r\n"
    )
    return text, call_id


async def _reply(h: Harness, call_id: str, method: str) -> Received:
    return await asyncio.to_thread(
        h.proxy.wait,
        lambda m: (
            m.start.startswith("SIP/2.0") and call_id in m.text and method in m.header("CSeq")
        ),
        5,
        f"a reply to {method}",
    )


async def test_probes_get_200_then_503_while_draining(harness: Harness) -> None:
    text, call_id = _options(harness.proxy.port)
    harness.proxy.send(text)
    assert (await _reply(harness, call_id, "OPTIONS")).start == "SIP/2.0 200 OK"
    harness.front.drain()
    text, call_id = _options(harness.proxy.port)
    harness.proxy.send(text)
    reply = await _reply(harness, call_id, "OPTIONS")
    assert reply.start == "SIP/2.0 503 Service Unavailable"
    assert "tag=" in reply.header("To")


async def test_draining_refuses_new_calls_and_keeps_the_one_in_progress(harness: Harness) -> None:
    rtp, _, _ = await _answered_call(harness)
    assert harness.front.calls_in_progress() == 1
    harness.front.drain()
    text, new_call = invite(harness.proxy.port, rtp_port=_free_udp())
    harness.proxy.send(text)
    refused = await _reply(harness, new_call, "INVITE")
    assert refused.start == "SIP/2.0 503 Service Unavailable"
    await asyncio.sleep(1.5)  # pyVoIP would answer 1 s after a 180: nothing may follow
    harness.proxy.poll(0.2)
    assert [m.start for m in harness.proxy.inbox if new_call in m.text] == [refused.start]
    assert all(leg.sip_call_id != new_call for leg in harness.legs)
    # The call in progress still runs: its audio keeps coming.
    rtp.settimeout(3)
    assert rtp.recvfrom(2048)[0]
    assert harness.front.calls_in_progress() == 1
    rtp.close()


async def test_the_socket_is_read_on_the_loop_as_soon_as_the_worker_has_registered(
    harness: Harness,
) -> None:
    """pyVoIP handed the socket to the loop from a ``threading.Timer`` a second after
    registering: probes went unanswered for that second, and for ever when the monotonic
    clock is shifted (libfaketime: ``faketime '2026-12-04 20:00:00' bash .ci/run``)."""
    assert not [t.name for t in threading.enumerate() if t.name == "SIP Recieve"]
    text, call_id = _options(harness.proxy.port)
    harness.proxy.send(text)
    assert (await _reply(harness, call_id, "OPTIONS")).start == "SIP/2.0 200 OK"
