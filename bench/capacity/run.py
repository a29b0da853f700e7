"""Capacity benchmark: SIPp callers through the Kamailio edge into IVR workers.

For each N: a fresh node (Kamailio, Mosquitto, the work-order service, one IVR
worker — or a bare pyVoIP phone as the baseline), N SIPp callers that stream
speech for the whole call and press 1 then # (RFC 2833), and a packet capture
of the audio the IVR sends. Per N it records: answered %, DTMF success %
(orders whose menu path is ["1"]), packets/s sent per call, inter-arrival p99,
gaps over 40 and 100 ms, and CPU, RSS and threads of the IVR process.

    .venv/bin/python bench/capacity/run.py --calls 50,100 [--baseline] [--hold 62]

Results go to bench/results/capacity.json (merged by N and kind); see bench/README.md.
Needs: kamailio, mosquitto, sipp (sip-tester), tcpdump, espeak-ng, sox.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from bench.capacity.media import make as make_media  # noqa: E402
from bench.capacity.pcap import stream_gaps  # noqa: E402
from hotline.edge import worker_up_line  # noqa: E402
from ivr.eventloop import ENV  # noqa: E402
from tests.e2e.peers import (  # noqa: E402
    Kamailio,
    Mosquitto,
    Process,
    free_port,
    tcp_listening,
    wait_for,
)

RESULTS = REPO / "bench" / "results" / "capacity.json"
WELCOME_MS = 11_500  # greeting (9.6 s) and into the main menu, where 1 barges in


def _proc_sample(pid: int) -> tuple[float, int, int]:
    """(CPU seconds, RSS bytes, threads) of a process and its children-less self."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / ticks
    threads = int(fields[17])
    rss = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
    return cpu, rss, threads


class Node:
    """Edge, broker, work-order service and one IVR worker (or the bare baseline)."""

    def __init__(
        self,
        work: Path,
        calls: int,
        kind: str,
        worker_command: Callable[[Path], list[str]] | None = None,
    ) -> None:
        """``worker_command(config_path)`` replaces ``python -m ivr.worker`` (kind "ivr")."""
        self.work = work
        self.kind = kind
        self.worker_command = worker_command
        self.broker = Mosquitto(work / "mosquitto")
        self.sip_port = free_port()
        self.edge = Kamailio(work / "kamailio", workers=(self.sip_port,))
        self.api_port = free_port(socket.SOCK_STREAM)
        self.rtp_low = 20000 + (free_port() % 12) * 1000  # below the ephemeral ports (32768-)
        self.rtp_high = self.rtp_low + 2 * calls + 200
        self.processes: list[Process] = []
        self.extension = "12320" if kind == "ivr" else "12399"

    def start(self, media: Path) -> Process:
        for process in (self.broker, self.edge):
            process.start()
            self.processes.append(process)
        var = self.work / "var"
        var.mkdir()
        database = f"sqlite+aiosqlite:///{var}/hotline.db"
        service = Process(
            [sys.executable, "-m", "workorders.service", "--db", database, "--host", "127.0.0.1",
             "--port", str(self.api_port), "--mqtt-host", "127.0.0.1",
             "--mqtt-port", str(self.broker.port), "--token-file", str(var / "admin-token")],
            self.work, "workorders",
        )  # fmt: skip
        service.start()
        self.processes.append(service)
        wait_for(lambda: tcp_listening(self.api_port), 30, "the work-order API")
        if self.kind == "ivr":
            config = self.work / "hotline.yaml"
            config.write_text(
                json.dumps(
                    {
                        "edge": {"host": "127.0.0.1", "port": self.edge.port},
                        "ivr": {
                            "host": "127.0.0.1",
                            "sip_port": self.sip_port,
                            "rtp_ports": [self.rtp_low, self.rtp_high],
                            "menu": str(REPO / "config/menus/12320.yaml"),
                            "prompt_texts": str(REPO / "config/prompts/zh.yaml"),
                            "prompt_audio": str(media / "prompts"),
                        },
                        "api": {"host": "127.0.0.1", "port": self.api_port, "database": database},
                        "mqtt": {"host": "127.0.0.1", "port": self.broker.port},
                        "paths": {
                            "var": str(var),
                            "recordings": str(var / "recordings"),
                            "spool": str(var / "spool"),
                            "admin_token": str(var / "admin-token"),
                            "ivr_token": str(var / "ivr-token"),
                        },
                        "asr": {"model": str(var / "no-model")},
                        "calendar": str(REPO / "config/calendar.yaml"),
                        "intake": str(REPO / "config/intake.yaml"),
                    }
                )
            )
            command = (
                self.worker_command(config)
                if self.worker_command is not None
                else [sys.executable, "-m", "ivr.worker", "--config", str(config)]
            )
            worker = Process(command, self.work, "worker")
        else:
            worker = Process(
                [sys.executable, str(REPO / "bench/capacity/bare_pyvoip.py"),
                 "--edge", str(self.edge.port), "--sip-port", str(self.sip_port),
                 "--rtp", f"{self.rtp_low}-{self.rtp_high}", "--user", self.extension],
                self.work, "worker",
            )  # fmt: skip
        worker.start()
        self.processes.append(worker)
        wait_for(lambda: "registered" in worker.log(), 60, "the IVR to register")
        if self.kind == "ivr":
            up = worker_up_line("127.0.0.1", self.sip_port)
            wait_for(lambda: up in self.edge.log(), 10, "the edge to send calls to the IVR")
        return worker

    def orders_with_key_1(self) -> int:
        token = (self.work / "var" / "admin-token").read_text().strip()
        count, offset = 0, 0
        while True:
            request = urllib.request.Request(
                f"http://127.0.0.1:{self.api_port}/api/v1/workorders?limit=200&offset={offset}",
                headers={"Authorization": f"Bearer {token}"},
            )
            with urllib.request.urlopen(request, timeout=10) as response:
                items = json.load(response)["items"]
            count += sum(1 for o in items if o["menu_path"] == ["1"])
            if len(items) < 200:
                return count
            offset += 200

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()


