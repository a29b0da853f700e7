"""The ACD (automatic call distribution): queued calls to agents of ``config/agents.yaml``. Pure.

``Acd.handle(event, now) -> actions``: presence changes, queued calls, offer outcomes, callers
leaving and clock ticks go in; offers, position changes, overflows and timeouts come out. The
state (``agents``, ``calls``) is plain frozen records, so the work-order store can load it,
run one event under a database lock and write back what changed.

Rules:

* A waiting call goes to the **longest-idle** ready agent with every skill it needs (the
  call's own skills plus the group's ``skills_required``). Idle time is time spent ``ready``
  since the end of the agent's last call (or since signing in); breaks do not count.
* **Emergency** calls come before every normal call; otherwise first come, first served. A call
  that no ready agent can take does not hold up the calls behind it.
* An offered call makes its agent ``busy``. An agent who does not answer (no answer, busy,
  failed, or no outcome within ``ring_seconds`` + ``OFFER_MARGIN``) is set ``away`` (RONA,
  "redirect on no answer") and the call is offered again, keeping its place.
* After ``overflow_after`` seconds in its group a call may also be taken by the agents of the
  group's ``overflow_to`` — once per group, so two groups overflowing to each other cannot
  bounce a call back and forth. ``max_wait`` after it was queued it times out. A call that no
  signed-in agent could ever take overflows at once, or times out (``no_agents``).
* The IVR polls its calls; one not seen for ``STALE_AFTER`` (its worker died) is dropped.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from routing.agents import AgentConfig, AgentsConfig
from routing.errors import RoutingError

READY = "ready"  # 空闲
BUSY = "busy"  # 通话中 (also while an offered call rings)
AFTER_CALL = "after_call"  # 话后处理
AWAY = "away"  # 离开
OFFLINE = "offline"
PRESENCE_STATES = (READY, BUSY, AFTER_CALL, AWAY, OFFLINE)
#: What agents (or supervisors) may set; ``busy`` is the ACD's to give.
SETTABLE_STATES = (READY, AWAY, AFTER_CALL, OFFLINE)

NORMAL = "normal"
EMERGENCY = "emergency"
PRIORITIES = (EMERGENCY, NORMAL)  # head of the queue first

WAITING = "waiting"
OVERFLOWED = "overflowed"  # waiting, in a group it overflowed to (views only)
OFFERED = "offered"
CONNECTED = "connected"
TIMEOUT = "timeout"
LEFT = "left"
FINISHED = (CONNECTED, TIMEOUT, LEFT)

ANSWERED = "answered"
OUTCOMES = (ANSWERED, "no_answer", "busy", "failed")
LEAVE_REASONS = ("hangup", "callback", "timeout", "flow")

#: Time allowed beyond ``ring_seconds`` for the IVR's REFER and its outcome.
OFFER_MARGIN = timedelta(seconds=15)
#: A call whose IVR has not polled for this long is dropped (the worker is gone).
STALE_AFTER = timedelta(seconds=60)
#: Finished calls stay readable (the IVR's last poll, the wallboard) for this long.
KEEP_FINISHED = timedelta(minutes=10)


class AcdError(RoutingError):
    """An event names something the ACD does not know, or asks for something invalid."""


class UnknownAgent(AcdError):
    pass


class UnknownGroup(AcdError):
    pass


class UnknownCall(AcdError):
    pass


# -- state --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AgentPresence:
    login: str
    state: str = OFFLINE
    since: datetime | None = None  # last change of ``state``; None: never signed in
    #: Seconds ``ready`` since the end of the last call, not counting the current stretch.
    idle_seconds: float = 0.0
    call_id: str | None = None  # the call offered to or connected with the agent

    def idle(self, now: datetime) -> float:
        stretch = (now - self.since).total_seconds() if self.state == READY and self.since else 0.0
        return self.idle_seconds + max(0.0, stretch)


@dataclass(frozen=True, slots=True)
class QueuedCall:
    call_id: str
    caller: str
    group: str  # the group it waits in now
    groups: tuple[str, ...]  # every group it has entered, first the one it was queued to
    seq: int  # arrival order
    enqueued_at: datetime
    group_since: datetime
    last_seen: datetime
    skills: frozenset[str] = frozenset()
    priority: str = NORMAL
    status: str = WAITING
    agent: str | None = None
    offer_deadline: datetime | None = None
    ended_at: datetime | None = None
    detail: str = ""
    order_number: str | None = None
    menu_path: tuple[str, ...] = ()

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def shown_status(self) -> str:
        """``overflowed`` for a call waiting in a group it overflowed to."""
        return (
            OVERFLOWED if self.status == WAITING and self.group != self.groups[0] else self.status
        )

    def order(self) -> tuple[int, int]:
        return (PRIORITIES.index(self.priority), self.seq)


# -- events -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PresenceSet:
    login: str
    state: str


@dataclass(frozen=True, slots=True)
class CallQueued:
    call_id: str
    group: str
    caller: str
    skills: frozenset[str] = frozenset()
    priority: str = NORMAL
    order_number: str | None = None
    menu_path: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class OfferResult:
    call_id: str
    outcome: str  # answered | no_answer | busy | failed


@dataclass(frozen=True, slots=True)
class CallLeft:
    call_id: str
    reason: str  # hangup | callback | timeout | flow


@dataclass(frozen=True, slots=True)
class CallSeen:
    """The IVR asked about the call: it is still there."""

    call_id: str


@dataclass(frozen=True, slots=True)
class Tick:
    """Time passed: overflows, timeouts, unanswered offers, stale and old calls."""


Event = PresenceSet | CallQueued | OfferResult | CallLeft | CallSeen | Tick


# -- actions ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Offer:
    """Transfer the call to ``extension``; its phone rings for ``ring_seconds``."""

    call_id: str
    agent: str
    extension: str
    group: str
    ring_seconds: float


@dataclass(frozen=True, slots=True)
class PositionChanged:
    call_id: str
    position: int  # 1: next to be offered


@dataclass(frozen=True, slots=True)
class Overflowed:
    call_id: str
    from_group: str
    to_group: str


@dataclass(frozen=True, slots=True)
class TimedOut:
    call_id: str
    group: str
    reason: str  # max_wait | no_agents


@dataclass(frozen=True, slots=True)
class AgentSetAway:
    """RONA: ``login`` did not take ``call_id`` (``outcome``) and is now away."""

    login: str
    call_id: str
    outcome: str


@dataclass(frozen=True, slots=True)
class Connected:
    call_id: str
    agent: str


@dataclass(frozen=True, slots=True)
class OfferWithdrawn:
    """The caller left while ``agent``'s phone rang; the agent is ready again."""

    call_id: str
    agent: str


