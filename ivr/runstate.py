"""``var/run/ivr-worker-<sip port>.json``: what each running IVR worker runs.

For ``hotline reload``/``diff``. Each worker of a node writes its own file at
start and after every reload attempt (atomically); ``reloads`` counts the
attempts so ``hotline reload`` can tell when its SIGHUP has been handled, and
``last_reload`` says how it went.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

RUN_DIR = Path("run")


def state_path(var: Path, sip_port: int) -> Path:
    return var / RUN_DIR / f"ivr-worker-{sip_port}.json"


def state_paths(var: Path) -> list[Path]:
    """The state files of every worker of the node, by SIP port."""
    return sorted((var / RUN_DIR).glob("ivr-worker-*.json"))


@dataclass(frozen=True)
class ReloadOutcome:
    at: str
    ok: bool
    version: str
    error: str = ""


@dataclass(frozen=True)
class WorkerState:
    pid: int
    menu: str
    flow_version: str
    menu_text: str
    started_at: str
    reloads: int = 0
    last_reload: ReloadOutcome | None = None
    languages: list[str] = field(default_factory=list)
    #: Why the worker runs the last good configuration instead of the one on disk ("": it
    #: does not); cleared by a successful reload.
    fallback: str = ""

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=1) + "\n"

    @classmethod
    def from_json(cls, text: str) -> WorkerState:
        data: dict[str, Any] = json.loads(text)
        last = data.pop("last_reload", None)
        return cls(**data, last_reload=ReloadOutcome(**last) if last else None)


def write_state(path: Path, state: WorkerState) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    partial.write_text(state.to_json(), encoding="utf-8")
    os.replace(partial, path)


def read_state(path: Path) -> WorkerState | None:
    """The state, or ``None`` if no worker has written one (or it is unreadable)."""
    try:
        return WorkerState.from_json(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, TypeError):
        return None


def remove_state(path: Path, pid: int) -> None:
    """Remove the file at exit, if it is still this worker's."""
    state = read_state(path)
    if state is not None and state.pid == pid:
        path.unlink(missing_ok=True)
