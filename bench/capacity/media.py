"""Media files for the capacity benchmark's SIPp callers.

* ``caller.ulaw`` — raw μ-law speech the callers stream for the whole call;
* ``dtmf_<key>.pcap`` — one RFC 2833 telephone-event (payload type 101) as a
  pcap that SIPp's ``play_pcap_audio`` replays (SIPp's own ``play_dtmf`` sends
  an unusable event: PT 97, no marker, zero payload).
"""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

EVENT_PT = 101
KEYS = "0123456789*#"


def _udp_packet(payload: bytes) -> bytes:
    """Ethernet + IPv4 + UDP around ``payload``; SIPp rewrites addresses and ports."""
    udp = struct.pack("!HHHH", 40000, 40002, 8 + len(payload), 0) + payload
    ip_header = struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0x4000, 64, 17, 0,
        bytes([127, 0, 0, 1]), bytes([127, 0, 0, 1]),
    )  # fmt: skip
    checksum = 0
    for (word,) in struct.iter_unpack("!H", ip_header):
        checksum += word
    checksum = (checksum & 0xFFFF) + (checksum >> 16)
    ip_header = ip_header[:10] + struct.pack("!H", ~checksum & 0xFFFF) + ip_header[12:]
    return b"\0" * 12 + b"\x08\x00" + ip_header + udp


def dtmf_pcap(key: str) -> bytes:
    """One key: 5 packets of the event growing by 20 ms, then 3 end packets (RFC 4733 §2.5)."""
    code = KEYS.index(key)
    timestamp, ssrc = 16000 + 8000 * code, 0x1234ABCD  # a distinct event per key
    packets = []
    for n in range(8):
        end = n >= 5
        duration = 160 * min(n + 1, 5)
        first = 0x80
        second = (0x80 if n == 0 else 0) | EVENT_PT
        rtp = struct.pack("!BBHII", first, second, 100 + n, timestamp, ssrc)
        payload = struct.pack("!BBH", code, (0x80 if end else 0) | 10, duration)
        packets.append((n * 0.02, _udp_packet(rtp + payload)))
    out = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
    for offset, frame in packets:
        seconds = 1_700_000_000 + int(offset)
        micros = round((offset % 1) * 1_000_000)
        out += struct.pack("<IIII", seconds, micros, len(frame), len(frame)) + frame
    return out


def make(out_dir: Path, keys: str = "1#") -> None:
    """``caller.ulaw`` and ``dtmf_<key>.pcap`` for each of ``keys`` (``#`` is ``hash``)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for key in keys:
        name = "hash" if key == "#" else "star" if key == "*" else key
        (out_dir / f"dtmf_{name}.pcap").write_bytes(dtmf_pcap(key))
    speech = out_dir / "speech.wav"
    subprocess.run(
        ["espeak-ng", "-v", "cmn-latn-pinyin", "-w", str(speech),
         "wo3 xiang3 zi1 xun2 yi1 xia4 yi1 miao2 jie1 zhong4 de5 shi2 jian1"], check=True,
    )  # fmt: skip
    subprocess.run(
        ["sox", str(speech), "-t", "ul", "-r", "8000", "-c", "1", str(out_dir / "caller.ulaw")],
        check=True,
    )


if __name__ == "__main__":
    make(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("bench/results/tmp/media"))
