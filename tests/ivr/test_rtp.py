"""RTP helpers: hostile packets, wrapping counters, DTMF de-duplication, playback segments."""

from __future__ import annotations

import struct
import threading

import pytest

from ivr.sip.rtp import (
    FRAME_BYTES_PCM16,
    DtmfDetector,
    PlaybackBuffer,
    RtpPacket,
    TelephoneEvent,
    build_rtp,
    parse_rtp,
    parse_telephone_event,
)

pytestmark = pytest.mark.unit


def header(
    *,
    version: int = 2,
    padding: bool = False,
    extension: bool = False,
    csrc_count: int = 0,
    marker: bool = False,
    payload_type: int = 0,
    sequence: int = 7,
    timestamp: int = 1000,
    ssrc: int = 0xDEADBEEF,
) -> bytes:
    first = (version << 6) | (padding << 5) | (extension << 4) | csrc_count
    second = (marker << 7) | payload_type
    return struct.pack("!BBHII", first, second, sequence, timestamp, ssrc)


def extension_header(words: int, declared: int | None = None) -> bytes:
    return struct.pack("!HH", 0xBEDE, words if declared is None else declared) + bytes(4 * words)


# ----------------------------------------------------------------------------
# parse_rtp

HOSTILE = [
    pytest.param(b"", id="empty"),
    pytest.param(b"\x80", id="one-byte"),
    pytest.param(header()[:11], id="header-one-short"),
    pytest.param(header(version=0) + b"abc", id="version-0"),
    pytest.param(header(version=1) + b"abc", id="version-1"),
    pytest.param(header(version=3) + b"abc", id="version-3"),
    pytest.param(header(csrc_count=15) + b"\x00" * 8, id="csrc-count-beyond-packet"),
    pytest.param(header(csrc_count=1), id="csrc-list-cut-short"),
    pytest.param(header(extension=True) + b"\xbe\xde", id="extension-header-truncated"),
    pytest.param(
        header(extension=True) + struct.pack("!HH", 0xBEDE, 3) + bytes(4),
        id="extension-longer-than-packet",
    ),
    pytest.param(header(csrc_count=2, extension=True) + bytes(8), id="csrc-then-no-extension"),
    pytest.param(header(padding=True), id="padding-without-octets"),
    pytest.param(header(padding=True) + b"ab\x05", id="padding-larger-than-payload"),
    pytest.param(header(padding=True) + b"ab\xff", id="padding-255"),
    pytest.param(header(padding=True) + b"ab\x00", id="padding-count-zero"),
]


@pytest.mark.parametrize("packet", HOSTILE)
def test_hostile_packets_are_refused_without_raising(packet: bytes) -> None:
    assert parse_rtp(packet) is None


VALID = [
    pytest.param(header() + b"xyz", b"xyz", id="plain"),
    pytest.param(header(), b"", id="header-only"),
    pytest.param(header(csrc_count=2) + bytes(8) + b"xyz", b"xyz", id="csrc"),
    pytest.param(header(extension=True) + extension_header(2) + b"xyz", b"xyz", id="extension"),
    pytest.param(header(extension=True) + extension_header(0) + b"xyz", b"xyz", id="empty-ext"),
    pytest.param(header(padding=True) + b"xyz\x00\x00\x03", b"xyz", id="padding"),
    pytest.param(header(padding=True) + b"xyz\x01", b"xyz", id="padding-one"),
    pytest.param(header(padding=True) + b"\x01", b"", id="padding-is-whole-payload"),
    pytest.param(
        header(csrc_count=3, extension=True, padding=True)
        + bytes(12)
        + extension_header(1)
        + b"payload"
        + b"\x00\x00\x00\x04",
        b"payload",
        id="csrc+extension+padding",
    ),
]


@pytest.mark.parametrize(("packet", "payload"), VALID)
def test_valid_packets_yield_their_payload(packet: bytes, payload: bytes) -> None:
    parsed = parse_rtp(packet)
    assert parsed == RtpPacket(
        payload_type=0,
        marker=False,
        sequence=7,
        timestamp=1000,
        ssrc=0xDEADBEEF,
        payload=payload,
    )