def run_one(
    calls: int, kind: str, hold: float, rate: float, media: Path, event_loop: str
) -> dict[str, object]:
    load_before = os.getloadavg()[0]
    work = Path(tempfile.mkdtemp(prefix=f"capacity-{kind}-{calls}-"))
    node = Node(work, calls, kind)
    try:
        worker = node.start(media)
    except BaseException:
        node.stop()
        raise
    assert worker.proc is not None
    scenario = work / "caller.xml"
    intake_ms = max(1000, int(hold * 1000) - WELCOME_MS - 25_000)
    scenario.write_text(
        (REPO / "bench/capacity/caller.xml")
        .read_text()
        .replace("WELCOME_MS", str(WELCOME_MS))
        .replace("INTAKE_MS", str(intake_ms))
    )
    for name in ("caller.ulaw", "dtmf_1.pcap", "dtmf_hash.pcap"):
        (work / name).symlink_to(media / name)
    capture = work / "ivr-audio.pcap"
    tcpdump = start_capture(capture, f"udp and src portrange {node.rtp_low}-{node.rtp_high}", 64)
    stats = work / "stat.csv"
    sipp = subprocess.Popen(
        ["sipp", f"127.0.0.1:{node.edge.port}", "-sf", str(scenario), "-s", node.extension,
         "-i", "127.0.0.1", "-p", str(free_port()), "-mp", str(40000 + (free_port() % 10) * 2000),
         "-m", str(calls), "-l", str(calls), "-r", str(rate), "-bg", "-trace_stat",
         "-stf", str(stats), "-fd", "1", "-timeout", str(int(hold + calls / rate + 120))],
        cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    sipp.wait()
    cpu0, _, _ = _proc_sample(worker.proc.pid)
    samples: list[tuple[float, float, int, int, float]] = []
    deadline = time.monotonic() + hold + calls / rate + 150
    while time.monotonic() < deadline:
        cpu, rss, threads = _proc_sample(worker.proc.pid)
        samples.append((time.monotonic(), cpu, rss, threads, _machine_busy_seconds()))
        if _sipp_done(stats, calls):
            break
        time.sleep(1.0)
    tcpdump.terminate()
    tcpdump.wait(10)
    successful, failed = sipp_counts(stats)
    dtmf = node.orders_with_key_1() if kind == "ivr" else None
    node.stop()
    steady = [s for s in samples if s[0] - samples[0][0] > calls / rate + 5]
    machine_share = (
        (steady[-1][4] - steady[0][4]) / (steady[-1][0] - steady[0][0]) if len(steady) > 2 else None
    )
    cpu_share = (
        (steady[-1][1] - steady[0][1]) / (steady[-1][0] - steady[0][0])
        if len(steady) > 2
        else (samples[-1][1] - cpu0) / max(1e-9, samples[-1][0] - samples[0][0])
    )
    result = {
        "kind": kind,
        "event_loop": event_loop if kind == "ivr" else None,
        "calls": calls,
        "hold_seconds": hold,
        "answered_pct": round(100 * successful / calls, 1),
        "failed_calls": failed,
        "dtmf_pct": None if dtmf is None else round(100 * dtmf / calls, 1),
        **_audio_stats(capture),
        "cpu_pct_of_one_core": round(100 * cpu_share, 1),
        # Every process's CPU, the worker's included, while all calls were up (of one core).
        "machine_busy_pct_of_one_core": round(100 * machine_share, 1) if machine_share else None,
        "rss_mb_max": round(max(s[2] for s in samples) / 2**20, 1),
        "threads_max": max(s[3] for s in samples),
        "load_1min_before_after": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "work_dir": str(work),
    }
    print(json.dumps(result), flush=True)
    return result


def _audio_stats(capture: Path) -> dict[str, object]:
    """Pacing of the audio the IVR sent, from the capture."""
    gaps = stream_gaps(capture, trim_seconds=1.0)
    all_gaps = [g for stream in gaps.values() for g in stream.gaps_ms]
    rates = [stream.packets_per_second for stream in gaps.values() if stream.gaps_ms]
    return {
        "streams_seen": len(gaps),
        "packets_per_second_per_call": {
            "median": round(statistics.median(rates), 2) if rates else None,
            "min": round(min(rates), 2) if rates else None,
        },
        "gap_p99_ms": round(_percentile(all_gaps, 99), 1) if all_gaps else None,
        "gap_max_ms": round(max(all_gaps), 1) if all_gaps else None,
        "gaps_over_40ms": sum(g > 40 for g in all_gaps),
        "gaps_over_100ms": sum(g > 100 for g in all_gaps),
    }


def reanalyse(out: Path) -> None:
    """Recompute the audio figures of every run in ``out`` from the captures it kept."""
    results = json.loads(out.read_text())
    for run in results["runs"]:
        capture = Path(run["work_dir"]) / "ivr-audio.pcap"
        if capture.exists():
            run.update(_audio_stats(capture))
    out.write_text(json.dumps(results, indent=1, ensure_ascii=False))


def _machine_busy_seconds() -> float:
    """CPU seconds all cores have spent on anything but idle and I/O wait since boot."""
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def start_capture(path: Path, bpf: str, snaplen: int) -> subprocess.Popen[bytes]:
    """tcpdump on loopback into ``path`` (terminate it to finish), ready when it returns."""
    tcpdump = subprocess.Popen(
        ["tcpdump", "-i", "lo", "-s", str(snaplen), "-B", "32768", "-w", str(path), "-U", bpf],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    time.sleep(1.0)
    return tcpdump


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))]


