"""The session's part of a ``transfer``: try a line's targets in order, then its fallback group
(queued at the ACD first, see ``LineTransfer.hold_fallback``; its members rung directly if not).

Pure bookkeeping with time passed in: the session tells it what the leg
reported (``LegTransfer`` stages) and when its deadline passed, and does what
it answers — REFER to the next target, or hand the engine its
``TransferResult``. Every attempt is kept so that it can go on the order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

#: Time allowed on top of a target's ring timeout for the REFER, its NOTIFYs and
#: the edge's CANCEL to come back before the attempt counts as lost.
SIGNALLING_MARGIN = timedelta(seconds=5)


class LineLike(Protocol):
    targets: tuple[str, ...]
    ring_seconds: float
    fallback_group: str | None


class GroupLike(Protocol):
    members: tuple[str, ...]
    ring_seconds: float


@dataclass(frozen=True, slots=True)
class Candidate:
    uri: str
    ring_seconds: float
    fallback: bool  # a member of the line's fallback agent group


@dataclass(frozen=True, slots=True)
class Attempt:
    target: str
    started: datetime
    ended: datetime
    outcome: str  # "answered" | "refused" | "no_answer"
    code: int | None
    fallback: bool

    def as_dict(self) -> dict[str, object]:
        return {
            "target": self.target,
            "started": self.started.isoformat(),
            "ended": self.ended.isoformat(),
            "outcome": self.outcome,
            "code": self.code,
            "fallback": self.fallback,
        }


def resolve(uri: str, edge: tuple[str, int]) -> str:
    """``sip:120`` (no host) is user 120 at the edge; a full URI is kept."""
    if "@" in uri:
        return uri
    scheme, user = uri.split(":", 1)
    return f"{scheme}:{user}@{edge[0]}:{edge[1]}"


def candidates(
    line: LineLike, groups: Mapping[str, GroupLike], edge: tuple[str, int]
) -> list[Candidate]:
    out = [Candidate(resolve(t, edge), line.ring_seconds, False) for t in line.targets]
    group = groups.get(line.fallback_group) if line.fallback_group else None
    if group is not None:
        out += [Candidate(resolve(m, edge), group.ring_seconds, True) for m in group.members]
    return out


@dataclass
class LineTransfer:
    """One ``transfer`` in progress."""

    line: str
    queue: Sequence[Candidate]
    give_up_at: datetime  # the engine's own timeout: no new attempt after this
    #: The line's agent group; while ``hold_fallback``, its members are not rung directly:
    #: the session queues the call for the group at the ACD first (``ivr/queueing.py``).
    fallback_group: str | None = None
    hold_fallback: bool = False
    attempts: list[Attempt] = field(default_factory=list)
    current: Candidate | None = None
    current_started: datetime | None = None
    attempt_deadline: datetime | None = None
    _next: int = 0

    def next_target(self, now: datetime) -> Candidate | None:
        """The next target to REFER to (and remembers it), or ``None``: all failed."""
        if self._next >= len(self.queue) or now >= self.give_up_at:
            self.current = None
            return None
        if self.hold_fallback and self.queue[self._next].fallback:
            self.current = None
            return None
        self.current = self.queue[self._next]
        self._next += 1
        self.current_started = now
        self.attempt_deadline = now + timedelta(seconds=self.current.ring_seconds)
        self.attempt_deadline += SIGNALLING_MARGIN
        return self.current

    def finish_attempt(self, now: datetime, outcome: str, code: int | None) -> Attempt | None:
        if self.current is None or self.current_started is None:
            return None
        attempt = Attempt(
            self.current.uri, self.current_started, now, outcome, code, self.current.fallback
        )
        self.attempts.append(attempt)
        self.current = None
        self.attempt_deadline = None
        return attempt
