"""The lifecycle state machine: ``apply(lifecycle, command, actor, now, rules) -> Outcome``.

Pure: no I/O, no clock. Every accepted command yields exactly one ledger entry; a command
that the state or the actor's role and unit do not allow raises ``Conflict`` or
``Forbidden`` and changes nothing. The clock's part (``due_commands``, ``next_check``) is in
``deadlines.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from routing.dispatch import choose_unit
from routing.errors import RoutingError
from routing.units import DOMAIN_LABELS, TIER_CENTRE
from workorders.errors import Conflict, Forbidden, InvalidInput
from workorders.lifecycle.deadlines import (
    Rules,
    active_deadlines,
    capped,
    due_commands,
    limit_deadline,
    new_lifecycle,
    next_check,
)
from workorders.lifecycle.model import (
    COSIGN_KINDS,
    INVALID_REASONS,
    MODE_LABELS,
    SATISFACTION_LABELS,
    SYSTEM,
    Actor,
    Alert,
    Callback,
    CallbackResult,
    Classify,
    Close,
    Command,
    Cosign,
    Deadline,
    DecideExtension,
    Extension,
    Feedback,
    Instruct,
    LedgerEntry,
    Lifecycle,
    MarkValidity,
    Object,
    Outcome,
    Reassign,
    RecordTransfer,
    Reply,
    RequestExtension,
    Return,
    ReviewObjection,
    Sign,
    Start,
    State,
    Supervise,
    Warn,
)
from workorders.tokens import (
    ROLE_ADMIN,
    ROLE_CALL_TAKER,
    ROLE_DISPATCHER,
    ROLE_HANDLER,
    ROLE_IVR,
    ROLE_LEADER,
    ROLE_SUPERVISOR,
    ROLE_SYSTEM,
    UNIT_ROLES,
)

_INTAKE = frozenset({ROLE_CALL_TAKER, ROLE_SUPERVISOR, ROLE_ADMIN})
_CENTRE_MANAGERS = frozenset({ROLE_SUPERVISOR, ROLE_ADMIN})
_UNIT_WORKERS = frozenset({ROLE_HANDLER, ROLE_DISPATCHER})
_OPEN_STATES = frozenset(State) - {State.CLOSED}


def apply(life: Lifecycle, command: Command, actor: Actor, now: datetime, rules: Rules) -> Outcome:
    handler = _HANDLERS.get(type(command))
    if handler is None:
        raise InvalidInput(f"unknown action {command.action!r}", field="action")
    if actor.role == ROLE_IVR and not isinstance(command, RecordTransfer):
        raise Forbidden(f"the IVR may only record transfer attempts, not {command.action}")
    return handler(_Step(life, actor, now, rules, command.action), command)


@dataclass(frozen=True)
class _Step:
    life: Lifecycle
    actor: Actor
    now: datetime
    rules: Rules
    action: str

    def require_state(self, *states: State) -> None:
        if self.life.state not in states:
            allowed = ", ".join(s.value for s in states)
            raise Conflict(
                f"cannot {self.action} an order that is {self.life.state.value} "
                f"(only when {allowed})",
                field="action",
            )

    def require(self, allowed: bool, why: str) -> None:
        if not allowed:
            raise Forbidden(f"{self.actor.role} {self.actor.name} may not {self.action}: {why}")

    def is_centre(self) -> bool:
        unit = self.actor.unit
        return self.actor.role not in UNIT_ROLES and (
            unit is None or self.rules.tree.is_centre(unit)
        )

    def require_centre(self, roles: frozenset[str]) -> None:
        self.require(self.actor.role in roles and self.is_centre(), "a centre role is needed")

    def in_scope(self, unit: str | None) -> bool:
        """Whether ``unit`` lies within the actor's unit."""
        own = self.actor.unit
        return own is not None and unit is not None and self.rules.tree.is_within(unit, own)

    def require_handling_unit(self) -> None:
        """The handling unit's own people, or the centre for orders it handles itself."""
        if self.life.state is State.INVESTIGATING:
            self.require_centre(_CENTRE_MANAGERS)
        else:
            self.require(
                self.actor.role in _UNIT_WORKERS and self.in_scope(self.life.unit),
                "only the handling unit",
            )

    def done(
        self,
        life: Lifecycle,
        note: str = "",
        alerts: tuple[Alert, ...] = (),
        **data: Any,
    ) -> Outcome:
        entry = LedgerEntry(
            at=self.now,
            actor=self.actor.name,
            role=self.actor.role,
            unit=self.actor.unit,
            action=self.action,
            state=life.state,
            note=note,
            data={k: v for k, v in data.items() if v is not None},
        )
        return Outcome(life, entry, alerts)