def test_header_fields() -> None:
    packet = header(marker=True, payload_type=101, sequence=65535, timestamp=2**32 - 1, ssrc=1)
    parsed = parse_rtp(packet + b"\x01\x8a\x03\x20")
    assert parsed is not None
    assert (parsed.payload_type, parsed.marker, parsed.sequence) == (101, True, 65535)
    assert (parsed.timestamp, parsed.ssrc, parsed.payload) == (2**32 - 1, 1, b"\x01\x8a\x03\x20")


def test_every_truncation_of_a_valid_packet_is_safe() -> None:
    packet = (
        header(csrc_count=2, extension=True, padding=True)
        + bytes(8)
        + extension_header(2)
        + b"abcd"
        + b"\x00\x02"
    )
    assert parse_rtp(packet) is not None
    for length in range(len(packet)):
        parse_rtp(packet[:length])  # must not raise; the result may be None or a packet


# ----------------------------------------------------------------------------
# build_rtp


def test_build_then_parse_round_trips() -> None:
    packet = build_rtp(8, 513, 160_000, 0x01020304, b"\xd5" * 160, marker=True)
    assert len(packet) == 12 + 160
    assert packet[0] == 0x80  # version 2, no padding, no extension, no CSRC
    assert parse_rtp(packet) == RtpPacket(8, True, 513, 160_000, 0x01020304, b"\xd5" * 160)


@pytest.mark.parametrize(
    ("sequence", "timestamp", "wire_sequence", "wire_timestamp"),
    [
        (65535, 2**32 - 1, 65535, 2**32 - 1),
        (65536, 2**32, 0, 0),
        (65537, 2**32 + 160, 1, 160),
        (3 * 65536 + 5, 5 * 2**32 + 7, 5, 7),
    ],
)
def test_build_wraps_sequence_and_timestamp(
    sequence: int, timestamp: int, wire_sequence: int, wire_timestamp: int
) -> None:
    parsed = parse_rtp(build_rtp(0, sequence, timestamp, 42, b"x"))
    assert parsed is not None
    assert (parsed.sequence, parsed.timestamp) == (wire_sequence, wire_timestamp)


def test_build_masks_payload_type_to_seven_bits() -> None:
    parsed = parse_rtp(build_rtp(0x80 | 8, 1, 1, 1, b""))
    assert parsed is not None
    assert (parsed.payload_type, parsed.marker) == (8, False)


# ----------------------------------------------------------------------------
# parse_telephone_event


def event_payload(code: int, *, end: bool = False, volume: int = 10, duration: int = 800) -> bytes:
    return struct.pack("!BBH", code, (0x80 if end else 0) | volume, duration)


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b"", None),
        (b"\x01", None),
        (b"\x01\x0a\x03", None),
        (event_payload(16), None),
        (event_payload(100), None),
        (event_payload(255), None),
        (event_payload(0), TelephoneEvent("0", end=False, duration=800)),
        (event_payload(9, end=True, duration=1600), TelephoneEvent("9", end=True, duration=1600)),
        (event_payload(10), TelephoneEvent("*", end=False, duration=800)),
        (event_payload(11), TelephoneEvent("#", end=False, duration=800)),
        (event_payload(12, volume=63), TelephoneEvent("A", end=False, duration=800)),
        (event_payload(15, duration=65535), TelephoneEvent("D", end=False, duration=65535)),
        (event_payload(5, end=True, duration=0) + b"extra", TelephoneEvent("5", True, 0)),
    ],
)
def test_parse_telephone_event(payload: bytes, expected: TelephoneEvent | None) -> None:
    assert parse_telephone_event(payload) == expected


# ----------------------------------------------------------------------------
# DtmfDetector


