"""The ACD in the store: agents' presence and queued calls in the database, one authority.

Every ACD step (presence change, queued call, offer outcome, caller gone, tick) runs in one
transaction that first takes the ACD lock — ``pg_advisory_xact_lock`` on PostgreSQL; SQLite's
``BEGIN IMMEDIATE`` already lets one writer in at a time — then loads the whole ACD state,
lets the pure core (``routing.acd``) decide, writes back what changed, and queues the
``call.offered`` / ``queue.changed`` events in the outbox. So any number of service instances
may share one database: whichever takes the lock decides, on the state the last one left,
and an offer is never made twice. The state is small (agents, and calls in the queues or
finished in the last ``KEEP_FINISHED``), so loading it whole each time is cheap.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from routing import acd
from routing.agents import NO_AGENTS, AgentsConfig
from workorders.errors import InvalidInput, NotFound
from workorders.events.agents import (
    EarlierOrder,
    agent_pop_topic,
    call_offered_event,
    queue_changed_event,
    queue_topic,
)
from workorders.repeats import ANONYMOUS
from workorders.store.base import Database, Part, shielded
from workorders.store.rows import outbox_row
from workorders.store.tables import AgentPresenceRow, QueuedCallRow, WorkOrderRow

log = logging.getLogger("workorders.acd")

#: Key of the PostgreSQL advisory lock every ACD step holds (the migration lock is 12320).
ACD_LOCK_KEY = 12321
HISTORY_LIMIT = 10
HISTORY_DAYS = 90


@dataclass(frozen=True)
class AcdStep:
    """One ACD step done: the state after it, what the core did, when, and the outbox rows
    it queued (the caller wakes the publisher when there are any)."""

    state: acd.Acd
    actions: list[acd.Action]
    now: datetime
    events: int


class AcdStore(Part):
    """Agents' presence and queued calls. ``use_agents`` gives it ``config/agents.yaml``
    (default: none)."""

    def __init__(self, db: Database) -> None:
        super().__init__(db)
        self._agents_config: AgentsConfig = NO_AGENTS
        self._acd_changed: asyncio.Event | None = None

    def use_agents(self, config: AgentsConfig) -> None:
        self._agents_config = config

    @property
    def agents_config(self) -> AgentsConfig:
        return self._agents_config

    # -- steps ----------------------------------------------------------------------------

    @shielded
    async def acd_step(self, event: acd.Event) -> AcdStep:
        """Run one event through the ACD under the ACD lock."""
        async with self._transaction() as session:
            if self._backend == "postgresql":
                await session.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": ACD_LOCK_KEY}
                )
            now = self._clock()
            agent_rows = {row.login: row for row in await session.scalars(select(AgentPresenceRow))}
            call_rows = {row.call_id: row for row in await session.scalars(select(QueuedCallRow))}
            core = acd.Acd(
                self._agents_config,
                (_presence(row) for row in agent_rows.values()),
                (_call(row) for row in call_rows.values()),
            )
            agents_before, calls_before = dict(core.agents), dict(core.calls)
            counts_before = _group_counts(core)
            try:
                actions = core.handle(event, now)
            except (acd.UnknownAgent, acd.UnknownCall, acd.UnknownGroup) as exc:
                raise NotFound(str(exc)) from exc
            except acd.AcdError as exc:
                raise InvalidInput(str(exc)) from exc
            _write_agents(session, agent_rows, agents_before, core.agents)
            await _write_calls(session, call_rows, calls_before, core.calls)
            events = 0
            for action in actions:
                if isinstance(action, acd.Offer):
                    await self._offered(session, core, action, now)
                    events += 1
            for group, counts in _group_counts(core).items():
                if counts != counts_before.get(group):
                    self._queue_changed(session, group, counts, now)
                    events += 1
        self._log(actions)
        if actions or events or not isinstance(event, acd.Tick):
            self._acd_changes().set()
            self._acd_changed = asyncio.Event()
        return AcdStep(core, actions, now, events)

    async def acd_tick(self) -> AcdStep | None:
        """Overflows, timeouts and unanswered offers that fell due (``None``: no queued calls,
        nothing to do, no lock taken)."""
        if not await self._acd_busy():
            return None
        return await self.acd_step(acd.Tick())

    @shielded
    async def _acd_busy(self) -> bool:
        async with self._transaction() as session:
            return bool(await session.scalar(select(func.count()).select_from(QueuedCallRow)))

    @shielded
    async def acd_state(self) -> tuple[acd.Acd, datetime]:
        """The ACD as it stands (read only, no lock)."""
        async with self._transaction() as session:
            agents = [_presence(row) for row in await session.scalars(select(AgentPresenceRow))]
            calls = [_call(row) for row in await session.scalars(select(QueuedCallRow))]
            now = self._clock()
        return acd.Acd(self._agents_config, agents, calls), now

    async def acd_changed(self) -> None:
        """Returns at the next ACD step of this process (another process's steps are only
        seen by reading again: callers bound the wait)."""
        await self._acd_changes().wait()

    def _acd_changes(self) -> asyncio.Event:
        if self._acd_changed is None:
            self._acd_changed = asyncio.Event()
        return self._acd_changed

    # -- events ---------------------------------------------------------------------------

    async def _offered(
        self, session: AsyncSession, core: acd.Acd, offer: acd.Offer, now: datetime
    ) -> None:
        call = core.calls[offer.call_id]
        history, repeat = await self._history(session, call, now)
        event_id = str(uuid.uuid4())
        event = call_offered_event(
            event_id,
            now,
            call_id=call.call_id,
            caller_number=call.caller,
            group=offer.group,
            agent=offer.agent,
            menu_path=call.menu_path,
            order_number=call.order_number,
            history=history,
            repeat_caller=repeat,
            priority=call.priority,
        )
        session.add(outbox_row(event_id, agent_pop_topic(offer.agent), now, event))

    async def _history(
        self, session: AsyncSession, call: acd.QueuedCall, now: datetime
    ) -> tuple[tuple[EarlierOrder, ...], bool]:
        """The caller's earlier orders, newest first, and whether one is a repeat (重复来电)."""
        if call.caller.lower() in ANONYMOUS:
            return (), False
        query = (
            select(WorkOrderRow)
            .where(
                WorkOrderRow.caller_number == call.caller,
                WorkOrderRow.received_at >= now - timedelta(days=HISTORY_DAYS),
            )
            .order_by(WorkOrderRow.received_at.desc(), WorkOrderRow.id.desc())
            .limit(HISTORY_LIMIT + 1)
        )
        rows = [row for row in await session.scalars(query) if row.number != call.order_number]
        window = self._rules.sla.repeats.window
        repeat = any(row.received_at >= now - window for row in rows)
        history = tuple(
            EarlierOrder(row.number, row.created_at, row.category, row.status)
            for row in rows[:HISTORY_LIMIT]
        )
        return history, repeat

    def _queue_changed(
        self, session: AsyncSession, group: str, counts: tuple[int, int], now: datetime
    ) -> None:
        event_id = str(uuid.uuid4())
        label = self._agents_config.groups[group].label
        event = queue_changed_event(
            event_id, now, group=group, label=label, waiting=counts[0], agents_ready=counts[1]
        )
        session.add(outbox_row(event_id, queue_topic(group), now, event))

    def _log(self, actions: list[acd.Action]) -> None:
        for action in actions:
            if isinstance(action, acd.Offer):
                log.info("call %s offered to %s (%s)", action.call_id, action.agent, action.group)
            elif isinstance(action, acd.AgentSetAway):
                log.warning(
                    "agent %s did not take call %s (%s): set away",
                    action.login,
                    action.call_id,
                    action.outcome,
                )
            elif isinstance(action, acd.Overflowed):
                log.info(
                    "call %s overflowed from %s to %s",
                    action.call_id,
                    action.from_group,
                    action.to_group,
                )
            elif isinstance(action, acd.TimedOut):
                log.info(
                    "call %s timed out in %s (%s)", action.call_id, action.group, action.reason
                )
            elif isinstance(action, acd.CallLost):
                log.warning("call %s dropped: its IVR stopped asking", action.call_id)


