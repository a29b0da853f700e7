"""The work-order service process: store + HTTP API + outbox publisher.

Run it as ``python -m workorders.service --db URL --host H --port P --mqtt-host H
--mqtt-port P --token-file PATH``; it stops cleanly on SIGINT or SIGTERM (exit status 0).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import socket
import sys
from collections.abc import Sequence
from pathlib import Path

from aiohttp import web

from workorders.api import AccessLogger, create_app
from workorders.errors import WorkOrderError
from workorders.events.publisher import OutboxPublisher
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
    ready: asyncio.Event | None = None,
) -> None:
    """Serve until cancelled.

    Creates missing tables, makes sure an admin token exists in ``token_file`` and an ivr
    token in ``ivr-token`` next to it, then runs the HTTP API on ``host:port`` and the outbox
    publisher towards ``mqtt_host:mqtt_port``. ``ready`` is set once the API is listening.
    """
    store = Store.open(database_url)
    try:
        await store.create_tables()
        admin_token_file = Path(token_file)
        await store.ensure_token_file(admin_token_file, "admin", ROLE_ADMIN)
        await store.ensure_token_file(
            admin_token_file.parent / IVR_TOKEN_FILE_NAME, "ivr", ROLE_IVR
        )
        publisher = OutboxPublisher(
            store,
            mqtt_host,
            mqtt_port,
            client_id=f"workorders-{socket.gethostname()}-{os.getpid()}",
        )
        app = create_app(store, notify_outbox=publisher.wake)
        runner = web.AppRunner(app, access_log_class=AccessLogger, shutdown_timeout=5.0)
        await runner.setup()
        publishing = asyncio.create_task(publisher.run(), name="outbox-publisher")
        try:
            await web.TCPSite(runner, host, port).start()
            log.info("work-order API listening on %s:%d", host, port)
            if ready is not None:
                ready.set()
            await asyncio.Event().wait()  # until cancelled
        finally:
            publishing.cancel()
            await asyncio.gather(publishing, return_exceptions=True)
            await runner.cleanup()
    finally:
        await store.close()
        log.info("work-order service stopped")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m workorders.service", description=__doc__)
    parser.add_argument(
        "--db", required=True, help="sqlite+aiosqlite:///… or postgresql+asyncpg://…"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--mqtt-host", default="127.0.0.1")
    parser.add_argument("--mqtt-port", type=int, default=1883)
    parser.add_argument("--token-file", required=True, help="admin token file (created 0600)")
    return parser.parse_args(argv)


async def _serve_until_signalled(args: argparse.Namespace) -> int:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signal_number, stop.set)
    service = asyncio.create_task(
        run_service(args.db, args.host, args.port, args.mqtt_host, args.mqtt_port, args.token_file),
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
