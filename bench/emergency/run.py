"""Emergency benchmark: from the emergency key (or a spotted keyword) to the REFER on the wire.

Two paths through a node on loopback (Kamailio edge, Mosquitto, the work-order service on
SQLite, one IVR worker with the real 12320 menu and routing.yaml), driven by SIPp callers
(``caller.xml``) and watched by tcpdump:

* ``key``: the caller presses 9 (emergency menu) then 1 (medical). Measured from the first
  RFC 2833 packet of the "1" arriving at the worker's RTP port to the REFER leaving the
  worker's SIP port (the same call, by Call-ID and the port its 200 OK offered).
* ``keyword``: the caller presses 2 (complaint) and talks; the worker is
  ``keyword_worker.py``: the production worker with scripted recognisers that report "昏迷"
  after 0.3 s of gated speech. Measured from the moment the recogniser hands that result to
  the streaming code (its ``time.time()``) to the REFER leaving the worker. Calls are spaced
  so that each REFER follows exactly one hit.

Both include what the flow does in between: the urgent order is created through the API
(HTTP, SQLite commit) before the transfer starts. Each path: N calls, p50/p90/p99/max.

    .venv/bin/python bench/emergency/run.py --calls 150    # ≈ 9 min; bench/results/emergency.json

Needs: kamailio, mosquitto, sipp (sip-tester), tcpdump, espeak-ng, sox.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from bench.capacity.media import EVENT_PT, KEYS  # noqa: E402
from bench.capacity.media import make as make_media  # noqa: E402
from bench.capacity.pcap import Datagram, udp_packets  # noqa: E402
from bench.capacity.run import Node, sipp_counts, start_capture  # noqa: E402
from tests.e2e.peers import free_port  # noqa: E402

RESULTS = REPO / "bench" / "results" / "emergency.json"
MATCH_WINDOW = 1.0  # seconds: a REFER pairs with the one hit this close before it
WELCOME_MS = 11_500  # greeting (9.6 s) and into the main menu, where a key barges in
KEY_GAP_MS = 1_500  # 9, then the emergency menu starts, then 1 barges in

KEY_MEDIA = f"""\
  <pause milliseconds="{WELCOME_MS}"/>
  <nop><action><exec play_pcap_audio="dtmf_9.pcap"/></action></nop>
  <pause milliseconds="{KEY_GAP_MS}"/>
  <nop><action><exec play_pcap_audio="dtmf_1.pcap"/></action></nop>
"""
KEYWORD_MEDIA = f"""\
  <nop><action><exec rtp_stream="caller.ulaw,-1,0"/></action></nop>
  <pause milliseconds="{WELCOME_MS}"/>
  <nop><action><exec play_pcap_audio="dtmf_2.pcap"/></action></nop>
"""


@dataclass(frozen=True)
class Call:
    call_id: str
    answered_at: float
    rtp_port: int
    ended_at: float


def _sip(packet: Datagram) -> tuple[str, dict[str, str], str] | None:
    """(start line, headers by lower-case name, body) of a SIP datagram."""
    try:
        text = packet.payload.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if not (text.startswith("SIP/2.0 ") or re.match(r"^[A-Z]+ \S+ SIP/2\.0", text)):
        return None
    head, _, body = text.partition("\r\n\r\n")
    start, *lines = head.split("\r\n")
    headers: dict[str, str] = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers.setdefault(name.strip().lower(), value.strip())
    return start, headers, body


def _calls_and_refers(
    packets: list[Datagram], worker_sip: int
) -> tuple[dict[str, Call], dict[str, float]]:
    """The worker's answered calls (Call-ID → port offered) and its first REFER per call."""
    answered: dict[str, tuple[float, int]] = {}
    ended: dict[str, float] = {}
    refers: dict[str, float] = {}
    for packet in packets:
        if packet.source_port != worker_sip and packet.destination_port != worker_sip:
            continue
        sip = _sip(packet)
        if sip is None:
            continue
        start, headers, body = sip
        call_id = headers.get("call-id", "")
        cseq = headers.get("cseq", "")
        if packet.source_port == worker_sip:
            port = re.search(r"^m=audio (\d+)", body, re.MULTILINE)
            if start.startswith("SIP/2.0 200") and cseq.endswith("INVITE") and port:
                answered.setdefault(call_id, (packet.at, int(port.group(1))))
            elif start.startswith("REFER "):
                refers.setdefault(call_id, packet.at)
        if start.startswith("BYE "):
            ended.setdefault(call_id, packet.at)
    calls = {
        call_id: Call(call_id, at, port, ended.get(call_id, float("inf")))
        for call_id, (at, port) in answered.items()
    }
    return calls, refers


def _key_presses(packets: list[Datagram], calls: dict[str, Call], key: str) -> dict[str, float]:
    """The first RFC 2833 packet of ``key`` reaching each call's RTP port."""
    code = KEYS.index(key)
    by_port: dict[int, list[Call]] = {}
    for call in calls.values():
        by_port.setdefault(call.rtp_port, []).append(call)
    pressed: dict[str, float] = {}
    for packet in packets:
        rtp = packet.payload
        if len(rtp) < 16 or rtp[0] >> 6 != 2 or rtp[1] & 0x7F != EVENT_PT or rtp[12] != code:
            continue
        for call in by_port.get(packet.destination_port, []):
            if call.answered_at <= packet.at <= call.ended_at:
                pressed.setdefault(call.call_id, packet.at)
    return pressed


