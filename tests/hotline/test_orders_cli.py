"""``hotline user add`` and ``hotline report rates`` against a real SQLite database."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
import time_machine
import yaml

from hotline.cli import main
from workorders.lifecycle.model import Actor, Callback, Classify, Cosign, Feedback, Reply
from workorders.model import NewOrder
from workorders.store import Store
from workorders.tokens import token_digest

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "hotline.yaml"
    settings = {
        "api": {"database": f"sqlite+aiosqlite:///{tmp_path / 'hotline.db'}"},
        "calendar": str(REPO / "config/calendar.yaml"),
        "units": str(REPO / "config/units.yaml"),
        "sla": str(REPO / "config/sla.yaml"),
    }
    path.write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    return path


def run(config: Path, *argv: str) -> int:
    with pytest.raises(SystemExit) as exit_:
        main(["--config", str(config), *argv])
    return int(exit_.value.code or 0)


def database(config: Path) -> str:
    url: str = yaml.safe_load(config.read_text(encoding="utf-8"))["api"]["database"]
    return url


def test_user_add_prints_a_token_whose_hash_is_stored(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(config, "user", "add", "cdc-liaison", "--role", "handler", "--unit",
               "saihan-cdc") == 0  # fmt: skip
    token = capsys.readouterr().out.strip()

    async def principal() -> object:
        async with Store.open(database(config)) as store:
            return await store.people.authenticate(token)

    who = asyncio.run(principal())
    assert who is not None and (who.role, who.unit) == ("handler", "saihan-cdc")  # type: ignore[attr-defined]
    assert token_digest(token) != token


@pytest.mark.parametrize(
    "argv",
    [
        ["--role", "wizard"],
        ["--role", "handler"],  # unit roles need a unit
        ["--role", "handler", "--unit", "nowhere"],
    ],
)
def test_user_add_refuses_bad_roles_and_units(config: Path, argv: list[str]) -> None:
    assert run(config, "user", "add", "x", *argv) == 2


async def _seed_two_called_back_orders(config: Path) -> None:
    """Two orders taken now (the pinned clock), both called back: one satisfied."""
    async with Store.open(database(config)) as store:
        await store.migrate()
        taker, sup, lead = Actor("t", "call_taker"), Actor("s", "supervisor"), Actor("l", "leader")
        for index, satisfaction in enumerate(["satisfied", "dissatisfied"]):
            new = NewOrder(f"1380000000{index}", "complaint", ("2",), "intake")
            number = (
                await store.orders.create_order(new, idempotency_key=f"o{index}")
            ).order.number
            steps = [
                (Classify("direct"), taker), (Feedback("ok"), sup), (Cosign("head"), sup),
                (Cosign("leader"), lead), (Reply("ok"), taker),
                (Callback(True, True, index == 0, satisfaction), taker),
            ]  # fmt: skip
            for step, (command, actor) in enumerate(steps):
                await store.orders.act(number, command, actor, idempotency_key=f"{index}-{step}",
                                request={"i": index, "s": step})  # fmt: skip


#: 00:30 on New Year's Day in Shanghai, still 31 December in UTC (and in New York).
NEW_YEAR_IN_SHANGHAI = datetime(2026, 12, 31, 16, 30, tzinfo=UTC)


def test_report_rates_prints_the_table_and_csv(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with time_machine.travel(NEW_YEAR_IN_SHANGHAI, tick=False):
        asyncio.run(_seed_two_called_back_orders(config))
    assert run(config, "report", "rates", "--from", "2026-12-01", "--to", "2027-01-01") == 0
    out = capsys.readouterr().out
    assert out.startswith("2026-12-01 – 2027-01-01 (Asia/Shanghai)\n")
    assert "解决率%\t50.00" in out and "满意率%\t50.00" in out and "工单总数\t2" in out
    assert run(config, "report", "rates", "--from", "2027-01-01", "--to", "2027-01-01",
               "--csv") == 0  # fmt: skip
    out, err = capsys.readouterr()
    assert out.splitlines()[1].startswith("2,2,100.00,2,0,2,100.00,1,50.00")
    assert err == "period: 2027-01-01 – 2027-01-01 (Asia/Shanghai)\n"
    # 31 December is a day in Shanghai too: the orders came in after it ended there.
    assert run(config, "report", "rates", "--from", "2026-12-31", "--to", "2026-12-31") == 0
    assert "工单总数\t0" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("now", "period", "total"),
    [
        pytest.param(NEW_YEAR_IN_SHANGHAI, "2027-01-01 – 2027-01-31", 2, id="new-year"),
        pytest.param(datetime(2027, 1, 31, 15, 59, tzinfo=UTC), "2027-01-01 – 2027-01-31", 2,
                     id="last-minute-of-january"),
        pytest.param(datetime(2027, 1, 31, 16, 0, tzinfo=UTC), "2027-02-01 – 2027-02-28", 0,
                     id="february-in-shanghai"),
    ],
)  # fmt: skip
def test_report_rates_defaults_to_the_current_month_in_shanghai(
    config: Path, capsys: pytest.CaptureFixture[str], now: datetime, period: str, total: int
) -> None:
    with time_machine.travel(NEW_YEAR_IN_SHANGHAI, tick=False):
        asyncio.run(_seed_two_called_back_orders(config))
    with time_machine.travel(now, tick=False):
        assert run(config, "report", "rates") == 0
        out = capsys.readouterr().out
        assert out.startswith(f"{period} (current month, Asia/Shanghai)\n")
        assert f"工单总数\t{total}\n" in out
        assert run(config, "report", "rates", "--csv") == 0
        assert capsys.readouterr().err == f"period: {period} (current month, Asia/Shanghai)\n"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--from", "2027-01-01"], "give both --from and --to, or neither"),
        (["--to", "2027-01-01"], "give both --from and --to, or neither"),
        (["--from", "2027-01-02", "--to", "2027-01-01"], "--to is before --from"),
    ],
)
def test_report_rates_refuses_half_a_period(
    config: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert run(config, "report", "rates", *argv) == 2
    assert message in capsys.readouterr().err
