"""Whole calls through the shipped 12320 menu, simulated with a fake clock.

The simulator plays the session (PlayDone per Play, recording, order service)
and a scripted caller; it measures how long the caller ever hears nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ivr.engine.actions import CreateOrder, Hangup, Transfer
from ivr.engine.flow import Flow, load_flow
from ivr.engine.simulator import (
    CallerStep,
    HangUp,
    OrderService,
    Press,
    Silence,
    Simulation,
    Speak,
    longest_gap,
    simulate,
)
from ivr.engine.state import MAX_SILENCE_SECONDS

pytestmark = pytest.mark.unit

SHIPPED_MENU = Path(__file__).resolve().parents[2] / "config" / "menus" / "12320.yaml"
NUMBER = "12320-20260501-00042"
READ_BACK = tuple(f"digits/{digit}" for digit in "2026050100042")
RECORDING = "recordings/sim-call-1.wav"


@pytest.fixture(scope="module")
def flow() -> Flow:
    return load_flow(SHIPPED_MENU)


def order(flow: Flow, category: str, path: tuple[str, ...], **fields: object) -> CreateOrder:
    return CreateOrder(
        idempotency_key="sim-call-1",
        caller="13800138000",
        category=category,
        menu_path=path,
        flow_version=flow.version,
        **fields,  # type: ignore[arg-type]
    )


def ends_cleanly(sim: Simulation) -> None:
    assert sim.ended_by == "engine"
    assert sim.timeline[-1][1] == Hangup()
    assert sim.unused == ()
    assert sim.max_silence <= MAX_SILENCE_SECONDS, sim.transcript()


@pytest.mark.parametrize(
    ("key", "category"),
    [("1", "consult"), ("2", "complaint"), ("3", "report"), ("4", "suggestion"), ("5", "help")],
)
def test_intake_keys_record_open_an_order_and_read_it_back(
    flow: Flow, key: str, category: str
) -> None:
    sim = simulate(flow, [Press(key), Speak(8)])
    ends_cleanly(sim)
    assert sim.orders == (order(flow, category, (key,), recording=RECORDING),)
    assert sim.prompts == (
        "welcome",
        "main_menu",
        "record_instructions",
        "order_accepted",
        *READ_BACK,
        "goodbye",
    )
    assert sim.engine.variables["category"] == category
    assert sim.engine.variables["order_number"] == NUMBER


def test_agent_key_opens_a_callback_order(flow: Flow) -> None:
    sim = simulate(flow, [Press("0")])
    ends_cleanly(sim)
    assert sim.orders == (order(flow, "consult", ("0",), flags=("callback", "agent_requested")),)
    assert sim.prompts == ("welcome", "main_menu", "agent_registered", *READ_BACK, "goodbye")


@pytest.mark.parametrize(
    ("keys", "line"),
    [
        (("9", "1"), "medical_120"),
        (("9", "2"), "fire_119"),
        (("9", "3"), "police_110"),
        (("9", "4"), "traffic_122"),
        (("9", "5"), "public_health_duty"),
        (("9",), "medical_120"),  # no choice in time: 120
        (("9", "7"), "medical_120"),  # no such key: 120, not another menu round
    ],
)
def test_emergency_keys_open_an_urgent_order_and_transfer_to_the_line(
    flow: Flow, keys: tuple[str, ...], line: str
) -> None:
    sim = simulate(flow, [Press(k) for k in keys], connects=True)
    assert sim.ended_by == "engine"
    path = keys if keys[1:] in (("1",), ("2",), ("3",), ("4",), ("5",)) else ("9",)
    assert sim.orders == (order(flow, "emergency", path, flags=("urgent",), priority="urgent"),)
    assert Transfer(line, timeout=190 if line == "public_health_duty" else 150) in [
        action for _, action in sim.timeline
    ]
    assert "transferring" in sim.prompts
    assert sim.max_silence <= MAX_SILENCE_SECONDS, sim.transcript()


def test_emergency_nobody_reached_apologises_and_reads_the_urgent_order(flow: Flow) -> None:
    sim = simulate(flow, [Press("9"), Press("1")], connects=False)
    ends_cleanly(sim)
    assert sim.prompts[-len(READ_BACK) - 3 :] == (
        "emergency_unreached",
        "emergency_registered",
        *READ_BACK,
        "goodbye",
    )


def test_invalid_key_twice_then_a_valid_choice(flow: Flow) -> None:
    sim = simulate(flow, [Press("7"), Press("#"), Press("3"), Speak(4)])
    ends_cleanly(sim)
    assert sim.prompts[:5] == (
        "welcome",
        "main_menu",
        "invalid_choice",
        "main_menu",
        "invalid_choice",
    )
    assert sim.orders == (order(flow, "report", ("3",), recording=RECORDING),)


@pytest.mark.parametrize(
    "script",
    [[], [Silence(), Silence(), Silence()]],
    ids=["no-input", "silence-steps"],
)
def test_a_call_without_any_key_is_an_invalid_call_not_an_order(
    flow: Flow, script: list[CallerStep]
) -> None:
    """Issue 13, item 8: a replay or flood call that never pressed a key made an order."""
    sim = simulate(flow, script)
    assert sim.prompts.count("main_menu") == 3
    assert sim.orders == ()
    assert [call.reason for call in sim.invalid] == ["no_input"]
    assert "callback_registered" not in sim.prompts
    assert sim.timeline[-1][1] == Hangup()


@pytest.mark.parametrize(
    "script",
    [
        [Press("7"), Silence(), Press("8")],
        [Press("6"), Press("7"), Press("8")],
    ],
    ids=["mixed", "invalid"],
)
def test_no_valid_choice_after_two_retries_opens_a_callback_order(
    flow: Flow, script: list[CallerStep]
) -> None:
    sim = simulate(flow, script)
    ends_cleanly(sim)
    assert sim.prompts.count("main_menu") == 3
    assert sim.orders == (order(flow, "consult", (), flags=("callback", "no_input")),)
    assert "callback_registered" in sim.prompts


def test_order_failure_apologises_and_hangs_up(flow: Flow) -> None:
    sim = simulate(flow, [Press("2"), Speak(5)], orders=OrderService(number=None))
    ends_cleanly(sim)
    assert sim.prompts[-1] == "order_failed"
    assert not any(key.startswith("digits/") for key in sim.prompts)


def test_caller_hangs_up_during_the_menu_prompt(flow: Flow) -> None:
    sim = simulate(flow, [HangUp(after=2, during_prompt=True)])
    assert sim.ended_by == "caller"
    assert sim.engine.finished
    assert sim.orders == ()
    assert sim.timeline[-1][1] != Hangup()


SCRIPTS: list[list[CallerStep]] = [
    [Press("2"), Speak(5)],
    [Press("2"), Speak(5, then="silence")],
    [Press("2"), Speak(20, then="talk_on")],
    [Press("2")],  # says nothing after the beep
    [Press("2", after=0.5, during_prompt=True), Speak(3)],
    [Press("9")],
    [Press("0")],
    [],
    [Press("7"), Press("8"), Press("1"), Speak(2)],
]
ORDER_SERVICES = [
    OrderService(),
    OrderService(after=14),  # slow: hold prompts keep the caller company
    OrderService(after=None),  # never answers: give up after the timeout
    OrderService(number=None, after=3),
]


@pytest.mark.parametrize("orders", ORDER_SERVICES, ids=["fast", "slow", "silent", "refusing"])
@pytest.mark.parametrize("script", SCRIPTS, ids=lambda script: repr(script)[:60])
def test_the_caller_never_hears_more_than_ten_seconds_of_silence(
    flow: Flow, script: list[CallerStep], orders: OrderService
) -> None:
    """The gaps come from the engine's deadlines (menu timeout, hold prompt, order timeout)."""
    sim = simulate(flow, script, orders=orders)
    assert sim.ended_by == "engine"
    assert sim.max_silence <= MAX_SILENCE_SECONDS, sim.transcript()


T = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T + timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("intervals", "end", "gap"),
    [
        ([], 12, 12),
        ([(0, 3), (3, 5)], 5, 0),
        ([(0, 3), (9, 10)], 10, 6),
        ([(0, 10), (2, 4), (13, 14)], 20, 6),
        ([(1, 2)], 2, 1),
    ],
)
def test_longest_gap(intervals: list[tuple[float, float]], end: float, gap: float) -> None:
    spans = [(at(begin), at(finish)) for begin, finish in intervals]
    assert longest_gap(spans, T, at(end)) == gap
