"""The IVR's side of a queued call: the menu's ``queue`` verb and a line's agent fallback.

``QueueWait`` is pure (time passed in): statuses of the call from the ACD (the work-order
service), the caller's keys and the progress of a transfer go in; announcements of the
caller's position, REFERs to the offered agent's phone, reports to the ACD and the final
outcome come out. ``QueueDriver`` runs one for a call: it queues the call, long-polls its
status, carries out the actions and hands the outcome to the session.

The caller hears "您前面还有 N 位来电者，请稍候" when their position changes (and every
``ANNOUNCE_EVERY``), and may press ``CALLBACK_KEY`` to leave a callback request instead of
waiting: the queue then ends with ``detail="callback"`` and the menu's ``on_failure`` flow
opens the order. An offer is a blind transfer to the agent's extension at the edge; if the
agent does not answer, the ACD is told and offers the call again (possibly to someone else).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from ivr.engine.verbs.numbers import number_prompts
from ivr.orders_client import OrdersUnavailable

log = logging.getLogger("ivr.queueing")

CALLBACK_KEY = "1"
ANNOUNCE_EVERY = timedelta(seconds=20)
#: How long one status request may wait for a change at the service.
POLL_WAIT_SECONDS = 15.0
#: Beyond the ring time, for the REFER, its NOTIFYs and the edge's CANCEL to come back.
REFER_MARGIN = timedelta(seconds=5)
#: Queue outcomes after which a line's fallback rings its agents directly instead.
NO_QUEUE = ("unavailable", "no_agents")

_WAITING = ("waiting", "overflowed")


@dataclass(frozen=True, slots=True)
class AgentOffer:
    agent: str
    extension: str
    ring_seconds: float


@dataclass(frozen=True, slots=True)
class QueueStatus:
    """The ACD's answer about the call (``GET /api/v1/queues/calls/{id}``)."""

    status: str  # waiting | overflowed | offered | connected | timeout | left
    version: str
    position: int | None = None
    offer: AgentOffer | None = None
    detail: str = ""


def parse_status(data: dict[str, Any]) -> QueueStatus:
    """The API's JSON; anything unexpected reads as ``unavailable`` (the call goes on)."""
    try:
        offer = data.get("offer")
        return QueueStatus(
            status=str(data["status"]),
            version=str(data["version"]),
            position=int(data["position"]) if data.get("position") is not None else None,
            offer=AgentOffer(
                str(offer["agent"]), str(offer["extension"]), float(offer["ring_seconds"])
            )
            if offer
            else None,
            detail=str(data.get("detail") or ""),
        )
    except (KeyError, TypeError, ValueError):
        return QueueStatus("left", "", detail="unavailable")


# -- actions ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Announce:
    prompts: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Silence:
    """Stop what the queue is playing (the caller leaves the queue or is transferred)."""


@dataclass(frozen=True, slots=True)
class Refer:
    offer: AgentOffer


@dataclass(frozen=True, slots=True)
class Report:
    """Tell the ACD how the offer went (answered | no_answer | busy | failed)."""

    outcome: str


@dataclass(frozen=True, slots=True)
class OfferEnded:
    """One transfer attempt to an agent, for the order's ledger."""

    offer: AgentOffer
    started: datetime
    ended: datetime
    outcome: str  # answered | refused | no_answer (as ivr.transfer.Attempt)
    code: int | None


@dataclass(frozen=True, slots=True)
class Leave:
    reason: str  # hangup | callback | timeout | flow


@dataclass(frozen=True, slots=True)
class Finish:
    ok: bool
    detail: str  # connected | callback | timeout | max_wait | no_agents | unavailable | left


Action = Announce | Silence | Refer | Report | OfferEnded | Leave | Finish


def position_prompts(position: int) -> tuple[str, ...]:
    """Position 1 is next; otherwise 您前面还有 N 位来电者 with N read as a number."""
    if position <= 1:
        return ("queue_next",)
    return ("queue_ahead", *number_prompts(position - 1), "queue_callers")


def report_outcome(code: int | None) -> str:
    if code in (486, 600, 603):
        return "busy"
    if code in (408, 480, 487) or code is None:
        return "no_answer"
    return "failed"


