"""The pure lifecycle state machine, table-driven, with a fake clock (no store, no sleeps)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from routing.calendar_config import load_calendar
from routing.sla import load_sla
from routing.units import load_units
from workorders.errors import Conflict, Forbidden, InvalidInput
from workorders.lifecycle import Actor, Lifecycle, Rules, State, apply, due_commands, next_check
from workorders.lifecycle.machine import new_lifecycle
from workorders.lifecycle.model import (
    SYSTEM,
    Callback,
    Classify,
    Close,
    Command,
    Cosign,
    DecideExtension,
    Feedback,
    Instruct,
    Object,
    Reassign,
    Reply,
    RequestExtension,
    Return,
    ReviewObjection,
    Sign,
    Start,
    Supervise,
    Warn,
)

pytestmark = pytest.mark.unit

CN = ZoneInfo("Asia/Shanghai")
REPO = Path(__file__).resolve().parents[2]
RULES = Rules(
    load_units(REPO / "config/units.yaml"),
    load_sla(REPO / "config/sla.yaml"),
    load_calendar(REPO / "config/calendar.yaml"),
)
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=CN)  # a Monday

TAKER = Actor("taker", "call_taker")
SUPERVISOR = Actor("sup", "supervisor")
LEADER = Actor("lead", "leader")
CDC = Actor("cdc-liaison", "handler", "saihan-cdc")
CDC_HEAD = Actor("cdc-head", "dispatcher", "saihan-cdc")
SAIHAN = Actor("saihan-dispatcher", "dispatcher", "saihan")
HOSPITAL = Actor("hosp", "handler", "saihan-hospital")
BAOTOU = Actor("bt", "dispatcher", "baotou")

DISPATCH = Classify("dispatch", region="内蒙古/呼和浩特/赛罕区", domain="infectious_disease")


def run(
    steps: list[tuple[Command, Actor]], category: str = "report"
) -> tuple[Lifecycle, list[str]]:
    """Apply ``steps`` one minute apart; the lifecycle and the ledger's actions."""
    life = new_lifecycle(category, T0, RULES)
    actions = []
    for minute, (command, actor) in enumerate(steps, start=1):
        outcome = apply(life, command, actor, T0 + timedelta(minutes=minute), RULES)
        assert outcome.entry.actor == actor.name and outcome.entry.state is outcome.lifecycle.state
        life = outcome.lifecycle
        actions.append(outcome.entry.action)
    return life, actions


HAPPY = [
    (DISPATCH, TAKER),
    (Sign(), CDC),
    (Start(), CDC),
    (Feedback("已现场核查并处置"), CDC),
    (Cosign("head"), CDC_HEAD),
    (Cosign("leader"), LEADER),
    (Reply("已电话告知处理结果"), TAKER),
    (Callback(True, responded=True, resolved=True, satisfaction="satisfied"), TAKER),
]


def test_the_whole_happy_path_closes_with_a_full_ledger() -> None:
    life, actions = run(HAPPY)
    assert life.state is State.CLOSED
    assert life.unit == "saihan-cdc"
    assert life.callback is not None and life.callback.satisfied
    assert actions == ["classify", "sign", "start", "feedback", "cosign", "cosign", "reply",
                       "callback"]  # fmt: skip


