"""Streaming recognition for live calls: one ``StreamingRecognizer`` per call, a bounded pool.

The session feeds 20 ms frames of 8 kHz 16-bit PCM with ``feed(frame, now, prompt_playing=…)``;
the call never blocks: the ``SpeechGate`` drops silence and prompt playback on the caller's
thread, and the audio that passes is decoded by a bounded ``ThreadPoolExecutor`` shared by all
calls (Vosk's cffi releases the GIL). Each stream has at most one decode job in flight, so its
recognizers are never used by two threads at once; audio arriving meanwhile waits in the
stream's buffer. Results of finished jobs are returned by the next ``feed`` (or by ``close``).

No Vosk import here: recognizers come from a ``RecognizerBackend`` (``asr.vosk_adapter``
provides the real one; tests inject scripted recognizers at this seam). When every stream slot
is taken, ``StreamingPool.open`` returns ``None`` and the session queues the call's recording in
``AfterCallQueue``; ``AfterCallWorker`` transcribes it when a slot frees up.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from collections.abc import Awaitable, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from asr.after_call import AfterCallQueue, Priority, QueuedRecording
from asr.errors import AsrError
from asr.gating import SAMPLE_RATE, GateConfig, GateStep, SpeechGate
from asr.keywords import KeywordPlan, match_keywords

log = logging.getLogger(__name__)

MAX_CHUNK_BYTES = SAMPLE_RATE * 2 // 5
"""At most 200 ms per ``accept`` (Vosk wants 20 ms to 0.2 s per call)."""
MIN_JOB_BYTES = SAMPLE_RATE * 2 // 10
"""Audio is batched to 100 ms before a job is queued, unless a partial or an end is due."""


class Recognizer(Protocol):
    """One recognizer of one call (the adapter wraps ``vosk.KaldiRecognizer``)."""

    def accept(self, pcm16: bytes) -> bool:
        """Feed audio; True when the recognizer found an endpoint (then call ``result``)."""

    def result(self) -> str:
        """Text of the segment that just ended."""

    def partial(self) -> str:
        """Text of the segment so far."""

    def final(self) -> str:
        """Flush and return the remaining text; the recognizer can then start afresh."""


class RecognizerBackend(Protocol):
    def text_recognizer(self, sample_rate: int) -> Recognizer: ...

    def keyword_recognizer(self, sample_rate: int, grammar: list[str]) -> Recognizer: ...

    def has_word(self, word: str) -> bool: ...

    def transcribe_wav(self, path: Path) -> str: ...


@dataclass(frozen=True)
class Partial:
    """Live transcript of the utterance so far (for the screen-pop)."""

    text: str
    at: float


@dataclass(frozen=True)
class Final:
    """Text of one whole utterance, ended by gated silence, length or the end of the call."""

    text: str
    at: float
    reason: str


@dataclass(frozen=True)
class KeywordHit:
    """A configured emergency keyword was heard: transfer to ``line``."""

    phrase: str
    line: str
    at: float


AsrResult = Partial | Final | KeywordHit


@dataclass(frozen=True)
class _Job:
    pcm: bytes
    want_partial: bool
    end_reason: str
    at: float


class StreamingRecognizer:
    """Recognition of one call. Use from one thread (the session's); never blocks in ``feed``."""

    def __init__(
        self,
        pool: StreamingPool,
        call_id: str,
        text: Recognizer,
        keywords: Recognizer | None,
        gate: SpeechGate,
    ) -> None:
        self.call_id = call_id
        self._pool = pool
        self._text = text
        self._keywords = keywords
        self.gate = gate
        self._buffer = bytearray()
        self._want_partial = False
        self._sealed: deque[_Job] = deque()
        """Ended utterances waiting for the decoder, in order."""
        self._in_flight: Future[list[AsrResult]] | None = None
        self._ready: list[AsrResult] = []
        self._closed = False
        self._now = 0.0
        # Touched only by the decode job; jobs of one stream never overlap.
        self._segments: list[str] = []
        self._last_partial = ""
        self._lines_hit: set[str] = set()

    def feed(self, frame: bytes, now: float, *, prompt_playing: bool = False) -> list[AsrResult]:
        """Push one frame; returns the results that became ready since the last call."""
        if self._closed:
            raise AsrError(f"call {self.call_id}: feed after close")
        self._now = now
        self._take(self.gate.push(frame, now, prompt_playing=prompt_playing), now)
        self._pump()
        return self._collect()

    def close(self, now: float, timeout: float | None = None) -> list[AsrResult]:
        """End the call: finish the utterance, wait for the decoder, free the pool slot."""
        if self._closed:
            return self._collect()
        self._closed = True
        self._now = now
        try:
            self._take(self.gate.close(), now)
            while self.busy:
                if self._in_flight is not None:
                    self._in_flight.exception(timeout=timeout)  # wait; errors are logged below
                self._pump(force=True)
        finally:
            self._pool._release()
        return self._collect()

    async def aclose(self, now: float) -> list[AsrResult]:
        """``close`` without blocking the event loop."""
        return await asyncio.to_thread(self.close, now)

    @property
    def busy(self) -> bool:
        """A decode job is in flight or audio waits for one."""
        return self._in_flight is not None or bool(self._buffer) or bool(self._sealed)

    def _take(self, step: GateStep, now: float) -> None:
        for frame in step.feed:
            self._buffer += frame
        self._want_partial = self._want_partial or step.want_partial
        if step.end_of_utterance:
            # Seal the utterance: audio of the next one must not reach its final job.
            self._sealed.append(_Job(bytes(self._buffer), False, step.end_reason, now))
            self._buffer.clear()
            self._want_partial = False

    def _pump(self, *, force: bool = False) -> None:
        if self._in_flight is not None:
            if not self._in_flight.done():
                return
            error = self._in_flight.exception()
            if error is None:
                self._ready.extend(self._in_flight.result())
            else:
                log.error("call %s: decoding failed: %r", self.call_id, error)
            self._in_flight = None
        if self._sealed:
            job = self._sealed.popleft()
        elif self._buffer and (force or self._want_partial or len(self._buffer) >= MIN_JOB_BYTES):
            job = _Job(bytes(self._buffer), self._want_partial, "", self._now)
            self._buffer.clear()
            self._want_partial = False
        else:
            return
        self._in_flight = self._pool._submit(self._decode, job)

    def _collect(self) -> list[AsrResult]:
        ready, self._ready = self._ready, []
        return ready

    def _decode(self, job: _Job) -> list[AsrResult]:
        """Runs in a pool thread."""
        out: list[AsrResult] = []
        for start in range(0, len(job.pcm), MAX_CHUNK_BYTES):
            chunk = job.pcm[start : start + MAX_CHUNK_BYTES]
            if self._text.accept(chunk):
                self._keep(self._text.result())
            if self._keywords is not None and self._keywords.accept(chunk):
                out.extend(self._spot(self._keywords.result(), job.at))
        if job.end_reason:
            self._keep(self._text.final())
            if self._keywords is not None:
                out.extend(self._spot(self._keywords.final(), job.at))
            out.append(Final(" ".join(self._segments), job.at, job.end_reason))
            self._segments, self._last_partial = [], ""
            self._lines_hit.clear()
        elif job.want_partial:
            text = " ".join([*self._segments, self._text.partial().strip()]).strip()
            if text and text != self._last_partial:
                self._last_partial = text
                out.append(Partial(text, job.at))
        return out

    def _keep(self, text: str) -> None:
        if text.strip():
            self._segments.append(text.strip())

    def _spot(self, recognized: str, at: float) -> list[AsrResult]:
        hits: list[AsrResult] = []
        for match in match_keywords(recognized, self._pool.keyword_plan):
            if match.line not in self._lines_hit:  # one transfer trigger per line and utterance
                self._lines_hit.add(match.line)
                hits.append(KeywordHit(match.phrase, match.line, at))
        return hits


class StreamingPool:
    """At most ``max_streams`` live streams, decoded by ``workers`` threads."""

    def __init__(
        self,
        backend: RecognizerBackend,
        *,
        max_streams: int,
        workers: int,
        gate: GateConfig | None = None,
        keyword_plan: KeywordPlan | None = None,
    ) -> None:
        if max_streams < 1 or workers < 1:
            raise ValueError("max_streams and workers must be at least 1")
        self.backend = backend
        self.max_streams = max_streams
        self.gate_config = gate or GateConfig()
        self.keyword_plan = keyword_plan or KeywordPlan((), (), False, False, "no keywords")
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="asr")
        self._lock = threading.Lock()
        self._active = 0
        self._listeners: list[Callable[[], None]] = []

    @property
    def active(self) -> int:
        return self._active

    @property
    def free_slots(self) -> int:
        return self.max_streams - self._active

    def open(self, call_id: str) -> StreamingRecognizer | None:
        """A recognizer for one call, or ``None`` when the pool is full (queue the recording)."""
        if not self._reserve():
            return None
        try:
            text = self.backend.text_recognizer(SAMPLE_RATE)
            keywords = None
            if self.keyword_plan.enabled:
                keywords = self.backend.keyword_recognizer(SAMPLE_RATE, self.keyword_plan.grammar)
        except BaseException:
            self._release()
            raise
        return StreamingRecognizer(self, call_id, text, keywords, SpeechGate(self.gate_config))

    def reserve(self) -> bool:
        """Take a slot for a whole-file job (``transcribe_file``); False when full."""
        return self._reserve()

    def transcribe_file(self, path: Path) -> Future[str]:
        """Transcribe a recording in the pool; the caller holds a slot (``reserve``)."""
        return self._executor.submit(self.backend.transcribe_wav, path)

    def release(self) -> None:
        self._release()

    def add_release_listener(self, listener: Callable[[], None]) -> None:
        """Called (on the releasing thread) whenever a slot frees up."""
        self._listeners.append(listener)

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)

    def _reserve(self) -> bool:
        with self._lock:
            if self._active >= self.max_streams:
                return False
            self._active += 1
            return True

    def _release(self) -> None:
        with self._lock:
            self._active -= 1
        for listener in list(self._listeners):
            listener()

    def _submit(
        self, decode: Callable[[_Job], list[AsrResult]], job: _Job
    ) -> Future[list[AsrResult]]:
        return self._executor.submit(decode, job)


