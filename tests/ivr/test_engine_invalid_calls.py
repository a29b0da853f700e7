"""Issue 13, item 8: junk never becomes work — 无效来电 in the pure engine, fake clock.

Corpus replays made ~1,000 orders and floods ~500 (calls that never pressed a key got the
no-choice callback order), and a caller who pressed 2 and said nothing got an order with
an empty 诉求. Through the shipped menu (simulated) and small menus (``make_flow``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ivr.engine.actions import CreateOrder, Hangup, InvalidCall
from ivr.engine.events import Digit, EmergencyRaised, PlayDone, RecordingDone
from ivr.engine.flow import Flow, load_flow
from ivr.engine.simulator import HangUp, Press, Silence, Speak, simulate
from tests.ivr.test_engine import Call, make_flow

pytestmark = pytest.mark.unit

SHIPPED_MENU = Path(__file__).resolve().parents[2] / "config" / "menus" / "12320.yaml"


@pytest.fixture(scope="module")
def shipped() -> Flow:
    return load_flow(SHIPPED_MENU)


def test_a_silent_intake_is_asked_again_then_counted_never_an_order(shipped: Flow) -> None:
    sim = simulate(shipped, [Press("2"), Speak(0, then="silence"), Speak(0, then="silence")])
    assert sim.orders == ()
    assert [(i.reason, i.category, i.menu_path) for i in sim.invalid] == [
        ("silent_intake", "complaint", ("2",))
    ]
    assert sim.prompts.count("record_instructions") == 2  # asked once more
    assert sim.prompts[-1] == "goodbye" and sim.timeline[-1][1] == Hangup()


def test_a_caller_who_speaks_when_asked_again_gets_the_order(shipped: Flow) -> None:
    sim = simulate(shipped, [Press("2"), Speak(0, then="silence"), Speak(5)])
    assert [o.category for o in sim.orders] == ["complaint"]
    assert sim.invalid == ()


def test_a_caller_who_speaks_at_once_is_not_asked_again(shipped: Flow) -> None:
    sim = simulate(shipped, [Press("2"), Speak(5)])
    assert len(sim.orders) == 1 and sim.invalid == ()
    assert sim.prompts.count("record_instructions") == 1


def test_pressing_2_and_hanging_up_without_a_word_is_no_order(shipped: Flow) -> None:
    sim = simulate(shipped, [Press("2"), HangUp(after=6)])
    assert sim.orders == ()
    assert [i.reason for i in sim.invalid] == ["silent_intake"]


def test_a_hung_up_intake_with_speech_is_still_an_order(shipped: Flow) -> None:
    """Nothing lost: a caller who spoke and hung up before pressing # keeps the order."""
    sim = simulate(shipped, [Press("2"), Speak(20, then="talk_on"), HangUp(after=8)])
    assert len(sim.orders) == 1 and sim.invalid == ()


def test_an_emergency_is_never_invalid_even_in_silence(shipped: Flow) -> None:
    sim = simulate(shipped, [Press("9"), Silence()])
    assert [o.category for o in sim.orders] == ["emergency"]
    assert sim.invalid == ()


QUICK = """\
invalid_calls: {min_call_seconds: 3}
flows:
  main:
    - menu: {prompt: a, options: {1: {set: {category: consult}, goto: order}}, timeout: 5}
  order:
    - create_order: {category: $category, on_failure: main}
    - hangup
"""


def test_a_call_shorter_than_the_minimum_is_invalid(tmp_path: Path) -> None:
    call = Call(make_flow(tmp_path, QUICK))
    call.start()
    actions = call.send(Digit("1"), after=1)
    invalid = [a for a in actions if isinstance(a, InvalidCall)]
    assert [(i.reason, i.seconds) for i in invalid] == [("too_short", 1.0)]
    assert not any(isinstance(a, CreateOrder) for a in actions)
    assert actions[-1] == Hangup() and call.engine.finished


def test_the_same_call_after_the_minimum_is_an_order(tmp_path: Path) -> None:
    call = Call(make_flow(tmp_path, QUICK))
    call.start()
    actions = call.send(Digit("1"), after=3)
    assert any(isinstance(a, CreateOrder) for a in actions)


def test_an_agent_raised_emergency_is_never_invalid(shipped: Flow) -> None:
    """No key, no speech, 0.5 s into the call: an agent raised it, the order is made."""
    call = Call(shipped)
    call.start()
    actions = call.send(EmergencyRaised("medical_120", "agent"), after=0.5)
    assert [a.category for a in actions if isinstance(a, CreateOrder)] == ["emergency"]
    assert not any(isinstance(a, InvalidCall) for a in actions)


def test_an_unmeasured_recording_counts_as_speech(tmp_path: Path) -> None:
    """Sessions that cannot measure speech (``speech_seconds=None``) lose no order."""
    flow = make_flow(
        tmp_path,
        """\
        flows:
          main:
            - record: {max_seconds: 10, beep: false}
            - create_order: {category: consult, on_failure: main}
        """,
    )
    call = Call(flow)
    call.start()
    actions = call.send(RecordingDone("r.wav", 4.0, "silence"), after=4)
    assert any(isinstance(a, CreateOrder) for a in actions)
    assert call.send(PlayDone(), after=0.1) == []


def test_on_invalid_and_on_no_speech_must_name_flows(tmp_path: Path) -> None:
    from ivr.engine.errors import FlowError

    with pytest.raises(FlowError, match="unknown flow 'nowhere'"):
        make_flow(tmp_path, "invalid_calls: {on_invalid: nowhere}\nflows:\n  main: [hangup]\n")
    with pytest.raises(FlowError, match="unknown flow 'elsewhere'"):
        make_flow(
            tmp_path, "flows:\n  main:\n    - record: {on_no_speech: elsewhere}\n    - hangup\n"
        )
