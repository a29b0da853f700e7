"""The scripted caller of the simulator, and the ``hotline simulate --input`` syntax."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ivr.errors import IvrError


@dataclass(frozen=True, slots=True)
class Press:
    """Press ``keys`` (0.3 s apart), ``after`` seconds into the next wait for input."""

    keys: str
    after: float = 1.0
    during_prompt: bool = False  # ``after`` seconds into the next prompt instead (barge-in)


@dataclass(frozen=True, slots=True)
class Silence:
    """Press nothing at the next wait for input."""


@dataclass(frozen=True, slots=True)
class Speak:
    """At the next recording: talk ``seconds``, then press ``#``, fall silent, or talk on.

    ``text``: what the caller says, for the simulation's intake classifier (if it has one).
    """

    seconds: float
    then: Literal["key", "silence", "talk_on"] = "key"
    text: str = ""


#: Mandarin at telephone pace: how long a ``speech:TEXT`` said into a recording lasts.
SECONDS_PER_CHARACTER = 0.25


def spoken(say: Say, then: Literal["key", "silence"]) -> Speak:
    """``speech:TEXT`` met at a recording: the caller says ``TEXT`` into it."""
    return Speak(max(1.0, len(say.text) * SECONDS_PER_CHARACTER), then, say.text)


@dataclass(frozen=True, slots=True)
class Say:
    """When the engine next listens for speech, the caller says ``text`` (``after`` s in)."""

    text: str
    after: float = 1.5


@dataclass(frozen=True, slots=True)
class HangUp:
    after: float = 1.0
    during_prompt: bool = False


CallerStep = Press | Silence | Speak | Say | HangUp


class ScriptError(IvrError):
    """A ``--input`` script the simulator cannot read."""


def parse_script(text: str) -> list[CallerStep]:
    """``"2, speech:我要投诉收费, #"`` → steps; comma-separated items.

    Items: keys (``2``, ``123#``; ``!2`` presses during the prompt, barge-in),
    ``speech:TEXT`` (said when the engine listens for speech, or into the next recording:
    then ended by a ``#`` that follows it, else by silence), ``talk:SECONDS`` (at a
    recording; ends with ``#``), ``silence``, ``hangup``.
    """
    steps: list[CallerStep] = []
    for raw in text.split(","):
        item = raw.strip()
        lowered = item.lower()
        if not item:
            continue
        if lowered.startswith("speech:"):
            steps.append(Say(item.split(":", 1)[1].strip()))
        elif lowered.startswith("talk:"):
            try:
                steps.append(Speak(float(item.split(":", 1)[1])))
            except ValueError as error:
                raise ScriptError(f"bad input {item!r}: talk:SECONDS, e.g. talk:5") from error
        elif lowered in ("silence", "-"):
            steps.append(Silence())
        elif lowered == "hangup":
            steps.append(HangUp())
        elif item.startswith("!") and _keys(item[1:]):
            steps.append(Press(item[1:], during_prompt=True))
        elif _keys(item):
            steps.append(Press(item))
        else:
            raise ScriptError(
                f"bad input {item!r}: keys (0-9 * # A-D), !KEYS, speech:TEXT, talk:SECONDS, "
                "silence or hangup"
            )
    return steps


def format_step(step: CallerStep) -> str:
    """A step in the ``--input`` syntax ``parse_script`` reads (for readable output)."""
    if isinstance(step, Press):
        return f"!{step.keys}" if step.during_prompt else step.keys
    if isinstance(step, Say):
        return f"speech:{step.text}"
    if isinstance(step, Speak):
        then = {"key": "", "silence": " (then silence)", "talk_on": " (talking on)"}[step.then]
        return f"talk:{step.seconds:g}{then}"
    if isinstance(step, Silence):
        return "silence"
    return "hangup"


def _keys(text: str) -> bool:
    return bool(text) and all(key in "0123456789*#ABCD" for key in text)
