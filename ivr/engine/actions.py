"""Actions returned by the flow engine for ``ivr.session`` to carry out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

#: The prompt the session plays before recording when ``Record.beep`` is set.
BEEP_PROMPT: Final = "beep"


@dataclass(frozen=True, slots=True)
class Play:
    """Queue prompts (keys of the prompt set, e.g. ``"welcome"`` or ``"digits/7"``).

    ``barge_in``: a key press stops the playback. ``PlayDone`` follows when the
    queued audio has been sent (or was stopped).
    """

    prompts: tuple[str, ...]
    barge_in: bool = False
    #: The prompt set to play from; ``""`` is the flow's language. A key the
    #: language has no text for is played from the flow's language.
    language: str = ""


@dataclass(frozen=True, slots=True)
class StopPlayback:
    """Drop whatever audio is still queued."""


@dataclass(frozen=True, slots=True)
class Record:
    """Record the caller to a file; the session answers with ``RecordingDone``.

    The session ends the recording on its own after ``silence_seconds`` of
    silence (it has the audio); the engine sends ``StopRecording`` on the
    finish key and at ``max_seconds``.
    """

    max_seconds: float
    silence_seconds: float
    beep: bool = True


@dataclass(frozen=True, slots=True)
class StopRecording:
    """End the running recording; ``reason`` is copied into ``RecordingDone``."""

    reason: str


@dataclass(frozen=True, slots=True)
class CreateOrder:
    """Open a work order through the internal API; answered by ``OrderCreated``/``OrderFailed``.

    ``idempotency_key`` makes a retried create return the same order.
    """

    idempotency_key: str
    caller: str
    category: str
    menu_path: tuple[str, ...]
    flags: tuple[str, ...] = ()
    recording: str | None = None
    flow_version: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    domain: str | None = None
    priority: str | None = None


@dataclass(frozen=True, slots=True)
class InvalidCall:
    """The call is a 无效来电: no work order is opened; the session counts it with ``reason``.

    ``reason``: ``"no_input"`` (no key, no speech), ``"silent_intake"`` (the intake the
    order would carry has no speech above the gate), ``"too_short"`` (shorter than the
    menu's ``invalid_calls.min_call_seconds``). Replays and floods made ~1,000 orders each,
    and a caller who pressed 2 and said nothing got an order with an empty 诉求 (issue 13,
    item 8).
    """

    reason: str
    category: str
    menu_path: tuple[str, ...]
    recording: str | None = None
    seconds: float = 0.0  # how long the call had lasted


@dataclass(frozen=True, slots=True)
class ListenForSpeech:
    """Recognise what the caller says, restricted to ``phrases`` (Vosk grammar mode).

    Answered by one ``SpeechResult`` (``available=False`` when the session has no
    recogniser); ``seconds`` is how long to listen at most.
    """

    phrases: tuple[str, ...]
    seconds: float


@dataclass(frozen=True, slots=True)
class StopListening:
    """The engine no longer wants the pending ``SpeechResult`` (the caller pressed keys)."""


@dataclass(frozen=True, slots=True)
class Transfer:
    """Blind-transfer the caller to a named line of ``config/routing.yaml``.

    Answered by ``TransferResult``; on success the call has left the IVR.
    """

    line: str
    #: How long the engine waits for ``TransferResult``: the session stops trying
    #: further targets after this.
    timeout: float = 60.0


@dataclass(frozen=True, slots=True)
class Enqueue:
    """Put the caller in the queue of an agent group of ``config/agents.yaml``; answered by
    ``QueueResult`` (``ok``: an agent took the call; ``detail="callback"``: the caller asked
    to be called back instead of waiting)."""

    group: str
    #: How long the engine waits for ``QueueResult``; the session leaves the queue after it.
    timeout: float = 180.0
    priority: str = "normal"  # | "emergency": the head of the queue
    skills: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class EmergencyQuestion:
    """The confirming question about ``line`` (``emergency_confirm``) has its outcome.

    Nothing to carry out: the session logs it once per question so that operators can
    count how often the IVR asks and what callers choose. ``outcome``: ``"confirmed"``
    (the confirm key: the line's emergency flow follows), ``"declined"`` (another key),
    ``"timeout"`` (no key), ``"hangup"`` (the caller hung up while asked) or
    ``"interrupted"`` (an emergency was raised otherwise meanwhile, e.g. by an agent).
    """

    line: str
    outcome: str


@dataclass(frozen=True, slots=True)
class Hangup:
    """End the call."""


Action = (
    Play
    | StopPlayback
    | Record
    | StopRecording
    | CreateOrder
    | InvalidCall
    | ListenForSpeech
    | StopListening
    | Transfer
    | Enqueue
    | EmergencyQuestion
    | Hangup
)
