"""A headless baresip caller driven over its ``ctrl_tcp`` module (netstring JSON).

The one module that knows how to run and talk to baresip (Debian ``baresip``): ``hotline
dial`` calls the hotline with it from a box without sound card or screen, and the
end-to-end tests (``tests/e2e/peers.py``) use the same configuration and control protocol
for their callers. Its microphone is a WAV file (``aufile``) that can be switched during
the call (``ausrc``); what it hears goes nowhere (``aubridge,nil``) unless recorded.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MODULE_PATH = "/usr/lib/baresip/modules"


class BaresipError(Exception):
    """baresip did not start, answer or do what it was asked in time."""


def free_port(kind: int = socket.SOCK_DGRAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def free_port_pair() -> int:
    """A port free for both UDP and TCP (baresip's SIP listens on both)."""
    for _ in range(50):
        port = free_port(socket.SOCK_DGRAM)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise BaresipError("no free port")


@dataclass(frozen=True)
class CallerConfig:
    """What goes into baresip's ``config`` and ``accounts`` files."""

    user: str  # the caller's number: the From user the hotline sees
    proxy: str  # host:port of the SIP edge every request goes through
    sip_port: int
    ctrl_port: int
    rtp_port: int
    audio_source: Path  # the microphone: a WAV file
    codec: str = "PCMU"
    record_dir: Path | None = None  # what the caller hears, as WAV files (sndfile)

    def config_text(self) -> str:
        modules = ["g711", "aufile", "aubridge", "account", "menu", "ctrl_tcp"]
        if self.record_dir is not None:
            modules.append("sndfile")
        lines = [
            f"sip_listen 127.0.0.1:{self.sip_port}",
            "net_interface 127.0.0.1",
            f"rtp_ports {self.rtp_port}-{self.rtp_port + 40}",
            f"audio_source aufile,{self.audio_source}",
            "audio_player aubridge,nil",
            "audio_alert aubridge,nil",
            "ausrc_srate 8000",
            "auplay_srate 8000",
            f"module_path {MODULE_PATH}",
            *[f"module {m}.so" for m in modules],
            f"ctrl_tcp_listen 127.0.0.1:{self.ctrl_port}",
            "sip_trans_def udp",
        ]
        if self.record_dir is not None:
            lines.append(f"snd_path {self.record_dir}")
        return "\n".join(lines) + "\n"

    def accounts_text(self) -> str:
        return (
            f"<sip:{self.user}@{self.proxy}>;regint=0;audio_codecs={self.codec};answermode=manual\n"
        )

    def write(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "config").write_text(self.config_text())
        (directory / "accounts").write_text(self.accounts_text())
        (directory / "contacts").write_text("")

    @classmethod
    def on_free_ports(cls, user: str, proxy: str, audio_source: Path, **kw: Any) -> CallerConfig:
        return cls(
            user=user,
            proxy=proxy,
            sip_port=free_port_pair(),
            ctrl_port=free_port(socket.SOCK_STREAM),
            rtp_port=free_port() & ~1,
            audio_source=audio_source,
            **kw,
        )


@dataclass
class Control:
    """baresip's ``ctrl_tcp``: commands and their answers, events as they come."""

    port: int
    sock: socket.socket | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    _buffer: bytes = b""

    def connect(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise BaresipError(f"baresip's ctrl_tcp (port {self.port}) not up") from None
                time.sleep(0.05)

    def command(self, command: str, params: str = "") -> dict[str, Any]:
        if self.sock is None:
            raise BaresipError("not connected")
        body = json.dumps({"command": command, "params": params, "token": command}).encode()
        self.sock.sendall(str(len(body)).encode() + b":" + body + b",")
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            for message in self.read():
                if message.get("response") and message.get("token") == command:
                    return message
        raise BaresipError(f"baresip did not answer {command!r}")

    def read(self, timeout: float = 0.2) -> list[dict[str, Any]]:
        if self.sock is None:
            raise BaresipError("not connected")
        self.sock.settimeout(timeout)
        with contextlib.suppress(TimeoutError):
            chunk = self.sock.recv(65536)
            if chunk:
                self._buffer += chunk
        messages = []
        while b":" in self._buffer:
            length, _, rest = self._buffer.partition(b":")
            size = int(length)
            if len(rest) < size + 1:
                break
            messages.append(json.loads(rest[:size]))
            self._buffer = rest[size + 1 :]
        self.events += [m for m in messages if m.get("event")]
        return messages

    def wait_event(self, kind: str | Sequence[str], timeout: float) -> dict[str, Any]:
        """The first event of ``kind`` (one of several) seen so far or within ``timeout``."""
        kinds = (kind,) if isinstance(kind, str) else tuple(kind)
        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            for event in self.events[seen:]:
                if event.get("type") in kinds:
                    return event
            seen = len(self.events)
            if time.monotonic() >= deadline:
                break
            self.read()
        got = [e.get("type") for e in self.events]
        raise BaresipError(f"baresip: no {'/'.join(kinds)} within {timeout:.0f} s; got {got}")

    def close(self) -> None:
        if self.sock is not None:
            with contextlib.suppress(OSError):
                self.command("quit")
            self.sock.close()
            self.sock = None


class BaresipCaller:
    """baresip in ``workdir`` as a caller, its output in ``workdir/baresip.log``."""

    def __init__(self, workdir: Path, config: CallerConfig) -> None:
        self.workdir = workdir
        self.config = config
        self.control = Control(config.ctrl_port)
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = workdir / "baresip.log"

    def start(self) -> None:
        self.config.write(self.workdir)
        trace = ["-s"] if os.environ.get("BARESIP_TRACE") else []
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                ["baresip", "-f", str(self.workdir), *trace],
                cwd=self.workdir,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.control.connect()

    def stop(self) -> None:
        self.control.close()
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
