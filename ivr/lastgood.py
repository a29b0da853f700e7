"""The last configuration a worker loaded successfully, kept so that a crash can restart on it.

A broken menu on disk kept a crashed worker from starting again (issue 13, item 9: 36 s
with no worker): a worker only reads the menu at start and on ``hotline reload``, which
rejects a bad file — but a restart had nothing else to run. So after every successful
load the files it was made of (menu, ``routing.yaml`` next to it, the prompt texts of
every language, the calendar) are copied to ``var/run/last-good/<flow version>/``, and
``var/run/menu-last-good.json`` names that copy; a worker whose configuration on disk does
not load starts on the copy, says so loudly (an error in its log, ``fallback`` in its run
state for ``hotline reload``/``diff``) and keeps serving calls. Prompt audio is not copied:
it is built from the texts and not edited by hand.

The manifest is replaced atomically; several workers of a node saving at once each write
their own copy first, so a reader always finds a complete one.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from ivr.engine.flow import default_routing

log = logging.getLogger("ivr.lastgood")

MANIFEST = Path("run/menu-last-good.json")
COPIES = Path("run/last-good")


@dataclass(frozen=True, slots=True)
class Sources:
    """The files one configuration is loaded from."""

    menu: Path
    prompt_texts: Path
    calendar: Path | None


@dataclass(frozen=True, slots=True)
class LastGood:
    sources: Sources
    flow_version: str
    saved_at: str


def save(var: Path, sources: Sources, flow_version: str, saved_at: str) -> Path:
    """Copy ``sources`` under ``var`` and name the copy in the manifest; returns the copy."""
    base = var / COPIES
    name = "".join(c if c.isalnum() or c in "-_." else "_" for c in flow_version)[:64] or "menu"
    target = base / name
    partial = base / f".{name}.{os.getpid()}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    (partial / "menus").mkdir(parents=True)
    (partial / "prompts").mkdir()
    shutil.copy2(sources.menu, partial / "menus" / sources.menu.name)
    routing = default_routing(sources.menu)
    if routing.exists():
        shutil.copy2(routing, default_routing(partial / "menus" / sources.menu.name))
    for texts in sources.prompt_texts.parent.glob("*.yaml"):  # every language's texts
        shutil.copy2(texts, partial / "prompts" / texts.name)
    if sources.calendar is not None and sources.calendar.exists():
        shutil.copy2(sources.calendar, partial / "calendar.yaml")
    if target.exists():
        shutil.rmtree(partial, ignore_errors=True)  # the same version, saved before
    else:
        try:
            partial.rename(target)
        except OSError:  # another worker saved the same version meanwhile
            shutil.rmtree(partial, ignore_errors=True)
    manifest = {
        "flow_version": flow_version,
        "saved_at": saved_at,
        "menu": str(target / "menus" / sources.menu.name),
        "prompt_texts": str(target / "prompts" / sources.prompt_texts.name),
        "calendar": str(target / "calendar.yaml") if sources.calendar is not None else None,
    }
    path = var / MANIFEST
    temp = path.with_name(f".{path.name}.{os.getpid()}.partial")
    temp.write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(temp, path)
    _prune(base, keep=target)
    return target


def _prune(base: Path, keep: Path) -> None:
    """Drop older copies (best effort: another worker may be reading or writing one)."""
    for old in base.iterdir():
        if old != keep and not old.name.startswith("."):
            shutil.rmtree(old, ignore_errors=True)


def load(var: Path) -> LastGood | None:
    """The saved configuration, or ``None`` if there is none (or it is unreadable)."""
    try:
        data = json.loads((var / MANIFEST).read_text(encoding="utf-8"))
        calendar = data.get("calendar")
        sources = Sources(
            Path(data["menu"]), Path(data["prompt_texts"]), Path(calendar) if calendar else None
        )
        last = LastGood(sources, str(data["flow_version"]), str(data["saved_at"]))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.error("no usable last good configuration in %s: %s", var / MANIFEST, exc)
        return None
    if not last.sources.menu.exists():
        log.error("last good configuration %s is gone", last.sources.menu)
        return None
    return last
