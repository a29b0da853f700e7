"""How long a console login answers for an unknown login vs a known login with a wrong
password (issue 13, item 14: user enumeration by timing). Run from a checkout's root:

    .venv/bin/python bench/security/login_timing.py [--rounds 40]   # writes bench/results/

The service runs in-process over a temporary SQLite database with one user per round; each
round tries a fresh unknown login and a fresh known login with a wrong password (fresh logins
keep the per-pair limit out of the way; the per-address counts are cleared between rounds
where the store has them). Reported: median and p90 wall time of the HTTP round trip.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer

sys.path.insert(0, str(Path.cwd()))  # measure the checkout run from (e.g. main, for "before")

from workorders.api import create_app
from workorders.console.auth import hash_password
from workorders.console.directory import AgentDirectory
from workorders.console.hub import ConsoleHub
from workorders.console.routes import ConsoleRoutes
from workorders.store import Store


async def measure(rounds: int) -> dict[str, Any]:
    logging.disable(logging.WARNING)
    with tempfile.TemporaryDirectory() as workdir:
        async with Store.open(f"sqlite+aiosqlite:///{workdir}/bench.db") as store:
            await store.migrate()
            hashed = hash_password("right-password-1")
            for n in range(rounds):
                await store.people.set_console_user(f"u{n}", hashed)
            app = create_app(store)
            ConsoleRoutes(store, ConsoleHub(), AgentDirectory({})).install(app)
            server = TestServer(app, host="127.0.0.1")
            await server.start_server()
            origin = str(server.make_url("")).rstrip("/")
            times: dict[str, list[float]] = {"unknown_login": [], "wrong_password": []}
            try:
                async with aiohttp.ClientSession() as session:
                    for n in range(rounds):
                        for kind, login in (
                            ("unknown_login", f"nobody{n}"),
                            ("wrong_password", f"u{n}"),
                        ):
                            started = time.perf_counter()
                            async with session.post(
                                server.make_url("/console/login"),
                                json={"login": login, "password": "wrong-password"},
                                headers={"Origin": origin},
                            ) as response:
                                await response.read()
                                assert response.status == 401, response.status
                            times[kind].append((time.perf_counter() - started) * 1000)
                        if hasattr(store.people, "unlock_login"):
                            await store.people.unlock_login(address="127.0.0.1")
            finally:
                await server.close()
    return {
        kind: {
            "median_ms": round(statistics.median(values), 2),
            "p90_ms": round(statistics.quantiles(values, n=10)[-1], 2),
            "rounds": len(values),
        }
        for kind, values in times.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--label", default="this checkout")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    result = {"label": args.label, **asyncio.run(measure(args.rounds))}
    import workorders

    result["code"] = str(Path(workorders.__file__).resolve().parent.parent)
    print(json.dumps(result, ensure_ascii=False, indent=2))
    if args.out is not None:
        args.out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n")


if __name__ == "__main__":
    main()