def _stats(latencies_ms: list[float]) -> dict[str, float | int | None]:
    ordered = sorted(latencies_ms)
    if not ordered:
        return {"n": 0, "p50_ms": None, "p90_ms": None, "p99_ms": None, "max_ms": None}

    def pct(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))], 1)

    return {
        "n": len(ordered),
        "p50_ms": round(statistics.median(ordered), 1),
        "p90_ms": pct(90),
        "p99_ms": pct(99),
        "max_ms": round(ordered[-1], 1),
        "min_ms": round(ordered[0], 1),
    }


def _order_creates(service_log: Path) -> dict[str, float | int | None]:
    """How long the service took to create each order (its access log), within the above."""
    spent = [
        float(ms)
        for ms in re.findall(r"POST /api/v1/workorders 201 ([0-9.]+)ms", service_log.read_text())
    ]
    return _stats(spent)


def run_path(path: str, calls: int, rate: float, media: Path) -> dict[str, object]:
    work = Path(tempfile.mkdtemp(prefix=f"emergency-{path}-"))
    hits = work / "hits.jsonl"
    command = None
    if path == "keyword":

        def command(config: Path) -> list[str]:
            return [sys.executable, str(REPO / "bench/emergency/keyword_worker.py"),
                    "--config", str(config), "--hits", str(hits)]  # fmt: skip

    node = Node(work, calls, "ivr", worker_command=command)
    try:
        node.start(media)
    except BaseException:
        node.stop()
        raise
    scenario = work / "caller.xml"
    template = (REPO / "bench/emergency/caller.xml").read_text()
    scenario.write_text(template.replace("MEDIA\n", KEY_MEDIA if path == "key" else KEYWORD_MEDIA))
    for name in ("caller.ulaw", "dtmf_1.pcap", "dtmf_2.pcap", "dtmf_9.pcap"):
        (work / name).symlink_to(media / name)
    capture = work / "wire.pcap"
    bpf = (
        f"udp and (port {node.sip_port} or port {node.edge.port} "
        f"or dst portrange {node.rtp_low}-{node.rtp_high})"
    )
    tcpdump = start_capture(capture, bpf, 0)
    stats = work / "stat.csv"
    started = time.monotonic()
    subprocess.run(
        ["sipp", f"127.0.0.1:{node.edge.port}", "-sf", str(scenario), "-s", node.extension,
         "-i", "127.0.0.1", "-p", str(free_port()), "-mp", str(40000 + (free_port() % 10) * 2000),
         "-m", str(calls), "-l", str(calls), "-r", str(rate), "-rp", "1000", "-bg",
         "-trace_stat", "-stf", str(stats), "-fd", "1",
         "-timeout", str(int(calls / rate + 120))],
        cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False,
    )  # fmt: skip
    deadline = time.monotonic() + calls / rate + 120
    while time.monotonic() < deadline and sum(sipp_counts(stats)) < calls:
        time.sleep(1.0)
    wall = time.monotonic() - started
    time.sleep(1.0)
    tcpdump.terminate()
    tcpdump.wait(10)
    node.stop()
    successful, failed = sipp_counts(stats)
    packets = list(udp_packets(capture))
    answered, refers = _calls_and_refers(packets, node.sip_port)
    latencies: list[float] = []
    unmatched = 0
    if path == "key":
        pressed = _key_presses(packets, answered, "1")
        for call_id, refer_at in refers.items():
            if call_id in pressed:
                latencies.append((refer_at - pressed[call_id]) * 1000)
            else:
                unmatched += 1
    else:
        times = sorted(json.loads(line)["at"] for line in hits.read_text().splitlines() if line)
        for refer_at in sorted(refers.values()):
            before = [t for t in times if refer_at - MATCH_WINDOW <= t <= refer_at]
            if len(before) == 1:  # one hit, one REFER: nothing to confuse
                latencies.append((refer_at - before[0]) * 1000)
                times.remove(before[0])
            else:
                unmatched += 1
    result = {
        "path": path,
        "calls": calls,
        "rate_per_second": rate,
        "answered": len(answered),
        "refers": len(refers),
        "sipp_successful": successful,
        "sipp_failed": failed,
        "unmatched": unmatched,
        "latency": _stats(latencies),
        "order_create_ms": _order_creates(work / "workorders.log"),
        "wall_seconds": round(wall, 1),
        "work_dir": str(work),
    }
    print(json.dumps(result), flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=60)
    parser.add_argument("--paths", default="key,keyword")
    parser.add_argument("--key-rate", type=float, default=1.0, help="new calls per second")
    parser.add_argument(
        "--keyword-rate",
        type=float,
        default=0.5,
        help="new calls per second (spaced: each REFER must follow exactly one hit)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    media = Path(tempfile.mkdtemp(prefix="emergency-media-"))
    make_media(media, keys="129")
    from hotline.commands.node import build_all_prompts
    from settings.node import Settings

    settings = Settings.model_validate({"ivr": {"prompt_audio": str(media / "prompts")}})
    build_all_prompts(settings.anchored(REPO / "config"))  # menus and texts of this checkout
    runs = []
    for path in args.paths.split(","):
        load_before = os.getloadavg()[0]
        rate = args.key_rate if path == "key" else args.keyword_rate
        result = run_path(path, args.calls, rate, media)
        result["load_average_1min_before_after"] = [
            round(load_before, 2),
            round(os.getloadavg()[0], 2),
        ]
        runs.append(result)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "command": "python bench/emergency/run.py " + " ".join(sys.argv[1:]),
                "machine": f"{os.cpu_count()} cores, shared with other jobs (noisy)",
                "measured_at": time.strftime("%Y-%m-%d %H:%M %Z"),
                "runs": runs,
            },
            indent=1,
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
