"""The real IVR worker with scripted recognisers at the Vosk seam, for the keyword benchmark.

``python bench/emergency/keyword_worker.py --config hotline.yaml --hits hits.jsonl``

Everything is the production worker (``ivr.worker.run_worker``: SIP adapter, RTP loop,
session, engine, streaming pool with its gate and decoding threads, order client) except the
recognisers: the keyword recogniser reports "昏迷" once a call's intake has fed it
``FIRE_AFTER`` of gated audio. The moment it hands the result over (``time.time()``, the
clock tcpdump stamps packets with) is appended to ``--hits``; run.py pairs each with the
REFER that follows it on the wire.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import queue
import signal
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from ivr.worker import run_worker  # noqa: E402
from settings.node import load_settings  # noqa: E402

FIRE_AFTER = 8000 * 2 * 3 // 10  # 0.3 s of 8 kHz 16-bit speech past the gate
SPOKEN = "[unk] 昏迷 [unk]"  # what a grammar recogniser returns for "我爸昏迷了"


class _Hits:
    """Hit times, written by a thread of their own so the decoder only takes the time."""

    def __init__(self, path: Path) -> None:
        self._queue: queue.SimpleQueue[float] = queue.SimpleQueue()
        self._path = path
        threading.Thread(target=self._write, name="hits", daemon=True).start()

    def add(self, at: float) -> None:
        self._queue.put(at)

    def _write(self) -> None:
        with self._path.open("a", encoding="utf-8") as out:
            while True:
                out.write(json.dumps({"at": self._queue.get()}) + "\n")
                out.flush()


class _Silent:
    """The free-text recogniser: hears nothing (the benchmark is about the keyword path)."""

    def accept(self, pcm16: bytes) -> bool:
        return False

    def result(self) -> str:
        return ""

    def partial(self) -> str:
        return ""

    def final(self) -> str:
        return ""


class _Spotter(_Silent):
    """The grammar recogniser of one call: spots the keyword once, after FIRE_AFTER bytes."""

    def __init__(self, hits: _Hits) -> None:
        self._hits = hits
        self._fed = 0
        self._fired = False

    def accept(self, pcm16: bytes) -> bool:
        self._fed += len(pcm16)
        return not self._fired and self._fed >= FIRE_AFTER

    def result(self) -> str:
        self._fired = True
        self._hits.add(time.time())
        return SPOKEN


class ScriptedBackend:
    """``asr.streaming.RecognizerBackend`` without a model."""

    def __init__(self, hits: _Hits) -> None:
        self._hits = hits

    def text_recognizer(self, sample_rate: int) -> _Silent:
        return _Silent()

    def keyword_recognizer(self, sample_rate: int, grammar: list[str]) -> _Spotter:
        return _Spotter(self._hits)

    def has_word(self, word: str) -> bool:
        return True

    def transcribe_wav(self, path: Path) -> str:
        return ""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--hits", type=Path, required=True)
    args = parser.parse_args()
    logging.basicConfig(
        level=os.environ.get("HOTLINE_LOG_LEVEL", "INFO").upper(),
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    settings = load_settings(args.config)
    backend = ScriptedBackend(_Hits(args.hits))

    async def _main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run_worker(settings, stop, recognizers=backend)

    asyncio.run(_main())


if __name__ == "__main__":
    main()
