"""``hotline user add`` and ``hotline report rates`` against a real SQLite database."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import yaml

from hotline.cli import main
from workorders.lifecycle.model import Actor, Callback, Classify, Cosign, Feedback, Reply
from workorders.model import NewOrder
from workorders.store import Store
from workorders.tokens import token_digest

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
            return await store.authenticate(token)

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


def test_report_rates_prints_the_table_and_csv(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async def seed() -> None:
        async with Store.open(database(config)) as store:
            await store.migrate()
            taker, sup, lead = (
                Actor("t", "call_taker"),
                Actor("s", "supervisor"),
                Actor("l", "leader"),
            )
            for index, satisfaction in enumerate(["satisfied", "dissatisfied"]):
                new = NewOrder(f"1380000000{index}", "complaint", ("2",), "intake")
                number = (await store.create_order(new, idempotency_key=f"o{index}")).order.number
                steps = [
                    (Classify("direct"), taker), (Feedback("ok"), sup), (Cosign("head"), sup),
                    (Cosign("leader"), lead), (Reply("ok"), taker),
                    (Callback(True, True, index == 0, satisfaction), taker),
                ]  # fmt: skip
                for step, (command, actor) in enumerate(steps):
                    await store.act(number, command, actor, idempotency_key=f"{index}-{step}",
                                    request={"i": index, "s": step})  # fmt: skip

    asyncio.run(seed())
    today = __import__("datetime").date.today().isoformat()
    assert run(config, "report", "rates", "--from", "2020-01-01", "--to", today) == 0
    table = capsys.readouterr().out
    assert "解决率%\t50.00" in table and "满意率%\t50.00" in table and "工单总数\t2" in table
    assert run(config, "report", "rates", "--from", "2020-01-01", "--to", today, "--csv") == 0
    assert capsys.readouterr().out.splitlines()[1].startswith("2,2,100.00,2,0,2,100.00,1,50.00")