def _text(value: str, field: str) -> str:
    if not value.strip():
        raise InvalidInput(f"{field} must not be empty", field=field)
    return value.strip()


def _to_unit(step: _Step, life: Lifecycle, unit: str) -> Lifecycle:
    """Dispatched to ``unit`` at ``now``: fresh sign-for and feedback deadlines."""
    tree = step.rules.tree
    if unit not in tree or tree.unit(unit).tier == TIER_CENTRE:
        raise InvalidInput(f"{unit!r} is not a unit or sub-centre", field="unit")
    sla, calendar, now = step.rules.sla, step.rules.calendar, step.now
    feedback = capped(
        limit_deadline("feedback", sla.feedback, now, calendar), life.deadline("handling"), now
    )
    life = replace(life, state=State.DISPATCHED, unit=unit, dispatched_at=now)
    life = life.with_deadline(limit_deadline("sign_for", sla.sign_for, now, calendar))
    return life.with_deadline(feedback)


def _investigate(step: _Step, life: Lifecycle) -> Lifecycle:
    feedback = capped(
        limit_deadline("feedback", step.rules.sla.feedback, step.now, step.rules.calendar),
        life.deadline("handling"),
        step.now,
    )
    life = replace(life, state=State.INVESTIGATING, unit=step.rules.tree.centre.id)
    return life.with_deadline(feedback)


def _choose(step: _Step, life: Lifecycle, unit: str | None) -> tuple[str, str | None]:
    if unit is not None:
        return unit, "chosen"
    if life.region is None or life.domain is None:
        raise InvalidInput("dispatch needs a region and a domain, or a unit", field="region")
    try:
        decision = choose_unit(
            step.rules.tree, region=life.region, domain=life.domain, about_unit=life.about_unit
        )
    except RoutingError as exc:
        raise InvalidInput(str(exc), field="region") from exc
    return decision.unit, decision.rule


def _classify(step: _Step, command: Classify) -> Outcome:
    step.require_state(State.RECEIVED)
    step.require_centre(_INTAKE)
    if command.mode not in MODE_LABELS:
        raise InvalidInput(f"mode must be one of {', '.join(MODE_LABELS)}", field="mode")
    if command.domain is not None and command.domain not in DOMAIN_LABELS:
        raise InvalidInput(f"unknown domain {command.domain!r}", field="domain")
    if command.about_unit is not None and command.about_unit not in step.rules.tree:
        raise InvalidInput(f"unknown unit {command.about_unit!r}", field="about_unit")
    life = replace(
        step.life,
        mode=command.mode,
        region=command.region,
        # No domain given: keep the one the order has (from the menu or speech classification).
        domain=command.domain if command.domain is not None else step.life.domain,
        about_unit=command.about_unit,
    )
    if command.limit_class is not None and command.limit_class != life.limit_class:
        limit = step.rules.sla.classes.get(command.limit_class)
        if limit is None:
            raise InvalidInput(f"unknown limit class {command.limit_class!r}", field="limit_class")
        handling = limit_deadline("handling", limit, life.received_at, step.rules.calendar)
        life = replace(life, limit_class=command.limit_class)
        life = life.with_deadline(handling)
    rule = None
    if command.mode == "immediate":
        life = replace(life, state=State.CLOSED, result=_text(command.note, "note"))
        life = replace(life, closed_at=step.now)
    elif command.mode == "dispatch":
        unit, rule = _choose(step, life, command.unit)
        life = _to_unit(step, life, unit)
    elif command.mode == "direct":
        life = _investigate(step, life)
    else:
        life = replace(life, state=State.ESCALATED, unit=step.rules.tree.centre.id)
    return step.done(
        life, command.note, mode=command.mode, unit=life.unit, rule=rule, limit=life.limit_class
    )


