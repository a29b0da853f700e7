"""The intake classifier at work during a call: the asyncio side of ``ivr.intake_watch``.

One ``IntakeVerdicts`` per ``CallSession``. The session hands it the live stream's final
segments and every ended recording; it classifies off the event loop (jieba blocks) and
acts on the pure ``IntakeWatch``'s decisions through the session's callbacks: a sure
emergency is raised at once (source ``"classifier"``); an ended recording heard live is
classified whole before the engine hears of it, so that a suspected emergency travels on
its ``RecordingDone`` (``suspected_line``) and the engine can ask its question first.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

from ivr.engine import events
from ivr.intake_watch import IntakeWatch, Raise, Suspect
from ivr.transcripts import Classifier, classify_off_loop

log = logging.getLogger("ivr.intake_verdicts")

#: How long the end of a live-heard recording waits for its whole text and classification
#: before the engine is told (then without a suspicion): the caller hears nothing meanwhile.
VERDICT_WAIT_SECONDS = 2.0


class LiveTexts(Protocol):
    """``ivr.transcripts.IntakeTranscripts``: a recording's live text once its stream closed."""

    async def live_text(self, ref: str) -> str | None: ...


class IntakeVerdicts:
    def __init__(
        self,
        call_id: str,
        classify: Classifier | None,
        texts: LiveTexts,
        *,
        menu_key: Callable[[], str | None],
        raise_emergency: Callable[[str, str], None],
        tell_engine: Callable[[events.RecordingDone], None],
        spawn: Callable[[Coroutine[Any, Any, None]], None],
    ) -> None:
        """``menu_key``: the caller's main-menu key so far; ``raise_emergency(line, source)``
        and ``tell_engine(done)`` are the session's; ``spawn`` runs a background task."""
        self.call_id = call_id
        self.classify = classify
        self.texts = texts
        self.menu_key = menu_key
        self.raise_emergency = raise_emergency
        self.tell_engine = tell_engine
        self.spawn = spawn
        self.watch = IntakeWatch()
        self._held: events.RecordingDone | None = None  # told the engine after its verdict

    def final(self, text: str) -> None:
        """A final segment of the live stream: classify the intake so far."""
        if self.classify is not None:
            self._classify_live(self.classify, self.watch.final(text))

    def recording_done(self, done: events.RecordingDone) -> None:
        """Tell the engine the recording ended, after classifying it whole if it was heard
        live (and no emergency is being handled)."""
        if self.classify is None or self.watch.emergency:
            self.tell_engine(done)
        else:
            self._held = done
            self.spawn(self._whole(self.classify, done))

    def hung_up(self) -> events.RecordingDone | None:
        """The caller hung up: the recording still awaiting its verdict, for the session to
        tell the engine at once (before the hang-up, so that the order is still opened)."""
        held, self._held = self._held, None
        return held

    def _classify_live(self, classify: Classifier, text: str | None) -> None:
        if text is not None:
            self.spawn(self._live(classify, text))

    async def _live(self, classify: Classifier, text: str) -> None:
        result = await classify_off_loop(classify, text, self.menu_key(), f"call {self.call_id}")
        decision, again = self.watch.live_result(result)
        if isinstance(decision, Raise):
            self._raise(decision.line)
        self._classify_live(classify, again)

    async def _whole(self, classify: Classifier, done: events.RecordingDone) -> None:
        decision = None
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(VERDICT_WAIT_SECONDS):
                text = await self.texts.live_text(done.recording)
                if text:
                    what = f"call {self.call_id}"
                    result = await classify_off_loop(classify, text, self.menu_key(), what)
                    decision = self.watch.whole_result(result)
        if self._held is not done:
            return  # the caller hung up meanwhile: the engine was told without a verdict
        self._held = None
        if isinstance(decision, Raise):
            self._raise(decision.line)
        elif isinstance(decision, Suspect):
            log.info("call %s: the intake may be an emergency for %s", self.call_id,
                     decision.line)  # fmt: skip
            done = dataclasses.replace(done, suspected_line=decision.line)
        self.tell_engine(done)

    def _raise(self, line: str) -> None:
        log.warning("call %s: emergency %s: the intake classifier is sure", self.call_id, line)
        self.raise_emergency(line, "classifier")
