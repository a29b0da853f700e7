"""Naming and writing call recordings under one root directory.

A recording is referred to on its work order by a *ref*: a path relative to the store root,
``YYYY/MM/DD/<name>.wav``. Refs never contain ``..`` and never resolve outside the root,
whatever the SIP Call-ID they were derived from contained.
"""

from __future__ import annotations

import hashlib
import os
import re
import struct
from datetime import datetime
from pathlib import Path, PurePosixPath
from types import TracebackType
from typing import Self

from recordings.errors import RecordingError

SAMPLE_RATE = 8000
SAMPLE_WIDTH = 2  # 16-bit signed little-endian
CHANNELS = 1

_SAFE_CALL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
_UNSAFE_RUN = re.compile(r"[^A-Za-z0-9_-]+")
_READABLE_PREFIX_CHARS = 40
_HASH_CHARS = 16
# The canonical 44-byte PCM WAV header; the two sizes sit at offsets 4 and 40.
_WAV_HEADER = struct.Struct("<4sI4s4sIHHIIHH4sI")
_RIFF_SIZE_AT, _DATA_SIZE_AT = 4, 40
_SIZE = struct.Struct("<I")


def recording_name(call_id: str) -> str:
    """File stem for ``call_id``: the Call-ID itself when it is plainly safe, else a readable
    sanitised prefix plus a hash of the whole Call-ID (so distinct Call-IDs stay distinct)."""
    if not call_id:
        raise RecordingError("a recording needs a non-empty Call-ID")
    if _SAFE_CALL_ID.fullmatch(call_id):
        return call_id
    digest = hashlib.sha256(call_id.encode("utf-8", "surrogatepass")).hexdigest()[:_HASH_CHARS]
    prefix = _UNSAFE_RUN.sub("_", call_id).strip("_-")[:_READABLE_PREFIX_CHARS].rstrip("_-")
    return f"{prefix}-{digest}" if prefix else digest


class RecordingStore:
    """The directory tree holding recordings, and the only way to map refs to paths."""

    def __init__(self, root: Path) -> None:
        self._root = Path(root).resolve()

    @property
    def root(self) -> Path:
        return self._root

    def new_path(self, call_id: str, when: datetime) -> tuple[Path, str]:
        """Absolute path and ref for a new recording of ``call_id`` started at ``when``.

        The date directories come from ``when`` as given (pass the hotline's local time).
        A second recording of the same call on the same day gets a ``-2``, ``-3``… suffix.
        """
        stem = recording_name(call_id)
        day = f"{when.year:04d}/{when.month:02d}/{when.day:02d}"
        suffix = ""
        attempt = 1
        while True:
            ref = f"{day}/{stem}{suffix}.wav"
            path = self.resolve(ref)
            if not path.exists():
                return path, ref
            attempt += 1
            suffix = f"-{attempt}"

    def resolve(self, ref: str) -> Path:
        """Absolute path of ``ref``; refuses refs that are absolute or lead outside the root."""
        if not ref or "\\" in ref or "\x00" in ref:
            raise RecordingError(f"invalid recording ref: {ref!r}")
        relative = PurePosixPath(ref)
        if relative.is_absolute() or ".." in relative.parts or str(relative) != ref:
            raise RecordingError(f"recording ref must be a plain path inside the store: {ref!r}")
        path = (self._root / relative).resolve()
        if not path.is_relative_to(self._root) or path == self._root:
            raise RecordingError(f"recording ref leaves the store: {ref!r}")
        return path


class WavWriter:
    """Writes 16-bit mono PCM to a new WAV file, keeping its header valid after every write.

    The header is written when the file is created and its two sizes are patched after each
    ``write``, so a worker that dies mid-call leaves a playable file holding everything written
    so far. A write is three system calls (append, two positional 4-byte writes) and no
    buffering: it runs for every 20 ms frame of every recording on the IVR's event loop. The
    file is created exclusively: an existing recording is never overwritten.
    """

    def __init__(self, path: Path, sample_rate: int = SAMPLE_RATE) -> None:
        if sample_rate <= 0:
            raise RecordingError(f"sample rate must be positive, got {sample_rate}")
        self._path = Path(path)
        self._sample_rate = sample_rate
        self._frames = 0
        self._closed = False
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except OSError as exc:
            raise RecordingError(f"cannot create recording {self._path}: {exc}") from exc
        block = CHANNELS * SAMPLE_WIDTH
        header = _WAV_HEADER.pack(
            b"RIFF", 36, b"WAVE", b"fmt ", 16, 1, CHANNELS, sample_rate,
            sample_rate * block, block, 8 * SAMPLE_WIDTH, b"data", 0,
        )  # fmt: skip
        try:
            self._write_all(header)  # so even an empty recording is valid
        except OSError as exc:
            os.close(self._fd)
            raise RecordingError(f"cannot write recording {self._path}: {exc}") from exc

    @property
    def path(self) -> Path:
        return self._path

    @property
    def seconds(self) -> float:
        """Audio written so far, in seconds."""
        return self._frames / self._sample_rate

    def write(self, pcm16: bytes) -> None:
        """Append 16-bit signed little-endian mono samples."""
        if self._closed:
            raise RecordingError(f"recording already closed: {self._path}")
        if len(pcm16) % SAMPLE_WIDTH:
            raise RecordingError(f"16-bit PCM needs an even byte count, got {len(pcm16)}")
        if not pcm16:
            return
        data_bytes = (self._frames * SAMPLE_WIDTH) + len(pcm16)
        try:
            self._write_all(pcm16)
            os.pwrite(self._fd, _SIZE.pack(36 + data_bytes), _RIFF_SIZE_AT)
            os.pwrite(self._fd, _SIZE.pack(data_bytes), _DATA_SIZE_AT)
        except OSError as exc:
            raise RecordingError(f"cannot write recording {self._path}: {exc}") from exc
        self._frames += len(pcm16) // SAMPLE_WIDTH

    def _write_all(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view) :]

    def close(self) -> float:
        """Finish the file and return the seconds recorded. Closing twice is harmless."""
        if not self._closed:
            self._closed = True
            try:
                os.close(self._fd)
            except OSError as exc:
                raise RecordingError(f"cannot finish recording {self._path}: {exc}") from exc
        return self.seconds

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