def event_packet(
    code: int,
    timestamp: int,
    *,
    end: bool = False,
    marker: bool = False,
    ssrc: int = 1,
    sequence: int = 0,
    duration: int = 160,
) -> RtpPacket:
    payload = event_payload(code, end=end, duration=duration)
    return RtpPacket(101, marker, sequence, timestamp, ssrc, payload)


def key_press(code: int, timestamp: int, *, marker: bool, ssrc: int = 1) -> list[RtpPacket]:
    """One RFC 4733 event as senders emit it: updates, then the end packet three times."""
    packets = [
        event_packet(code, timestamp, marker=marker and n == 0, ssrc=ssrc, duration=160 * (n + 1))
        for n in range(5)
    ]
    packets += [event_packet(code, timestamp, end=True, ssrc=ssrc, duration=800)] * 3
    return packets


def feed_all(detector: DtmfDetector, packets: list[RtpPacket]) -> list[str]:
    return [key for key in map(detector.feed, packets) if key is not None]


@pytest.mark.parametrize("marker", [True, False], ids=["marker", "no-marker"])
def test_one_key_per_event_despite_repeats_and_three_end_packets(marker: bool) -> None:
    packets = key_press(1, 1000, marker=marker) + key_press(2, 3000, marker=marker)
    packets += key_press(3, 5000, marker=marker)
    assert feed_all(DtmfDetector(), packets) == ["1", "2", "3"]


def test_same_key_twice_is_two_presses() -> None:
    packets = key_press(5, 1000, marker=True) + key_press(5, 2600, marker=True)
    assert feed_all(DtmfDetector(), packets) == ["5", "5"]


def test_new_ssrc_with_the_same_timestamp_is_a_new_key() -> None:
    packets = key_press(7, 1000, marker=False, ssrc=1) + key_press(7, 1000, marker=False, ssrc=2)
    assert feed_all(DtmfDetector(), packets) == ["7", "7"]


def test_only_end_packets_received_still_counts_once() -> None:
    packets = [event_packet(11, 800, end=True)] * 3
    assert feed_all(DtmfDetector(), packets) == ["#"]


def test_non_dtmf_payloads_are_ignored_and_do_not_reset_the_key() -> None:
    detector = DtmfDetector()
    assert detector.feed(event_packet(4, 1000)) == "4"
    assert detector.feed(RtpPacket(101, False, 1, 1200, 1, b"\x01")) is None
    assert detector.feed(RtpPacket(101, False, 2, 1400, 1, event_payload(200))) is None
    assert detector.feed(event_packet(4, 1000, end=True)) is None
    assert detector.feed(event_packet(6, 2000)) == "6"


# ----------------------------------------------------------------------------
# PlaybackBuffer


class Recorder:
    def __init__(self) -> None:
        self.done: list[tuple[object, bool]] = []
        self._lock = threading.Lock()

    def __call__(self, token: object, stopped: bool) -> None:
        with self._lock:
            self.done.append((token, stopped))


def test_frames_are_always_320_bytes_and_silence_padded() -> None:
    recorder = Recorder()
    buffer = PlaybackBuffer(recorder)
    assert buffer.read_frame() == bytes(FRAME_BYTES_PCM16)
    buffer.append(b"\x01\x02" * 100, "short")
    frame = buffer.read_frame()
    assert len(frame) == FRAME_BYTES_PCM16
    assert frame == b"\x01\x02" * 100 + bytes(120)
    assert recorder.done == [("short", False)]
    assert not buffer.pending()


def test_segments_are_concatenated_across_frames_and_reported_in_order() -> None:
    recorder = Recorder()
    buffer = PlaybackBuffer(recorder)
    first, second, third = b"\x11" * 500, b"\x22" * 40, b"\x33" * 700
    buffer.append(first, "first")
    buffer.append(second, "second")
    buffer.append(third, "third")
    frames = [buffer.read_frame() for _ in range(5)]
    assert all(len(frame) == FRAME_BYTES_PCM16 for frame in frames)
    stream = first + second + third
    assert b"".join(frames) == stream + bytes(5 * FRAME_BYTES_PCM16 - len(stream))
    assert recorder.done == [("first", False), ("second", False), ("third", False)]


