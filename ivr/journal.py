"""The intake journal: an intake in progress, as a file, so a worker crash never orphans it.

A killed worker left partial recordings no order pointed to, and its callers' intakes were
gone (issue 13, item 9). Recordings are already written incrementally (``WavWriter`` keeps
the header valid after every frame); what was missing is what the order would have said.
So when a recording starts, the session writes ``<spool>/journal/<call id>.json`` — the
order body as it would be sent, flagged ``call_cut``, and the worker's pid — and removes it
when the call ends normally (its order made, or spooled, or judged a 无效来电).

A journal whose worker is no longer alive is an intake cut by a crash. Any worker of the
node (the spool is shared) finishes it on its next replay: with speech in the partial
recording it becomes a spool entry, so an order marked ``call_cut`` with that recording;
without speech it is counted as lost, with the reason, like any 无效来电.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from ivr.engine.actions import CreateOrder

log = logging.getLogger("ivr.journal")

JOURNAL = "journal"
FLAG_CALL_CUT = "call_cut"


@dataclass(frozen=True, slots=True)
class CutIntake:
    """An intake whose worker died: its journal file, order key and body."""

    path: Path
    key: str
    body: dict[str, Any]
    pid: int


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: not ours to judge, leave its journal
    return True


class IntakeJournal:
    def __init__(self, spool: Path, pid: int | None = None) -> None:
        self.root = spool / JOURNAL
        self.pid = os.getpid() if pid is None else pid

    def _path(self, key: str) -> Path:
        name = "".join(c if c.isalnum() else "_" for c in key)[:80] or "call"
        return self.root / f"{name}.json"

    def open(self, key: str, body: dict[str, Any]) -> None:
        """The intake of call ``key`` is being recorded; ``body`` is its order if cut."""
        flags = [*body.get("flags", []), FLAG_CALL_CUT]
        entry = {"key": key, "pid": self.pid, "body": {**body, "flags": flags}}
        path = self._path(key)
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            partial = path.with_name(f".{path.name}.partial")
            partial.write_text(json.dumps(entry, ensure_ascii=False), encoding="utf-8")
            partial.replace(path)
        except OSError as exc:  # the call goes on; only a crash would show the loss
            log.error("intake journal for %s not written: %s", key, exc)

    def close(self, key: str) -> None:
        """The call ended without a crash: nothing left to finish."""
        self._path(key).unlink(missing_ok=True)

    def orphans(self, alive: Callable[[int], bool] = pid_alive) -> list[CutIntake]:
        """Journals of workers that are gone (not this one: it is alive)."""
        found: list[CutIntake] = []
        for path in sorted(self.root.glob("*.json")) if self.root.is_dir() else ():
            try:
                raw = json.loads(path.read_text(encoding="utf-8"))
                cut = CutIntake(path, str(raw["key"]), dict(raw["body"]), int(raw["pid"]))
            except FileNotFoundError:
                continue
            except (OSError, ValueError, KeyError, TypeError) as exc:
                log.error("intake journal %s unreadable, left in place: %s", path, exc)
                continue
            if cut.pid != self.pid and not alive(cut.pid):
                found.append(cut)
        return found

    def finished(self, cut: CutIntake) -> None:
        cut.path.unlink(missing_ok=True)


class OrderJournal:
    """What the session sees: ``begin`` when an intake starts recording, ``end`` when its
    call no longer needs it. ``body_of`` is the work-order client's request body."""

    def __init__(
        self,
        journal: IntakeJournal,
        body_of: Callable[[CreateOrder, datetime], dict[str, Any]],
    ) -> None:
        self.journal = journal
        self.body_of = body_of

    def begin(self, order: CreateOrder, received_at: datetime) -> None:
        self.journal.open(order.idempotency_key, self.body_of(order, received_at))

    def end(self, key: str) -> None:
        self.journal.close(key)


async def finish_cut_intakes(
    journal: IntakeJournal,
    *,
    speech_seconds: Callable[[str], Awaitable[float]],
    spool: Callable[[str, dict[str, Any]], Path],
    report_lost: Callable[[str, str, dict[str, Any]], Awaitable[None]],
    min_speech_seconds: float = 0.5,
    alive: Callable[[int], bool] = pid_alive,
) -> tuple[int, int]:
    """Finish the intakes of dead workers: (orders spooled, counted as lost).

    ``speech_seconds(recording ref)`` measures the partial recording (0 when it is gone).
    """
    ordered = lost = 0
    for cut in journal.orphans(alive):
        recording = str(cut.body.get("recording") or "")
        speech = await speech_seconds(recording) if recording else 0.0
        if speech >= min_speech_seconds:
            path = spool(cut.key, cut.body)
            ordered += 1
            log.warning(
                "intake of call %s was cut by a worker crash (pid %d): %.1f s of speech "
                "becomes an order marked %s (spooled as %s)",
                cut.key, cut.pid, speech, FLAG_CALL_CUT, path.name,
            )  # fmt: skip
        else:
            lost += 1
            log.warning(
                "intake of call %s was cut by a worker crash (pid %d) before the caller "
                "said anything: counted as lost (cut_silent)",
                cut.key, cut.pid,
            )  # fmt: skip
            detail = {
                "reason": "cut_silent",
                "category": cut.body.get("category", ""),
                "menu_path": cut.body.get("menu_path", []),
                "received_at": cut.body.get("received_at", ""),
                "seconds": 0.0,
            }
            if recording:
                detail["recording"] = recording
            try:
                await report_lost(cut.key, str(cut.body.get("caller_number", "")), detail)
            except Exception as exc:  # the count is best effort; the journal is done
                log.warning("lost intake of %s not counted: %s", cut.key, exc)
        journal.finished(cut)
    return ordered, lost
