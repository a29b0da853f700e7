"""When ``hotline up`` starts a dead child again, and when it says that one keeps crashing.

Pure: the supervisor asks ``ChildRestarts.step`` every half second with whether the
child runs, when it was started and ``now`` (monotonic seconds); the answer is what
to do. Every child of a node — the edge, the work-order service, the IVR workers
and the broker when the node started it — is tended the same way, because a node
that stops when one part dies stops answering an emergency line while the other
parts were fine: a caller in the middle of an intake keeps talking to a worker
while the service is restarted, and the worker spools the order meanwhile.
"""

from __future__ import annotations

from dataclasses import dataclass

#: After this many crashes in a row (each within ``stable_after`` of its start) the
#: supervisor reports the child loudly at every restart: something is wrong with it
#: that restarting does not cure (a broken file, a port taken), and an operator must look.
CRASH_LOOP = 5


class RestartBackoff:
    """Delays before restarting a child that keeps crashing: 1, 2, 4 … 30 s.

    A child that ran for ``stable_after`` seconds before it died starts again
    after ``first`` seconds: its earlier crashes are forgiven.
    """

    def __init__(self, first: float = 1.0, longest: float = 30.0, stable_after: float = 60.0):
        self.first = first
        self.longest = longest
        self.stable_after = stable_after
        self.crashes = 0

    def delay_after(self, ran_for: float) -> float:
        if ran_for >= self.stable_after:
            self.crashes = 0
        self.crashes += 1
        return float(min(self.longest, self.first * 2 ** (self.crashes - 1)))


@dataclass(frozen=True, slots=True)
class Died:
    """The child was found dead; it starts again in ``delay`` seconds."""

    delay: float
    crashes: int  # in a row, counting this one
    crash_loop: bool  # ``crashes`` reached ``CRASH_LOOP``: report it loudly


@dataclass(frozen=True, slots=True)
class RestartNow:
    """The backoff has passed: start the child again."""


class ChildRestarts:
    """The restart state of one child of the node."""

    def __init__(self, backoff: RestartBackoff | None = None) -> None:
        self.backoff = backoff or RestartBackoff()
        self.restart_at: float | None = None  # set while the child waits to start again

    def step(self, *, alive: bool, started_at: float, now: float) -> Died | RestartNow | None:
        if self.restart_at is None:
            if alive:
                return None
            delay = self.backoff.delay_after(now - started_at)
            self.restart_at = now + delay
            crashes = self.backoff.crashes
            return Died(delay=delay, crashes=crashes, crash_loop=crashes >= CRASH_LOOP)
        if now >= self.restart_at:
            self.restart_at = None
            return RestartNow()
        return None
