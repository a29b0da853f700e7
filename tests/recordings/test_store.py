from __future__ import annotations

import re
import wave
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from recordings.errors import RecordingError
from recordings.store import RecordingStore, WavWriter, recording_name

pytestmark = pytest.mark.unit

BEIJING = timezone(timedelta(hours=8))
WHEN = datetime(2025, 3, 7, 23, 59, 30, tzinfo=BEIJING)
SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*\.wav")

HOSTILE_CALL_IDS = [
    "a84b4c76e66710@pc33.atlanta.com",
    "../../../../etc/passwd",
    "/etc/passwd",
    "..",
    ".",
    "a/../../b",
    "..\\..\\windows\\system32",
    "%2e%2e%2f%2e%2e%2f",
    "nul\x00byte",
    "line\r\nbreak",
    "-rf",
    " ",
    "呼叫标识@医院.cn",
    "x" * 300,
    "~root/.ssh",
]


@pytest.fixture
def store(tmp_path: Path) -> RecordingStore:
    return RecordingStore(tmp_path / "recordings")


@pytest.mark.parametrize("call_id", HOSTILE_CALL_IDS, ids=repr)
def test_hostile_call_ids_stay_inside_the_root(store: RecordingStore, call_id: str) -> None:
    path, ref = store.new_path(call_id, WHEN)
    assert path.is_absolute()
    assert path.parent == store.root / "2025" / "03" / "07"
    assert SAFE_NAME.fullmatch(path.name)
    assert len(path.name) <= 64
    assert ref == f"2025/03/07/{path.name}"
    assert store.resolve(ref) == path


@pytest.mark.parametrize("call_id", ["abc123", "a84b4c76e66710-pc33_atlanta", "0"])
def test_plainly_safe_call_ids_are_kept(store: RecordingStore, call_id: str) -> None:
    _, ref = store.new_path(call_id, WHEN)
    assert ref == f"2025/03/07/{call_id}.wav"


def test_call_ids_that_sanitise_alike_stay_distinct() -> None:
    names = {recording_name(call_id) for call_id in ["a@b", "a/b", "a_b", "a.b", "a b", "a@@b"]}
    assert len(names) == 6


def test_empty_call_id_is_refused(store: RecordingStore) -> None:
    with pytest.raises(RecordingError, match="non-empty"):
        store.new_path("", WHEN)


def test_second_recording_of_a_call_gets_a_new_name(store: RecordingStore) -> None:
    first, first_ref = store.new_path("call-1", WHEN)
    WavWriter(first).close()
    second, second_ref = store.new_path("call-1", WHEN)
    assert first_ref == "2025/03/07/call-1.wav"
    assert second != first
    assert second_ref == "2025/03/07/call-1-2.wav"


@pytest.mark.parametrize(
    "ref",
    [
        "",
        "../escape.wav",
        "2025/../../escape.wav",
        "2025/03/07/../../../../escape.wav",
        "/etc/passwd",
        "..",
        "./2025/x.wav",
        "2025//03/x.wav",
        "2025/03/07/",
        "2025\\..\\..\\x.wav",
        "x\x00.wav",
    ],
    ids=repr,
)
def test_resolve_refuses_refs_that_are_not_plain_paths_inside(
    store: RecordingStore, ref: str
) -> None:
    with pytest.raises(RecordingError):
        store.resolve(ref)


def test_resolve_refuses_a_symlink_out_of_the_root(store: RecordingStore, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    store.root.mkdir(parents=True)
    (store.root / "link").symlink_to(outside)
    with pytest.raises(RecordingError, match="leaves"):
        store.resolve("link/secret.wav")


def test_resolve_accepts_what_new_path_issued(store: RecordingStore) -> None:
    path, ref = store.new_path("a84b4c76e66710@pc33.atlanta.com", WHEN)
    assert store.resolve(ref) == path
    assert store.resolve(ref).is_relative_to(store.root)


def read_wav(path: Path) -> tuple[tuple[int, int, int], bytes]:
    with wave.open(str(path), "rb") as wav:
        params = (wav.getnchannels(), wav.getsampwidth(), wav.getframerate())
        return params, wav.readframes(wav.getnframes())


def test_wav_writer_round_trip(tmp_path: Path) -> None:
    chunks = [bytes(range(0, 160)) * 2, b"\x01\x80" * 160, bytes(320)]
    path = tmp_path / "2025" / "03" / "07" / "call.wav"
    with WavWriter(path) as writer:
        for chunk in chunks:
            writer.write(chunk)
        seconds = writer.close()
    assert seconds == pytest.approx(480 / 8000)
    assert read_wav(path) == ((1, 2, 8000), b"".join(chunks))


def test_wav_header_is_valid_before_close(tmp_path: Path) -> None:
    """What survives a worker crash: the bytes already handed to the OS."""
    path = tmp_path / "live.wav"
    writer = WavWriter(path)
    assert read_wav(path) == ((1, 2, 8000), b"")
    writer.write(b"\x10\x00" * 800)
    assert read_wav(path) == ((1, 2, 8000), b"\x10\x00" * 800)
    writer.write(b"\x20\x00" * 80)
    assert read_wav(path)[1] == b"\x10\x00" * 800 + b"\x20\x00" * 80
    assert writer.seconds == pytest.approx(0.11)
    writer.close()


def test_empty_recording_is_a_valid_wav(tmp_path: Path) -> None:
    path = tmp_path / "empty.wav"
    assert WavWriter(path).close() == 0.0
    assert read_wav(path) == ((1, 2, 8000), b"")


def test_writer_never_overwrites(tmp_path: Path) -> None:
    path = tmp_path / "taken.wav"
    path.write_bytes(b"earlier recording")
    with pytest.raises(RecordingError, match="cannot create"):
        WavWriter(path)
    assert path.read_bytes() == b"earlier recording"


def test_writer_refuses_half_samples_and_writes_after_close(tmp_path: Path) -> None:
    writer = WavWriter(tmp_path / "w.wav")
    with pytest.raises(RecordingError, match="even byte count"):
        writer.write(b"\x00\x00\x00")
    writer.write(b"\x00\x00")
    assert writer.close() == writer.close() == pytest.approx(1 / 8000)
    with pytest.raises(RecordingError, match="closed"):
        writer.write(b"\x00\x00")


def test_writer_closes_a_valid_file_when_the_call_fails(tmp_path: Path) -> None:
    path = tmp_path / "crash.wav"

    def record_then_fail() -> None:
        with WavWriter(path) as writer:
            writer.write(b"\x05\x00" * 8)
            raise RuntimeError("caller hung up badly")

    with pytest.raises(RuntimeError):
        record_then_fail()
    assert read_wav(path) == ((1, 2, 8000), b"\x05\x00" * 8)
