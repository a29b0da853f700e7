"""The node the battery attacks, and the probes every step shares.

``hotline up --workers 2`` (``tests/e2e/hotline_up.py``) on free loopback ports, with
a broker the battery starts (so the events step can listen), a spy that counts the
children's deaths (the ``restarting`` lines of ``hotline up``) and the dispatcher's
"worker down" lines, and SIPp command lines bound to a chosen 127.0.0.x source.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import socket
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hotline.edge import worker_restarted_line, worker_up_line
from tests.e2e.hotline_up import UpNode, hotline_up, node_config
from tests.e2e.peers import Mosquitto, Process, free_port

REPO = Path(__file__).resolve().parents[2]
TOOLS = ("kamailio", "mosquitto", "sipp", "espeak-ng", "sox")

#: A death of any child of ``hotline up`` (its supervisor says so on stderr).
DEATH = re.compile(r"hotline: (\S+) \(pid \d+\) (killed by \S+|exit status -?\d+)")
#: The edge took a worker out of rotation: a probe it sent was not answered.
WORKER_DOWN = "dispatcher: IVR worker"


class BatteryError(Exception):
    """The battery could not run a step (a tool missing, the node not up)."""


def missing_tools(*tools: str) -> list[str]:
    return [t for t in tools if shutil.which(t) is None]


@dataclass
class Marks:
    """Where the logs stood when a step began: its deaths and probe misses come after."""

    hotline: int
    edge: int
    orders: int


@dataclass
class BatteryNode:
    up: UpNode
    broker: Mosquitto
    work: Path

    @property
    def edge(self) -> tuple[str, int]:
        return ("127.0.0.1", self.up.edge_port)

    def worker(self, index: int = 0) -> tuple[str, int]:
        return ("127.0.0.1", self.up.sip_ports[index])

    def alive(self) -> bool:
        proc = self.up.process.proc
        return proc is not None and proc.poll() is None

    def mark(self) -> Marks:
        return Marks(len(self.up.process.log()), len(self.up.edge_log()), len(self.orders()))

    def deaths_since(self, mark: Marks) -> list[str]:
        return [
            f"{m.group(1)} {m.group(2)}"
            for m in DEATH.finditer(self.up.process.log()[mark.hotline :])
        ]

    def worker_down_lines_since(self, mark: Marks) -> int:
        lines = self.up.edge_log()[mark.edge :].splitlines()
        return sum(1 for line in lines if WORKER_DOWN in line and line.rstrip().endswith("down"))

    def orders(self) -> list[dict[str, Any]]:
        try:
            return self.up.all_orders()
        except OSError:
            return []

    def worker_up_since(self, index: int, edge_offset: int) -> bool:
        """Whether the edge's dispatcher put worker ``index`` back in rotation after
        ``edge_offset`` (a length of its log): workers drop SIP that is not from the edge,
        so only the edge can tell. A restart quicker than the probes never takes the worker
        out: then the edge's "restarted" line (the new process registered) says it."""
        host, port = self.worker(index)
        log = self.up.edge_log()[edge_offset:]
        return worker_up_line(host, port) in log or worker_restarted_line(host, port) in log


