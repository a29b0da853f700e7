"""a) Malformed and hostile SIP (RFC 4475, PROTOS c07 INVITEs, pjsip fuzz seeds) at the
edge and directly at a worker.

Every file is sent once, as one UDP datagram, to the edge and to IVR worker 1, from
127.0.0.6, at ``RATE`` a second; the corpus's service address ``sip:hotline@127.0.0.1``
becomes the hotline's number at the target (``sip:12320@127.0.0.1:PORT``), as an attacker
dialling the public number would send it. The edge probes every worker with OPTIONS
each second and takes one out of rotation at the first unanswered probe, logging
"IVR worker … down": those lines are the missed probes. The battery also sends its own
OPTIONS to the edge each second (missed: the edge itself stopped answering). Then it
waits for the calls the corpus started to end (every answered call finished, at most
``SETTLE_LIMIT``) and counts the work orders they made.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from pathlib import Path

from bench.security.node import BatteryNode, options_answered
from bench.security.report import Figure, StepResult

CORPORA = Path("/work/shared/corpora/sip")
RATE = 500.0  # datagrams a second
SOURCE = "127.0.0.6"
SETTLE_SECONDS = 10.0
SETTLE_LIMIT = 180.0
NOT_FROM_EDGE = "(not the proxy) dropped"  # ivr/sip: one warning line per datagram
SERVICE = b"sip:hotline@127.0.0.1"  # the corpus's request URI and To


def corpus_files(root: Path = CORPORA) -> list[Path]:
    files = sorted((root / "rfc4475").rglob("*.dat"))
    files += sorted((root / "protos-c07" / "invites").glob("*"))
    files += sorted(p for p in (root / "pjsip-fuzz-seeds").rglob("*") if p.is_file())
    return files


class Prober(threading.Thread):
    """OPTIONS to the edge every second; counts the unanswered ones."""

    def __init__(self, node: BatteryNode) -> None:
        super().__init__(daemon=True)
        self.node = node
        self.sent = 0
        self.missed = 0
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.is_set():
            self.sent += 1
            if not options_answered(self.node.edge, timeout=1.0):
                self.missed += 1
            self.halt.wait(1.0)


def run(node: BatteryNode, root: Path = CORPORA) -> StepResult:
    files = corpus_files(root)
    if not files:
        return StepResult("corpus", TITLE, error=f"no corpus files under {root}")
    mark = node.mark()
    dropped_before = node.up.worker_log(0).count(NOT_FROM_EDGE)
    prober = Prober(node)
    prober.start()
    started = time.monotonic()
    sent = 0
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((SOURCE, 0))
        s.setblocking(False)
        for path in files:
            raw = path.read_bytes()[:65000]
            for target in (node.edge, node.worker(0)):
                data = raw.replace(SERVICE, f"sip:12320@127.0.0.1:{target[1]}".encode())
                try:
                    s.sendto(data, target)
                    sent += 1
                except OSError:
                    pass
                next_at = started + sent / RATE
                time.sleep(max(0.0, next_at - time.monotonic()))
            try:
                while s.recv(65535):
                    pass
            except OSError:
                pass
    replayed = time.monotonic() - started
    answered = _wait_calls_end(node)
    orders = _settled_orders(node, mark.orders)
    prober.halt.set()
    prober.join(5)
    deaths = node.deaths_since(mark)
    return StepResult(
        "corpus",
        TITLE,
        figures=(
            Figure("datagrams sent", sent),
            Figure("process deaths", len(deaths), "== 0"),
            Figure(
                "edge → worker OPTIONS probes missed", node.worker_down_lines_since(mark), "== 0"
            ),
            Figure("battery → edge OPTIONS unanswered", prober.missed, "== 0", f"of {prober.sent}"),
            Figure("calls the corpus got answered", answered),
            Figure(
                "datagrams worker 1 dropped (not from the edge)",
                node.up.worker_log(0).count(NOT_FROM_EDGE) - dropped_before,
            ),
            Figure("work orders created", orders, "== 0"),
            Figure("node alive after", int(node.alive()), "== 1"),
        ),
        seconds=time.monotonic() - started,
        notes=(f"{len(files)} files, replayed in {replayed:.0f} s to the edge and worker 1",),
        details={"deaths": deaths},
    )


def _wait_calls_end(node: BatteryNode) -> int:
    """Until every call a worker answered has finished (at most ``SETTLE_LIMIT``); how many
    calls were answered since the node started (the corpus's, in a battery run)."""
    deadline = time.monotonic() + SETTLE_LIMIT
    answered: set[str] = set()
    while time.monotonic() < deadline:
        logs = "".join(node.up.worker_log(k) for k in range(len(node.up.sip_ports)))
        answered = set(re.findall(r"call (\S+) answered", logs))
        if answered <= set(re.findall(r"call (\S+) finished", logs)):
            break
        time.sleep(2)
    return len(answered)


def _settled_orders(node: BatteryNode, before: int) -> int:
    """Orders made since ``before``, once no new one came for ``SETTLE_SECONDS``."""
    deadline = time.monotonic() + 60
    count, since = len(node.orders()), time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - since < SETTLE_SECONDS:
        time.sleep(2)
        now = len(node.orders())
        if now != count:
            count, since = now, time.monotonic()
    return count - before


TITLE = "a) RFC 4475 + PROTOS c07 + pjsip seeds at the edge and at a worker"
