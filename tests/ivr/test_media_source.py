"""Issue 13, item 6: a call hears only the negotiated address *and port*, one SSRC at a time.

Integration: the real ``MediaEngine`` on the loop, one worker media port, real UDP senders on
loopback — all callers on one host share the address, as after a worker restart, when call A's
caller still sends to the port call B was given.
"""

from __future__ import annotations

import asyncio
import socket

import pytest

from ivr.sip import g711
from ivr.sip.leg import CallLeg, LegAudio
from ivr.sip.media import PCMU, MediaEngine, RtpStream, playback_for
from ivr.sip.rtp import RTP_HEADER

pytestmark = pytest.mark.integration

A_VOICE = bytes([0x10]) * 160  # call A's caller: a loud, distinctive μ-law byte
B_VOICE = bytes([0xF0]) * 160


def _packet(sequence: int, ssrc: int, payload: bytes) -> bytes:
    return RTP_HEADER.pack(0x80, PCMU, sequence, sequence * 160, ssrc) + payload


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _sender() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    return sock


async def _heard(leg: CallLeg, expected: int) -> list[bytes]:
    frames: list[bytes] = []
    async with asyncio.timeout(2):
        while len(frames) < expected:
            event = await leg.events.get()
            if isinstance(event, LegAudio):
                frames.append(event.pcm16)
                leg.audio_taken()
    await asyncio.sleep(0.05)  # anything else that would arrive
    while not leg.events.empty():
        event = leg.events.get_nowait()
        if isinstance(event, LegAudio):
            frames.append(event.pcm16)
    return frames


async def _open_call(engine: MediaEngine, remote: tuple[str, int]) -> tuple[CallLeg, RtpStream]:
    leg = CallLeg(asyncio.get_running_loop(), "call-b", "13800000000", "12320")
    stream = RtpStream(
        leg, playback_for(leg, PCMU), ("127.0.0.1", _free_port()), remote, PCMU, frozenset()
    )
    engine.open(stream)
    leg.listen(True)
    return leg, stream


async def test_a_stale_stream_from_the_same_host_never_reaches_the_new_call() -> None:
    engine = MediaEngine(asyncio.get_running_loop())
    stale, caller = _sender(), _sender()  # same address, different ports
    try:
        leg, stream = await _open_call(engine, caller.getsockname())
        for sequence in range(20):  # interleaved, as two live streams arrive
            stale.sendto(_packet(sequence, 0xAAAA, A_VOICE), stream.local)
            caller.sendto(_packet(sequence, 0xBBBB, B_VOICE), stream.local)
        frames = await _heard(leg, 20)
        assert frames == [g711.ulaw_decode(B_VOICE)] * 20
        assert stream.stats.foreign == 20
    finally:
        await engine.stop()
        stale.close()
        caller.close()


async def test_a_second_ssrc_from_the_negotiated_source_is_ignored_while_the_first_lives() -> None:
    engine = MediaEngine(asyncio.get_running_loop())
    caller = _sender()
    try:
        leg, stream = await _open_call(engine, caller.getsockname())
        for sequence in range(10):
            caller.sendto(_packet(sequence, 0xBBBB, B_VOICE), stream.local)
            caller.sendto(_packet(sequence, 0xAAAA, A_VOICE), stream.local)
        frames = await _heard(leg, 10)
        assert frames == [g711.ulaw_decode(B_VOICE)] * 10
        assert stream.stats.foreign_ssrc == 10
    finally:
        await engine.stop()
        caller.close()


async def test_a_re_invite_moves_the_source_and_the_old_one_is_no_longer_heard() -> None:
    engine = MediaEngine(asyncio.get_running_loop())
    old, new = _sender(), _sender()
    try:
        leg, stream = await _open_call(engine, old.getsockname())
        stream.follow(new.getsockname())
        for sequence in range(5):
            old.sendto(_packet(sequence, 0xAAAA, A_VOICE), stream.local)
            new.sendto(_packet(sequence, 0xCCCC, B_VOICE), stream.local)
        assert await _heard(leg, 5) == [g711.ulaw_decode(B_VOICE)] * 5
    finally:
        await engine.stop()
        old.close()
        new.close()


async def test_key_events_from_another_port_of_the_callers_address_still_count() -> None:
    """SIPp's pcap player (and some gateways) send RFC 4733 events from a second socket."""
    from ivr.sip.leg import LegDigit

    engine = MediaEngine(asyncio.get_running_loop())
    caller, keys = _sender(), _sender()
    try:
        leg = CallLeg(asyncio.get_running_loop(), "call-b", "13800000000", "12320")
        stream = RtpStream(leg, playback_for(leg, PCMU), ("127.0.0.1", _free_port()),
                           caller.getsockname(), PCMU, frozenset({101}))  # fmt: skip
        engine.open(stream)
        for sequence, end in enumerate((0x0A, 0x0A, 0x8A)):  # key 1: two updates, the end
            event = bytes([1, end, 0, 160])
            keys.sendto(RTP_HEADER.pack(0x80, 101, sequence, 1000, 0xDDDD) + event, stream.local)
        keys.sendto(_packet(9, 0xDDDD, A_VOICE), stream.local)  # audio from there: not heard
        async with asyncio.timeout(2):
            event = await leg.events.get()
        assert event == LegDigit("1")
        await asyncio.sleep(0.05)
        assert stream.stats.foreign == 1
    finally:
        await engine.stop()
        caller.close()
        keys.close()
