"""A node started the way an operator starts it: ``hotline up --workers N``, on loopback.

The test owns the broker (``hotline up`` uses one that listens) and, where given,
the database; ``hotline up`` starts the Kamailio edge, the work-order service and
the IVR workers, restarts crashed workers, and drains them when it is stopped.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ivr.runstate import read_state, state_path
from tests.e2e.peers import REPO, Process, free_port, wait_for


@dataclass
class UpNode:
    work: Path
    config: dict[str, Any]
    process: Process
    edge_port: int
    sip_ports: list[int]
    api: str
    var: Path

    @property
    def token(self) -> str:
        return (self.var / "admin-token").read_text().strip()

    def log(self, name: str) -> str:
        path = self.var / "log" / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def edge_log(self) -> str:
        return self.log("kamailio")

    def worker_log(self, index: int) -> str:
        return self.log(f"ivr-worker-{index + 1}")

    def worker_pid(self, index: int) -> int:
        pid = self.worker_pid_now(index)
        assert pid is not None, f"worker {index + 1} runs not (no state file)"
        return pid

    def worker_pid_now(self, index: int) -> int | None:
        state = read_state(state_path(self.var, self.sip_ports[index]))
        return None if state is None else state.pid

    def get(self, path: str) -> Any:
        request = urllib.request.Request(
            f"{self.api}{path}", headers={"Authorization": f"Bearer {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)

    def all_orders(self) -> list[dict[str, Any]]:
        orders: list[dict[str, Any]] = []
        while True:
            items = self.get(f"/api/v1/workorders?limit=200&offset={len(orders)}")["items"]
            orders += items
            if len(items) < 200:
                return orders


def consecutive_free_udp(count: int) -> int:
    for _ in range(100):
        base = free_port()
        if base + count > 65000:
            continue
        try:
            with contextlib.ExitStack() as stack:
                for port in range(base, base + count):
                    s = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
                    s.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise RuntimeError(f"no {count} consecutive free UDP ports")


def node_config(
    work: Path, *, workers: int, mqtt_port: int, prompt_audio: Path, database: str | None = None,
    model: Path | None = None, drain_seconds: float = 30, sla: Path | None = None,
) -> dict[str, Any]:  # fmt: skip
    var = work / "var"
    sip = consecutive_free_udp(workers)
    rtp = _rtp_range(300 * workers)
    return {
        "edge": {"host": "127.0.0.1", "port": free_port()},
        "ivr": {
            "host": "127.0.0.1", "sip_port": sip, "rtp_ports": [rtp, rtp + 300 * workers - 1],
            "workers": workers, "drain_seconds": drain_seconds,
            "menu": str(REPO / "config/menus/12320.yaml"),
            "prompt_texts": str(REPO / "config/prompts/zh.yaml"),
            "prompt_audio": str(prompt_audio),
        },
        "api": {"host": "127.0.0.1", "port": free_port(socket.SOCK_STREAM),
                "database": database or f"sqlite+aiosqlite:///{var}/hotline.db"},
        "mqtt": {"host": "127.0.0.1", "port": mqtt_port},
        "paths": {"var": str(var), "recordings": str(var / "recordings"),
                  "spool": str(var / "spool"), "admin_token": str(var / "admin-token"),
                  "ivr_token": str(var / "ivr-token")},
        "asr": {"model": str(model or var / "no-model")},  # no model: DTMF only, less CPU
        "calendar": str(REPO / "config/calendar.yaml"),
        "intake": str(REPO / "config/intake.yaml"),
        "units": str(REPO / "config/units.yaml"),
        "sla": str(sla or REPO / "config/sla.yaml"),
        "agents": str(REPO / "config/agents.yaml"),
    }  # fmt: skip


_RTP_TAKEN: list[range] = []  # by the nodes of this test session


def _rtp_range(size: int) -> int:
    """A range below Linux's ephemeral ports (32768-, where free_port() finds SIP and API
    ports), apart from those of the other nodes of this session."""
    slots = 12000 // size
    first = free_port() % slots
    for k in range(slots):
        low = 20000 + ((first + k) % slots) * size
        candidate = range(low, low + size)
        if all(candidate.stop <= r.start or r.stop <= candidate.start for r in _RTP_TAKEN):
            _RTP_TAKEN.append(candidate)
            return low
    raise RuntimeError("no free RTP range left for another node")


@contextlib.contextmanager
def hotline_up(work: Path, config: dict[str, Any], name: str = "hotline") -> Iterator[UpNode]:
    work.mkdir(parents=True, exist_ok=True)
    var = Path(config["paths"]["var"])
    var.mkdir(parents=True, exist_ok=True)
    config_path = work / "hotline.yaml"
    config_path.write_text(yaml.safe_dump(config, allow_unicode=True))
    process = Process(
        [sys.executable, "-c", "from hotline.cli import main; main()",
         "--config", str(config_path), "up"],
        work, name,
    )  # fmt: skip
    process.start()
    try:
        wait_for(lambda: "is up." in process.log() or process.proc.poll() is not None,  # type: ignore[union-attr]
                 180, "hotline up", interval=0.5)  # fmt: skip
        assert "is up." in process.log(), process.log()[-3000:]
        workers = int(config["ivr"]["workers"])
        yield UpNode(
            work=work, config=config, process=process, edge_port=config["edge"]["port"],
            sip_ports=[config["ivr"]["sip_port"] + k for k in range(workers)],
            api=f"http://{config['api']['host']}:{config['api']['port']}", var=var,
        )  # fmt: skip
    finally:
        stop_node(process, drain=float(config["ivr"]["drain_seconds"]))


def stop_node(process: Process, drain: float) -> None:
    """SIGTERM ``hotline up`` and let it drain; kill whatever it leaves behind."""
    if process.proc is None:
        return
    pid = process.proc.pid
    children = _children(pid)
    for child in children:  # a stopped worker must be able to drain
        with contextlib.suppress(ProcessLookupError):
            os.kill(child, signal.SIGCONT)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    try:
        process.proc.wait(drain + 30)
    except subprocess.TimeoutExpired:
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child, signal.SIGKILL)
    process.stop()


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]
