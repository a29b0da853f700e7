"""The lifecycle state machine: ``apply(lifecycle, command, actor, now, rules) -> Outcome``.

Pure: no I/O, no clock. Every accepted command yields exactly one ledger entry; a command
that the state or the actor's role and unit do not allow raises ``Conflict`` or
``Forbidden`` and changes nothing. The clock's part (``due_commands``, ``next_check``) is in
``deadlines.py``; the per-action step functions are in ``actions.py``, the context they share
(``Step``: role and state checks, dispatching) in ``step.py``.
"""

from __future__ import annotations

from datetime import datetime

from workorders.errors import Forbidden, InvalidInput
from workorders.lifecycle.actions import HANDLERS
from workorders.lifecycle.deadlines import (
    Rules,
    active_deadlines,
    due_commands,
    new_lifecycle,
    next_check,
)
from workorders.lifecycle.model import (
    SYSTEM,
    Actor,
    Command,
    Lifecycle,
    Outcome,
    RecordTransfer,
)
from workorders.lifecycle.step import Step
from workorders.tokens import ROLE_IVR


def apply(life: Lifecycle, command: Command, actor: Actor, now: datetime, rules: Rules) -> Outcome:
    handler = HANDLERS.get(type(command))
    if handler is None:
        raise InvalidInput(f"unknown action {command.action!r}", field="action")
    if actor.role == ROLE_IVR and not isinstance(command, RecordTransfer):
        raise Forbidden(f"the IVR may only record transfer attempts, not {command.action}")
    return handler(Step(life, actor, now, rules, command.action), command)


__all__ = ["SYSTEM", "Rules", "active_deadlines", "apply", "due_commands", "new_lifecycle",
           "next_check"]  # fmt: skip
