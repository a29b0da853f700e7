"""The per-action step functions of the lifecycle machine, one per command type
(``HANDLERS``); ``machine.apply`` picks one. Each checks state, role and unit through its
``Step`` and returns one ``Outcome`` (one ledger entry), or raises and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from routing.units import DOMAIN_LABELS
from workorders.errors import Conflict, InvalidInput
from workorders.lifecycle.deadlines import (
    limit_deadline,
)
from workorders.lifecycle.model import (
    COSIGN_KINDS,
    INVALID_REASONS,
    MODE_LABELS,
    SATISFACTION_LABELS,
    Alert,
    Callback,
    CallbackResult,
    Classify,
    Close,
    Cosign,
    Deadline,
    DecideExtension,
    Extension,
    Feedback,
    Instruct,
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
from workorders.lifecycle.step import (
    CENTRE_MANAGERS,
    INTAKE,
    OPEN_STATES,
    UNIT_WORKERS,
    Step,
    choose,
    investigate,
    text,
    to_unit,
)
from workorders.tokens import (
    ROLE_ADMIN,
    ROLE_DISPATCHER,
    ROLE_IVR,
    ROLE_LEADER,
    ROLE_SYSTEM,
)


def _classify(step: Step, command: Classify) -> Outcome:
    step.require_state(State.RECEIVED)
    step.require_centre(INTAKE)
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
        life = replace(life, state=State.CLOSED, result=text(command.note, "note"))
        life = replace(life, closed_at=step.now)
    elif command.mode == "dispatch":
        unit, rule = choose(step, life, command.unit)
        life = to_unit(step, life, unit)
    elif command.mode == "direct":
        life = investigate(step, life)
    else:
        life = replace(life, state=State.ESCALATED, unit=step.rules.tree.centre.id)
    return step.done(
        life, command.note, mode=command.mode, unit=life.unit, rule=rule, limit=life.limit_class
    )


def _instruct(step: Step, command: Instruct) -> Outcome:
    step.require_state(State.ESCALATED)
    step.require_centre(frozenset({ROLE_LEADER, ROLE_ADMIN}))
    if command.mode == "dispatch":
        unit, rule = choose(step, step.life, command.unit)
        return step.done(to_unit(step, step.life, unit), command.note, unit=unit, rule=rule)
    if command.mode == "direct":
        return step.done(investigate(step, step.life), command.note, mode="direct")
    raise InvalidInput("a leadership instruction is dispatch or direct", field="mode")


def _sign(step: Step, command: Sign) -> Outcome:
    step.require_state(State.DISPATCHED)
    step.require_handling_unit()
    return step.done(replace(step.life, state=State.SIGNED), command.note)


def _start(step: Step, command: Start) -> Outcome:
    step.require_state(State.SIGNED)
    step.require_handling_unit()
    return step.done(replace(step.life, state=State.IN_PROGRESS), command.note)


def _return(step: Step, command: Return) -> Outcome:
    step.require_state(State.DISPATCHED, State.SIGNED)
    step.require_handling_unit()
    reason = text(command.reason, "reason")
    tree, unit = step.rules.tree, step.life.unit
    parent = tree.unit(unit).parent if unit is not None else None
    back_to = parent if parent is not None and tree.unit(parent).is_sub_centre else None
    life = replace(step.life, state=State.RETURNED, unit=back_to)
    return step.done(life, reason, returned_by=unit, back_to=back_to or tree.centre.id)


def _object(step: Step, command: Object) -> Outcome:
    step.require_state(State.DISPATCHED)
    step.require_handling_unit()
    life = replace(step.life, state=State.OBJECTED)
    return step.done(life, text(command.reason, "reason"), unit=step.life.unit)


def _review_objection(step: Step, command: ReviewObjection) -> Outcome:
    step.require_state(State.OBJECTED)
    step.require_centre(CENTRE_MANAGERS)
    if command.upheld:
        if command.unit is None:
            raise InvalidInput("an upheld objection names the unit to dispatch to", field="unit")
        life = to_unit(step, step.life, command.unit)
    else:
        life = to_unit(step, step.life, step.life.unit or "")
    return step.done(life, command.note, upheld=command.upheld, unit=life.unit)


def _reassign(step: Step, command: Reassign) -> Outcome:
    step.require_state(State.DISPATCHED, State.RETURNED, State.OBJECTED)
    reason = text(command.reason, "reason")
    if not (step.actor.role in CENTRE_MANAGERS and step.is_centre()):
        own = step.actor.unit
        step.require(
            step.actor.role == ROLE_DISPATCHER
            and own is not None
            and step.in_scope(step.life.unit)
            and step.in_scope(command.unit),
            "a sub-centre reassigns only within its own area",
        )
    life = to_unit(step, step.life, command.unit)
    return step.done(life, reason, from_unit=step.life.unit, unit=command.unit)


def _request_extension(step: Step, command: RequestExtension) -> Outcome:
    step.require_state(State.SIGNED, State.IN_PROGRESS, State.INVESTIGATING)
    step.require_handling_unit()
    if step.life.extension is not None:
        raise Conflict("an extension request is already waiting for the centre", field="action")
    feedback = step.life.deadline("feedback")
    if command.until <= step.now or (feedback is not None and command.until <= feedback.due):
        raise InvalidInput("an extension must end after the current deadline", field="until")
    extension = Extension(text(command.reason, "reason"), command.until, step.actor.name, step.now)
    return step.done(replace(step.life, extension=extension), extension.reason,
                     until=command.until.isoformat())  # fmt: skip


def _decide_extension(step: Step, command: DecideExtension) -> Outcome:
    step.require_centre(CENTRE_MANAGERS)
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


def _feedback(step: Step, command: Feedback) -> Outcome:
    step.require_state(State.IN_PROGRESS, State.INVESTIGATING)
    step.require_handling_unit()
    result = text(command.result, "result")
    life = replace(step.life, state=State.FEEDBACK, result=result, cosigns=(), extension=None)
    return step.done(life, result)


def _cosign(step: Step, command: Cosign) -> Outcome:
    step.require_state(State.FEEDBACK)
    if command.kind not in COSIGN_KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(COSIGN_KINDS)}", field="kind")
    if command.kind in step.life.cosigns:
        raise Conflict(f"already co-signed by the {command.kind}", field="kind")
    centre_handled = step.life.unit == step.rules.tree.centre.id
    if command.kind == "head":
        if centre_handled:
            step.require_centre(CENTRE_MANAGERS)
        else:
            step.require(
                step.actor.role in UNIT_WORKERS and step.in_scope(step.life.unit),
                "the head of the handling unit co-signs",
            )
    else:
        step.require(
            step.actor.role == ROLE_LEADER and (step.is_centre() or step.in_scope(step.life.unit)),
            "a supervising leader co-signs",
        )
    life = replace(step.life, cosigns=(*step.life.cosigns, command.kind))
    return step.done(life, command.note, kind=command.kind)


def _reply(step: Step, command: Reply) -> Outcome:
    step.require_state(State.FEEDBACK)
    step.require_centre(INTAKE)
    missing = [kind for kind in COSIGN_KINDS if kind not in step.life.cosigns]
    if missing:
        raise Conflict(
            f"the result still needs co-signing by: {', '.join(missing)}", field="action"
        )
    return step.done(replace(step.life, state=State.REPLIED), text(command.note, "note"))


def _callback(step: Step, command: Callback) -> Outcome:
    step.require_state(State.REPLIED)
    step.require_centre(INTAKE)
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
        life = investigate(step, life)
    else:
        life = to_unit(step, life, life.unit)
    alert = Alert("red", "dissatisfied")
    return step.done(life, command.note, (alert,), reopened=True, **data)


def _close(step: Step, command: Close) -> Outcome:
    step.require_state(State.REPLIED)
    step.require_centre(CENTRE_MANAGERS)
    if step.life.callback is None or step.life.callback.reached:
        raise Conflict("close after an unreachable callback; a reached one closes itself")
    life = replace(step.life, state=State.CLOSED, closed_at=step.now)
    return step.done(life, text(command.note, "note"))


def _supervise(step: Step, command: Supervise) -> Outcome:
    step.require_state(*OPEN_STATES)
    life = replace(step.life, supervisions=step.life.supervisions + 1)
    if command.deadline is None:
        step.require_centre(CENTRE_MANAGERS)
        return step.done(life, text(command.reason, "reason"), (Alert("red", "manual"),))
    step.require(step.actor.role == ROLE_SYSTEM, "deadlines are the scheduler's")
    deadline = life.deadline(command.deadline)
    if deadline is None or deadline.overdue:
        raise Conflict(f"no running {command.deadline} deadline to supervise", field="deadline")
    life = life.with_deadline(replace(deadline, warned=True, overdue=True))
    alert = Alert("red", "overdue", deadline.name, deadline.due)
    return step.done(life, command.reason, (alert,), deadline=deadline.name, unit=life.unit)


def _warn(step: Step, command: Warn) -> Outcome:
    step.require(step.actor.role == ROLE_SYSTEM, "warnings are the scheduler's")
    deadline = step.life.deadline(command.deadline)
    if deadline is None or deadline.warned:
        raise Conflict(f"no {command.deadline} deadline to warn about", field="deadline")
    life = step.life.with_deadline(replace(deadline, warned=True))
    alert = Alert("yellow", "warning", deadline.name, deadline.due)
    return step.done(life, "", (alert,), deadline=deadline.name, unit=life.unit)


def _mark_validity(step: Step, command: MarkValidity) -> Outcome:
    step.require_centre(CENTRE_MANAGERS)
    reason = command.invalid_reason
    if reason is not None and reason not in INVALID_REASONS:
        raise InvalidInput(
            f"invalid_reason must be one of {', '.join(INVALID_REASONS)}", field="invalid_reason"
        )
    life = replace(step.life, invalid_reason=reason)
    return step.done(life, command.note, invalid_reason=reason or "valid")


TRANSFER_OUTCOMES = ("answered", "refused", "no_answer")


def _record_transfer(step: Step, command: RecordTransfer) -> Outcome:
    step.require(step.actor.role in (ROLE_IVR, ROLE_ADMIN), "only the IVR transfers calls")
    if command.outcome not in TRANSFER_OUTCOMES:
        raise InvalidInput(
            f"outcome must be one of {', '.join(TRANSFER_OUTCOMES)}", field="outcome"
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


HANDLERS: dict[type[Any], Callable[[Step, Any], Outcome]] = {
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
