"""Reads tcpdump captures: the pacing of the RTP the IVR sent (capacity), and every UDP
datagram with its payload (the emergency benchmark finds digits and SIP requests in them)."""

from __future__ import annotations

import itertools
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

LINK_HEADER = {1: 14, 113: 16, 276: 20, 0: 4}  # Ethernet, Linux SLL, SLL2, BSD loopback
G711_PAYLOAD_TYPES = (0, 8)


@dataclass
class Stream:
    times: list[float] = field(default_factory=list)
    gaps_ms: list[float] = field(default_factory=list)
    packets_per_second: float = 0.0


@dataclass(frozen=True)
class Datagram:
    at: float
    """Capture time (the kernel's wall clock, as ``time.time()``)."""
    source_port: int
    destination_port: int
    payload: bytes
    """As far as the capture's snap length kept it."""


def udp_packets(path: Path) -> Iterator[Datagram]:
    """Every IPv4/UDP packet of a classic pcap file, in capture order."""
    data = path.read_bytes()
    magic = struct.unpack_from("<I", data)[0]
    endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    nanos = magic in (0xA1B23C4D, 0x4D3CB2A1)
    link = struct.unpack_from(endian + "I", data, 20)[0]
    offset = 24
    skip = LINK_HEADER[link]
    while offset + 16 <= len(data):
        seconds, fraction, captured, _ = struct.unpack_from(endian + "IIII", data, offset)
        frame = data[offset + 16 : offset + 16 + captured]
        offset += 16 + captured
        ip = frame[skip:]
        if len(ip) < 28 or ip[0] >> 4 != 4 or ip[9] != 17:
            continue
        ihl = (ip[0] & 0x0F) * 4
        source, destination = struct.unpack_from("!HH", ip, ihl)
        at = seconds + fraction / (1e9 if nanos else 1e6)
        yield Datagram(at, source, destination, bytes(ip[ihl + 8 :]))


def _packets(path: Path) -> list[tuple[float, tuple[int, int]]]:
    """(timestamp, (UDP source port, SSRC)) of every G.711 RTP packet in a classic pcap file.

    Anything else from the port range (other programs' ephemeral ports on a shared
    machine) is left out; a port reused by a later call is a stream of its own.
    """
    out: list[tuple[float, tuple[int, int]]] = []
    for packet in udp_packets(path):
        rtp = packet.payload
        if len(rtp) < 12 or rtp[0] >> 6 != 2 or (rtp[1] & 0x7F) not in G711_PAYLOAD_TYPES:
            continue
        (ssrc,) = struct.unpack_from("!I", rtp, 8)
        out.append((packet.at, (packet.source_port, ssrc)))
    return out


def stream_gaps(path: Path, trim_seconds: float = 1.0) -> dict[tuple[int, int], Stream]:
    """Per stream (source port, SSRC): inter-arrival gaps (ms), leaving out each stream's
    first and last ``trim_seconds`` (call set-up and tear-down), and its packets per second."""
    streams: dict[tuple[int, int], Stream] = {}
    for moment, key in _packets(path):
        streams.setdefault(key, Stream()).times.append(moment)
    for stream in streams.values():
        times = stream.times
        if len(times) < 3:
            continue
        start, end = times[0] + trim_seconds, times[-1] - trim_seconds
        inside = [t for t in times if start <= t <= end]
        stream.gaps_ms = [(b - a) * 1000 for a, b in itertools.pairwise(inside)]
        if len(inside) > 1:
            stream.packets_per_second = (len(inside) - 1) / (inside[-1] - inside[0])
    return streams