@dataclass(frozen=True, slots=True)
class CallLost:
    """The IVR stopped asking about the call (its worker is gone): it left the queue."""

    call_id: str


@dataclass(frozen=True, slots=True)
class CallForgotten:
    """A call finished ``KEEP_FINISHED`` ago was removed from the state."""

    call_id: str


Action = (
    Offer
    | PositionChanged
    | Overflowed
    | TimedOut
    | AgentSetAway
    | Connected
    | OfferWithdrawn
    | CallLost
    | CallForgotten
)


# -- the core -----------------------------------------------------------------------------


class Acd:
    """The queues and agents of one hotline; mutated by ``handle`` only."""

    def __init__(
        self,
        config: AgentsConfig,
        agents: Iterable[AgentPresence] = (),
        calls: Iterable[QueuedCall] = (),
    ) -> None:
        self.config = config
        known = {presence.login: presence for presence in agents}
        self.agents: dict[str, AgentPresence] = {
            login: known.get(login, AgentPresence(login)) for login in config.agents
        }
        self.calls: dict[str, QueuedCall] = {call.call_id: call for call in calls}

    # -- reading --------------------------------------------------------------------------

    def positions(self) -> dict[str, int]:
        """Position of every waiting call: 1 + the waiting calls ahead sharing a group with it."""
        waiting = sorted((c for c in self.calls.values() if c.status == WAITING), key=_order)
        out: dict[str, int] = {}
        for index, call in enumerate(waiting):
            groups = set(call.groups)
            ahead = sum(1 for other in waiting[:index] if groups.intersection(other.groups))
            out[call.call_id] = ahead + 1
        return out

    def offer_group(self, call: QueuedCall) -> str | None:
        """The group through which the agent offered ``call`` may take it."""
        agent = self.config.agents.get(call.agent or "")
        return None if agent is None else self._via(call, agent)

    def ready_agents(self, group: str) -> list[str]:
        return [
            agent.login
            for agent in self.config.members(group)
            if self.agents[agent.login].state == READY and self.agents[agent.login].call_id is None
        ]

    # -- events ---------------------------------------------------------------------------

    def handle(self, event: Event, now: datetime) -> list[Action]:
        before = self.positions()
        if isinstance(event, PresenceSet):
            todo = self._presence(event, now)
        elif isinstance(event, CallQueued):
            todo = self._queued(event, now)
        elif isinstance(event, OfferResult):
            call = dataclasses.replace(self._call(event.call_id), last_seen=now)
            self.calls[call.call_id] = call
            todo = self._offer_result(call, event.outcome, now)
        elif isinstance(event, CallLeft):
            todo = self._left(event, now)
        elif isinstance(event, CallSeen):
            call = self._call(event.call_id)
            self.calls[call.call_id] = dataclasses.replace(call, last_seen=now)
            return []
        else:
            todo = self._tick(now)
        todo += self._match(now)
        after = self.positions()
        todo += [
            PositionChanged(call_id, position)
            for call_id, position in after.items()
            if before.get(call_id) != position
        ]
        return todo

    def _presence(self, event: PresenceSet, now: datetime) -> list[Action]:
        if event.state not in SETTABLE_STATES:
            raise AcdError(f"state must be one of {', '.join(SETTABLE_STATES)}")
        presence = self._agent(event.login)
        if presence.state == event.state:
            return []
        idle = presence.idle(now) if presence.state != OFFLINE else 0.0
        call_id = presence.call_id
        if call_id is not None:
            call = self.calls.get(call_id)
            if call is None or call.status != OFFERED:
                call_id = None  # the agent moved on from a connected (or vanished) call
        self.agents[event.login] = AgentPresence(event.login, event.state, now, idle, call_id)
        return []

    def _queued(self, event: CallQueued, now: datetime) -> list[Action]:
        earlier = self.calls.get(event.call_id)
        if earlier is not None and not earlier.finished:
            return []  # a retried request: the call is queued already
        if event.group not in self.config.groups:
            raise UnknownGroup(f"unknown agent group {event.group!r}")
        if event.priority not in PRIORITIES:
            raise AcdError(f"priority must be one of {', '.join(PRIORITIES)}")
        seq = max((call.seq for call in self.calls.values()), default=0) + 1
        call = QueuedCall(
            call_id=event.call_id,
            caller=event.caller,
            group=event.group,
            groups=(event.group,),
            seq=seq,
            enqueued_at=now,
            group_since=now,
            last_seen=now,
            skills=event.skills,
            priority=event.priority,
            order_number=event.order_number,
            menu_path=event.menu_path,
        )
        self.calls[call.call_id] = call
        return self._review(call, now)

    def _offer_result(self, call: QueuedCall, outcome: str, now: datetime) -> list[Action]:
        if outcome not in OUTCOMES:
            raise AcdError(f"outcome must be one of {', '.join(OUTCOMES)}")
        if call.status != OFFERED or call.agent is None:
            return []  # a repeated or late report: nothing left to decide
        login = call.agent
        presence = self.agents.get(login)
        if outcome == ANSWERED:
            self.calls[call.call_id] = dataclasses.replace(
                call, status=CONNECTED, offer_deadline=None, ended_at=now
            )
            if presence is not None:
                # The call starts: idle time counts again from its end.
                self.agents[login] = AgentPresence(login, BUSY, now, 0.0, call.call_id)
            return [Connected(call.call_id, login)]
        self.calls[call.call_id] = dataclasses.replace(
            call, status=WAITING, agent=None, offer_deadline=None
        )
        if presence is None or presence.call_id != call.call_id:
            return []
        state = OFFLINE if presence.state == OFFLINE else AWAY
        self.agents[login] = dataclasses.replace(presence, state=state, since=now, call_id=None)
        return [AgentSetAway(login, call.call_id, outcome)]

    def _left(self, event: CallLeft, now: datetime) -> list[Action]:
        call = self._call(event.call_id)
        if event.reason not in LEAVE_REASONS:
            raise AcdError(f"reason must be one of {', '.join(LEAVE_REASONS)}")
        if call.finished:
            return []
        return self._end(call, LEFT, event.reason, now)

    def _end(self, call: QueuedCall, status: str, detail: str, now: datetime) -> list[Action]:
        todo: list[Action] = []
        if call.status == OFFERED and call.agent is not None:
            presence = self.agents.get(call.agent)
            if presence is not None and presence.call_id == call.call_id:
                state = READY if presence.state == BUSY else presence.state
                self.agents[call.agent] = dataclasses.replace(
                    presence, state=state, since=now, call_id=None
                )
            todo.append(OfferWithdrawn(call.call_id, call.agent))
        self.calls[call.call_id] = dataclasses.replace(
            call, status=status, detail=detail, ended_at=now, offer_deadline=None
        )
        return todo

    def _tick(self, now: datetime) -> list[Action]:
        todo: list[Action] = []
        for call in sorted(self.calls.values(), key=_order):
            if call.finished:
                if call.ended_at is not None and now - call.ended_at >= KEEP_FINISHED:
                    del self.calls[call.call_id]
                    todo.append(CallForgotten(call.call_id))
                continue
            if now - call.last_seen >= STALE_AFTER:
                todo += [*self._end(call, LEFT, "gone", now), CallLost(call.call_id)]
                continue
            if call.status == OFFERED:
                if call.offer_deadline is not None and now >= call.offer_deadline:
                    todo += self._offer_result(call, "no_answer", now)
                continue
            todo += self._review(call, now)
        return todo

    def _review(self, call: QueuedCall, now: datetime) -> list[Action]:
        """Overflow or time out a waiting call whose time has come (or that nobody can take)."""
        group = self.config.groups[call.group]
        if group.max_wait is not None and now - call.enqueued_at >= _seconds(group.max_wait):
            return [
                *self._end(call, TIMEOUT, "max_wait", now),
                TimedOut(call.call_id, call.group, "max_wait"),
            ]
        overflow_to = group.overflow_to if group.overflow_to not in call.groups else None
        staffed = self._staffed(call)
        due = group.overflow_after is not None and now - call.group_since >= _seconds(
            group.overflow_after
        )
        if overflow_to is not None and (due or not staffed):
            moved = dataclasses.replace(
                call, group=overflow_to, groups=(*call.groups, overflow_to), group_since=now
            )
            self.calls[call.call_id] = moved
            return [Overflowed(call.call_id, call.group, overflow_to), *self._review(moved, now)]
        if not staffed:
            return [
                *self._end(call, TIMEOUT, "no_agents", now),
                TimedOut(call.call_id, call.group, "no_agents"),
            ]
        return []

    def _staffed(self, call: QueuedCall) -> bool:
        """Some signed-in agent could take the call (now or once back from a break)."""
        return any(
            self.agents[agent.login].state != OFFLINE and self._via(call, agent) is not None
            for agent in self.config.agents.values()
        )

    def _match(self, now: datetime) -> list[Action]:
        todo: list[Action] = []
        for call in sorted(self.calls.values(), key=_order):
            if call.status != WAITING:
                continue
            best = self._longest_idle(call, now)
            if best is None:
                continue
            agent, group = best
            ring = self.config.groups[group].ring_seconds
            presence = self.agents[agent.login]
            self.agents[agent.login] = AgentPresence(
                agent.login, BUSY, now, presence.idle(now), call.call_id
            )
            self.calls[call.call_id] = dataclasses.replace(
                call,
                status=OFFERED,
                agent=agent.login,
                offer_deadline=now + _seconds(ring) + OFFER_MARGIN,
            )
            todo.append(Offer(call.call_id, agent.login, agent.extension, group, ring))
        return todo

    def _longest_idle(self, call: QueuedCall, now: datetime) -> tuple[AgentConfig, str] | None:
        best: tuple[float, int, AgentConfig, str] | None = None
        for rank, agent in enumerate(self.config.agents.values()):
            presence = self.agents[agent.login]
            if presence.state != READY or presence.call_id is not None:
                continue
            group = self._via(call, agent)
            if group is None:
                continue
            key = (presence.idle(now), -rank)
            if best is None or key > best[:2]:
                best = (*key, agent, group)
        return None if best is None else (best[2], best[3])

    def _via(self, call: QueuedCall, agent: AgentConfig) -> str | None:
        """The group through which ``agent`` may take ``call`` (its newest first), if any."""
        for name in reversed(call.groups):
            group = self.config.groups[name]
            if name in agent.groups and call.skills | group.skills_required <= agent.skills:
                return name
        return None

    def _agent(self, login: str) -> AgentPresence:
        try:
            return self.agents[login]
        except KeyError:
            raise UnknownAgent(f"unknown agent {login!r}") from None

    def _call(self, call_id: str) -> QueuedCall:
        try:
            return self.calls[call_id]
        except KeyError:
            raise UnknownCall(f"no queued call {call_id!r}") from None


def _order(call: QueuedCall) -> tuple[int, int]:
    return call.order()


def _seconds(value: float) -> timedelta:
    return timedelta(seconds=value)


def changed(
    before: Mapping[str, object], after: Mapping[str, object]
) -> tuple[list[str], list[str]]:
    """Keys whose value is new or different, and keys that are gone (for the store)."""
    updated = [key for key, value in after.items() if before.get(key) != value]
    removed = [key for key in before if key not in after]
    return updated, removed
