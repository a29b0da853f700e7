"""Issue 13, item 14: console logins — flat timing (counted in scrypt calls, never timed),
limits per address, per login and per login+address with backoff, kept in the database
across a restart, and an admin unlock. Sources are distinct 127.0.0.x client addresses."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from tests.workorders.conftest import FakeClock
from workorders.api import create_app
from workorders.console import auth
from workorders.console.auth import (
    THROTTLE_RULES,
    FailureCount,
    ThrottleRule,
    after_failure,
    hash_password,
    locked_until,
)
from workorders.console.directory import AgentDirectory
from workorders.console.hub import ConsoleHub
from workorders.console.routes import ConsoleRoutes
from workorders.store import Store

pytestmark = pytest.mark.integration

PASSWORD = "坐席密码-2025"
HASHED = hash_password(PASSWORD)
T0 = datetime(2025, 3, 14, 2, 0, tzinfo=UTC)


# -- the pure policy ------------------------------------------------------------------------

RULE = ThrottleRule("pair", 3, timedelta(minutes=15), timedelta(minutes=1), timedelta(minutes=8))


def test_a_lock_starts_at_the_limit_and_doubles_up_to_the_cap() -> None:
    count: FailureCount | None = None
    locks = []
    for minute in range(0, 60, 10):
        count = after_failure(RULE, count, T0 + timedelta(minutes=minute))
        locks.append(
            None if count.locked_until is None else count.locked_until - count.last_failure_at
        )
    m = timedelta(minutes=1)
    assert locks == [None, None, m, 2 * m, 4 * m, 8 * m]
    assert count is not None and count.failures == 6


def test_a_quiet_window_forgets_the_failures() -> None:
    count = after_failure(RULE, after_failure(RULE, None, T0), T0 + timedelta(minutes=1))
    later = after_failure(RULE, count, T0 + timedelta(minutes=17))
    assert (later.failures, later.locked_until) == (1, None)


def test_the_running_lock_that_ends_last_counts() -> None:
    ends = [T0 + timedelta(minutes=m) for m in (1, 5)]
    counts = [FailureCount(9, T0, T0, end) for end in ends] + [FailureCount(1, T0, T0, None)]
    assert locked_until(counts, T0) == ends[1]
    assert locked_until(counts, T0 + timedelta(minutes=6)) is None


# -- over HTTP ------------------------------------------------------------------------------


class Console:
    """The login route of one service process over ``store``; clients from any 127.0.0.x."""

    def __init__(self, server: TestServer) -> None:
        self.server = server

    async def login(self, login: str, password: str, source: str = "127.0.0.1") -> int:
        connector = aiohttp.TCPConnector(local_addr=(source, 0))
        async with (
            aiohttp.ClientSession(connector=connector) as session,
            session.post(
                self.server.make_url("/console/login"),
                json={"login": login, "password": password},
                headers={"Origin": str(self.server.make_url("")).rstrip("/")},
            ) as response,
        ):
            await response.read()
            return response.status


async def _serve(store: Store) -> TestServer:
    app = create_app(store)  # its error middleware turns errors into 4xx answers
    ConsoleRoutes(store, ConsoleHub(), AgentDirectory({})).install(app)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    return server


@pytest.fixture
async def console(store: Store) -> AsyncIterator[Console]:
    await store.people.set_console_user("a1001", HASHED, name="张敏")
    await store.people.set_console_user("a1002", HASHED, name="李强")
    server = await _serve(store)
    try:
        yield Console(server)
    finally:
        await server.close()


@pytest.fixture
def scrypt_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real: Callable[..., bytes] = auth._scrypt

    def counting(*args: Any, **kwargs: Any) -> bytes:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(auth, "_scrypt", counting)
    return calls


async def test_an_unknown_login_costs_one_scrypt_like_a_wrong_password(
    console: Console, scrypt_calls: list[int]
) -> None:
    assert await console.login("nobody", "wrong-password") == 401
    unknown = len(scrypt_calls)
    assert await console.login("a1001", "wrong-password") == 401
    wrong_password = len(scrypt_calls) - unknown
    assert await console.login("a1001", PASSWORD) == 200
    right = len(scrypt_calls) - unknown - wrong_password
    assert (unknown, wrong_password, right) == (1, 1, 1)


async def test_one_host_cannot_lock_an_agent_out_of_their_own_desk(console: Console) -> None:
    for _ in range(5):
        assert await console.login("a1001", "wrong-password", "127.0.0.2") == 401
    assert await console.login("a1001", PASSWORD, "127.0.0.2") == 429  # locked: that pair
    assert await console.login("a1001", PASSWORD, "127.0.0.1") == 200  # the agent's desk


async def test_a_host_spraying_logins_is_limited_per_address(console: Console) -> None:
    for n in range(20):
        assert await console.login(f"guess{n}", "wrong-password", "127.0.0.3") == 401
    assert await console.login("a1002", PASSWORD, "127.0.0.3") == 429
    assert await console.login("a1002", PASSWORD, "127.0.0.1") == 200


async def test_guessing_from_many_hosts_locks_the_login(console: Console) -> None:
    for n in range(30):
        source = f"127.0.1.{n // 4 + 1}"  # four tries per host: no pair or address lock
        assert await console.login("a1002", "wrong-password", source) == 401
    assert await console.login("a1002", PASSWORD, "127.0.0.1") == 429
    assert await console.login("a1001", PASSWORD, "127.0.0.1") == 200


async def test_the_lock_survives_a_restart_and_an_admin_lifts_it(
    console: Console, store: Store, database_url: str, clock: FakeClock
) -> None:
    for _ in range(5):
        assert await console.login("a1001", "wrong-password") == 401
    assert await console.login("a1001", PASSWORD) == 429
    await console.server.close()
    # A new service process over the same database: the lock is still there.
    async with Store.open(database_url, clock=clock) as restarted:
        server = await _serve(restarted)
        try:
            again = Console(server)
            assert await again.login("a1001", PASSWORD) == 429
            clock.advance(seconds=61)  # the first lock is a minute
            assert await again.login("a1001", "wrong-password") == 401  # 6th: two minutes
            clock.advance(seconds=61)
            assert await again.login("a1001", PASSWORD) == 429
            assert await restarted.people.unlock_login("a1001") >= 2  # pair and login counts
            assert await again.login("a1001", PASSWORD) == 200
        finally:
            await server.close()
    assert THROTTLE_RULES[0].scope == "pair"


async def test_unlocking_an_address(console: Console, store: Store) -> None:
    for n in range(20):
        await console.login(f"guess{n}", "wrong-password", "127.0.0.4")
    assert await console.login("a1001", PASSWORD, "127.0.0.4") == 429
    assert await store.people.unlock_login(address="127.0.0.4") == 21  # address + 20 pairs
    assert await console.login("a1001", PASSWORD, "127.0.0.4") == 200