@pytest.mark.parametrize(
    ("steps", "state", "unit"),
    [
        # 即办: answered on the call and closed.
        ([(Classify("immediate", note="已解答"), TAKER)], State.CLOSED, None),
        # 直办: the centre investigates.
        ([(Classify("direct"), TAKER)], State.INVESTIGATING, "nm-centre"),
        # 呈办 then the leadership dispatches.
        ([(Classify("escalate"), TAKER), (Instruct("dispatch", unit="hhht-cdc"), LEADER)],
         State.DISPATCHED, "hhht-cdc"),
        # 退单 from a district unit goes back to its sub-centre, which re-dispatches (改派).
        ([(DISPATCH, TAKER), (Return("不属于本单位职责"), CDC)], State.RETURNED, "saihan"),
        ([(DISPATCH, TAKER), (Return("不属于本单位职责"), CDC),
          (Reassign("saihan-supervision", "改派执法大队"), SAIHAN)],
         State.DISPATCHED, "saihan-supervision"),
        # 异议审核: upheld → to the unit the centre names; rejected → back to the same unit.
        ([(DISPATCH, TAKER), (Object("应由执法大队办理"), CDC),
          (ReviewObjection(True, unit="saihan-supervision"), SUPERVISOR)],
         State.DISPATCHED, "saihan-supervision"),
        ([(DISPATCH, TAKER), (Object("应由执法大队办理"), CDC),
          (ReviewObjection(False, note="属疾控职责"), SUPERVISOR)],
         State.DISPATCHED, "saihan-cdc"),
    ],
)  # fmt: skip
def test_handling_modes_returns_and_objections(
    steps: list[tuple[Command, Actor]], state: State, unit: str | None
) -> None:
    life, _ = run(steps)
    assert (life.state, life.unit) == (state, unit)


@pytest.mark.parametrize(
    ("steps", "error"),
    [
        # Only the handling unit signs; another unit, or the centre, may not.
        ([(DISPATCH, TAKER), (Sign(), HOSPITAL)], Forbidden),
        ([(DISPATCH, TAKER), (Sign(), SUPERVISOR)], Forbidden),
        # A unit cannot classify; a call taker cannot review objections.
        ([(DISPATCH, CDC)], Forbidden),
        ([(DISPATCH, TAKER), (Object("x"), CDC), (ReviewObjection(False), TAKER)], Forbidden),
        # A sub-centre reassigns only within its area.
        ([(DISPATCH, TAKER), (Return("x"), CDC), (Reassign("baotou-cdc", "y"), SAIHAN)],
         Forbidden),
        ([(DISPATCH, TAKER), (Return("x"), CDC), (Reassign("saihan-cdc", "y"), BAOTOU)],
         Forbidden),
        # Order of steps.
        ([(DISPATCH, TAKER), (Feedback("done"), CDC)], Conflict),
        ([(DISPATCH, TAKER), (DISPATCH, TAKER)], Conflict),
        ([*HAPPY[:4], (Reply("x"), TAKER)], Conflict),  # not co-signed yet
        ([*HAPPY[:5], (Cosign("head"), CDC_HEAD)], Conflict),  # twice
        ([*HAPPY[:4], (Cosign("leader"), CDC)], Forbidden),  # a handler is no leader
        # Reasons are required; deadlines belong to the scheduler.
        ([(DISPATCH, TAKER), (Return("  "), CDC)], InvalidInput),
        ([(DISPATCH, TAKER), (Warn("sign_for"), SUPERVISOR)], Forbidden),
        ([(Classify("dispatch"), TAKER)], InvalidInput),  # no region/domain/unit
        ([*HAPPY[:7], (Callback(True, True, True, "so-so"), TAKER)], InvalidInput),
    ],
)  # fmt: skip
def test_refused_steps(steps: list[tuple[Command, Actor]], error: type[Exception]) -> None:
    with pytest.raises(error):
        run(steps)


def test_a_refused_step_changes_nothing() -> None:
    life, _ = run([(DISPATCH, TAKER)])
    with pytest.raises(Forbidden):
        apply(life, Sign(), HOSPITAL, T0, RULES)
    assert life.state is State.DISPATCHED


def test_extension_needs_the_caller_informed_and_moves_the_deadlines() -> None:
    life, _ = run([(DISPATCH, TAKER), (Sign(), CDC), (Start(), CDC)])
    until = datetime(2026, 3, 20, tzinfo=CN)
    life = apply(life, RequestExtension("需实验室检测", until), CDC, T0, RULES).lifecycle
    with pytest.raises(InvalidInput):
        apply(life, DecideExtension(True, caller_informed=False), SUPERVISOR, T0, RULES)
    with pytest.raises(Forbidden):
        apply(life, DecideExtension(True, caller_informed=True), CDC, T0, RULES)
    approved = apply(life, DecideExtension(True, caller_informed=True), SUPERVISOR, T0, RULES)
    feedback = approved.lifecycle.deadline("feedback")
    assert feedback is not None and feedback.due == until
    assert approved.lifecycle.extension is None
    assert approved.entry.data["caller_informed"] is True