def test_a_token_is_reported_on_the_frame_that_finishes_it() -> None:
    recorder = Recorder()
    buffer = PlaybackBuffer(recorder)
    buffer.append(bytes(2 * FRAME_BYTES_PCM16), "two-frames")
    buffer.read_frame()
    assert recorder.done == []
    assert buffer.pending()
    buffer.read_frame()
    assert recorder.done == [("two-frames", False)]


def test_empty_segment_is_reported_when_reached() -> None:
    recorder = Recorder()
    buffer = PlaybackBuffer(recorder)
    buffer.append(b"", "marker")
    buffer.append(b"\x05" * 10, "after")
    assert buffer.read_frame() == b"\x05" * 10 + bytes(310)
    assert recorder.done == [("marker", False), ("after", False)]


def test_clear_reports_remaining_segments_as_stopped_in_order() -> None:
    recorder = Recorder()
    buffer = PlaybackBuffer(recorder)
    buffer.append(bytes(100), "done")
    buffer.append(bytes(1000), "partly-played")
    buffer.append(bytes(1000), "queued")
    buffer.read_frame()
    assert recorder.done == [("done", False)]
    buffer.clear()
    assert recorder.done == [("done", False), ("partly-played", True), ("queued", True)]
    assert not buffer.pending()
    assert buffer.read_frame() == bytes(FRAME_BYTES_PCM16)
    buffer.append(b"\x07" * 4, "fresh")  # the read position was reset by clear()
    assert buffer.read_frame()[:6] == b"\x07" * 4 + b"\x00\x00"
    assert recorder.done[-1] == ("fresh", False)


def test_none_tokens_are_never_reported() -> None:
    recorder = Recorder()
    buffer = PlaybackBuffer(recorder)
    buffer.append(bytes(10))
    buffer.append(bytes(10), None)
    buffer.append(bytes(10), "named")
    buffer.append(bytes(1000))
    buffer.read_frame()
    buffer.clear()
    assert recorder.done == [("named", False)]


def test_no_callback_is_fine() -> None:
    buffer = PlaybackBuffer()
    buffer.append(bytes(10), "x")
    buffer.read_frame()
    buffer.append(bytes(10), "y")
    buffer.clear()
    assert not buffer.pending()


def test_concurrent_writer_reader_and_clear_report_every_token_exactly_once() -> None:
    recorder = Recorder()
    buffer = PlaybackBuffer(recorder)
    segments = 3000
    writer_done = threading.Event()
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            for n in range(segments):
                buffer.append(bytes(1 + (n * 37) % 700), n)
                if n % 250 == 249:
                    buffer.clear()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            writer_done.set()

    def reader() -> None:
        try:
            while not writer_done.is_set() or buffer.pending():
                frame = buffer.read_frame()
                if len(frame) != FRAME_BYTES_PCM16:
                    raise AssertionError(f"frame of {len(frame)} bytes")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer), threading.Thread(target=reader)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []
    tokens = [token for token, _ in recorder.done]
    assert sorted(tokens) == list(range(segments))  # every token, exactly once
    finished = [token for token, stopped in recorder.done if not stopped]
    assert finished == sorted(finished)  # played segments complete in order


def test_dtmf_a_different_key_with_a_reused_timestamp_is_a_new_key() -> None:
    """Replayed captures (SIPp's play_pcap_audio) can reuse one timestamp for every key."""
    detector = DtmfDetector()
    one = parse_rtp(build_rtp(101, 1, 16000, 7, bytes([1, 0x0A, 0, 160])))
    hash_key = parse_rtp(build_rtp(101, 9, 16000, 7, bytes([11, 0x0A, 0, 160])))
    assert one is not None and hash_key is not None
    assert [detector.feed(one), detector.feed(one), detector.feed(hash_key)] == ["1", None, "#"]