def options_request(target: tuple[str, int], local: tuple[str, int], call_id: str) -> bytes:
    host, port = target
    lhost, lport = local
    return (
        f"OPTIONS sip:probe@{host}:{port} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP {lhost}:{lport};branch=z9hG4bK{uuid.uuid4().hex}\r\n"
        f"From: <sip:battery@{lhost}>;tag={uuid.uuid4().hex[:8]}\r\n"
        f"To: <sip:probe@{host}>\r\nCall-ID: {call_id}\r\nCSeq: 1 OPTIONS\r\n"
        "Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    ).encode()


def options_answered(
    target: tuple[str, int], timeout: float = 1.0, source: str = "127.0.0.1"
) -> bool:
    """One OPTIONS from ``source``; whether any response came back within ``timeout``."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((source, 0))
        s.settimeout(timeout)
        s.sendto(options_request(target, s.getsockname(), uuid.uuid4().hex), target)
        try:
            data = s.recv(65535)
        except (TimeoutError, ConnectionRefusedError):
            return False
        return data.startswith(b"SIP/2.0 ")


#: The carrier's gateway: every call of a trunk comes from it, so it is on the edge's
#: allow-list (``edge.allow``), as a production trunk must be — else 40 callers' requests
#: within 2 s get it banned by the flood limit, and its BYEs and ACKs are dropped.
GATEWAY = "127.0.0.8"


@contextlib.contextmanager
def battery_node(work: Path, workers: int = 2) -> Iterator[BatteryNode]:
    missing = missing_tools(*TOOLS)
    if missing:
        raise BatteryError(f"missing programs: {', '.join(missing)} (./dev installs them)")
    broker = Mosquitto(work / "mosquitto")
    broker.start()
    try:
        config = node_config(
            work,
            workers=workers,
            mqtt_port=broker.port,
            prompt_audio=work / "prompts" / "zh",
            drain_seconds=5,
        )
        config["edge"]["allow"] = [f"{GATEWAY}/32"]
        with hotline_up(work, config, name="hotline") as up:
            yield BatteryNode(up, broker, work)
    finally:
        broker.stop()


def sipp(
    workdir: Path,
    *,
    target: tuple[str, int],
    source: str,
    name: str,
    scenario: str | None = None,
    builtin: str | None = None,
    calls: int,
    rate: float,
    limit: int | None = None,
    numbers: list[str] | None = None,
    extra: tuple[str, ...] = (),
) -> Process:
    """A SIPp process from ``source`` (a 127.0.0.x "host"), its stats in ``<name>-stat.csv``.

    ``numbers`` go to an injection file: ``[field0]`` in the scenario is the caller's number.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    args = [
        "sipp",
        f"{target[0]}:{target[1]}",
        "-s",
        "12320",
        "-i",
        source,
        "-p",
        str(free_port()),
        "-mp",
        str(free_port() & ~1),
        "-m",
        str(calls),
        "-l",
        str(limit or calls),
        "-r",
        str(rate),
        "-nostdin",
        "-trace_stat",
        "-stf",
        str(workdir / f"{name}-stat.csv"),
        "-fd",
        "1",
        *extra,
    ]
    if scenario is not None:
        (workdir / f"{name}.xml").write_text(scenario)
        args += ["-sf", str(workdir / f"{name}.xml")]
    else:
        args += ["-sn", builtin or "uac"]
    if numbers:
        (workdir / f"{name}.csv").write_text("SEQUENTIAL\n" + "".join(f"{n};\n" for n in numbers))
        args += ["-inf", str(workdir / f"{name}.csv")]
    return Process(args, workdir, name)


def sipp_counts(workdir: Path, name: str) -> tuple[int, int]:
    """(successful, failed) calls of a SIPp run so far, from its statistics file."""
    path = workdir / f"{name}-stat.csv"
    if not path.exists():
        return 0, 0
    lines = [line.split(";") for line in path.read_text().splitlines() if line.strip()]
    if len(lines) < 2:
        return 0, 0
    header, last = lines[0], lines[-1]
    return int(last[header.index("SuccessfulCall(C)")]), int(last[header.index("FailedCall(C)")])


def wait_process(process: Process, timeout: float) -> bool:
    """Whether it ended by itself within ``timeout``; stopped either way."""
    ended = True
    if process.proc is not None:
        try:
            process.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            ended = False
    process.stop()
    return ended


def caller_numbers(prefix: str, count: int) -> list[str]:
    """``count`` 11-digit numbers made for the battery (they must never reach a log)."""
    return [f"{prefix}{k:0{11 - len(prefix)}d}" for k in range(1, count + 1)]