class QueueWait:
    """One call's wait in a queue: ``queueing`` → ``waiting`` ⇄ ``transferring`` → ``done``."""

    def __init__(self, *, callback_key: str | None = CALLBACK_KEY) -> None:
        self.callback_key = callback_key
        self.state = "queueing"
        self.version: str | None = None  # of the last status taken into account
        self.position: int | None = None
        self.announced: tuple[int | None, datetime] | None = None
        self.offer: AgentOffer | None = None
        self.refer_started: datetime | None = None
        self.refer_deadline: datetime | None = None

    @property
    def done(self) -> bool:
        return self.state == "done"

    @property
    def polling(self) -> bool:
        return self.state == "waiting"

    @property
    def transferring(self) -> bool:
        return self.state == "transferring"

    def deadline(self) -> datetime | None:
        """When ``on_time`` must be called (the ring time of an offer is up)."""
        return self.refer_deadline if self.transferring else None

    def on_status(self, status: QueueStatus, now: datetime) -> list[Action]:
        if self.state not in ("queueing", "waiting"):
            return []
        if self.state == "waiting" and status.version == self.version:
            return self._maybe_announce(now)  # nothing new (a long-poll that timed out)
        self.version = status.version
        self.state = "waiting"
        if status.status in _WAITING:
            self.position = status.position
            return self._maybe_announce(now)
        if status.status == "offered" and status.offer is not None:
            self.state = "transferring"
            self.offer = status.offer
            self.refer_started = now
            self.refer_deadline = now + timedelta(seconds=status.offer.ring_seconds) + REFER_MARGIN
            return [Silence(), Refer(status.offer)]
        if status.status == "connected":
            return self._finish(True, "connected")
        return self._finish(False, status.detail or status.status)

    def on_key(self, key: str) -> list[Action]:
        if key == self.callback_key and self.state in ("queueing", "waiting"):
            return [Leave("callback"), *self._finish(False, "callback")]
        return []

    def on_transfer(self, stage: str, code: int | None, now: datetime) -> list[Action]:
        if not self.transferring or stage not in ("answered", "failed"):
            return []
        if stage == "answered":
            return [
                self._ended(now, "answered", code),
                Report("answered"),
                *self._finish(True, "connected"),
            ]
        return self._offer_failed(now, "refused", code)

    def on_time(self, now: datetime) -> list[Action]:
        if self.transferring and self.refer_deadline is not None and now >= self.refer_deadline:
            return self._offer_failed(now, "no_answer", None)
        if self.polling:
            return self._maybe_announce(now)
        return []

    def on_failure(self, reason: str) -> list[Action]:
        """The service cannot be reached (or refuses): the queue is over for this call."""
        if self.done:
            return []
        leave = [Leave("flow")] if self.state != "queueing" else []
        log.warning("queue unavailable: %s", reason)
        return [*leave, *self._finish(False, "unavailable")]

    def cancel(self, reason: str) -> list[Action]:
        """The caller hung up or the flow went on: leave the queue, no outcome."""
        if self.done:
            return []
        self.state = "done"
        return [Silence(), Leave(reason)]

    def _maybe_announce(self, now: datetime) -> list[Action]:
        if self.position is None:
            return []
        if self.announced is not None:
            position, at = self.announced
            if position == self.position and now < at + ANNOUNCE_EVERY:
                return []
        hint = ("queue_callback_hint",) if self.callback_key else ()
        self.announced = (self.position, now)
        return [Announce((*position_prompts(self.position), *hint))]

    def _offer_failed(self, now: datetime, outcome: str, code: int | None) -> list[Action]:
        ended = self._ended(now, outcome, code)
        self.state = "waiting"
        self.announced = None  # tell the caller where they are again
        return [ended, Report(report_outcome(code))]

    def _ended(self, now: datetime, outcome: str, code: int | None) -> OfferEnded:
        assert self.offer is not None and self.refer_started is not None
        ended = OfferEnded(self.offer, self.refer_started, now, outcome, code)
        self.offer = self.refer_started = self.refer_deadline = None
        return ended

    def _finish(self, ok: bool, detail: str) -> list[Action]:
        self.state = "done"
        return [Silence(), Finish(ok, detail)]


# -- the driver ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QueueRequest:
    call_id: str
    caller: str
    group: str
    priority: str = "normal"
    skills: tuple[str, ...] = ()
    order_number: str | None = None
    menu_path: tuple[str, ...] = ()


