"""Real peers for the work-order tests: a test-owned Mosquitto, free ports, bounded waits."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

MOSQUITTO = "/usr/sbin/mosquitto"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listened on a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def wait_for_port(port: int, *, seconds: float = 10.0) -> None:
    async with asyncio.timeout(seconds):
        while True:
            try:
                _reader, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                await asyncio.sleep(0.02)
                continue
            writer.close()
            await writer.wait_closed()
            return


async def wait_until(check: Callable[[], Awaitable[bool]], *, seconds: float = 10.0) -> None:
    """Poll ``check`` until it holds; ``TimeoutError`` after ``seconds``."""
    async with asyncio.timeout(seconds):
        while not await check():  # noqa: ASYNC110 - the condition lives in another process
            await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def running_mosquitto(
    port: int, workdir: Path, *, persistence: bool = False
) -> AsyncIterator[None]:
    """Mosquitto on ``127.0.0.1:port`` until the block ends (then SIGTERM and wait).

    With ``persistence``, sessions of clean_session=False clients survive a restart.
    """
    workdir.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - test setup
    lines = [f"listener {port} 127.0.0.1", "allow_anonymous true"]
    if os.geteuid() == 0:
        lines.append("user root")  # else mosquitto drops to a user that cannot write workdir
    if persistence:
        lines += ["persistence true", f"persistence_location {workdir}/"]
    config = workdir / "mosquitto.conf"
    config.write_text("\n".join(lines) + "\n")
    with (workdir / "mosquitto.log").open("ab") as log:
        broker = await asyncio.create_subprocess_exec(
            MOSQUITTO, "-c", str(config), stdout=log, stderr=log
        )
    try:
        await wait_for_port(port)
        yield
    finally:
        if broker.returncode is None:
            broker.terminate()
        async with asyncio.timeout(10):
            await broker.wait()
