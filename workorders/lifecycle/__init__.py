"""The work-order lifecycle: a pure state machine with an append-only ledger (全流程台账)."""

from workorders.lifecycle.machine import Rules, apply, due_commands, new_lifecycle, next_check
from workorders.lifecycle.model import (
    Actor,
    Alert,
    LedgerEntry,
    Lifecycle,
    Outcome,
    State,
)

__all__ = [
    "Actor",
    "Alert",
    "LedgerEntry",
    "Lifecycle",
    "Outcome",
    "Rules",
    "State",
    "apply",
    "due_commands",
    "new_lifecycle",
    "next_check",
]