def _instruct(step: _Step, command: Instruct) -> Outcome:
    step.require_state(State.ESCALATED)
    step.require_centre(frozenset({ROLE_LEADER, ROLE_ADMIN}))
    if command.mode == "dispatch":
        unit, rule = _choose(step, step.life, command.unit)
        return step.done(_to_unit(step, step.life, unit), command.note, unit=unit, rule=rule)
    if command.mode == "direct":
        return step.done(_investigate(step, step.life), command.note, mode="direct")
    raise InvalidInput("a leadership instruction is dispatch or direct", field="mode")


def _sign(step: _Step, command: Sign) -> Outcome:
    step.require_state(State.DISPATCHED)
    step.require_handling_unit()
    return step.done(replace(step.life, state=State.SIGNED), command.note)


def _start(step: _Step, command: Start) -> Outcome:
    step.require_state(State.SIGNED)
    step.require_handling_unit()
    return step.done(replace(step.life, state=State.IN_PROGRESS), command.note)


def _return(step: _Step, command: Return) -> Outcome:
    step.require_state(State.DISPATCHED, State.SIGNED)
    step.require_handling_unit()
    reason = _text(command.reason, "reason")
    tree, unit = step.rules.tree, step.life.unit
    parent = tree.unit(unit).parent if unit is not None else None
    back_to = parent if parent is not None and tree.unit(parent).is_sub_centre else None
    life = replace(step.life, state=State.RETURNED, unit=back_to)
    return step.done(life, reason, returned_by=unit, back_to=back_to or tree.centre.id)


def _object(step: _Step, command: Object) -> Outcome:
    step.require_state(State.DISPATCHED)
    step.require_handling_unit()
    life = replace(step.life, state=State.OBJECTED)
    return step.done(life, _text(command.reason, "reason"), unit=step.life.unit)


def _review_objection(step: _Step, command: ReviewObjection) -> Outcome:
    step.require_state(State.OBJECTED)
    step.require_centre(_CENTRE_MANAGERS)
    if command.upheld:
        if command.unit is None:
            raise InvalidInput("an upheld objection names the unit to dispatch to", field="unit")
        life = _to_unit(step, step.life, command.unit)
    else:
        life = _to_unit(step, step.life, step.life.unit or "")
    return step.done(life, command.note, upheld=command.upheld, unit=life.unit)


def _reassign(step: _Step, command: Reassign) -> Outcome:
    step.require_state(State.DISPATCHED, State.RETURNED, State.OBJECTED)
    reason = _text(command.reason, "reason")
    if not (step.actor.role in _CENTRE_MANAGERS and step.is_centre()):
        own = step.actor.unit
        step.require(
            step.actor.role == ROLE_DISPATCHER
            and own is not None
            and step.in_scope(step.life.unit)
            and step.in_scope(command.unit),
            "a sub-centre reassigns only within its own area",
        )
    life = _to_unit(step, step.life, command.unit)
    return step.done(life, reason, from_unit=step.life.unit, unit=command.unit)


def _request_extension(step: _Step, command: RequestExtension) -> Outcome:
    step.require_state(State.SIGNED, State.IN_PROGRESS, State.INVESTIGATING)
    step.require_handling_unit()
    if step.life.extension is not None:
        raise Conflict("an extension request is already waiting for the centre", field="action")
    feedback = step.life.deadline("feedback")
    if command.until <= step.now or (feedback is not None and command.until <= feedback.due):
        raise InvalidInput("an extension must end after the current deadline", field="until")
    extension = Extension(_text(command.reason, "reason"), command.until, step.actor.name, step.now)
    return step.done(replace(step.life, extension=extension), extension.reason,
                     until=command.until.isoformat())  # fmt: skip


