"""Render prompt texts to 8 kHz mono 16-bit WAV files with espeak-ng and sox.

The only module of the prompt package that runs outside programs. A manifest
(``manifest.json`` in the output directory) keeps the fingerprint of each
rendered prompt so that only new or changed texts are rendered again.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from ivr.prompts.errors import PromptError
from ivr.prompts.texts import PromptTexts, Tone, load_prompt_texts

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
SAMPLE_RATE = 8000
_SOX_OUTPUT = ["-r", str(SAMPLE_RATE), "-c", "1", "-b", "16", "-e", "signed-integer"]
_TIMEOUT_SECONDS = 60


def audio_path(out_dir: Path, key: str) -> Path:
    """``digits/0`` → ``out_dir/digits/0.wav``."""
    return out_dir.joinpath(*key.split("/")).with_suffix(".wav")


def read_manifest(out_dir: Path) -> dict[str, str]:
    try:
        data = json.loads((out_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(key): str(value) for key, value in data.items()}


def build_prompts(texts: Path, out_dir: Path) -> list[Path]:
    """Render every prompt of ``texts`` whose text changed; return the files written.

    Raises ``PromptError`` if the texts are invalid, a tool is missing or fails.
    """
    prompt_texts = load_prompt_texts(texts)
    tools = [name for name in ("espeak-ng", "sox") if shutil.which(name) is None]
    if tools:
        raise PromptError(f"cannot render prompts: {' and '.join(tools)} not installed")
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest = read_manifest(out_dir)
    written: list[Path] = []
    for key in sorted(prompt_texts.entries):
        target = audio_path(out_dir, key)
        fingerprint = prompt_texts.fingerprint(key)
        if manifest.get(key) == fingerprint and target.exists():
            continue
        _render(prompt_texts, key, target)
        manifest[key] = fingerprint
        _write_manifest(out_dir, manifest)  # after each prompt: an interrupted build keeps its work
        written.append(target)
        log.info("rendered prompt %s", key)
    return written


def _render(texts: PromptTexts, key: str, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    entry = texts.entries[key]
    partial = target.with_name(f".partial-{target.name}")  # same directory: atomic replace
    with tempfile.TemporaryDirectory(prefix="prompt-") as scratch:
        if isinstance(entry, Tone):
            tone = ["synth", str(entry.seconds), "sine", str(entry.tone), "gain", "-6"]
            _run(["sox", "-n", *_SOX_OUTPUT, str(partial), *tone], key)
        else:
            speech = Path(scratch) / "speech.wav"
            _run(["espeak-ng", "-v", texts.voice, "-w", str(speech), "--stdin"], key, entry)
            _run(["sox", str(speech), *_SOX_OUTPUT, str(partial), "norm", "-3"], key)
    os.replace(partial, target)


def _run(command: list[str], key: str, stdin: str | None = None) -> None:
    try:
        subprocess.run(
            command,
            input=stdin.encode("utf-8") if stdin is not None else None,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            check=True,
            timeout=_TIMEOUT_SECONDS,
        )
    except subprocess.CalledProcessError as error:
        detail = error.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
        raise PromptError(f"prompt {key!r}: {command[0]} failed: {detail[0]}") from error
    except (OSError, subprocess.TimeoutExpired) as error:
        raise PromptError(f"prompt {key!r}: {command[0]} failed: {error}") from error


def _write_manifest(out_dir: Path, manifest: dict[str, str]) -> None:
    partial = out_dir / f".{MANIFEST}.partial"
    partial.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(partial, out_dir / MANIFEST)
