"""``hotline up``: run a whole hotline node as local processes, in the foreground.

Starts, in order: an MQTT broker (only if none listens at the configured
address), the Kamailio edge, the work-order service and one IVR worker. Ctrl-C
or SIGTERM stops them in reverse order. If any child dies, the node stops
with an error instead of running half a hotline. SIGHUP is passed on to the
IVR worker (the same as ``hotline reload``, without waiting for the outcome).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from hotline.edge import kamailio_command
from hotline.settings import Settings


class SupervisorError(Exception):
    """A process of the node failed to start or died."""


@dataclass
class Child:
    name: str
    args: list[str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self.args,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)


def tcp_open(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.3)
        return s.connect_ex((host, port)) == 0


def udp_bound(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


def _wait(check: object, what: str, child: Child, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        if not child.alive():
            raise SupervisorError(f"{child.name} exited while starting; see {child.log_path}")
        time.sleep(0.1)
    raise SupervisorError(f"{what} not ready after {timeout:.0f}s; see {child.log_path}")


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def _mqtt_account_args(s: Settings) -> list[str]:
    account = s.mqtt.workorders
    if account is None:
        return []
    return ["--mqtt-username", account.username, "--mqtt-password-file", str(account.password_file)]


class Node:
    def __init__(self, settings: Settings, config_path: Path) -> None:
        self.settings = settings
        self.config_path = config_path
        self.logs = settings.paths.var / "log"
        self.children: list[Child] = []

    def start(self) -> None:
        s = self.settings
        if udp_bound(s.edge.host, s.edge.port):
            raise SupervisorError(f"{s.edge.host}:{s.edge.port}/udp is in use (another edge?)")
        if not tcp_open(s.mqtt.host, s.mqtt.port):
            self._start_mosquitto()
        edge = self._spawn(
            "kamailio", kamailio_command(s.edge.host, s.edge.port, s.paths.var / "kamailio")
        )
        _wait(lambda: udp_bound(s.edge.host, s.edge.port), "the Kamailio edge", edge, 15)
        service = self._spawn(
            "workorders",
            [
                sys.executable, "-m", "workorders.service",
                "--db", s.api.database,
                "--host", s.api.host, "--port", str(s.api.port),
                "--mqtt-host", s.mqtt.host, "--mqtt-port", str(s.mqtt.port),
                *_mqtt_account_args(s),
                "--token-file", str(s.paths.admin_token),
                "--calendar", str(s.calendar), "--units", str(s.units), "--sla", str(s.sla),
                "--agents", str(s.agents),
                "--recordings", str(s.paths.recordings),
            ],
        )  # fmt: skip
        _wait(lambda: _healthy(f"{s.api.base_url}/healthz"), "the work-order API", service, 30)
        worker = self._spawn(
            "ivr-worker",
            [sys.executable, "-m", "ivr.worker", "--config", str(self.config_path)],
        )
        _wait(lambda: "registered at" in worker.log_path.read_text(errors="replace"),
              "the IVR worker", worker, 60)  # fmt: skip

    def _start_mosquitto(self) -> None:
        s = self.settings
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        conf = s.paths.var / "mosquitto.conf"
        conf.parent.mkdir(parents=True, exist_ok=True)
        conf.write_text(
            f"listener {s.mqtt.port} {s.mqtt.host}\nallow_anonymous true\n"
            f"persistence true\npersistence_location {s.paths.var.resolve()}/\n"
            # Sessions and queued pops survive a crash up to the last save (docs/events.md).
            "autosave_interval 5\n"
        )
        broker = self._spawn("mosquitto", [binary, "-c", str(conf)])
        _wait(lambda: tcp_open(s.mqtt.host, s.mqtt.port), "the MQTT broker", broker, 10)

    def _spawn(self, name: str, args: list[str]) -> Child:
        child = Child(name, args, self.logs / f"{name}.log")
        child.start()
        self.children.append(child)
        return child

    def reload_worker(self) -> None:
        """SIGHUP to the IVR worker: it loads the menu again for new calls."""
        for child in self.children:
            if child.name == "ivr-worker" and child.process is not None and child.alive():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child.process.pid, signal.SIGHUP)

    def dead(self) -> list[Child]:
        return [c for c in self.children if not c.alive()]

    def stop(self) -> None:
        for child in reversed(self.children):
            child.stop()


def banner(settings: Settings) -> str:
    s = settings
    return (
        "12320 hotline is up.\n"
        f"  dial:        sip:{s.ivr.extension}@{s.edge.host}:{s.edge.port}"
        f"  (e.g. baresip: /dial sip:{s.ivr.extension}@{s.edge.host}:{s.edge.port})\n"
        f"  orders API:  {s.api.base_url}/api/v1/workorders"
        f"  (token in {s.paths.admin_token})\n"
        f"  screen-pops: mosquitto_sub -h {s.mqtt.host} -p {s.mqtt.port} -t 'hotline/#' -v\n"
        f"  logs:        {s.paths.var / 'log'}/\n"
        "Ctrl-C stops everything."
    )


def run_node(settings: Settings, config_path: Path) -> int:
    node = Node(settings, config_path)
    stopping = False

    def _stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGHUP, lambda signum, frame: node.reload_worker())
    try:
        node.start()
        print(banner(settings), flush=True)
        while not stopping:
            dead = node.dead()
            if dead:
                names = ", ".join(f"{c.name} (log {c.log_path})" for c in dead)
                print(f"hotline: stopped because {names} exited", file=sys.stderr)
                return 1
            time.sleep(0.5)
        return 0
    except SupervisorError as exc:
        print(f"hotline: {exc}", file=sys.stderr)
        return 1
    finally:
        node.stop()
        print("hotline: stopped", flush=True)
