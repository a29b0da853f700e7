"""``hotline models pull|verify`` against a test-owned HTTP server on 127.0.0.1 serving a
fake model zip: download → hash check → unpack → verify, and every way it must refuse."""

from __future__ import annotations

import hashlib
import http.server
import io
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from asr.model_store import (
    MANIFEST,
    MODEL_SOURCES,
    ModelDownloadError,
    ModelSource,
    pull_model,
    verify_model,
)
from hotline.cli import main
from tests.asr.conftest import ko_model_source

pytestmark = pytest.mark.integration

NAME = "vosk-model-small-cn-0.22"
MODEL_FILES = {
    "am/final.mdl": b"\x00acoustic model" * 1000,
    "conf/mfcc.conf": b"--use-energy=false\n",
    "conf/model.conf": b"--beam=10.0\n",
    "graph/words.txt": "胸痛 1\n昏迷 2\n".encode(),
}


def make_zip(files: dict[str, bytes], top: str = NAME) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zipped:
        for name, data in files.items():
            zipped.writestr(f"{top}/{name}" if top else name, data)
    return buffer.getvalue()


class Server:
    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.requests: list[str] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requests.append(self.path)
                body = outer.files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"


@pytest.fixture
def server() -> Iterator[Server]:
    server = Server()
    server.thread.start()
    try:
        yield server
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()
        server.thread.join()


def source_for(server: Server, body: bytes, *, pinned: bool = True) -> ModelSource:
    server.files["/model.zip"] = body
    digest = hashlib.sha256(body).hexdigest() if pinned else None
    return ModelSource(NAME, server.url("/model.zip"), digest)


def test_pull_then_verify(server: Server, tmp_path: Path) -> None:
    progress: list[tuple[int, int | None]] = []
    body = make_zip(MODEL_FILES)
    target = pull_model(
        source_for(server, body), tmp_path, progress=lambda d, t: progress.append((d, t))
    )
    assert target == tmp_path / NAME
    for name, data in MODEL_FILES.items():
        assert (target / name).read_bytes() == data
    assert progress[-1] == (len(body), len(body))
    assert sorted(p.name for p in tmp_path.iterdir()) == [NAME]  # nothing left behind
    report = verify_model(target)
    assert report.ok
    assert report.checked == len(MODEL_FILES)
    (target / "conf" / "model.conf").write_bytes(b"--beam=99\n")
    (target / "graph" / "words.txt").unlink()
    report = verify_model(target)
    assert not report.ok
    assert report.changed == ("conf/model.conf",)
    assert report.missing == ("graph/words.txt",)


@pytest.mark.parametrize(
    ("body", "sha256", "message"),
    [
        (make_zip(MODEL_FILES), "0" * 64, "mismatch"),
        (b"not a zip", None, "not a zip"),
        (make_zip({"conf/mfcc.conf": b""}), None, "missing am/final.mdl"),
        (make_zip({"../evil": b"x"}, top=""), None, "unsafe path"),
    ],
    ids=["wrong-hash", "not-zip", "not-a-model", "path-traversal"],
)
def test_bad_downloads_leave_nothing(
    server: Server, tmp_path: Path, body: bytes, sha256: str | None, message: str
) -> None:
    source = source_for(server, body)
    with pytest.raises(ModelDownloadError, match=message):
        pull_model(source, tmp_path, sha256=sha256)
    assert list(tmp_path.iterdir()) == []


def test_unpinned_model_is_refused_without_a_hash(server: Server, tmp_path: Path) -> None:
    source = source_for(server, make_zip(MODEL_FILES), pinned=False)
    with pytest.raises(ModelDownloadError, match="insecure-skip-hash"):
        pull_model(source, tmp_path)
    assert server.requests == []  # refused before downloading anything
    assert pull_model(source, tmp_path, insecure_skip_hash=True).is_dir()


def test_existing_model_needs_force(server: Server, tmp_path: Path) -> None:
    source = source_for(server, make_zip(MODEL_FILES))
    pull_model(source, tmp_path)
    with pytest.raises(ModelDownloadError, match="--force"):
        pull_model(source, tmp_path)
    (tmp_path / NAME / "stale.txt").write_text("old")
    pull_model(source, tmp_path, force=True)
    assert not (tmp_path / NAME / "stale.txt").exists()


