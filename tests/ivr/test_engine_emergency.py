"""Emergencies raised outside the keys (a spoken keyword, an agent): the shipped menu's map."""

from __future__ import annotations

from pathlib import Path

import pytest

from ivr.engine.actions import CreateOrder, Play, Record, StopPlayback, StopRecording, Transfer
from ivr.engine.errors import FlowError
from ivr.engine.events import Digit, EmergencyRaised, OrderCreated, PlayDone
from ivr.engine.flow import Flow, load_flow
from tests.ivr.test_engine_verbs import Call

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def flow() -> Flow:
    return load_flow(REPO / "config/menus/12320.yaml")


def _until_recording(call: Call) -> None:
    call.start()
    call.send(PlayDone(), after=9)  # welcome
    call.send(Digit("2"), after=1)  # barge into the main menu: complaint
    actions = call.send(PlayDone(), after=1)  # the stopped menu prompt
    actions += call.send(PlayDone(), after=5)  # record instructions
    assert any(isinstance(a, Record) for a in actions)


@pytest.mark.parametrize(
    ("line", "transfer_to"),
    [("medical_120", "medical_120"), ("public_health_duty", "public_health_duty")],
)
def test_a_keyword_during_the_intake_stops_the_recording_and_transfers(
    flow: Flow, line: str, transfer_to: str
) -> None:
    call = Call(flow)
    _until_recording(call)
    actions = call.send(EmergencyRaised(line, "keyword"), after=3)
    assert actions[0] == StopRecording("emergency")
    (order,) = [a for a in actions if isinstance(a, CreateOrder)]
    assert (order.category, order.flags, order.priority) == ("emergency", ("urgent",), "urgent")
    after_order = call.send(OrderCreated("12320-20261123-00009"), after=0.2)
    assert any(isinstance(a, Transfer) and a.line == transfer_to for a in after_order)
    assert call.var("emergency_source") == "keyword"


def test_an_agent_can_raise_it_while_a_prompt_plays(flow: Flow) -> None:
    call = Call(flow)
    call.start()  # the welcome prompt is playing
    actions = call.send(EmergencyRaised("fire_119", "agent"), after=2)
    assert actions[:2] == [StopPlayback(), StopRecording("emergency")]
    assert any(isinstance(a, CreateOrder) for a in actions)
    assert call.var("emergency_line") == "fire_119"


def test_a_second_emergency_or_an_unknown_line_changes_nothing(flow: Flow) -> None:
    call = Call(flow)
    call.start()
    assert call.send(EmergencyRaised("no_such_line", "agent")) == []
    first = call.send(EmergencyRaised("medical_120", "keyword"))
    assert first
    assert call.send(EmergencyRaised("police_110", "agent")) == []
    assert not any(isinstance(a, Play) and "main_menu" in a.prompts for a in first)


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ("emergency: {nowhere: main}", "emergency.nowhere: unknown line 'nowhere'"),
        ("emergency: {duty: missing}", "emergency.duty: unknown flow 'missing'"),
    ],
)
def test_the_emergency_map_is_checked(tmp_path: Path, mapping: str, message: str) -> None:
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "zh.yaml").write_text(
        "prompts:\n  hi: 你好\n  please_wait: 请稍候\n  beep: {tone: 1000, seconds: 0.25}\n"
        + "".join(f"  digits/{d}: '{d}'\n" for d in "0123456789"),
        encoding="utf-8",
    )
    (tmp_path / "menus").mkdir()
    (tmp_path / "routing.yaml").write_text('lines:\n  duty: {targets: ["sip:8001"]}\n')
    menu = tmp_path / "menus" / "m.yaml"
    menu.write_text(f"version: 1\nstart: main\n{mapping}\nflows:\n  main:\n    - play: hi\n")
    with pytest.raises(FlowError) as caught:
        load_flow(menu, routing=tmp_path / "routing.yaml")
    assert message in str(caught.value)
