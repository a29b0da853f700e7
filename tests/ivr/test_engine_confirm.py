"""The confirming question (``emergency_confirm``): asked when the classifier is unsure.

The shipped menu event by event on a fake clock, and the loader's checks of the setting.
"""

from __future__ import annotations

import dataclasses
import textwrap
from collections.abc import Sequence
from pathlib import Path

import pytest

from ivr.engine.actions import (
    CreateOrder,
    EmergencyQuestion,
    Play,
    Record,
    StopPlayback,
    StopRecording,
    Transfer,
)
from ivr.engine.errors import FlowError
from ivr.engine.events import (
    Digit,
    EmergencyRaised,
    Hangup,
    OrderCreated,
    PlayDone,
    RecordingDone,
)
from ivr.engine.flow import Flow, load_flow
from tests.ivr.test_engine_verbs import Call

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
SUSPECTED = RecordingDone("r.wav", 6.0, "silence", 3.0, suspected_line="medical_120")


@pytest.fixture(scope="module")
def flow() -> Flow:
    return load_flow(REPO / "config/menus/12320.yaml")


def _until_recording(call: Call) -> None:
    call.start()
    call.send(PlayDone(), after=9)  # welcome
    call.send(Digit("2"), after=1)  # barge into the main menu: complaint
    call.send(PlayDone(), after=1)  # the stopped menu prompt
    assert any(isinstance(a, Record) for a in call.send(PlayDone(), after=5))


def _asked(call: Call, done: RecordingDone = SUSPECTED) -> None:
    actions = call.send(done, after=10)
    assert actions == [Play(("confirm_120",), barge_in=True)]  # before the order, not instead
    assert call.engine.asking == "medical_120"
    assert call.send(PlayDone(), after=5) == []
    assert call.waits() == 5.0  # the menu's timeout, from the end of the prompt


def _orders(actions: Sequence[object]) -> list[CreateOrder]:
    return [a for a in actions if isinstance(a, CreateOrder)]


def test_the_confirm_key_does_what_a_raised_emergency_does(flow: Flow) -> None:
    call = Call(flow)
    _until_recording(call)
    _asked(call)
    actions = call.send(Digit("1"), after=2)
    assert actions[:2] == [
        EmergencyQuestion("medical_120", "confirmed"),
        StopRecording("emergency"),
    ]
    (order,) = _orders(actions)
    assert (order.category, order.priority, order.recording) == ("emergency", "urgent", "r.wav")
    source, line = call.var("emergency_source"), call.var("emergency_line")
    assert (source, line) == ("confirmed", "medical_120")
    after = call.send(OrderCreated("12320-20260513-00001"), after=0.2)
    assert any(isinstance(a, Transfer) and a.line == "medical_120" for a in after)
    assert call.engine.asking is None


@pytest.mark.parametrize("key", ["2", "#", "9"])
def test_any_other_key_lets_the_flow_go_on(flow: Flow, key: str) -> None:
    call = Call(flow)
    _until_recording(call)
    _asked(call)
    actions = call.send(Digit(key), after=2)
    assert actions[0] == EmergencyQuestion("medical_120", "declined")
    (order,) = _orders(actions)
    assert (order.category, order.recording, order.priority) == ("complaint", "r.wav", None)
    assert "emergency_source" not in call.engine.call.variables


def test_silence_lets_the_flow_go_on_after_the_timeout(flow: Flow) -> None:
    call = Call(flow)
    _until_recording(call)
    _asked(call)
    actions = call.fire()
    assert actions[0] == EmergencyQuestion("medical_120", "timeout")
    assert [o.category for o in _orders(actions)] == ["complaint"]


def test_a_key_may_barge_into_the_prompt(flow: Flow) -> None:
    call = Call(flow)
    _until_recording(call)
    call.send(SUSPECTED, after=10)
    actions = call.send(Digit("1"), after=1)
    assert actions[:3] == [
        EmergencyQuestion("medical_120", "confirmed"),
        StopPlayback(),
        StopRecording("emergency"),
    ]


def test_a_recording_without_suspicion_goes_straight_to_the_order(flow: Flow) -> None:
    call = Call(flow)
    _until_recording(call)
    actions = call.send(dataclasses.replace(SUSPECTED, suspected_line=None), after=10)
    assert [o.category for o in _orders(actions)] == ["complaint"]
    assert not any(isinstance(a, Play) and "confirm_120" in a.prompts for a in actions)


def test_no_question_while_an_emergency_is_handled(flow: Flow) -> None:
    """A keyword stopped the intake: its late RecordingDone must not ask about another line."""
    call = Call(flow)
    _until_recording(call)
    assert _orders(call.send(EmergencyRaised("fire_119", "keyword"), after=3))
    late = dataclasses.replace(SUSPECTED, reason="emergency")
    assert call.send(late, after=0.1) == []
    assert call.engine.asking is None


def test_hanging_up_on_the_question_still_opens_the_order(flow: Flow) -> None:
    """As after a hang-up during the recording: the intake is not lost, nothing is played."""
    call = Call(flow)
    _until_recording(call)
    _asked(call)
    actions = call.send(Hangup(), after=1)
    assert actions[0] == EmergencyQuestion("medical_120", "hangup")
    assert [o.category for o in _orders(actions)] == ["complaint"]
    assert all(isinstance(a, EmergencyQuestion | CreateOrder) for a in actions)
    assert call.engine.finished


def test_an_agent_raising_an_emergency_meanwhile_interrupts_the_question(flow: Flow) -> None:
    call = Call(flow)
    _until_recording(call)
    _asked(call)
    actions = call.send(EmergencyRaised("police_110", "agent"), after=1)
    assert actions[0] == EmergencyQuestion("medical_120", "interrupted")
    assert call.var("emergency_line") == "police_110"
    assert [o.category for o in _orders(actions)] == ["emergency"]


