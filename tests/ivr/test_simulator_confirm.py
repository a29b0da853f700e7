"""The shipped menu simulated with an intake classifier: the confirming question (issue 14).

The classifier is a fake returning what each test needs (the classifier is checked in
tests/asr/); what is checked here is what the IVR does with its verdicts.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from ivr.engine.actions import EmergencyQuestion, Transfer
from ivr.engine.flow import Flow, load_flow
from ivr.engine.simulator import Simulation, Speak, parse_script, simulate

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture(scope="module")
def flow() -> Flow:
    return load_flow(REPO / "config/menus/12320.yaml")


class FakeClassifier:
    """Sure about 昏迷, unsure about 胸口闷; remembers what it was given."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str | None]] = []

    def __call__(self, text: str, menu: str | None) -> Mapping[str, Any]:
        self.calls.append((text, menu))
        sure = "medical_120" if "昏迷" in text else None
        unsure = "medical_120" if "胸口" in text and sure is None else None
        return {"category": "help", "emergency_line": sure, "confirm_line": unsure}


def _call(flow: Flow, script: str, classify: FakeClassifier | None = None) -> Simulation:
    return simulate(flow, parse_script(script), classify=classify or FakeClassifier(),
                    start=MONDAY, connects=True, show_texts=True)  # fmt: skip


def _transfers(sim: Simulation) -> list[str]:
    return [a.line for _, a in sim.timeline if isinstance(a, Transfer)]


def test_an_unsure_intake_and_key_1_go_to_the_lines_emergency_flow(flow: Flow) -> None:
    classify = FakeClassifier()
    sim = _call(flow, "2, speech:我家老人胸口有点闷, 1", classify)
    assert classify.calls == [("我家老人胸口有点闷", "2")]  # with the caller's menu key
    assert sim.question == EmergencyQuestion("medical_120", "confirmed")
    assert [(o.category, o.priority) for o in sim.orders] == [("emergency", "urgent")]
    assert sim.orders[0].recording is not None  # the intake goes with the emergency order
    assert _transfers(sim) == ["medical_120"]
    text = sim.transcript()
    assert "「是否需要立即转接一二零急救？需要请按1，不需要请按2或稍候。」" in text
    assert "the classifier suspects an emergency for medical_120" in text
    assert sim.max_silence < 10
    assert sim.unused == ()


@pytest.mark.parametrize(
    ("script", "outcome"),
    [
        ("2, speech:我家老人胸口有点闷, 2", "declined"),
        ("2, speech:我家老人胸口有点闷, #, 2", "declined"),  # the intake ended by #
        ("2, speech:我家老人胸口有点闷, silence", "timeout"),
    ],
)
def test_an_unsure_intake_declined_or_unanswered_is_ordered_as_usual(
    flow: Flow, script: str, outcome: str
) -> None:
    sim = _call(flow, script)
    assert sim.question == EmergencyQuestion("medical_120", outcome)
    assert [(o.category, o.menu_path) for o in sim.orders] == [("complaint", ("2",))]
    assert _transfers(sim) == []
    assert sim.prompts[-1] == "goodbye"  # read back and goodbye, as without the question
    assert sim.max_silence < 10
    assert sim.unused == ()


def test_a_sure_intake_is_an_emergency_without_a_question(flow: Flow) -> None:
    sim = _call(flow, "2, speech:我爸昏迷了")
    assert sim.question is None
    assert "confirm_120" not in sim.prompts
    assert [o.category for o in sim.orders] == ["emergency"]
    assert _transfers(sim) == ["medical_120"]
    assert "emergency medical_120 raised by the classifier" in sim.transcript()


def test_a_plain_intake_and_no_classifier_ask_nothing(flow: Flow) -> None:
    plain = _call(flow, "2, speech:我要投诉收费, #")
    assert plain.question is None and [o.category for o in plain.orders] == ["complaint"]
    unclassified = simulate(flow, parse_script("2, speech:我家老人胸口有点闷"), start=MONDAY)
    assert unclassified.question is None
    assert [o.category for o in unclassified.orders] == ["complaint"]


TWO_INTAKES = """\
version: 1
start: main
emergency: {medical_120: to_120}
emergency_confirm: {prompts: {medical_120: confirm_120}}
flows:
  main:
    - play: record_instructions
    - record: {beep: true}
    - play: record_instructions
    - record: {beep: true}
    - create_order: {category: consult, on_failure: bye}
    - play: goodbye
    - hangup
  to_120:
    - transfer: {line: medical_120}
  bye:
    - hangup
"""


def test_the_question_is_not_asked_twice(tmp_path: Path) -> None:
    for part in ("prompts", "menus"):
        (tmp_path / part).mkdir()
    for name in ("zh.yaml", "en.yaml"):
        (tmp_path / "prompts" / name).write_bytes((REPO / "config/prompts" / name).read_bytes())
    (tmp_path / "routing.yaml").write_bytes((REPO / "config/routing.yaml").read_bytes())
    (tmp_path / "menus" / "m.yaml").write_text(TWO_INTAKES, encoding="utf-8")
    flow = load_flow(tmp_path / "menus" / "m.yaml")
    script = [Speak(3, "silence", "胸口闷"), *parse_script("2"), Speak(3, "silence", "胸口还是闷")]
    sim = simulate(flow, script, classify=FakeClassifier(), start=MONDAY)
    asked = [a for _, a in sim.timeline if isinstance(a, EmergencyQuestion)]
    assert asked == [EmergencyQuestion("medical_120", "declined")]
    assert sim.prompts.count("confirm_120") == 1
    assert [o.category for o in sim.orders] == ["consult"]
    assert sim.unused == ()
