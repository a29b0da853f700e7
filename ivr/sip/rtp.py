"""RTP pieces the pyVoIP adapter needs, written so they can be tested alone.

* ``parse_rtp`` never raises on hostile input: it returns ``None`` (pyVoIP's
  receive thread died on a 1-byte packet, an empty event payload or an event
  code above 15).
* ``DtmfDetector`` turns RFC 4733 telephone-event packets into single key
  presses. A key is one event *timestamp*: the sender repeats packets (and the
  three end packets) with the same timestamp, and not every sender sets the
  marker bit, so the timestamp — not the marker — identifies a new key.
* ``PlaybackBuffer`` holds the caller's outgoing audio as segments so that a
  prompt can be cut off (barge-in) and each prompt's end can be reported.
"""

from __future__ import annotations

import struct
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

RTP_HEADER = struct.Struct("!BBHII")
FRAME_SAMPLES = 160  # 20 ms at 8 kHz
FRAME_BYTES_PCM16 = FRAME_SAMPLES * 2
DTMF_KEYS = "0123456789*#ABCD"


@dataclass(frozen=True, slots=True)
class RtpPacket:
    payload_type: int
    marker: bool
    sequence: int
    timestamp: int
    ssrc: int
    payload: bytes


def parse_rtp(packet: bytes) -> RtpPacket | None:
    """Parse an RTP packet (RFC 3550); ``None`` for anything malformed."""
    if len(packet) < RTP_HEADER.size:
        return None
    first, second, sequence, timestamp, ssrc = RTP_HEADER.unpack_from(packet)
    if first >> 6 != 2:
        return None
    offset = RTP_HEADER.size + 4 * (first & 0x0F)
    if first & 0x10:  # header extension: 16-bit profile, 16-bit length in words
        if len(packet) < offset + 4:
            return None
        (words,) = struct.unpack_from("!H", packet, offset + 2)
        offset += 4 + 4 * words
    end = len(packet)
    if first & 0x20:  # padding: the last octet counts the padding octets, itself included
        if end <= offset or packet[-1] == 0:
            return None
        end -= packet[-1]
    if end < offset:
        return None
    return RtpPacket(
        payload_type=second & 0x7F,
        marker=bool(second & 0x80),
        sequence=sequence,
        timestamp=timestamp,
        ssrc=ssrc,
        payload=packet[offset:end],
    )


def build_rtp(
    payload_type: int,
    sequence: int,
    timestamp: int,
    ssrc: int,
    payload: bytes,
    marker: bool = False,
) -> bytes:
    """One RTP packet; sequence and timestamp wrap instead of overflowing."""
    second = (0x80 if marker else 0) | (payload_type & 0x7F)
    header = RTP_HEADER.pack(0x80, second, sequence & 0xFFFF, timestamp & 0xFFFFFFFF, ssrc)
    return header + payload


@dataclass(frozen=True, slots=True)
class TelephoneEvent:
    key: str
    end: bool
    duration: int


def parse_telephone_event(payload: bytes) -> TelephoneEvent | None:
    """RFC 4733 §2.3 event payload; ``None`` if short or not a DTMF event (0–15)."""
    if len(payload) < 4:
        return None
    code = payload[0]
    if code >= len(DTMF_KEYS):
        return None
    (duration,) = struct.unpack_from("!H", payload, 2)
    return TelephoneEvent(key=DTMF_KEYS[code], end=bool(payload[1] & 0x80), duration=duration)


class DtmfDetector:
    """Reports each key once, on the first packet of its event.

    An event is identified by (SSRC, timestamp, key): a sender repeats packets of
    one event with the same timestamp, and a new key — even one replayed with
    the same timestamp, as some test tools do — is a new event.
    """

    def __init__(self) -> None:
        self._last: tuple[int, int, str] | None = None

    def feed(self, packet: RtpPacket) -> str | None:
        event = parse_telephone_event(packet.payload)
        if event is None:
            return None
        identity = (packet.ssrc, packet.timestamp, event.key)
        if identity == self._last:
            return None
        self._last = identity
        return event.key


class PlaybackBuffer:
    """Outgoing audio in segments; thread-safe (filled by the session, read by the pacer).

    A frame is ``frame_bytes`` long (20 ms of 16-bit PCM by default; the media engine
    keeps 160 bytes of G.711 per frame, encoded once per prompt) and a short one is
    padded with ``filler`` bytes (silence).

    ``on_segment_done(token, stopped)`` is called from the reading thread when a
    segment has been read completely, or from ``clear()`` for every dropped one.
    """

    def __init__(
        self,
        on_segment_done: Callable[[object, bool], None] | None = None,
        *,
        frame_bytes: int = FRAME_BYTES_PCM16,
        filler: int = 0,
    ) -> None:
        self._segments: deque[tuple[memoryview, object]] = deque()
        self._position = 0
        self._lock = threading.Lock()
        self._on_segment_done = on_segment_done
        self._frame_bytes = frame_bytes
        self._silence = bytes([filler]) * frame_bytes

    def append(self, data: bytes, token: object = None) -> None:
        with self._lock:
            self._segments.append((memoryview(data), token))

    def clear(self) -> None:
        with self._lock:
            dropped = [token for _, token in self._segments]
            self._segments.clear()
            self._position = 0
        for token in dropped:
            self._notify(token, stopped=True)

    def pending(self) -> bool:
        with self._lock:
            return bool(self._segments)

    def read_frame(self) -> bytes:
        """The next frame; silence-padded, never blocks."""
        size = self._frame_bytes
        with self._lock:
            if not self._segments:
                return self._silence
            data, token = self._segments[0]
            start = self._position
            if len(data) - start > size:  # the common case: inside one segment
                self._position = start + size
                return data[start : start + size].tobytes()
            out = bytearray()
            finished: list[object] = []
            while len(out) < size and self._segments:
                data, token = self._segments[0]
                take = min(size - len(out), len(data) - self._position)
                out += data[self._position : self._position + take]
                self._position += take
                if self._position >= len(data):
                    self._segments.popleft()
                    self._position = 0
                    finished.append(token)
        for token in finished:
            self._notify(token, stopped=False)
        if len(out) < size:
            out += self._silence[: size - len(out)]
        return bytes(out)

    def _notify(self, token: object, stopped: bool) -> None:
        if self._on_segment_done is not None and token is not None:
            self._on_segment_done(token, stopped)
