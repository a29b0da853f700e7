"""``hotline up``: run a whole hotline node as local processes, in the foreground.

Starts, in order: an MQTT broker (only if none listens at the configured
address), the Kamailio edge, the work-order service and N IVR workers
(``--workers``, default one per core), each on its own SIP port and RTP range
(``hotline/workers.py``), listed in the edge's dispatcher list
(``var/run/dispatcher.list``). With ``--ivr-only`` it runs just the workers, for
a node whose edge, broker and service run elsewhere (``docker/compose.yaml``).

Every child that dies — the edge, the work-order service, a worker, the broker
when the node started it — is started again after a backoff (1, 2, 4 … 30 s,
``hotline/restarts.py``), with a log line; one that keeps crashing is reported
loudly at every restart. Meanwhile the rest runs on: the edge's probes send a
dead worker's calls to the others, calls in progress keep their media (it goes
straight to the workers), and a worker spools the orders the service cannot take
and sends them when it is back.
Ctrl-C or SIGTERM drains the workers (calls in progress finish, for
at most ``ivr.drain_seconds``), then stops the rest in reverse order. SIGHUP
is passed on to every worker (the same as ``hotline reload``, without waiting
for the outcome).
"""

from __future__ import annotations

import shutil
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from hotline.children import (
    Child,
    SupervisorError,
    healthy,
    tcp_open,
    udp_bound,
    wait_ready,
)
from hotline.edge import (
    EdgeError,
    edge_policy,
    kamailio_command,
    logged_command,
    worker_up_line,
    write_dispatcher_list,
)
from hotline.restarts import ChildRestarts, Died, RestartNow
from hotline.workers import WorkerSlot, worker_slots
from settings.node import Settings

__all__ = ["Node", "SupervisorError", "banner", "run_node"]

#: How long a (re)started worker may take to register at the edge.
WORKER_START_SECONDS = 60.0
#: Beyond ``ivr.drain_seconds``: the transcripts of the last calls, unregistering.
DRAIN_MARGIN_SECONDS = 15.0


@dataclass
class Supervised:
    child: Child
    restarts: ChildRestarts = field(default_factory=ChildRestarts)


@dataclass(kw_only=True)
class Worker(Supervised):
    slot: WorkerSlot


def _mqtt_account_args(s: Settings) -> list[str]:
    account = s.mqtt.workorders
    if account is None:
        return []
    return ["--mqtt-username", account.username, "--mqtt-password-file", str(account.password_file)]


class Node:
    def __init__(
        self, settings: Settings, config_path: Path, *, workers: int, ivr_only: bool = False
    ) -> None:
        self.settings = settings
        self.config_path = config_path
        self.ivr_only = ivr_only
        self.slots = worker_slots(settings, workers)  # SettingsError if they do not fit
        self.logs = settings.paths.var / "log"
        self.dispatcher_list = settings.paths.var / "run" / "dispatcher.list"
        self.services: list[Supervised] = []
        self.workers: list[Worker] = []
        self.edge: Child | None = None

    def _list_workers(self, *, up_now: bool = False) -> None:
        """The edge's dispatcher list; with ``up_now``, the workers running now listed active."""
        up = [
            (w.slot.host, w.slot.sip_port)
            for w in self.workers
            if up_now and w.child.alive() and w.restarts.restart_at is None
        ]
        write_dispatcher_list(self.dispatcher_list, [(w.host, w.sip_port) for w in self.slots], up)

    def start(self) -> None:
        self._list_workers()
        edge = None if self.ivr_only else self._start_edge_and_service()
        for slot in self.slots:
            child = Child(slot.name, self._worker_args(slot), self.logs / f"{slot.name}.log")
            child.start()
            self.workers.append(Worker(child, slot=slot))
        for worker in self.workers:
            _wait_registered(worker.child)
        if edge is not None:
            for worker in self.workers:
                _wait_probed(edge, worker)

    def _start_edge_and_service(self) -> Child:
        s = self.settings
        if udp_bound(s.edge.host, s.edge.port):
            raise SupervisorError(f"{s.edge.host}:{s.edge.port}/udp is in use (another edge?)")
        if not tcp_open(s.mqtt.host, s.mqtt.port):
            self._start_mosquitto()
        try:
            command = kamailio_command(
                s.edge.host,
                s.edge.port,
                s.paths.var / "kamailio",
                dispatcher=self.dispatcher_list,
                ivr_user=s.ivr.extension,
                policy=edge_policy(s),
            )
        except EdgeError as exc:
            raise SupervisorError(str(exc)) from exc
        command = logged_command(command, self.logs / "kamailio.log",
                                 max_mb=s.edge.log_max_mb, keep=s.edge.log_keep)  # fmt: skip
        edge = self.edge = self._spawn("kamailio", command)
        wait_ready(lambda: udp_bound(s.edge.host, s.edge.port), "the Kamailio edge", edge, 15)
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
                "--sweep-seconds", str(s.api.sweep_seconds),
                "--agents", str(s.agents),
                "--recordings", str(s.paths.recordings),
            ],
        )  # fmt: skip
        wait_ready(lambda: healthy(f"{s.api.base_url}/healthz"), "the work-order API", service, 30)
        return edge

    def _worker_args(self, slot: WorkerSlot) -> list[str]:
        return [
            sys.executable, "-m", "ivr.worker", "--config", str(self.config_path),
            "--sip-port", str(slot.sip_port), "--rtp-ports", "{}-{}".format(*slot.rtp_ports),
        ]  # fmt: skip

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
        wait_ready(lambda: tcp_open(s.mqtt.host, s.mqtt.port), "the MQTT broker", broker, 10)

    def _spawn(self, name: str, args: list[str]) -> Child:
        child = Child(name, args, self.logs / f"{name}.log")
        child.start()
        self.services.append(Supervised(child))
        return child

    def reload_workers(self) -> None:
        """SIGHUP to every IVR worker: each loads the menu again for new calls."""
        for worker in self.workers:
            worker.child.signal(signal.SIGHUP)

    def tend(self, now: float) -> None:
        """Restart dead children, each after its backoff; say so on stderr."""
        for supervised in [*self.services, *self.workers]:
            child = supervised.child
            step = supervised.restarts.step(alive=child.alive(), started_at=child.started_at,
                                            now=now)  # fmt: skip
            if isinstance(step, Died):
                print(_died_line(child, step), file=sys.stderr, flush=True)
            elif isinstance(step, RestartNow):
                if child is self.edge:
                    self._list_workers(up_now=True)
                child.restart()
                print(f"hotline: {child.name} restarted (pid {child.pid})", flush=True)

    def stop(self) -> None:
        """Drain every worker at once, then stop the other children in reverse order."""
        for worker in self.workers:
            worker.child.signal(signal.SIGTERM)
        deadline = time.monotonic() + self.settings.ivr.drain_seconds + DRAIN_MARGIN_SECONDS
        for worker in self.workers:
            worker.child.wait_or_kill(max(0.0, deadline - time.monotonic()))
        for service in reversed(self.services):
            service.child.stop()


