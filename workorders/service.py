"""The work-order service process: store + HTTP API + outbox publisher.

Run it as ``python -m workorders.service --db URL --host H --port P --mqtt-host H
--mqtt-port P --token-file PATH [--calendar F --units F --sla F --agents F --recordings D]``;
it stops cleanly on SIGINT or SIGTERM (exit status 0). Without ``--calendar/--units/--sla/
--agents`` it uses the files in the source tree's ``config/``. It also serves the agent
console (``/console/``) and feeds its WebSocket from MQTT.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import socket
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from pathlib import Path

from aiohttp import web

from routing.agents import AgentsConfig, load_agents
from routing.calendar import WorkCalendar
from routing.errors import RoutingError
from workorders.api import AccessLogger, create_app
from workorders.console.directory import AgentDirectory
from workorders.console.fanout import SUBSCRIPTIONS
from workorders.console.hub import ConsoleHub
from workorders.console.routes import ConsoleRoutes
from workorders.errors import WorkOrderError
from workorders.events.publisher import OutboxPublisher
from workorders.events.subscriber import EventSubscriber
from workorders.lifecycle.machine import Rules
from workorders.rules import DEFAULT_CONFIG_DIR, load_rules
from workorders.store import Store
from workorders.tokens import ROLE_ADMIN, ROLE_IVR

log = logging.getLogger("workorders.service")

IVR_TOKEN_FILE_NAME = "ivr-token"


async def run_service(
    database_url: str,
    host: str,
    port: int,
    mqtt_host: str,
    mqtt_port: int,
    token_file: str | os.PathLike[str],
    *,
    rules: Rules | None = None,
    agents: AgentsConfig | None = None,
    sweep_seconds: float = 30.0,
    acd_tick_seconds: float = 1.0,
    ready: asyncio.Event | None = None,
    mqtt_username: str | None = None,
    mqtt_password: str | None = None,
    recordings: Path | None = None,
) -> None:
    """Serve until cancelled.

    Migrates the schema (Alembic ``upgrade head``), makes sure an admin token exists in
    ``token_file`` and an ivr token in ``ivr-token`` next to it, then runs the HTTP API on
    ``host:port``, the outbox publisher towards ``mqtt_host:mqtt_port`` and the deadline
    sweep every ``sweep_seconds``, and — with ``agents`` — the ACD's clock every
    ``acd_tick_seconds``. ``ready`` is set once the API is listening. The console's MQTT
    subscription (pops, agents' pops, supervisor alerts, queues) feeds the browsers connected
    to ``/console/ws``; ``agents`` also says which groups each agent is in.
    """
    store = Store.open(database_url, rules=rules)
    if agents is not None:
        store.acd.use_agents(agents)
    try:
        await store.migrate()
        admin_token_file = Path(token_file)
        await store.people.ensure_token_file(admin_token_file, "admin", ROLE_ADMIN)
        await store.people.ensure_token_file(
            admin_token_file.parent / IVR_TOKEN_FILE_NAME, "ivr", ROLE_IVR
        )
        publisher = OutboxPublisher(
            store.outbox,
            mqtt_host,
            mqtt_port,
            client_id=f"workorders-{socket.gethostname()}-{os.getpid()}",
            username=mqtt_username,
            password=mqtt_password,
        )
        app = create_app(store, notify_outbox=publisher.wake, recordings=recordings)
        hub = ConsoleHub()
        directory = AgentDirectory.from_entries(() if agents is None else agents.agents.values())
        ConsoleRoutes(store, hub, directory).install(app)
        subscriber = EventSubscriber(
            mqtt_host,
            mqtt_port,
            # Stable across restarts on this host and port: the broker keeps the session.
            client_id=f"workorders-console-{socket.gethostname()}-{port}",
            topics=SUBSCRIPTIONS,
            on_message=hub.deliver,
            username=mqtt_username,
            password=mqtt_password,
        )
        runner = web.AppRunner(app, access_log_class=AccessLogger, shutdown_timeout=5.0)
        await runner.setup()
        publishing = asyncio.create_task(publisher.run(), name="outbox-publisher")
        sweeping = asyncio.create_task(
            run_deadline_sweeps(store, sweep_seconds, publisher.wake), name="deadline-sweeps"
        )
        ticking = asyncio.create_task(
            run_acd_ticks(store, acd_tick_seconds, publisher.wake), name="acd-ticks"
        )
        subscribing = asyncio.create_task(subscriber.run(), name="console-subscriber")
        horizon = asyncio.create_task(run_horizon_checks(store), name="calendar-horizon")
        try:
            await web.TCPSite(runner, host, port).start()
            log.info("work-order API listening on %s:%d", host, port)
            if ready is not None:
                ready.set()
            await asyncio.Event().wait()  # until cancelled
        finally:
            tasks = (publishing, sweeping, ticking, subscribing, horizon)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await runner.cleanup()
    finally:
        await store.close()
        log.info("work-order service stopped")


async def run_deadline_sweeps(store: Store, every: float, wake: Callable[[], None]) -> None:
    """Warn and supervise due orders now and then every ``every`` seconds.

    Safe with several instances on one PostgreSQL (``FOR UPDATE SKIP LOCKED`` in the store);
    the first sweep after a start catches up with whatever fell due while nothing ran.
    """
    while True:
        try:
            if await store.supervision.sweep():
                wake()
        except WorkOrderError as exc:
            log.warning("deadline sweep failed: %s", exc)
        await asyncio.sleep(every)


HORIZON_CHECK_SECONDS = 24 * 3600.0


async def run_horizon_checks(
    store: Store,
    every: float = HORIZON_CHECK_SECONDS,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> None:
    """Say where the holiday data ends, at start and then daily: a warning once fewer than
    ``horizon_warning_days`` are left, so the next State Council notice gets imported
    before deadlines start being estimates. The day is the store's clock's."""
    while True:
        log_horizon(store.rules.calendar, store.clock())
        await sleep(every)


def log_horizon(calendar: WorkCalendar, now: datetime) -> None:
    status = calendar.horizon_status(calendar.local(now).date())
    if status.warn:
        log.warning("calendar: %s", status.describe())
    else:
        log.info("calendar: %s", status.describe())


async def run_acd_ticks(store: Store, every: float, wake: Callable[[], None]) -> None:
    """Overflows, queue timeouts and unanswered offers as they fall due.

    Several instances on one database tick harmlessly: every ACD step holds the ACD lock
    and works on the state the previous one left (``workorders/store/acd.py``).
    """
    while True:
        try:
            step = await store.acd.acd_tick()
            if step is not None and step.events:
                wake()
        except WorkOrderError as exc:
            log.warning("ACD tick failed: %s", exc)
        await asyncio.sleep(every)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m workorders.service", description=__doc__)
    parser.add_argument(
        "--db", required=True, help="sqlite+aiosqlite:///… or postgresql+asyncpg://…"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--mqtt-host", default="127.0.0.1")
    parser.add_argument("--mqtt-port", type=int, default=1883)
    parser.add_argument("--mqtt-username", help="broker account (a broker with an ACL)")
    parser.add_argument(
        "--mqtt-password-file", type=Path, help="file holding that account's password"
    )
    parser.add_argument("--token-file", required=True, help="admin token file (created 0600)")
    parser.add_argument("--calendar", type=Path, default=DEFAULT_CONFIG_DIR / "calendar.yaml")
    parser.add_argument("--units", type=Path, default=DEFAULT_CONFIG_DIR / "units.yaml")
    parser.add_argument("--sla", type=Path, default=DEFAULT_CONFIG_DIR / "sla.yaml")
    parser.add_argument("--agents", type=Path, default=DEFAULT_CONFIG_DIR / "agents.yaml")
    parser.add_argument("--recordings", type=Path, help="root of the call recordings")
    parser.add_argument("--sweep-seconds", type=float, default=30.0)
    return parser.parse_args(argv)


async def _serve_until_signalled(args: argparse.Namespace) -> int:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signal_number, stop.set)
    try:
        rules = load_rules(args.calendar, args.units, args.sla)
        agents = load_agents(args.agents)
    except RoutingError as exc:
        log.error("work-order service configuration: %s", exc)
        return 1
    password = None
    if args.mqtt_password_file is not None:
        try:
            password = args.mqtt_password_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            log.error("MQTT password file: %s", exc)
            return 1
    service = asyncio.create_task(
        run_service(
            args.db,
            args.host,
            args.port,
            args.mqtt_host,
            args.mqtt_port,
            args.token_file,
            rules=rules,
            agents=agents,
            sweep_seconds=args.sweep_seconds,
            mqtt_username=args.mqtt_username,
            mqtt_password=password,
            recordings=args.recordings,
        ),
        name="workorders-service",
    )
    stopping = asyncio.create_task(stop.wait(), name="wait-for-signal")
    await asyncio.wait({service, stopping}, return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    service.cancel()
    results = await asyncio.gather(service, stopping, return_exceptions=True)
    failure = results[0]
    if isinstance(failure, WorkOrderError | OSError):
        log.error("work-order service failed: %s", failure)
        return 1
    if isinstance(failure, BaseException) and not isinstance(failure, asyncio.CancelledError):
        log.error("work-order service failed", exc_info=failure)
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    return asyncio.run(_serve_until_signalled(args))


if __name__ == "__main__":
    sys.exit(main())