TWO_RECORDINGS = """\
main:
  - record: {beep: false}
  - record: {beep: false}
  - create_order: {category: consult, on_failure: bye}
  - hangup
bye:
  - hangup
duty_flow:
  - transfer: duty
"""


def _menu(tmp_path: Path, top: str, flows: str = TWO_RECORDINGS) -> Path:
    (tmp_path / "menus").mkdir(exist_ok=True)
    (tmp_path / "prompts").mkdir(exist_ok=True)
    (tmp_path / "prompts" / "zh.yaml").write_text(
        "voice: cmn-latn-pinyin\nprompts:\n  please_wait: 请稍候\n  ask_duty: 是否转接？\n",
        encoding="utf-8",
    )
    (tmp_path / "routing.yaml").write_text(
        'lines:\n  duty: {targets: ["sip:8001"]}\n  other: {targets: ["sip:8002"]}\n',
        encoding="utf-8",
    )
    menu = tmp_path / "menus" / "m.yaml"
    menu.write_text(
        f"version: 1\nstart: main\n{top}\nflows:\n" + textwrap.indent(flows, "  "),
        encoding="utf-8",
    )
    return menu


CONFIRM = """\
emergency: {duty: duty_flow}
emergency_confirm:
  key: "1"
  timeout: 4
  prompts: {duty: ask_duty}
"""


def test_the_question_is_asked_once_per_call(tmp_path: Path) -> None:
    call = Call(load_flow(_menu(tmp_path, CONFIRM)))
    call.start()
    done = RecordingDone("a.wav", 5.0, "silence", 2.0, suspected_line="duty")
    assert call.send(done, after=5) == [Play(("ask_duty",), barge_in=True)]
    call.send(PlayDone(), after=2)
    declined = call.send(Digit("2"), after=1)
    assert [type(a) for a in declined] == [EmergencyQuestion, Record]  # on to the next verb
    assert declined[0] == EmergencyQuestion("duty", "declined")
    again = call.send(dataclasses.replace(done, recording="b.wav"), after=6)
    assert [o.recording for o in _orders(again)] == ["b.wav"]  # the second one: no question
    assert not any(isinstance(a, Play) and "ask_duty" in a.prompts for a in again)
    assert call.engine.asking is None


def test_no_question_in_an_emergency_flow_that_records(tmp_path: Path) -> None:
    """An emergency flow may record the caller too: that recording is never asked about."""
    flows = TWO_RECORDINGS.replace("duty_flow:\n", "duty_flow:\n  - record: {beep: false}\n")
    call = Call(load_flow(_menu(tmp_path, CONFIRM, flows)))
    call.start()
    actions = call.send(EmergencyRaised("duty", "agent"), after=1)
    assert [type(a) for a in actions] == [StopRecording, Record]  # the duty flow's recording
    done = RecordingDone("b.wav", 5.0, "silence", 2.0, suspected_line="duty")
    assert [a for a in call.send(done, after=5) if isinstance(a, Transfer)] == [Transfer("duty")]
    assert call.engine.asking is None


@pytest.mark.parametrize(
    ("top", "line"),
    [
        ("emergency: {duty: duty_flow}", None),  # no emergency_confirm: never asked
        (CONFIRM, "other"),  # a line without a prompt (nor a flow)
    ],
)
def test_no_question_without_a_prompt_for_the_line(
    tmp_path: Path, top: str, line: str | None
) -> None:
    call = Call(load_flow(_menu(tmp_path, top)))
    call.start()
    done = RecordingDone("a.wav", 5.0, "silence", 2.0, suspected_line=line or "duty")
    assert [type(a) for a in call.send(done, after=5)] == [Record]  # straight on
    assert call.engine.asking is None


def test_the_confirm_prompts_are_prompts_of_the_menu(flow: Flow) -> None:
    wanted = {"confirm_120", "confirm_119", "confirm_110", "confirm_122", "confirm_duty"}
    assert wanted <= flow.prompt_keys()
    assert flow.emergency_confirm is not None
    assert set(flow.emergency_confirm.prompts) == set(flow.emergency)
    assert "一二零急救" in flow.prompt_text("confirm_120")


@pytest.mark.parametrize(
    ("top", "message"),
    [
        (
            CONFIRM.replace("{duty: ask_duty}", "{duty: ask_duty, other: ask_duty}"),
            "m.yaml:7:29 emergency_confirm.prompts.other: line 'other' has no flow in the "
            "'emergency' map (lines: duty)",
        ),
        (
            CONFIRM.replace("{duty: ask_duty}", "{duty: ask_nobody}"),
            "m.yaml:7:19 emergency_confirm.prompts.duty: no text for prompt 'ask_nobody'",
        ),
        (CONFIRM.replace('"1"', '"x"'), "m.yaml:5:8 emergency_confirm.key: bad key 'x'"),
        (
            CONFIRM.replace("timeout: 4", "timeout: 30"),
            "m.yaml:6:12 emergency_confirm.timeout: input should be less than or equal to 10",
        ),
        (
            CONFIRM.replace("  key:", "  keys:"),
            "m.yaml:5:3 emergency_confirm.keys: unknown key 'keys'",
        ),
    ],
)
def test_emergency_confirm_is_checked_with_its_place_in_the_file(
    tmp_path: Path, top: str, message: str
) -> None:
    with pytest.raises(FlowError) as caught:
        load_flow(_menu(tmp_path, top))
    assert message in str(caught.value)