def sipp_counts(stats: Path) -> tuple[int, int]:
    """(successful, failed) calls of a SIPp ``-trace_stat`` file."""
    if not stats.exists():
        return 0, 0
    lines = [line.split(";") for line in stats.read_text().splitlines() if line.strip()]
    if len(lines) < 2:
        return 0, 0
    header, last = lines[0], lines[-1]
    return int(last[header.index("SuccessfulCall(C)")]), int(last[header.index("FailedCall(C)")])


def _sipp_done(stats: Path, calls: int) -> bool:
    successful, failed = sipp_counts(stats)
    return successful + failed >= calls


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", default="50,100,150,200,300")
    parser.add_argument("--hold", type=float, default=62.0, help="seconds each call lasts")
    parser.add_argument("--rate", type=float, default=10.0, help="new calls per second")
    parser.add_argument("--baseline", action="store_true", help="also a bare pyVoIP process")
    parser.add_argument(
        "--event-loop", choices=("uvloop", "asyncio"), default="uvloop",
        help="the IVR worker's loop (uvloop is used when installed, unless asyncio is asked for)",
    )  # fmt: skip
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--reanalyse", action="store_true", help="only recompute the audio figures of --out"
    )
    args = parser.parse_args()
    if args.reanalyse:
        reanalyse(args.out)
        return
    media = Path(tempfile.mkdtemp(prefix="capacity-media-"))
    make_media(media)
    from hotline.commands.node import build_all_prompts
    from settings.node import Settings

    build_all_prompts(Settings.model_validate({"ivr": {"prompt_audio": str(media / "prompts")}}))
    os.environ[ENV] = args.event_loop  # inherited by the worker
    previous = json.loads(args.out.read_text()) if args.out.exists() else {"runs": []}
    runs = {(r["kind"], r["calls"], r.get("event_loop")): r for r in previous["runs"]}
    for calls in (int(n) for n in args.calls.split(",")):
        for kind in ("ivr", "bare_pyvoip") if args.baseline else ("ivr",):
            result = run_one(calls, kind, args.hold, args.rate, media, args.event_loop)
            runs[(kind, calls, result["event_loop"])] = result
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "command": "python bench/capacity/run.py " + " ".join(sys.argv[1:]),
                "machine": f"{os.cpu_count()} cores",
                "runs": sorted(
                    runs.values(), key=lambda r: (r["kind"], str(r.get("event_loop")), r["calls"])
                ),
            },
            indent=1,
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