def _decide_extension(step: _Step, command: DecideExtension) -> Outcome:
    step.require_centre(_CENTRE_MANAGERS)
    extension = step.life.extension
    if extension is None or step.life.state is State.CLOSED:
        raise Conflict("no extension request is waiting", field="action")
    life = replace(step.life, extension=None)
    if command.approved:
        if not command.caller_informed:
            raise InvalidInput(
                "an extension is approved only once the caller has been told why",
                field="caller_informed",
            )
        for name in ("feedback", "handling"):
            old = life.deadline(name)
            if old is not None and extension.until > old.due:
                life = life.with_deadline(Deadline(name, old.start, extension.until))
    return step.done(
        life,
        command.note,
        approved=command.approved,
        caller_informed=command.caller_informed,
        until=extension.until.isoformat() if command.approved else None,
    )


def _feedback(step: _Step, command: Feedback) -> Outcome:
    step.require_state(State.IN_PROGRESS, State.INVESTIGATING)
    step.require_handling_unit()
    result = _text(command.result, "result")
    life = replace(step.life, state=State.FEEDBACK, result=result, cosigns=(), extension=None)
    return step.done(life, result)


def _cosign(step: _Step, command: Cosign) -> Outcome:
    step.require_state(State.FEEDBACK)
    if command.kind not in COSIGN_KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(COSIGN_KINDS)}", field="kind")
    if command.kind in step.life.cosigns:
        raise Conflict(f"already co-signed by the {command.kind}", field="kind")
    centre_handled = step.life.unit == step.rules.tree.centre.id
    if command.kind == "head":
        if centre_handled:
            step.require_centre(_CENTRE_MANAGERS)
        else:
            step.require(
                step.actor.role in _UNIT_WORKERS and step.in_scope(step.life.unit),
                "the head of the handling unit co-signs",
            )
    else:
        step.require(
            step.actor.role == ROLE_LEADER and (step.is_centre() or step.in_scope(step.life.unit)),
            "a supervising leader co-signs",
        )
    life = replace(step.life, cosigns=(*step.life.cosigns, command.kind))
    return step.done(life, command.note, kind=command.kind)


def _reply(step: _Step, command: Reply) -> Outcome:
    step.require_state(State.FEEDBACK)
    step.require_centre(_INTAKE)
    missing = [kind for kind in COSIGN_KINDS if kind not in step.life.cosigns]
    if missing:
        raise Conflict(
            f"the result still needs co-signing by: {', '.join(missing)}", field="action"
        )
    return step.done(replace(step.life, state=State.REPLIED), _text(command.note, "note"))


def _callback(step: _Step, command: Callback) -> Outcome:
    step.require_state(State.REPLIED)
    step.require_centre(_INTAKE)
    attempts = step.life.callback_attempts + 1
    if not command.reached:
        life = replace(step.life, callback=CallbackResult(False), callback_attempts=attempts)
        return step.done(life, command.note, reached=False, attempt=attempts)
    if command.satisfaction not in SATISFACTION_LABELS:
        raise InvalidInput(
            f"satisfaction must be one of {', '.join(SATISFACTION_LABELS)}", field="satisfaction"
        )
    if command.responded is None or command.resolved is None:
        raise InvalidInput("a reached callback records responded and resolved", field="resolved")
    result = CallbackResult(True, command.responded, command.resolved, command.satisfaction)
    life = replace(step.life, callback=result, callback_attempts=attempts)
    data: dict[str, Any] = {
        "reached": True,
        "responded": command.responded,
        "resolved": command.resolved,
        "satisfaction": command.satisfaction,
    }
    if result.satisfied:
        return step.done(replace(life, state=State.CLOSED, closed_at=step.now), command.note,
                         **data)  # fmt: skip
    # 不满意: reopened to whoever handled it, with a fresh handling limit, and supervised.
    limit = step.rules.sla.limit(life.limit_class)
    life = replace(
        life,
        reopen_count=life.reopen_count + 1,
        supervisions=life.supervisions + 1,
        cosigns=(),
        result=None,
    )
    life = life.with_deadline(limit_deadline("handling", limit, step.now, step.rules.calendar))
    if life.unit is None or life.unit == step.rules.tree.centre.id:
        life = _investigate(step, life)
    else:
        life = _to_unit(step, life, life.unit)
    alert = Alert("red", "dissatisfied")
    return step.done(life, command.note, (alert,), reopened=True, **data)


