"""RTP for every call of a worker on the event loop: one socket per call, one pacer for all.

pyVoIP runs three polling threads per call and falls behind past ~50 calls
(``shared/docs/pyvoip-notes.md``). Here each call's socket is a plain
non-blocking UDP socket watched by the loop (``add_reader``), and a single timer
sends the next 20 ms frame of every stream on an absolute schedule, so the cost
per call is one packet out and one in per 20 ms — no threads, no polling.

The work per packet is kept small because it is done 50 times a second per call
(profiled in ``bench/README.md``): prompts are G.711-encoded once, when they are
queued, so the pacer only slices 160 bytes, adds a 12-byte header and calls
``sendto``; received audio is decoded only while the session listens, and
handed to the call without waking the loop through its self-pipe.

Received audio and digits go to the call's ``CallLeg`` directly (we are on its
loop). Hostile packets are dropped, never fatal.

Whose packets a call hears: only those from the exact address *and port* of the
caller's SDP (issue 13, item 6). Comparing the address alone let a stale stream
— call A's caller, still sending to a port a restarted worker gave to call B —
into B's recording, because on one host (a trunk, the edge, a gateway) every
caller has the same address. We do not latch on the first packet (symmetric RTP
for callers behind NAT): our callers reach us through the edge or a trunk that
states the media address it uses, and a latch would give the port to whoever
sends first. Within the negotiated source, the stream's SSRC is locked on its
first packet; a packet with another SSRC is ignored unless the locked one has
been silent for ``SSRC_SWITCH_SECONDS`` (a sender that restarted its stream), so
two streams interleaved on one source never mix. Key events (RFC 4733) alone are also
taken from another port of the SDP's address, for senders that send them from a second
socket (SIPp's pcap player does); audio from there is not.
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
from collections.abc import Callable
from dataclasses import dataclass, field

from ivr.sip import g711
from ivr.sip.leg import CallLeg, LegDigit, LegPlayed
from ivr.sip.rtp import RTP_HEADER, DtmfDetector, PlaybackBuffer, parse_rtp

log = logging.getLogger("ivr.media")

FRAME_SECONDS = 0.020
FRAME_BYTES = 160  # one 20 ms frame of G.711
PCMU, PCMA = 0, 8
MAX_LATE_SECONDS = 0.2  # later than this, the pacer resynchronises instead of catching up
MAX_DATAGRAM = 4096
_ENCODED_CACHE_BYTES = 32 * 2**20
SSRC_SWITCH_SECONDS = 1.0  # the locked SSRC silent this long: a new one may take over
_SSRC = slice(8, 12)


@dataclass
class StreamStats:
    sent: int = 0
    received: int = 0
    bad: int = 0
    foreign: int = 0  # from another address or port than the SDP's
    foreign_ssrc: int = 0  # from the SDP's source, but not the stream the call locked on
    late_ticks: int = 0  # ticks skipped because the pacer was more than MAX_LATE_SECONDS late
    send_errors: int = 0  # packets the kernel refused (e.g. a full socket buffer)


class _EncodedCache:
    """G.711 encodings of the PCM most recently played, by object identity.

    Prompts are the same ``bytes`` objects for every call (the prompt library
    keeps them), so each is encoded once per law rather than once per call. The
    cache keeps the PCM it was given alive, so an ``id`` cannot be reused while
    its entry exists; it empties itself past ``_ENCODED_CACHE_BYTES``.
    """

    def __init__(self) -> None:
        self._entries: dict[tuple[int, int], tuple[bytes, bytes]] = {}
        self._bytes = 0

    def encode(self, pcm16: bytes, payload_type: int) -> bytes:
        key = (id(pcm16), payload_type)
        entry = self._entries.get(key)
        if entry is not None and entry[0] is pcm16:
            return entry[1]
        encoded = (g711.alaw_encode if payload_type == PCMA else g711.ulaw_encode)(pcm16)
        if self._bytes + len(pcm16) > _ENCODED_CACHE_BYTES:
            self._entries.clear()
            self._bytes = 0
        self._entries[key] = (pcm16, encoded)
        self._bytes += len(pcm16)
        return encoded


_encoded = _EncodedCache()


class Playback:
    """A call's outgoing audio, already in the call's G.711 law (``CallLeg``'s ``_Media``).

    Used on the event loop: the session appends prompts, the pacer reads frames.
    """

    def __init__(self, payload_type: int, on_segment_done: Callable[[object, bool], None]):
        self.payload_type = PCMA if payload_type == PCMA else PCMU
        silence = g711.ALAW_SILENCE if self.payload_type == PCMA else g711.ULAW_SILENCE
        self.buffer = PlaybackBuffer(on_segment_done, frame_bytes=FRAME_BYTES, filler=silence)

    def append(self, pcm16: bytes, token: object = None) -> None:
        self.buffer.append(_encoded.encode(pcm16, self.payload_type), token)

    def clear(self) -> None:
        self.buffer.clear()

    def pending(self) -> bool:
        return self.buffer.pending()

    def read_payload(self) -> bytes:
        """The next 160 bytes of G.711 (silence when nothing is queued)."""
        return self.buffer.read_frame()


def playback_for(leg: CallLeg, payload_type: int) -> Playback:
    """The buffer a call's prompts go into; its segment ends become ``LegPlayed``."""
    return Playback(payload_type, lambda token, stopped: leg._post(LegPlayed(token, stopped)))


@dataclass(eq=False)
class RtpStream:
    """One call's RTP: what to send (``playback``) and where received packets go (``leg``)."""

    leg: CallLeg
    playback: Playback
    local: tuple[str, int]
    remote: tuple[str, int]
    payload_type: int  # PCMU or PCMA, the caller's preference among what we support
    event_types: frozenset[int]  # telephone-event payload types offered
    stats: StreamStats = field(default_factory=StreamStats)

    def __post_init__(self) -> None:
        self._dtmf = DtmfDetector()
        self._sock: socket.socket | None = None
        self._engine: MediaEngine | None = None
        self._ssrc = random.getrandbits(32)
        self._sequence = random.getrandbits(16)
        self._timestamp = random.getrandbits(32)
        self._second_octet = self.payload_type & 0x7F
        self._peer_ssrc: bytes | None = None  # locked on the first packet from ``remote``
        self._peer_seen = 0.0  # loop time of the locked stream's last packet

    def follow(self, remote: tuple[str, int]) -> None:
        """A re-INVITE moved the caller's media: hear the new source, lock its SSRC anew."""
        self.remote = remote
        self._peer_ssrc = None

    def _from_peer(self, data: bytes, addr: tuple[str, int], now: float) -> bool:
        """Whether a datagram belongs to this call: the SDP's address and port, one SSRC.

        From the SDP's address but another port only RFC 4733 key events are taken: some
        senders (SIPp's pcap player, a few gateways) send them from a second socket, and
        a key is worth keeping; a voice from another port is never heard."""
        if (addr[0], addr[1]) != self.remote:
            if addr[0] == self.remote[0] and len(data) > 1 and data[1] & 0x7F in self.event_types:
                return True
            self.stats.foreign += 1
            return False
        ssrc = data[_SSRC]
        if ssrc != self._peer_ssrc and len(ssrc) == 4:
            if self._peer_ssrc is not None and now - self._peer_seen < SSRC_SWITCH_SECONDS:
                self.stats.foreign_ssrc += 1
                return False
            self._peer_ssrc = ssrc
        self._peer_seen = now
        return True

    def attach(self, sock: socket.socket, engine: MediaEngine) -> None:
        self._sock = sock
        self._engine = engine

    # -- receiving: the loop calls this when the socket is readable --
    def on_readable(self) -> None:
        if self._sock is None or self._engine is None:
            return
        self._engine.tick_if_due()
        if self._sock is None:  # closed by the tick (a send failed)
            return
        try:
            data, addr = self._sock.recvfrom(MAX_DATAGRAM)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            log.debug("RTP socket error on %s: %s", self.local, exc)
            return
        if not self._from_peer(data, addr, self._engine.loop.time()):
            return
        self.stats.received += 1
        if len(data) > RTP_HEADER.size and (data[1] & 0x7F) in (PCMU, PCMA):
            if not self.leg.wants_audio:
                return  # the caller's audio while nobody listens: not even parsed
            if data[0] == 0x80:  # the usual packet: version 2, no padding, extension or CSRC
                self._audio(data[1] & 0x7F, data[RTP_HEADER.size :])
                return
        try:
            self._handle(data)
        except Exception:  # one bad packet must never end the call's audio
            self.stats.bad += 1
            log.exception("RTP packet dropped")

    def _handle(self, data: bytes) -> None:
        packet = parse_rtp(data)
        if packet is None:
            self.stats.bad += 1
            return
        if packet.payload_type in self.event_types:
            key = self._dtmf.feed(packet)
            if key is not None:
                self.leg._post(LegDigit(key))
        elif packet.payload_type in (PCMU, PCMA):
            self._audio(packet.payload_type, packet.payload)
        else:
            self.stats.bad += 1

    def _audio(self, payload_type: int, payload: bytes) -> None:
        if self.leg.wants_audio:
            decode = g711.ulaw_decode if payload_type == PCMU else g711.alaw_decode
            self.leg._audio(decode(payload))

    # -- sending, called by the engine's pacer --
    def send_next(self) -> None:
        if self._sock is None:
            return
        packet = (
            RTP_HEADER.pack(0x80, self._second_octet, self._sequence, self._timestamp, self._ssrc)
            + self.playback.read_payload()
        )
        self._sequence = (self._sequence + 1) & 0xFFFF
        self._timestamp = (self._timestamp + FRAME_BYTES) & 0xFFFFFFFF
        try:
            self._sock.sendto(packet, self.remote)
        except OSError:  # full buffer, unreachable: this frame is lost, the next one goes
            self.stats.send_errors += 1
            return
        self.stats.sent += 1

    def close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()
        self.playback.clear()


class MediaEngine:
    """All RTP streams of one worker process, paced by one timer on ``loop``.

    ``open`` and ``close`` are called on the loop.

    Tick n is due at start + n × 20 ms, whenever the previous one ran, so the
    rate never drifts: a late tick is followed at once by the ticks it missed.
    Only after a stall of more than ``MAX_LATE_SECONDS`` (a suspended process)
    does the schedule restart from now instead of bursting the whole backlog.
    A tick runs from its timer, or earlier from ``tick_if_due`` — called for
    every received packet, so that a long batch of I/O callbacks (300 calls'
    packets arrive together) does not hold the tick back until it ends.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.streams: set[RtpStream] = set()
        self.resyncs = 0
        self._due = 0.0
        self._timer: asyncio.Handle | None = None

    def open(self, stream: RtpStream) -> RtpStream:
        """Bind ``stream.local`` and start sending; raises ``OSError`` if the port is taken."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.setblocking(False)
            sock.bind(stream.local)
            self.loop.add_reader(sock.fileno(), stream.on_readable)
        except BaseException:
            sock.close()
            raise
        stream.attach(sock, self)
        self.streams.add(stream)
        if self._timer is None:
            self._due = self.loop.time()
            self._timer = self.loop.call_soon(self._tick)
        return stream

    def close(self, stream: RtpStream) -> None:
        if stream in self.streams:
            self.streams.discard(stream)
            if stream._sock is not None:
                self.loop.remove_reader(stream._sock.fileno())
        stream.close()

    async def stop(self) -> None:
        for stream in list(self.streams):
            self.close(stream)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def tick_if_due(self) -> None:
        if self._timer is not None and self.loop.time() >= self._due:
            self._timer.cancel()
            self._tick()

    def _tick(self) -> None:
        """Send one frame per stream for every tick due by now, then wait for the next."""
        self._timer = None
        if not self.streams:
            return  # the next open() starts a new schedule
        now = self.loop.time()
        if now - self._due > MAX_LATE_SECONDS:
            self.resyncs += 1
            skipped = int((now - self._due) / FRAME_SECONDS)
            for stream in self.streams:
                stream.stats.late_ticks += skipped
            self._due = now
        while self._due <= now:
            for stream in tuple(self.streams):
                try:
                    stream.send_next()
                except Exception:
                    log.exception("RTP send failed; stream closed")
                    self.close(stream)
            self._due += FRAME_SECONDS
        self._timer = self.loop.call_at(self._due, self._tick)
