"""RTP for every call of a worker on the event loop: one socket per call, one pacer for all.

pyVoIP runs three polling threads per call and falls behind past ~50 calls
(``shared/docs/pyvoip-notes.md``). Here each call's socket is an asyncio
datagram endpoint, and a single task sends the next 20 ms frame of every
stream on an absolute schedule, so the cost per call is one packet out and one
in per 20 ms — no threads, no polling.

Received audio and digits go to the call's ``CallLeg`` directly (we are on its
loop). Hostile packets are dropped, never fatal; packets from any address but
the one in the SDP are ignored.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

from ivr.sip import g711
from ivr.sip.leg import CallLeg, LegDigit, LegPlayed
from ivr.sip.rtp import DtmfDetector, PlaybackBuffer, build_rtp, parse_rtp

log = logging.getLogger("ivr.media")

FRAME_SECONDS = 0.020
PCMU, PCMA = 0, 8


@dataclass
class StreamStats:
    sent: int = 0
    received: int = 0
    bad: int = 0
    foreign: int = 0
    late_ticks: int = 0


def playback_for(leg: CallLeg) -> PlaybackBuffer:
    """The buffer a call's prompts go into; its segment ends become ``LegPlayed``."""
    return PlaybackBuffer(lambda token, stopped: leg._post(LegPlayed(token, stopped)))


@dataclass(eq=False)
class RtpStream(asyncio.DatagramProtocol):
    """One call's RTP: what to send (``playback``) and where received packets go (``leg``)."""

    leg: CallLeg
    playback: PlaybackBuffer
    local: tuple[str, int]
    remote: tuple[str, int]
    payload_type: int  # PCMU or PCMA, the caller's preference among what we support
    event_types: frozenset[int]  # telephone-event payload types offered
    stats: StreamStats = field(default_factory=StreamStats)

    def __post_init__(self) -> None:
        self._encode: Callable[[bytes], bytes] = (
            g711.alaw_encode if self.payload_type == PCMA else g711.ulaw_encode
        )
        self._dtmf = DtmfDetector()
        self._transport: asyncio.DatagramTransport | None = None
        self._ssrc = random.getrandbits(32)
        self._sequence = random.getrandbits(16)
        self._timestamp = random.getrandbits(32)

    # -- asyncio.DatagramProtocol --
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        if addr[0] != self.remote[0]:
            self.stats.foreign += 1
            return
        self.stats.received += 1
        try:
            self._handle(data)
        except Exception:  # one bad packet must never end the call's audio
            self.stats.bad += 1
            log.exception("RTP packet dropped")

    def error_received(self, exc: Exception) -> None:
        log.debug("RTP socket error on %s: %s", self.local, exc)

    def _handle(self, data: bytes) -> None:
        packet = parse_rtp(data)
        if packet is None:
            self.stats.bad += 1
            return
        if packet.payload_type in self.event_types:
            key = self._dtmf.feed(packet)
            if key is not None:
                self.leg._post(LegDigit(key))
        elif packet.payload_type == PCMU:
            self.leg._audio(g711.ulaw_decode(packet.payload))
        elif packet.payload_type == PCMA:
            self.leg._audio(g711.alaw_decode(packet.payload))
        else:
            self.stats.bad += 1

    # -- sending, called by the engine's pacer --
    def send_next(self) -> None:
        if self._transport is None or self._transport.is_closing():
            return
        packet = build_rtp(
            self.payload_type,
            self._sequence,
            self._timestamp,
            self._ssrc,
            self._encode(self.playback.read_frame()),
        )
        self._transport.sendto(packet, self.remote)
        self._sequence = (self._sequence + 1) & 0xFFFF
        self._timestamp = (self._timestamp + 160) & 0xFFFFFFFF
        self.stats.sent += 1

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
        self.playback.clear()


class MediaEngine:
    """All RTP streams of one worker process, paced by one task on ``loop``."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.streams: set[RtpStream] = set()
        self._pacer: asyncio.Task[None] | None = None

    async def open(self, stream: RtpStream) -> RtpStream:
        """Bind ``stream.local`` and start sending; raises ``OSError`` if the port is taken."""
        await self.loop.create_datagram_endpoint(lambda: stream, local_addr=stream.local)
        self.streams.add(stream)
        if self._pacer is None or self._pacer.done():
            self._pacer = self.loop.create_task(self._pace(), name="rtp-pacer")
        return stream

    def close(self, stream: RtpStream) -> None:
        self.streams.discard(stream)
        stream.close()

    async def stop(self) -> None:
        for stream in list(self.streams):
            self.close(stream)
        if self._pacer is not None:
            self._pacer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pacer
            self._pacer = None

    async def _pace(self) -> None:
        """Send one frame per stream every 20 ms, on an absolute schedule."""
        next_tick = self.loop.time()
        while self.streams:
            for stream in list(self.streams):
                try:
                    stream.send_next()
                except Exception:
                    log.exception("RTP send failed; stream closed")
                    self.close(stream)
            next_tick += FRAME_SECONDS
            delay = next_tick - self.loop.time()
            if delay < -0.2:  # stalled (e.g. suspended): resynchronise instead of bursting
                for stream in self.streams:
                    stream.stats.late_ticks += 1
                next_tick = self.loop.time()
                delay = 0
            await asyncio.sleep(max(0.0, delay))