def _close(step: _Step, command: Close) -> Outcome:
    step.require_state(State.REPLIED)
    step.require_centre(_CENTRE_MANAGERS)
    if step.life.callback is None or step.life.callback.reached:
        raise Conflict("close after an unreachable callback; a reached one closes itself")
    life = replace(step.life, state=State.CLOSED, closed_at=step.now)
    return step.done(life, _text(command.note, "note"))


def _supervise(step: _Step, command: Supervise) -> Outcome:
    step.require_state(*_OPEN_STATES)
    life = replace(step.life, supervisions=step.life.supervisions + 1)
    if command.deadline is None:
        step.require_centre(_CENTRE_MANAGERS)
        return step.done(life, _text(command.reason, "reason"), (Alert("red", "manual"),))
    step.require(step.actor.role == ROLE_SYSTEM, "deadlines are the scheduler's")
    deadline = life.deadline(command.deadline)
    if deadline is None or deadline.overdue:
        raise Conflict(f"no running {command.deadline} deadline to supervise", field="deadline")
    life = life.with_deadline(replace(deadline, warned=True, overdue=True))
    alert = Alert("red", "overdue", deadline.name, deadline.due)
    return step.done(life, command.reason, (alert,), deadline=deadline.name, unit=life.unit)


def _warn(step: _Step, command: Warn) -> Outcome:
    step.require(step.actor.role == ROLE_SYSTEM, "warnings are the scheduler's")
    deadline = step.life.deadline(command.deadline)
    if deadline is None or deadline.warned:
        raise Conflict(f"no {command.deadline} deadline to warn about", field="deadline")
    life = step.life.with_deadline(replace(deadline, warned=True))
    alert = Alert("yellow", "warning", deadline.name, deadline.due)
    return step.done(life, "", (alert,), deadline=deadline.name, unit=life.unit)


def _mark_validity(step: _Step, command: MarkValidity) -> Outcome:
    step.require_centre(_CENTRE_MANAGERS)
    reason = command.invalid_reason
    if reason is not None and reason not in INVALID_REASONS:
        raise InvalidInput(
            f"invalid_reason must be one of {', '.join(INVALID_REASONS)}", field="invalid_reason"
        )
    life = replace(step.life, invalid_reason=reason)
    return step.done(life, command.note, invalid_reason=reason or "valid")


_TRANSFER_OUTCOMES = ("answered", "refused", "no_answer")


def _record_transfer(step: _Step, command: RecordTransfer) -> Outcome:
    step.require(step.actor.role in (ROLE_IVR, ROLE_ADMIN), "only the IVR transfers calls")
    if command.outcome not in _TRANSFER_OUTCOMES:
        raise InvalidInput(
            f"outcome must be one of {', '.join(_TRANSFER_OUTCOMES)}", field="outcome"
        )
    code = "" if command.code is None else f" ({command.code})"
    note = f"{command.line}: {command.target} {command.outcome}{code}"
    return step.done(
        step.life,
        note,
        line=command.line,
        target=command.target,
        outcome=command.outcome,
        code=command.code,
        started=command.started,
        ended=command.ended,
        fallback=command.fallback,
    )


_HANDLERS: dict[type[Any], Callable[[_Step, Any], Outcome]] = {
    RecordTransfer: _record_transfer,
    Classify: _classify,
    Instruct: _instruct,
    Sign: _sign,
    Start: _start,
    Return: _return,
    Object: _object,
    ReviewObjection: _review_objection,
    Reassign: _reassign,
    RequestExtension: _request_extension,
    DecideExtension: _decide_extension,
    Feedback: _feedback,
    Cosign: _cosign,
    Reply: _reply,
    Callback: _callback,
    Close: _close,
    Supervise: _supervise,
    Warn: _warn,
    MarkValidity: _mark_validity,
}

__all__ = ["SYSTEM", "Rules", "active_deadlines", "apply", "due_commands", "new_lifecycle",
           "next_check"]  # fmt: skip
