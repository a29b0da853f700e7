"""``hotline console passwd`` against a real SQLite database."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest

from tests.hotline.test_orders_cli import config, database, run  # noqa: F401 - fixture
from workorders.console.auth import verify_password
from workorders.store import Store
from workorders.store.people import ConsoleUser

pytestmark = pytest.mark.unit


def user(settings: Path, login: str) -> ConsoleUser | None:
    async def read() -> ConsoleUser | None:
        async with Store.open(database(settings)) as store:
            return await store.people.console_user(login)

    return asyncio.run(read())


def test_passwd_creates_then_changes_a_user(
    config: Path,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("第一个密码-123\n"))
    argv = ["console", "passwd", "a1001", "--name", "张敏", "--password-stdin"]
    assert run(config, *argv) == 0
    assert "created" in capsys.readouterr().err
    created = user(config, "a1001")
    assert created is not None and (created.name, created.role) == ("张敏", "call_taker")
    assert verify_password("第一个密码-123", created.password_hash)
    assert "第一个密码" not in created.password_hash

    monkeypatch.setattr("sys.stdin", io.StringIO("second-password\n"))
    argv = ["console", "passwd", "a1001", "--role", "supervisor", "--password-stdin"]
    assert run(config, *argv) == 0
    assert "updated" in capsys.readouterr().err
    changed = user(config, "a1001")
    assert changed is not None and (changed.name, changed.role) == ("张敏", "supervisor")
    assert verify_password("second-password", changed.password_hash)
    assert not verify_password("第一个密码-123", changed.password_hash)


@pytest.mark.parametrize(
    ("argv", "stdin", "message"),
    [
        (["--password-stdin"], "short\n", "8 to 256"),
        (["--unit", "no-such-unit", "--password-stdin"], "long-enough-1\n", "unknown unit"),
    ],
)
def test_passwd_refuses_bad_input_and_stores_nothing(
    config: Path,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    stdin: str,
    message: str,
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    assert run(config, "console", "passwd", "a1001", *argv) == 2
    assert message in capsys.readouterr().err
    assert not Path(database(config).removeprefix("sqlite+aiosqlite:///")).exists() or (
        user(config, "a1001") is None
    )


def test_passwd_asks_twice_on_a_terminal(
    config: Path,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    answers = iter(["typed-password-1", "typed-password-2"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    assert run(config, "console", "passwd", "a1001") == 2
    assert "不一致" in capsys.readouterr().err


def test_unlock_lifts_the_login_limits(
    config: Path,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    async def fail_five_times() -> None:
        async with Store.open(database(config)) as store:
            await store.migrate()
            for _ in range(5):
                await store.people.record_login_failure("a1001", "127.0.0.9")

    async def locked() -> bool:
        async with Store.open(database(config)) as store:
            return await store.people.login_locked_until("a1001", "127.0.0.9") is not None

    asyncio.run(fail_five_times())
    assert asyncio.run(locked())
    assert run(config, "console", "unlock", "a1001") == 0
    assert "cleared" in capsys.readouterr().err
    assert not asyncio.run(locked())
    assert run(config, "console", "unlock") == 2  # neither a login nor an address