def _group_counts(core: acd.Acd) -> dict[str, tuple[int, int]]:
    """Per group: calls waiting in it, and agents ready to take one."""
    waiting = dict.fromkeys(core.config.groups, 0)
    for call in core.calls.values():
        if call.status == acd.WAITING:
            waiting[call.group] = waiting.get(call.group, 0) + 1
    return {group: (waiting[group], len(core.ready_agents(group))) for group in core.config.groups}


def _presence(row: AgentPresenceRow) -> acd.AgentPresence:
    return acd.AgentPresence(row.login, row.state, row.since, row.idle_seconds, row.call_id)


def _call(row: QueuedCallRow) -> acd.QueuedCall:
    return acd.QueuedCall(
        call_id=row.call_id,
        caller=row.caller,
        group=row.group,
        groups=tuple(row.groups),
        seq=row.seq,
        enqueued_at=row.enqueued_at,
        group_since=row.group_since,
        last_seen=row.last_seen,
        skills=frozenset(row.skills),
        priority=row.priority,
        status=row.status,
        agent=row.agent,
        offer_deadline=row.offer_deadline,
        ended_at=row.ended_at,
        detail=row.detail,
        order_number=row.order_number,
        menu_path=tuple(row.menu_path),
    )


def _write_agents(
    session: AsyncSession,
    rows: dict[str, AgentPresenceRow],
    before: dict[str, acd.AgentPresence],
    after: dict[str, acd.AgentPresence],
) -> None:
    for login, presence in after.items():
        if login in rows and before.get(login) == presence:
            continue
        row = rows.get(login)
        if row is None:
            if presence == acd.AgentPresence(login):
                continue  # never signed in: nothing to keep
            row = AgentPresenceRow(login=login)
            session.add(row)
        row.state = presence.state
        row.since = presence.since
        row.idle_seconds = presence.idle_seconds
        row.call_id = presence.call_id


async def _write_calls(
    session: AsyncSession,
    rows: dict[str, QueuedCallRow],
    before: dict[str, acd.QueuedCall],
    after: dict[str, acd.QueuedCall],
) -> None:
    for call_id in before:
        if call_id not in after and call_id in rows:
            await session.delete(rows.pop(call_id))
    for call_id, call in after.items():
        if before.get(call_id) == call:
            continue
        row = rows.get(call_id)
        if row is None:
            row = QueuedCallRow(call_id=call_id)
            session.add(row)
        row.seq = call.seq
        row.caller = call.caller
        row.group = call.group
        row.groups = list(call.groups)
        row.skills = sorted(call.skills)
        row.priority = call.priority
        row.status = call.status
        row.agent = call.agent
        row.enqueued_at = call.enqueued_at
        row.group_since = call.group_since
        row.last_seen = call.last_seen
        row.offer_deadline = call.offer_deadline
        row.ended_at = call.ended_at
        row.detail = call.detail
        row.order_number = call.order_number
        row.menu_path = list(call.menu_path)