OnTranscript = Callable[[QueuedRecording, str | None], Awaitable[None]]
"""Receives each after-call transcript (``None`` when transcription failed)."""


class AfterCallWorker:
    """Drains an ``AfterCallQueue`` through free pool slots, emergencies first.

    The bounded consumer of the worker process: one recording at a time, and only while a
    slot of the pool is free (live calls come first); the decoding runs in the pool's
    threads, never on the event loop. Callers either ``await transcribe(path, priority)``
    or submit to ``queue`` themselves, ``wake()`` it and get ``on_transcript`` calls.
    """

    def __init__(
        self,
        pool: StreamingPool,
        queue: AfterCallQueue,
        on_transcript: OnTranscript | None = None,
    ):
        self.pool = pool
        self.queue = queue
        self._on_transcript = on_transcript
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiting: dict[int, asyncio.Future[str | None]] = {}
        pool.add_release_listener(self._slot_freed)

    def wake(self) -> None:
        """Call after ``queue.submit`` (from the event loop)."""
        if self._wake is not None:
            self._wake.set()

    async def transcribe(
        self, path: Path, priority: Priority = Priority.NORMAL, *, call_id: str = ""
    ) -> str | None:
        """Queue ``path`` and wait for its turn and its text (``None``: transcription failed)."""
        loop = asyncio.get_running_loop()
        entry = self.queue.submit(path, priority, now=loop.time(), call_id=call_id)
        future: asyncio.Future[str | None] = loop.create_future()
        self._waiting[entry.sequence] = future
        self.wake()
        try:
            return await future
        finally:
            self._waiting.pop(entry.sequence, None)

    async def run_once(self) -> QueuedRecording | None:
        """Transcribe the next recording if a slot is free; returns it, or ``None``."""
        if not self.queue or not self.pool.reserve():
            return None
        entry = self.queue.pop()
        if entry is None:
            self.pool.release()
            return None
        try:
            text: str | None = await asyncio.wrap_future(self.pool.transcribe_file(entry.path))
        except Exception as exc:  # one bad recording must not stop the consumer
            log.error("after-call transcription of %s failed: %r", entry.path, exc)
            text = None
        finally:
            self.pool.release()
        waiting = self._waiting.get(entry.sequence)
        if waiting is not None and not waiting.done():
            waiting.set_result(text)
        if self._on_transcript is not None:
            await self._on_transcript(entry, text)
        return entry

    async def run(self) -> None:
        """Run until cancelled."""
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        while True:
            if await self.run_once() is None:
                await self._wake.wait()
                self._wake.clear()

    def _slot_freed(self) -> None:
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None and not loop.is_closed():
            loop.call_soon_threadsafe(wake.set)
