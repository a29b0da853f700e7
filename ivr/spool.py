"""The spool: intakes the work-order service has not taken yet, as files a node's workers share.

``<spool>/<name>.json`` waits to be sent (``{"key", "body", "attempts", "next_at",
"last_error"}``). An entry the service refuses for good (4xx) moves to ``rejected/``;
one it keeps failing (5xx) is retried with a growing delay and, after ``max_attempts``,
moved to ``quarantine/`` (issue 13, item 10: 16 entries were retried forever, and one
failing entry held back every entry behind it). Both keep the reason beside the entry
(``<name>.error.json``), are logged as errors, and are listed by ``hotline spool list``;
``hotline spool retry`` puts them back. Nothing is ever deleted but a sent entry.

While the service cannot be reached at all, nothing is counted against the entries: an
outage must not quarantine every intake of the day.

Time is a parameter (``now``, seconds since the epoch), so the backoff is tested without a
clock. Several workers may handle one entry at once: every move tolerates the file having
gone, and a create sent twice is harmless (idempotency key).
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger("ivr.spool")

MAX_ATTEMPTS = 10
FIRST_RETRY_SECONDS = 30.0
MAX_RETRY_SECONDS = 3600.0
REJECTED = "rejected"  # the service refused it (4xx): sending it again cannot help
QUARANTINE = "quarantine"  # it failed MAX_ATTEMPTS times (5xx): a human should look
SET_ASIDE = (REJECTED, QUARANTINE)


def retry_delay(attempts: int, first: float = FIRST_RETRY_SECONDS) -> float:
    """Seconds to wait after the ``attempts``-th failure: doubling, at most an hour."""
    return float(min(MAX_RETRY_SECONDS, first * 2 ** max(0, attempts - 1)))


@dataclass(frozen=True, slots=True)
class SpoolEntry:
    path: Path
    key: str
    body: dict[str, Any]
    attempts: int = 0
    next_at: float = 0.0
    last_error: str = ""


@dataclass(frozen=True, slots=True)
class Unreadable:
    path: Path
    error: str


@dataclass(frozen=True, slots=True)
class Listed:
    """One line of ``hotline spool list``."""

    state: str  # "waiting", "rejected", "quarantine"
    name: str
    attempts: int
    next_at: float
    reason: str


class Spool:
    def __init__(
        self,
        root: Path,
        *,
        max_attempts: int = MAX_ATTEMPTS,
        first_retry: float = FIRST_RETRY_SECONDS,
    ) -> None:
        self.root = root
        self.max_attempts = max_attempts
        self.first_retry = first_retry

    # -- writing --
    def put(self, key: str, body: dict[str, Any]) -> Path:
        """Write an entry for ``key`` (the worker's call id: safe as a file name)."""
        name = "".join(c if c.isalnum() else "_" for c in key)[:80] or "order"
        path = self.root / f"{name}.json"
        self._write(path, {"key": key, "body": body, "attempts": 0, "next_at": 0.0})
        return path

    def _write(self, path: Path, entry: dict[str, Any]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.partial")  # replayers only read whole files
        partial.write_text(json.dumps(entry, ensure_ascii=False), encoding="utf-8")
        partial.replace(path)

    # -- reading --
    def due(self, now: float) -> Iterator[SpoolEntry | Unreadable]:
        """Entries whose retry time has come, oldest name first."""
        for path in sorted(self.root.glob("*.json")):
            entry = self._read(path)
            if entry is None:
                continue  # another worker has sent it
            if isinstance(entry, Unreadable) or entry.next_at <= now:
                yield entry

    def _read(self, path: Path) -> SpoolEntry | Unreadable | None:
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            return SpoolEntry(
                path,
                str(raw["key"]),
                dict(raw["body"]),
                int(raw.get("attempts", 0)),
                float(raw.get("next_at", 0.0)),
                str(raw.get("last_error", "")),
            )
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            return Unreadable(path, f"unreadable spool entry: {exc}")

    # -- outcomes --
    def sent(self, entry: SpoolEntry) -> None:
        entry.path.unlink(missing_ok=True)

    def failed(self, entry: SpoolEntry, now: float, error: str) -> bool:
        """Count a failed attempt: wait longer, or quarantine after ``max_attempts``.

        Returns whether the entry was quarantined."""
        attempts = entry.attempts + 1
        if attempts >= self.max_attempts:
            why = {"error": error, "attempts": attempts}
            self.set_aside(entry.path, QUARANTINE, why)
            return True
        next_at = now + retry_delay(attempts, self.first_retry)
        if entry.path.exists():
            self._write(
                entry.path,
                {"key": entry.key, "body": entry.body, "attempts": attempts,
                 "next_at": next_at, "last_error": error},
            )  # fmt: skip
        log.warning(
            "spooled intake %s failed (attempt %d of %d), next try in %.0f s: %s",
            entry.path.name, attempts, self.max_attempts, next_at - now, error,
        )  # fmt: skip
        return False

    def set_aside(self, path: Path, where: str, why: dict[str, Any]) -> None:
        """Move an entry to ``rejected/`` or ``quarantine/`` with the reason beside it."""
        folder = self.root / where
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / path.name
        try:
            path.replace(target)
        except FileNotFoundError:
            return  # another worker of the node has set it aside (or sent it) already
        error = folder / f"{path.stem}.error.json"
        error.write_text(json.dumps(why, ensure_ascii=False, indent=1), encoding="utf-8")
        log.error(
            "SPOOLED INTAKE SET ASIDE, never to be sent again unless retried by hand "
            "(`hotline spool retry %s`): moved to %s (see %s): %s",
            path.stem, target, error.name, why,
        )  # fmt: skip

    def retry(self, name: str | None = None) -> list[str]:
        """Put set-aside entries (all, or the one named) back to be sent at once."""
        moved: list[str] = []
        for where in SET_ASIDE:
            folder = self.root / where
            for path in sorted(folder.glob("*.json")) if folder.is_dir() else ():
                if path.name.endswith(".error.json") or name not in (None, path.stem):
                    continue
                entry = self._read(path)
                if not isinstance(entry, SpoolEntry):
                    continue
                self._write(self.root / path.name, {"key": entry.key, "body": entry.body,
                                                    "attempts": 0, "next_at": 0.0})  # fmt: skip
                path.unlink(missing_ok=True)
                (folder / f"{path.stem}.error.json").unlink(missing_ok=True)
                moved.append(path.stem)
        return moved

    def listing(self) -> list[Listed]:
        """What waits, and what was set aside and why (``hotline spool list``)."""
        rows: list[Listed] = []
        for state, folder in (("waiting", self.root), *((w, self.root / w) for w in SET_ASIDE)):
            for path in sorted(folder.glob("*.json")) if folder.is_dir() else ():
                if path.name.endswith(".error.json"):
                    continue
                entry = self._read(path)
                if entry is None:
                    continue
                if isinstance(entry, Unreadable):
                    rows.append(Listed(state, path.stem, 0, 0.0, entry.error))
                    continue
                reason, attempts = entry.last_error, entry.attempts
                why = folder / f"{path.stem}.error.json"
                if state != "waiting" and why.exists():
                    with contextlib.suppress(OSError, ValueError):
                        detail = json.loads(why.read_text(encoding="utf-8"))
                        attempts = int(detail.pop("attempts", attempts))
                        reason = json.dumps(detail, ensure_ascii=False)
                rows.append(Listed(state, path.stem, attempts, entry.next_at, reason))
        return rows
