"""The ``hotline simulate`` input syntax and the simulator's new seams (speech, transfer)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from ivr.engine.actions import Transfer
from ivr.engine.flow import load_flow
from ivr.engine.simulator import (
    HangUp,
    Press,
    Say,
    ScriptError,
    Silence,
    Speak,
    format_step,
    parse_script,
    simulate,
)
from routing.calendar_config import load_calendar

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
CHINA = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    ("text", "steps"),
    [
        ("2, speech:我要投诉收费, #", [Press("2"), Say("我要投诉收费"), Press("#")]),
        ("123#", [Press("123#")]),
        ("!9", [Press("9", during_prompt=True)]),
        ("talk:4.5, silence, -, hangup", [Speak(4.5), Silence(), Silence(), HangUp()]),
        ("SPEECH: 咨询 ", [Say("咨询")]),
        ("", []),
    ],
)
def test_parse_script(text: str, steps: list[object]) -> None:
    assert parse_script(text) == steps


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2, 9x", "bad input '9x'"),
        ("talk:long", "bad input 'talk:long': talk:SECONDS"),
        ("!", "bad input '!'"),
    ],
)
def test_parse_script_rejects_what_it_cannot_read(text: str, message: str) -> None:
    with pytest.raises(ScriptError, match=message):
        parse_script(text)


MENU = """\
version: 1
start: main
flows:
  main:
    - hours: {open: staffed, closed: closed}
  staffed:
    - gather:
        prompt: main_menu
        input: [digits, speech]
        phrases: {emergency: [中毒, 爆发]}
        into: choice
    - if: {condition: {variable: choice, equals: emergency}, then: duty}
    - play: no_input
    - hangup
  duty:
    - transfer: {line: public_health_duty, on_failure: closed, hold_prompt: please_wait}
  closed:
    - play: goodbye
    - hangup
"""


@pytest.fixture
def flow(tmp_path: Path):  # type: ignore[no-untyped-def]
    (tmp_path / "menus").mkdir()
    (tmp_path / "prompts").mkdir()
    for name in ("zh.yaml", "en.yaml"):
        (tmp_path / "prompts" / name).write_bytes((ROOT / "config/prompts" / name).read_bytes())
    (tmp_path / "routing.yaml").write_bytes((ROOT / "config/routing.yaml").read_bytes())
    (tmp_path / "menus" / "m.yaml").write_text(MENU, encoding="utf-8")
    return load_flow(tmp_path / "menus" / "m.yaml")


@pytest.mark.parametrize(
    ("connects", "last"),
    [(True, "connected"), (False, "failed (simulated)")],
)
def test_speech_choice_leads_to_a_transfer(flow, connects: bool, last: str) -> None:  # type: ignore[no-untyped-def]
    sim = simulate(
        flow,
        [Say("村里好多人食物中毒")],
        start=datetime(2026, 10, 10, 9, 0, tzinfo=CHINA),  # 调休 Saturday: open
        calendar=load_calendar(ROOT / "config/calendar.yaml"),
        connects=connects,
        show_texts=True,
    )
    assert [a for _, a in sim.timeline if isinstance(a, Transfer)] == [
        Transfer("public_health_duty")
    ]
    text = sim.transcript()
    assert "listen for speech (中毒 / 爆发)" in text
    assert f"session  {last}" in text
    assert "「请稍候。」" in text
    assert sim.prompts[-1] == ("please_wait" if connects else "goodbye")


def test_a_holiday_call_goes_to_the_closed_branch(flow) -> None:  # type: ignore[no-untyped-def]
    sim = simulate(
        flow,
        start=datetime(2026, 10, 1, 9, 0, tzinfo=CHINA),
        calendar=load_calendar(ROOT / "config/calendar.yaml"),
    )
    assert sim.prompts == ("goodbye",)


def test_format_step_writes_what_parse_script_reads() -> None:
    text = "2, !13#, speech:我要投诉收费, talk:5, silence, hangup"
    steps = parse_script(text)
    assert ", ".join(format_step(step) for step in steps) == text
    assert format_step(Speak(2.5, then="silence")) == "talk:2.5 (then silence)"
