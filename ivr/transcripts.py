"""What becomes of the caller's intake: its text, its classification, the order's transcript.

One ``IntakeTranscripts`` per call, owned by the ``CallSession``. A recording's text comes
from one of two places:

* the live stream (``asr.streaming``): the session hands it every ``Final`` of the recording
  and says when the stream is closed; the joined finals are the transcript;
* the after-call queue, when the streaming pool was full as the recording began: once the
  call is over the recording is queued (``AfterCall.transcribe``) — emergencies first, then
  2-hour orders, then the rest — and transcribed by the worker's bounded consumer.

Without a speech model there is no text: the order gets an empty transcript marked
``unavailable``. With text, the intake is classified (``config/intake.yaml``: transcript plus
the caller's main-menu key) off the event loop, and the classification goes to the order
with the transcript (``PUT …/transcript``), where the service keeps it as a suggestion.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from asr.after_call import Priority
from asr.intake import IntakeClassifier, IntakeRules, unknown_domains
from asr.segmenter import JiebaSegmenter
from ivr.engine import actions
from ivr.orders_client import OrdersUnavailable
from routing.units import DOMAIN_LABELS

log = logging.getLogger("ivr.transcripts")

Classifier = Callable[[str, str | None], dict[str, Any] | None]
"""``(transcript, main-menu key) -> {category, domain, emergency_line, confirm_line, evidence}``
or ``None`` (classification off); ``emergency_line``: sure, ``confirm_line``: unsure, ask
(classifiers built elsewhere may leave it out). Blocking (jieba, the models): called in
a worker thread."""


async def classify_off_loop(
    classify: Classifier, text: str, menu: str | None, what: str
) -> dict[str, Any] | None:
    """``classify`` in a worker thread (jieba blocks); ``None`` (logged for ``what``) if it
    fails."""
    try:
        return await asyncio.to_thread(classify, text, menu)
    except Exception:
        log.exception("%s: classification failed", what)
        return None


def intake_classifier(rules: IntakeRules) -> Classifier | None:
    """The classification of ``intake.yaml``'s rules, or ``None`` (logged) when they name a
    domain dispatch does not know. Blocking: jieba builds its dictionary and the category and
    domain models are trained here (3-5 s), so no call waits for it later."""
    unknown = unknown_domains(rules, DOMAIN_LABELS)
    if unknown:
        log.error("intake classification off: domains %s are not dispatch domains", unknown)
        return None
    classifier = IntakeClassifier(rules, JiebaSegmenter(rules.vocabulary()))
    classifier.classify("热线")

    def classify_intake(text: str, menu: str | None) -> dict[str, Any]:
        return classifier.classify(text, menu).for_order()

    return classify_intake


class AfterCall(Protocol):
    """The worker's after-call consumer (``asr.streaming.AfterCallWorker``)."""

    async def transcribe(
        self, path: Path, priority: Priority, *, call_id: str = ""
    ) -> str | None: ...


class TranscriptSink(Protocol):
    async def put_transcript(
        self, number: str, text: str, status: str, classification: dict[str, Any] | None = None
    ) -> None: ...


@dataclass
class _Streamed:
    finals: list[str] = field(default_factory=list)
    closed: asyncio.Event = field(default_factory=asyncio.Event)


def after_call_priority(order: actions.CreateOrder, *, emergency: bool) -> Priority:
    """Emergencies (the call went to a dedicated line, or one was raised) first, then orders
    with the 2-hour limit (urgent priority or flag, the emergency category), then the rest."""
    if emergency:
        return Priority.EMERGENCY
    if order.priority == "urgent" or "urgent" in order.flags or order.category == "emergency":
        return Priority.URGENT
    return Priority.NORMAL


class IntakeTranscripts:
    """The texts of one call's recordings, delivered to their orders."""

    def __init__(
        self,
        call_id: str,
        orders: TranscriptSink,
        resolve: Callable[[str], Path],
        *,
        after_call: AfterCall | None,
        classify: Classifier | None,
        speech: bool,
    ) -> None:
        self.call_id = call_id
        self.orders = orders
        self.resolve = resolve
        self.after_call = after_call
        self.classify = classify
        self.speech = speech
        """A speech model is loaded: a recording without a stream is queued after the call."""
        self.emergency = False
        """Set by the session when the call raised an emergency or started a transfer."""
        self._streamed: dict[str, _Streamed] = {}
        self._call_over = asyncio.Event()

    # -- the session's side --
    def streaming(self, ref: str) -> None:
        """Recording ``ref`` is recognised live."""
        self._streamed[ref] = _Streamed()

    def final(self, ref: str, text: str) -> None:
        streamed = self._streamed.get(ref)
        if streamed is not None and text.strip():
            streamed.finals.append(text.strip())

    def stream_closed(self, ref: str) -> None:
        streamed = self._streamed.get(ref)
        if streamed is not None:
            streamed.closed.set()

    def call_over(self) -> None:
        self._call_over.set()

    # -- delivery (a background task per order with a recording) --
    async def deliver(self, number: str, order: actions.CreateOrder) -> None:
        """Find the recording's text, classify it, store both on order ``number``."""
        ref = order.recording
        if ref is None:
            return
        text, status = await self._text_of(ref, order)
        classification = None
        if text and self.classify is not None:
            menu = order.menu_path[0] if order.menu_path else None
            classification = await classify_off_loop(self.classify, text, menu, f"order {number}")
        try:
            await self.orders.put_transcript(number, text, status, classification)
        except OrdersUnavailable as exc:
            log.error("order %s: transcript not stored: %s", number, exc)

    async def live_text(self, ref: str) -> str | None:
        """The whole live text of recording ``ref`` once its stream is closed (``None``: it
        was not recognised live)."""
        streamed = self._streamed.get(ref)
        if streamed is None:
            return None
        await streamed.closed.wait()
        return " ".join(streamed.finals)

    async def _text_of(self, ref: str, order: actions.CreateOrder) -> tuple[str, str]:
        live = await self.live_text(ref)
        if live is not None:
            return live, "done"
        if not self.speech or self.after_call is None:
            return "", "unavailable"
        await self._call_over.wait()  # transcribed after the call, when its priority is known
        priority = after_call_priority(order, emergency=self.emergency)
        log.info("call %s: recording queued for after-call transcription", self.call_id)
        path = self.resolve(ref)
        text = await self.after_call.transcribe(path, priority, call_id=self.call_id)
        if text is None:
            return "", "unavailable"
        return text, "done"
