"""Events fed into the flow engine. Small, frozen, and free of I/O types."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CallStarted:
    """The call was answered; the flow starts."""

    call_id: str
    caller: str
    callee: str


@dataclass(frozen=True, slots=True)
class Digit:
    """One DTMF key (``0-9``, ``*``, ``#``, ``A-D``) pressed by the caller."""

    key: str


@dataclass(frozen=True, slots=True)
class PlayDone:
    """Everything queued by the last ``Play``/``SayDigits`` action has been sent."""


@dataclass(frozen=True, slots=True)
class RecordingDone:
    """The recording started by ``Record`` ended.

    ``reason`` is ``"key"``, ``"silence"``, ``"max_length"``, ``"stopped"`` or ``"hangup"``.
    """

    recording: str
    seconds: float
    reason: str
    #: Seconds of the recording above the silence gate (``None``: not measured, counts as
    #: speech). None above ``invalid_calls.min_speech_seconds``: the caller said nothing.
    speech_seconds: float | None = None
    #: The intake classifier is unsure whether this recording is an emergency for this line
    #: (its ``confirm_line``): with the menu's ``emergency_confirm``, the engine asks the
    #: caller once before the flow goes on. Set by the session after classifying the whole
    #: recording; ``None``: nothing to ask.
    suspected_line: str | None = None


@dataclass(frozen=True, slots=True)
class SpeechResult:
    """Answer to ``ListenForSpeech``: the recognised text (``""``: nothing said).

    ``available=False``: the session cannot recognise speech (no model, or
    grammar mode not there yet); the engine falls back to keys.
    """

    text: str
    available: bool = True


@dataclass(frozen=True, slots=True)
class OrderCreated:
    """The work-order service committed the order requested by ``CreateOrder``."""

    number: str


@dataclass(frozen=True, slots=True)
class OrderFailed:
    """The work-order service could not be reached or refused the order."""

    reason: str


@dataclass(frozen=True, slots=True)
class TransferResult:
    """Outcome of a ``Transfer``: ``ok`` means the call has left the IVR."""

    ok: bool
    detail: str = ""


@dataclass(frozen=True, slots=True)
class QueueResult:
    """Outcome of an ``Enqueue``: ``ok`` means an agent took the call."""

    ok: bool
    detail: str = ""


@dataclass(frozen=True, slots=True)
class EmergencyRaised:
    """An emergency for a dedicated line, raised outside the menu's keys.

    ``source`` is ``"keyword"`` (spotted in the caller's speech), ``"classifier"`` (the
    intake classifier was sure while the caller spoke) or ``"agent"`` (an agent asked
    through the API); the engine itself uses ``"confirmed"`` when the caller confirms its
    question (``emergency_confirm``). The engine leaves whatever it was doing for
    the flow the menu's ``emergency`` map names for ``line``.
    """

    line: str
    source: str


@dataclass(frozen=True, slots=True)
class TimerFired:
    """The deadline the engine asked for (``FlowEngine.next_deadline``) has passed."""


@dataclass(frozen=True, slots=True)
class Hangup:
    """The caller hung up or the call was torn down."""


Event = (
    CallStarted
    | Digit
    | PlayDone
    | RecordingDone
    | SpeechResult
    | OrderCreated
    | OrderFailed
    | TransferResult
    | EmergencyRaised
    | QueueResult
    | TimerFired
    | Hangup
)