def test_http_errors_are_download_errors(server: Server, tmp_path: Path) -> None:
    source = ModelSource(NAME, server.url("/absent.zip"), "0" * 64)
    with pytest.raises(ModelDownloadError, match="404"):
        pull_model(source, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_verify_without_a_manifest(tmp_path: Path) -> None:
    report = verify_model(tmp_path)
    assert not report.ok
    assert any(MANIFEST in p for p in report.problems)
    assert any("am/final.mdl" in p for p in report.problems)


def test_pinned_sources() -> None:
    assert MODEL_SOURCES["small-cn"].sha256 == (
        "3af8b0e7e0f835ae9d414ce5df580237a3cfb08d586c9fbbb0f7ff29ad5b14ba"
    )
    assert MODEL_SOURCES["cn"].sha256 is None
    assert all(
        s.url.startswith("https://alphacephei.com/vosk/models/") for s in MODEL_SOURCES.values()
    )


def test_cli_pull_and_verify(
    server: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = make_zip(MODEL_FILES)
    source_for(server, body)
    config = tmp_path / "hotline.yaml"
    config.write_text(f"paths: {{var: {tmp_path / 'var'}}}\n", encoding="utf-8")
    args = [
        "--config",
        str(config),
        "models",
        "pull",
        "small-cn",
        "--url",
        server.url("/model.zip"),
    ]
    with pytest.raises(SystemExit) as wrong:
        main(args)  # the pinned hash is not this fake zip's
    assert wrong.value.code == 1
    assert "mismatch" in capsys.readouterr().err
    with pytest.raises(SystemExit) as pulled:
        main([*args, "--sha256", hashlib.sha256(body).hexdigest()])
    assert pulled.value.code == 0
    out, err = capsys.readouterr()
    target = tmp_path / "var" / "models" / NAME
    assert f"model: {target}" in out
    assert "100%" in err  # the progress bar
    # The fake model's mfcc.conf sets no rate: Kaldi's 16 kHz default, no resampling options.
    assert f"{target}: warning: model expects 16000 Hz; phone audio (8000 Hz) is resampled" in out
    with pytest.raises(SystemExit) as verified:
        main(["--config", str(config), "models", "verify", str(target)])
    assert verified.value.code == 0
    out = capsys.readouterr().out
    assert "ok (4 files" in out
    assert "upsampling not allowed, downsampling not allowed" in out


def test_cli_verify_shows_the_korean_models_rate(capsys: pytest.CaptureFixture[str]) -> None:
    model = ko_model_source()
    with pytest.raises(SystemExit) as verified:
        main(["models", "verify", str(model)])
    assert verified.value.code == 1  # a PyPI model has no hotline manifest
    out = capsys.readouterr().out.splitlines()
    assert (
        f"{model}: model sample rate: 16000 Hz (Kaldi's default, no --sample-frequency in "
        f"{model / 'conf/mfcc.conf'})" in out
    )
    warning = next(line for line in out if "warning:" in line)
    assert "model expects 16000 Hz; phone audio (8000 Hz) is resampled to 16000 Hz with soxr" in (
        warning
    )
    assert any(line.endswith("upsampling allowed, downsampling allowed") for line in out)


def test_cli_verify_of_an_8_khz_model_does_not_warn(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "mfcc.conf").write_text("--sample-frequency=8000\n", encoding="utf-8")
    with pytest.raises(SystemExit):
        main(["models", "verify", str(tmp_path)])
    out = capsys.readouterr().out
    assert "model sample rate: 8000 Hz" in out
    assert "warning" not in out
    assert "is decoded at the model's rate as it is" in out


def test_cli_verify_without_a_conf_says_the_rate_is_unknown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        main(["models", "verify", str(tmp_path)])
    assert "sample rate unknown: not a Vosk model directory" in capsys.readouterr().err


def test_cli_classify(capsys: pytest.CaptureFixture[str]) -> None:
    rules = Path(__file__).resolve().parents[2] / "config" / "intake.yaml"
    with pytest.raises(SystemExit) as done:
        main(["classify", "我爸突然昏迷了", "--menu", "5", "--rules", str(rules)])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert "category:        help" in out
    assert "emergency line:  medical_120" in out
    assert "昏迷" in out
