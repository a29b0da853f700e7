"""Emergencies outside the keys, and the one question asked when the classifier is unsure.

An emergency raised for a line (``events.EmergencyRaised``: a keyword, the classifier, an
agent, or the caller confirming the question below) leaves whatever the call is doing for
the flow the menu's ``emergency`` map names for the line (``emergency_step``).

When the intake classifier finds real evidence of an emergency but is not sure, the session
marks the recording's ``RecordingDone`` with the line (``suspected_line``). With the menu's
``emergency_confirm``, the engine then asks — once per call, never while an emergency is
being handled — before the flow goes on (``question_for`` makes the ``ConfirmRunner``):
the line's prompt, then one key within the timeout. The confirm key does exactly what
``EmergencyRaised(line, "confirmed")`` does; anything else lets the flow go on where it
would have gone. Every question ends with an ``actions.EmergencyQuestion`` naming its
outcome, for the session to count.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Final

from ivr.engine import actions, events
from ivr.engine.schema import EmergencyConfirm
from ivr.engine.state import CallState, Jump, Outcome, Step, Wait

CONFIRMED: Final = "confirmed"
DECLINED: Final = "declined"
TIMEOUT: Final = "timeout"
HANGUP: Final = "hangup"
INTERRUPTED: Final = "interrupted"  # an emergency was raised otherwise while asking


def classifier_lines(result: Mapping[str, Any] | None) -> tuple[str | None, str | None]:
    """``(sure line, unsure line)`` of a ``Classifier`` result (``ivr.transcripts``).

    ``emergency_line``: transfer now; ``confirm_line``: ask first. A classifier that does
    not know ``confirm_line`` yet simply leaves it out.
    """
    if result is None:
        return None, None
    sure, unsure = result.get("emergency_line"), result.get("confirm_line")
    return (
        sure if isinstance(sure, str) and sure else None,
        unsure if isinstance(unsure, str) and unsure else None,
    )


def emergency_step(call: CallState, target: str, line: str, source: str) -> Step | None:
    """Leave the current verb for ``target``, the flow of ``line`` (``None``: an emergency
    is already being handled — the first one wins)."""
    if "emergency_source" in call.variables:
        return None
    call.variables["emergency_source"] = source
    call.variables["emergency_line"] = line
    stop: list[actions.Action] = [actions.StopRecording("emergency")]
    if call.playing:
        stop.insert(0, actions.StopPlayback())
    return Step(tuple(stop), Jump(target))


def question_for(
    confirm: EmergencyConfirm | None,
    emergency: Mapping[str, str],
    call: CallState,
    line: str | None,
    then: Outcome,
) -> ConfirmRunner | None:
    """The question to ask about ``line`` before going on with ``then``, or ``None``.

    ``None`` when the menu asks nothing (no ``emergency_confirm``, no prompt or flow for the
    line), when the call was already asked, or when an emergency is being handled.
    """
    if confirm is None or line is None or call.emergency_asked:
        return None
    prompt, target = confirm.prompts.get(line), emergency.get(line)
    if prompt is None or target is None or "emergency_source" in call.variables:
        return None
    call.emergency_asked = True
    return ConfirmRunner(confirm, line, prompt, target, then)


class ConfirmRunner:
    """The question in progress; the engine runs it in place of the verb that was done.

    Keys may barge into the prompt; the timeout counts from the end of the prompt.
    """

    def __init__(
        self, confirm: EmergencyConfirm, line: str, prompt: str, target: str, then: Outcome
    ) -> None:
        self.confirm = confirm
        self.line = line
        self.prompt = prompt
        self.target = target
        self.then = then
        self.deadline: datetime | None = None

    def start(self, call: CallState, now: datetime) -> Step:
        return Step((call.play((self.prompt,), barge_in=True),), Wait())

    def on_event(self, call: CallState, event: events.Event, now: datetime) -> Step:
        if isinstance(event, events.Digit):
            return self._answer(call, event.key)
        if isinstance(event, events.PlayDone) and not call.playing and self.deadline is None:
            self.deadline = now + timedelta(seconds=self.confirm.timeout)
        elif isinstance(event, events.TimerFired) and self.deadline is not None:
            return Step((actions.EmergencyQuestion(self.line, TIMEOUT),), self.then)
        return Step(outcome=Wait(self.deadline))

    def ended(self, outcome: str) -> actions.EmergencyQuestion:
        """The call left the question otherwise (``HANGUP``, ``INTERRUPTED``)."""
        return actions.EmergencyQuestion(self.line, outcome)

    def _answer(self, call: CallState, key: str) -> Step:
        if key == self.confirm.key:
            jump = emergency_step(call, self.target, self.line, CONFIRMED)
            if jump is not None:
                asked = actions.EmergencyQuestion(self.line, CONFIRMED)
                return Step((asked, *jump.actions), jump.outcome)
        before: tuple[actions.Action, ...] = (actions.StopPlayback(),) if call.playing else ()
        return Step((*before, actions.EmergencyQuestion(self.line, DECLINED)), self.then)
