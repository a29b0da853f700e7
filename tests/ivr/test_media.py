"""The media engine: prompts encoded once, law-correct silence, an absolute pacing schedule.

The pacing test runs the real engine on the loop with a real UDP receiver.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import socket
import struct
import time

import pytest

from ivr.sip import g711
from ivr.sip.leg import CallLeg
from ivr.sip.media import (
    FRAME_BYTES,
    FRAME_SECONDS,
    PCMA,
    PCMU,
    MediaEngine,
    Playback,
    RtpStream,
    _encoded,
    playback_for,
)
from ivr.sip.rtp import parse_rtp

pytestmark = pytest.mark.integration

TONE = b"".join(
    struct.pack("<h", int(12000 * math.sin(2 * math.pi * 440 * i / 8000))) for i in range(8000)
)


@pytest.mark.parametrize(
    ("law", "encode"), [(PCMU, g711.ulaw_encode), (PCMA, g711.alaw_encode)], ids=["PCMU", "PCMA"]
)
def test_a_prompt_is_encoded_once_per_law(law: int, encode) -> None:
    first = _encoded.encode(TONE, law)
    assert first == encode(TONE)
    assert _encoded.encode(TONE, law) is first  # the second call (another call's) is a lookup
    other = PCMA if law == PCMU else PCMU
    assert _encoded.encode(TONE, other) != first


def test_equal_audio_in_another_object_is_encoded_from_its_own_bytes() -> None:
    copy = bytes(bytearray(TONE))
    assert copy is not TONE
    assert _encoded.encode(copy, PCMU) == _encoded.encode(TONE, PCMU)


@pytest.mark.parametrize(
    ("law", "silence"), [(PCMU, g711.ULAW_SILENCE), (PCMA, g711.ALAW_SILENCE)], ids=["PCMU", "PCMA"]
)
def test_frames_are_sliced_from_the_encoded_prompt_and_padded_with_the_laws_silence(
    law: int, silence: int
) -> None:
    done: list[tuple[object, bool]] = []
    playback = Playback(law, lambda token, stopped: done.append((token, stopped)))
    assert playback.read_payload() == bytes([silence]) * FRAME_BYTES
    pcm = TONE[: 2 * 400]  # 400 samples: two and a half frames
    playback.append(pcm, "prompt")
    frames = [playback.read_payload() for _ in range(3)]
    assert all(len(frame) == FRAME_BYTES for frame in frames)
    encoded = (g711.alaw_encode if law == PCMA else g711.ulaw_encode)(pcm)
    assert b"".join(frames) == encoded + bytes([silence]) * 80
    assert done == [("prompt", False)]


async def test_the_pacer_keeps_its_schedule_through_a_stall() -> None:
    """Tick n is due at start + n × 20 ms: after the loop stalled, the missed frames go out at
    once, in sequence; nothing drifts and no sequence number is skipped."""
    loop = asyncio.get_running_loop()
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    receiver.setblocking(False)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        local = probe.getsockname()
    leg = CallLeg(loop, "pacing", "1", "2")
    stream = RtpStream(
        leg, playback_for(leg, PCMU), local, receiver.getsockname(), PCMU, frozenset({101})
    )
    engine = MediaEngine(loop)
    start = loop.time()
    engine.open(stream)
    await asyncio.sleep(0.2)
    time.sleep(0.1)  # noqa: ASYNC251 - the loop stalls on purpose (less than MAX_LATE_SECONDS)
    await asyncio.sleep(0.2)
    elapsed = loop.time() - start
    await engine.stop()
    due = elapsed / FRAME_SECONDS
    assert stream.stats.sent + stream.stats.late_ticks == pytest.approx(due, abs=3)
    sequences = []
    while True:
        try:
            data = receiver.recv(2048)
        except BlockingIOError:
            break
        packet = parse_rtp(data)
        assert packet is not None and packet.payload == bytes([g711.ULAW_SILENCE]) * FRAME_BYTES
        sequences.append(packet.sequence)
    receiver.close()
    assert len(sequences) == stream.stats.sent
    assert all((b - a) & 0xFFFF == 1 for a, b in itertools.pairwise(sequences))


async def test_a_due_tick_goes_out_from_the_receive_path_before_its_timer() -> None:
    """300 calls' packets arrive together; the tick must not wait for all their callbacks."""
    loop = asyncio.get_running_loop()
    caller = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    caller.bind(("127.0.0.1", 0))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        local = probe.getsockname()
    leg = CallLeg(loop, "due", "1", "2")
    stream = RtpStream(
        leg, playback_for(leg, PCMU), local, caller.getsockname(), PCMU, frozenset({101})
    )
    engine = MediaEngine(loop)
    engine.open(stream)
    await asyncio.sleep(0.05)
    sent = stream.stats.sent
    engine._due = loop.time()  # the next tick is due; its timer has not fired yet
    caller.sendto(b"\x80\x00" + bytes(10) + b"\xff" * 160, local)
    stream.on_readable()  # as the loop calls it for the arriving packet
    assert stream.stats.received == 1
    assert stream.stats.sent == sent + 1
    await engine.stop()
    caller.close()
