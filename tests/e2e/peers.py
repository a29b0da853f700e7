"""Real SIP/MQTT peers started by the end-to-end tests on loopback.

Each peer is a real program from Debian (kamailio, baresip, mosquitto) in its
own temporary directory, on ports chosen free at start, and stopped by the test.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

from hotline.baresip import BaresipError, CallerConfig, Control

REPO = Path(__file__).resolve().parents[2]
KAMAILIO_CFG = REPO / "docker" / "kamailio" / "kamailio.cfg"


def free_port(kind: int = socket.SOCK_DGRAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(predicate, timeout: float, what: str, interval: float = 0.05):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


def require(*binaries: str) -> None:
    import pytest

    missing = [b for b in binaries if shutil.which(b) is None]
    if missing:
        pytest.skip(f"missing binaries: {', '.join(missing)} (the test command installs them)")


class Process:
    def __init__(self, args: list[str], workdir: Path, name: str) -> None:
        self.args = args
        self.workdir = workdir
        self.name = name
        self.log_path = workdir / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            self.args,
            cwd=self.workdir,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, 15)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                self.proc.wait(5)
        if self.proc is not None:
            self._log.close()
            self.proc = None


def udp_listening(port: int) -> bool:
    out = subprocess.run(["ss", "-lun"], capture_output=True, text=True).stdout
    return f"127.0.0.1:{port} " in out


def tcp_listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


#: The test password of every agent phone the edge knows (``Kamailio(phones=…)``).
AGENT_PASSWORD = "agent-pass-0"
#: The users of config/routing.yaml's dedicated lines: static gateways at the test edge.
LINE_USERS = ("120", "120-backup", "119", "110", "122", "8001", "8002")
#: The agents of config/agents.yaml and routing.yaml's groups: phones that register.
AGENT_USERS = ("1001", "1002", "1101", "1901", "1902")


class Kamailio(Process):
    """The edge with ``docker/kamailio/kamailio.cfg``; calls to 12320 go to ``workers``.

    ``workers`` are the IVR workers' SIP ports on 127.0.0.1 (the dispatcher list,
    written the way ``hotline up`` writes it). ``gateways`` are the dedicated lines'
    users: each gets a static gateway on its own free port on 127.0.0.1
    (``gateway_ports``, where the test's phone for it listens). ``phones`` may register
    with ``AGENT_PASSWORD``. ``allow``, ``rate`` and ``ban_seconds`` are the edge's policy.
    """

    def __init__(
        self, workdir: Path, port: int | None = None, workers: tuple[int, ...] = (), *,
        gateways: tuple[str, ...] = LINE_USERS, phones: tuple[str, ...] = AGENT_USERS,
        allow: tuple[str, ...] = ("127.0.0.1/32",), rate: int = 30, ban_seconds: int = 600,
    ) -> None:  # fmt: skip
        from hotline.edge import PKG_MB, SHM_MB, EdgePolicy, logged_command, write_dispatcher_list
        from hotline.edge_db import set_password, write_tables

        self.port = port or free_port()
        self.workers = workers
        workdir.mkdir(parents=True, exist_ok=True)
        self.dispatcher = write_dispatcher_list(
            workdir / "dispatcher.list", [("127.0.0.1", p) for p in workers]
        )
        self.gateway_ports = {user: free_port() for user in gateways}
        self.db_dir = write_tables(
            workdir / "edge-db", {u: f"sip:127.0.0.1:{p}" for u, p in self.gateway_ports.items()}
        )
        for user in phones:
            set_password(self.db_dir, user, "hotline", AGENT_PASSWORD, forbidden=frozenset())
        policy = EdgePolicy(db_dir=self.db_dir, allow=allow, rate=rate, ban_seconds=ban_seconds)
        super().__init__(
            logged_command([
                "kamailio", "-f", str(KAMAILIO_CFG),
                "-A", f"LISTEN=udp:127.0.0.1:{self.port}",
                "-A", f'DSLIST="{self.dispatcher}"',
                *policy.defines(),
                "-DD", "-E", "-m", str(SHM_MB), "-M", str(PKG_MB),
                "-Y", str(workdir), "-P", str(workdir / "k.pid"),
            ], workdir / "kamailio.log"),
            workdir,
            "kamailio",
        )  # fmt: skip

    def start(self) -> None:
        super().start()
        wait_for(lambda: udp_listening(self.port), 10, f"kamailio on {self.port}")


class Mosquitto(Process):
    """Mosquitto on ``127.0.0.1:port``; ``start()`` again after ``stop()``/``kill()`` restarts
    it on the same port with the same data.

    With ``persistence``, sessions of clean_session=False clients and their queued messages
    are saved to ``workdir`` every ``autosave_interval`` seconds (and at a clean stop), so they
    survive even a SIGKILL that comes after a save. ``settings`` replaces the default
    ``allow_anonymous true`` (e.g. password_file and acl_file lines).
    """

    def __init__(
        self,
        workdir: Path,
        port: int | None = None,
        *,
        persistence: bool = False,
        autosave_interval: int = 1,
        settings: list[str] | None = None,
    ) -> None:
        self.port = port or free_port(socket.SOCK_STREAM)
        workdir.mkdir(parents=True, exist_ok=True)
        lines = [f"listener {self.port} 127.0.0.1", *(settings or ["allow_anonymous true"])]
        if persistence:
            lines += [
                "persistence true",
                f"persistence_location {workdir}/",
                f"autosave_interval {autosave_interval}",
            ]
        elif settings is None:
            lines.append("persistence false")
        if os.geteuid() == 0:
            lines.append("user root")  # else it drops to a user that cannot read workdir
        conf = workdir / "mosquitto.conf"
        conf.write_text("\n".join(lines) + "\n")
        super().__init__(["mosquitto", "-c", str(conf)], workdir, "mosquitto")

    def start(self) -> None:
        if self.log_path.exists():  # a restart: keep the earlier log
            self.log_path.rename(self.log_path.with_suffix(f".{time.monotonic_ns()}.log"))
        super().start()
        wait_for(lambda: tcp_listening(self.port), 10, f"mosquitto on {self.port}")

    def kill(self) -> None:
        """SIGKILL: no goodbye to clients, nothing saved since the last autosave."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(5)
        self._log.close()
        self.proc = None


class Baresip(Process):
    """A headless baresip caller controlled over ctrl_tcp: the product's configuration and
    control protocol (``hotline.baresip``, what ``hotline dial`` uses) under the tests'
    process handling."""

    def __init__(
        self,
        workdir: Path,
        *,
        user: str,
        proxy_port: int,
        codec: str = "PCMU",
        audio_source: Path | None = None,
        record_dir: Path | None = None,
    ) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.user = user
        self.proxy_port = proxy_port
        silence = workdir / "silence.wav"
        subprocess.run(
            ["sox", "-n", "-r", "8000", "-c", "1", "-b", "16", str(silence), "trim", "0", "0.1"],
            check=True,
        )
        self.config = CallerConfig.on_free_ports(
            user, f"127.0.0.1:{proxy_port}", audio_source or silence,
            codec=codec, record_dir=record_dir,
        )  # fmt: skip
        self.sip_port = self.config.sip_port
        self.ctrl_port = self.config.ctrl_port
        self.config.write(workdir)
        trace = ["-s"] if os.environ.get("BARESIP_TRACE") else []
        super().__init__(["baresip", "-f", str(workdir), *trace], workdir, "baresip")
        self.control = Control(self.ctrl_port)

    @property
    def events(self) -> list[dict]:  # type: ignore[type-arg]
        return self.control.events

    def start(self) -> None:
        super().start()
        wait_for(lambda: tcp_listening(self.ctrl_port), 10, "baresip ctrl_tcp")
        self.control.connect()

    def command(self, command: str, params: str = "") -> dict:  # type: ignore[type-arg]
        return self.control.command(command, params)

    def _read(self, timeout: float = 0.2) -> list[dict]:  # type: ignore[type-arg]
        return self.control.read(timeout)

    def wait_event(self, kind: str, timeout: float) -> dict:  # type: ignore[type-arg]
        try:
            return self.control.wait_event(kind, timeout)
        except BaresipError as exc:
            raise TimeoutError(str(exc)) from None

    def stop(self) -> None:
        self.control.close()
        super().stop()
