"""What the intake classifier's verdicts mean for a call in progress (issue 14).

Pure: texts and classifier results in, decisions out; the session does the waiting and
runs the classifier off the event loop (``ivr.transcripts.classify_off_loop``).

* While the caller speaks, every final segment of the live stream extends the intake text
  so far; ``IntakeWatch.final`` says when to classify it (one classification at a time:
  segments heard meanwhile are classified together when it is back). A sure
  ``emergency_line`` raises the emergency at once (``Raise``; source ``"classifier"``).
* When the recording ends, the whole intake is classified once more: a sure line raises,
  an unsure ``confirm_line`` becomes ``Suspect`` — the session marks the recording's
  ``RecordingDone`` so that the engine asks the menu's confirming question.

After any emergency (a keyword, an agent, the classifier) nothing is raised or suspected
again. ``log_question`` is the one line per question operators count by.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ivr.engine.confirm import classifier_lines

log = logging.getLogger("ivr.intake_watch")


@dataclass(frozen=True, slots=True)
class Raise:
    """The classifier is sure: raise the emergency for ``line`` now."""

    line: str


@dataclass(frozen=True, slots=True)
class Suspect:
    """The classifier is unsure about ``line``: ask the caller before going on."""

    line: str


Decision = Raise | Suspect | None


@dataclass
class IntakeWatch:
    """One call's classifier decisions, for the recording being made."""

    emergency: bool = False
    """An emergency was raised (by any source): the classifier decides nothing more."""
    _segments: list[str] = field(default_factory=list)
    _classifying: bool = False
    _heard_meanwhile: bool = False

    def recording(self) -> None:
        """A new recording starts: its intake starts empty."""
        self._segments.clear()
        self._heard_meanwhile = False

    def emergency_raised(self) -> None:
        self.emergency = True

    def final(self, text: str) -> str | None:
        """A final segment of the live stream: the intake text to classify now, or ``None``
        (nothing new, an emergency already raised, or a classification still running)."""
        if not text.strip() or self.emergency:
            return None
        self._segments.append(text.strip())
        if self._classifying:
            self._heard_meanwhile = True
            return None
        self._classifying = True
        return self.text

    @property
    def text(self) -> str:
        return " ".join(self._segments)

    def live_result(self, result: Mapping[str, Any] | None) -> tuple[Decision, str | None]:
        """A live classification is back: what to do, and the text to classify next (the
        segments heard while it ran), if any."""
        self._classifying = False
        sure, _ = classifier_lines(result)
        if sure is not None and not self.emergency:
            self.emergency = True
            return Raise(sure), None
        if self._heard_meanwhile and not self.emergency:
            self._heard_meanwhile = False
            self._classifying = True
            return None, self.text
        return None, None

    def whole_result(self, result: Mapping[str, Any] | None) -> Decision:
        """The whole recording's classification: raise, ask, or nothing."""
        sure, unsure = classifier_lines(result)
        if self.emergency:
            return None
        if sure is not None:
            self.emergency = True
            return Raise(sure)
        return None if unsure is None else Suspect(unsure)


def log_question(call_id: str, line: str, outcome: str) -> None:
    """One line per confirming question: call id, line and outcome, never the caller's
    number. The seam for the metrics exporter (a later issue): count here."""
    log.info("call %s: emergency question for %s: %s", call_id, line, outcome)
