"""The intake classifier's verdicts during a call (``ivr/intake_watch.py``), pure."""

from __future__ import annotations

import pytest

from ivr.intake_watch import IntakeWatch, Raise, Suspect

pytestmark = pytest.mark.unit

SURE = {"category": "help", "emergency_line": "medical_120", "confirm_line": None}
UNSURE = {"category": "help", "emergency_line": None, "confirm_line": "medical_120"}
NOTHING = {"category": "consult", "emergency_line": None}  # a classifier without confirm_line


def test_each_final_extends_the_text_to_classify() -> None:
    watch = IntakeWatch()
    assert watch.final("我 爸") == "我 爸"
    assert watch.live_result(NOTHING) == (None, None)
    assert watch.final("  ") is None  # nothing said
    assert watch.final("昏迷 了") == "我 爸 昏迷 了"


def test_a_sure_line_raises_once() -> None:
    watch = IntakeWatch()
    watch.final("我 爸 昏迷 了")
    assert watch.live_result(SURE) == (Raise("medical_120"), None)
    assert watch.final("快 来") is None  # an emergency is handled: nothing more to classify
    assert watch.whole_result(SURE) is None


def test_segments_heard_while_classifying_are_classified_together_afterwards() -> None:
    watch = IntakeWatch()
    assert watch.final("一") == "一"
    assert watch.final("二") is None
    assert watch.final("三") is None
    assert watch.live_result(NOTHING) == (None, "一 二 三")
    assert watch.live_result(NOTHING) == (None, None)


def test_live_unsure_results_wait_for_the_whole_recording() -> None:
    watch = IntakeWatch()
    watch.final("胸口 有点 闷")
    assert watch.live_result(UNSURE) == (None, None)
    assert watch.whole_result(UNSURE) == Suspect("medical_120")
    assert watch.whole_result(SURE) == Raise("medical_120")


def test_no_verdict_after_another_emergency_or_without_a_result() -> None:
    watch = IntakeWatch()
    assert watch.whole_result(None) is None
    assert watch.whole_result(NOTHING) is None
    watch.emergency_raised()  # a keyword, an agent
    assert watch.whole_result(UNSURE) is None
    assert watch.whole_result(SURE) is None


def test_a_new_recording_starts_an_empty_intake() -> None:
    watch = IntakeWatch()
    watch.final("第一 段")
    watch.live_result(NOTHING)
    watch.recording()
    assert watch.final("第二 段") == "第二 段"