class QueueApi(Protocol):
    """``ivr.orders_client.OrdersClient``: raises ``OrdersUnavailable`` when it cannot."""

    async def enqueue(self, group: str, body: dict[str, Any]) -> dict[str, Any]: ...
    async def queue_status(self, call_id: str, seen: str | None, wait: float) -> dict[str, Any]: ...
    async def report_offer(self, call_id: str, outcome: str) -> dict[str, Any]: ...
    async def leave_queue(self, call_id: str, reason: str) -> None: ...


class Caller(Protocol):
    """What the driver does to the call (``ivr.session.CallSession`` on its leg)."""

    def queue_announce(self, prompts: tuple[str, ...]) -> None: ...
    def queue_silence(self) -> None: ...
    def queue_refer(self, offer: AgentOffer) -> None: ...
    def queue_offer_ended(self, ended: OfferEnded) -> None: ...
    def queue_finished(self, ok: bool, detail: str) -> None: ...


class QueueDriver:
    """Runs one ``QueueWait``; the session feeds it keys and transfer progress."""

    def __init__(
        self,
        request: QueueRequest,
        api: QueueApi,
        caller: Caller,
        clock: Callable[[], datetime],
        spawn: Callable[[Coroutine[Any, Any, None]], None],
    ) -> None:
        self.request = request
        self.api = api
        self.caller = caller
        self.clock = clock
        self.spawn = spawn
        self.wait = QueueWait()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def transferring(self) -> bool:
        return self.wait.transferring

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"queue-{self.request.call_id}")

    def on_key(self, key: str) -> bool:
        """Keys while queued are the queue's (the callback key; the rest are ignored)."""
        self._do(self.wait.on_key(key))
        self._wake.set()
        return True

    def on_transfer(self, stage: str, code: int | None) -> None:
        self._do(self.wait.on_transfer(stage, code, self.clock()))
        self._wake.set()  # polling again, or done

    def cancel(self, reason: str) -> None:
        self._do(self.wait.cancel(reason))

    async def _run(self) -> None:
        request = self.request
        body = {
            "call_id": request.call_id,
            "caller": request.caller,
            "skills": list(request.skills),
            "priority": request.priority,
            "order_number": request.order_number,
            "menu_path": list(request.menu_path),
        }
        try:
            status = parse_status(await self.api.enqueue(request.group, body))
            self._do(self.wait.on_status(status, self.clock()))
            while not self.wait.done:
                if self.wait.polling:
                    data = await self.api.queue_status(
                        request.call_id, self.wait.version, POLL_WAIT_SECONDS
                    )
                    self._do(self.wait.on_status(parse_status(data), self.clock()))
                    continue
                deadline = self.wait.deadline()
                timeout = None if deadline is None else (deadline - self.clock()).total_seconds()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(max(0.0, timeout) if timeout is not None else None):
                        await self._wake.wait()
                self._wake.clear()
                self._do(self.wait.on_time(self.clock()))
        except Exception as exc:  # OrdersUnavailable, or anything unexpected: the call goes on
            if not isinstance(exc, OrdersUnavailable):
                log.exception("call %s: queue failed", request.call_id)
            self._do(self.wait.on_failure(str(exc)))

    def _do(self, todo: list[Action]) -> None:
        for action in todo:
            if isinstance(action, Announce):
                self.caller.queue_announce(action.prompts)
            elif isinstance(action, Silence):
                self.caller.queue_silence()
            elif isinstance(action, Refer):
                self.caller.queue_refer(action.offer)
            elif isinstance(action, Report):
                self.spawn(self._report(action.outcome))
            elif isinstance(action, OfferEnded):
                self.caller.queue_offer_ended(action)
            elif isinstance(action, Leave):
                self.spawn(self._leave(action.reason))
            elif isinstance(action, Finish):
                self.caller.queue_finished(action.ok, action.detail)
        if self.wait.done and self._task is not None and self._task is not asyncio.current_task():
            self._task.cancel()  # a long-poll still out is of no use now

    async def _report(self, outcome: str) -> None:
        try:
            await self.api.report_offer(self.request.call_id, outcome)
        except OrdersUnavailable as exc:
            log.warning("call %s: offer outcome not reported: %s", self.request.call_id, exc)

    async def _leave(self, reason: str) -> None:
        try:
            await self.api.leave_queue(self.request.call_id, reason)
        except OrdersUnavailable as exc:
            log.warning("call %s: leaving the queue not reported: %s", self.request.call_id, exc)