def _died_line(child: Child, died: Died) -> str:
    line = (
        f"hotline: {child.name} (pid {child.pid}) {child.exit_description()}; "
        f"restarting in {died.delay:.0f} s (log {child.log_path})"
    )
    if died.crash_loop:
        return (
            f"hotline: ALERT: {child.name} KEEPS CRASHING ({died.crashes} times in a row), "
            f"restarting it does not help; read {child.log_path}\n{line}"
        )
    return line


def _wait_registered(worker: Child) -> None:
    wait_ready(lambda: "registered at" in worker.log_since_start(),
               f"IVR worker {worker.name}", worker, WORKER_START_SECONDS)  # fmt: skip


def _wait_probed(edge: Child, worker: Worker) -> None:
    """Until the edge's dispatcher has seen the worker answer and sends it calls."""
    line = worker_up_line(worker.slot.host, worker.slot.sip_port)
    wait_ready(lambda: line in edge.log_since_start(),
               f"the edge's probe of {worker.child.name}", edge, 10)  # fmt: skip


def banner(settings: Settings, slots: list[WorkerSlot], *, ivr_only: bool = False) -> str:
    s = settings
    first, last = slots[0], slots[-1]
    workers = (
        f"  IVR workers: {len(slots)} on {first.host}:{first.sip_port}-{last.sip_port}"
        f" (RTP {first.rtp_ports[0]}-{last.rtp_ports[1]}, {first.calls} calls each)\n"
    )
    if ivr_only:
        return (
            "12320 IVR node is up.\n" + workers + f"  edge:        {s.edge.host}:{s.edge.port}\n"
            f"  logs:        {s.paths.var / 'log'}/\n"
            "Ctrl-C drains the workers and stops them."
        )
    return (
        "12320 hotline is up.\n"
        f"  dial:        sip:{s.ivr.extension}@{s.edge.host}:{s.edge.port}"
        "  (headless: hotline dial --digits 2 --speech FILE.wav)\n"
        + workers
        + f"  orders API:  {s.api.base_url}/api/v1/workorders"
        f"  (token in {s.paths.admin_token})\n"
        f"  console:     {s.api.base_url}/console/  (wallboard: /console/wallboard;"
        " password: hotline console passwd LOGIN)\n"
        f"  screen-pops: mosquitto_sub -h {s.mqtt.host} -p {s.mqtt.port} -t 'hotline/#' -v\n"
        f"  logs:        {s.paths.var / 'log'}/\n"
        "Ctrl-C stops everything (calls in progress may finish first)."
    )


def run_node(settings: Settings, config_path: Path, *, workers: int, ivr_only: bool = False) -> int:
    node = Node(settings, config_path, workers=workers, ivr_only=ivr_only)
    stopping = False

    def _stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGHUP, lambda signum, frame: node.reload_workers())
    try:
        node.start()
        print(banner(settings, node.slots, ivr_only=ivr_only), flush=True)
        while not stopping:
            node.tend(time.monotonic())
            time.sleep(0.5)
        return 0
    except SupervisorError as exc:
        print(f"hotline: {exc}", file=sys.stderr)
        return 1
    finally:
        node.stop()
        print("hotline: stopped", flush=True)