def test_dissatisfied_callback_reopens_supervised_to_the_same_unit() -> None:
    steps = [
        *HAPPY[:7],
        (Callback(True, responded=True, resolved=False, satisfaction="dissatisfied"), TAKER),
    ]
    life, _ = run(steps)
    assert (life.state, life.unit, life.reopen_count, life.supervisions) == (
        State.DISPATCHED, "saihan-cdc", 1, 1,
    )  # fmt: skip
    assert life.cosigns == ()
    handling = life.deadline("handling")
    assert handling is not None and handling.start == T0 + timedelta(minutes=8)


def test_unreachable_callback_is_counted_and_the_centre_closes() -> None:
    life, _ = run([*HAPPY[:7], (Callback(False), TAKER), (Callback(False), TAKER)])
    assert (life.state, life.callback_attempts) == (State.REPLIED, 2)
    closed = apply(life, Close("三次回访未接通"), SUPERVISOR, T0 + timedelta(hours=1), RULES)
    assert closed.lifecycle.state is State.CLOSED


@pytest.mark.parametrize(
    ("hours_later", "expected"),
    [
        (0, []),
        # Sign-for: 1 working day from Mon 09:01 → due Wed 00:00 (39 h): 75 % ≈ 29.2 h.
        (29, []),
        (30, [Warn("sign_for")]),
        # Past due of sign-for, and the 5-working-day feedback warning not reached yet.
        (40, [Supervise("overdue", "sign_for")]),
    ],
)
def test_due_commands_follow_the_clock(hours_later: int, expected: list[Command]) -> None:
    life, _ = run([(DISPATCH, TAKER)])
    assert due_commands(life, T0 + timedelta(hours=hours_later), RULES) == expected


def test_scheduler_catches_up_and_alerts_once() -> None:
    life, _ = run([(DISPATCH, TAKER)])
    later = T0 + timedelta(days=30)  # the service was down for a month
    commands = due_commands(life, later, RULES)
    assert {c.deadline for c in commands if isinstance(c, Supervise)} == {
        "handling", "sign_for", "feedback",
    }  # fmt: skip
    alerts = []
    for command in commands:
        outcome = apply(life, command, SYSTEM, later, RULES)
        life = outcome.lifecycle
        alerts.extend(outcome.alerts)
    assert [(a.level, a.reason) for a in alerts] == [("red", "overdue")] * 3
    assert life.supervisions == 3
    assert due_commands(life, later + timedelta(days=1), RULES) == []
    assert next_check(life, RULES) is None


def test_next_check_is_the_earliest_warning() -> None:
    life = new_lifecycle("emergency", T0, RULES)
    assert next_check(life, RULES) == T0 + timedelta(minutes=90)  # 75 % of 2 h
    warned = apply(life, Warn("handling"), SYSTEM, T0 + timedelta(minutes=90), RULES).lifecycle
    assert next_check(warned, RULES) == T0 + timedelta(hours=2)


def test_json_round_trip() -> None:
    life, _ = run(HAPPY[:3])
    life = replace(life, invalid_reason="wrong_dispatch")
    assert Lifecycle.from_json(life.to_json()) == life


PURE_MODULES = [
    *sorted((REPO / "workorders/lifecycle").glob("*.py")),
    REPO / "workorders/access.py",
    REPO / "workorders/rates.py",
    REPO / "workorders/repeats.py",
    REPO / "routing/units.py",
    REPO / "routing/dispatch.py",
    REPO / "routing/sla.py",
]
FORBIDDEN = ("sqlalchemy", "aiohttp", "aiomqtt", "asyncio", "asyncpg", "aiosqlite", "alembic",
             "pyVoIP", "vosk", "workorders.store", "workorders.api")  # fmt: skip


@pytest.mark.parametrize("path", PURE_MODULES, ids=lambda p: p.name)
def test_pure_modules_import_no_adapters(path: Path) -> None:
    import ast

    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    assert names  # the walk saw the imports
    assert [n for n in names if n.split(".")[0] in FORBIDDEN or n.startswith(FORBIDDEN)] == []
