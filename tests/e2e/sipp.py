"""SIPp callers for the end-to-end tests: a scenario in the foreground, counted from its stats."""

from __future__ import annotations

import re
import time
from pathlib import Path

from tests.e2e.peers import REPO, Process, free_port

SCENARIOS = REPO / "tests" / "e2e" / "scenarios"


class Sipp(Process):
    """``calls`` callers of ``scenario`` (text, placeholders filled) at ``rate`` per second."""

    def __init__(
        self, workdir: Path, *, edge_port: int, scenario: str, calls: int, rate: float,
        service: str = "12320", name: str = "sipp",
    ) -> None:  # fmt: skip
        workdir.mkdir(parents=True, exist_ok=True)
        self.calls = calls
        self.stats = workdir / f"{name}-stat.csv"
        path = workdir / f"{name}.xml"
        path.write_text(scenario)
        super().__init__(
            ["sipp", f"127.0.0.1:{edge_port}", "-sf", str(path), "-s", service,
             "-i", "127.0.0.1", "-p", str(free_port()), "-mp", str(free_port() & ~1),
             "-m", str(calls), "-l", str(calls), "-r", str(rate), "-nostdin",
             "-trace_stat", "-stf", str(self.stats), "-fd", "1"],
            workdir, name,
        )  # fmt: skip

    def start(self) -> None:
        super().start()
        assert self.proc is not None
        self.pid = self.proc.pid  # in every Call-ID SIPp makes: "<n>-<pid>@<ip>"

    def call_ids_in(self, text: str) -> set[str]:
        """This run's SIP Call-IDs found in ``text`` (worker logs name them on answer)."""
        return set(re.findall(rf"\b\d+-{self.pid}@[\d.]+", text))

    def counts(self) -> tuple[int, int]:
        """(successful, failed) calls so far."""
        if not self.stats.exists():
            return 0, 0
        lines = [line.split(";") for line in self.stats.read_text().splitlines() if line.strip()]
        if len(lines) < 2:
            return 0, 0
        header, last = lines[0], lines[-1]
        return (int(last[header.index("SuccessfulCall(C)")]),
                int(last[header.index("FailedCall(C)")]))  # fmt: skip

    def wait_done(self, timeout: float) -> tuple[int, int]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            successful, failed = self.counts()
            if successful + failed >= self.calls:
                return successful, failed
            time.sleep(1.0)
        raise TimeoutError(f"SIPp: {self.counts()} of {self.calls} calls ended in {timeout}s")


def short_call(hold_ms: int) -> str:
    return (SCENARIOS / "short_call.xml").read_text().replace("HOLD_MS", str(hold_ms))


#: A worker's log line for an answered call: its own id, then the caller's SIP Call-ID.
ANSWERED = re.compile(r"call (\S+) answered \(.*?\), flow \S+, SIP Call-ID (\S+)")


def answered_calls(log: str) -> dict[str, str]:
    """Server-issued call id (orders' ``call_id``) → SIP Call-ID, for the calls in ``log``."""
    return {match.group(1): match.group(2) for match in ANSWERED.finditer(log)}
