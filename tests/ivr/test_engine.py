"""The flow engine driven event by event with a fake clock (no SIP, no sleeps)."""

from __future__ import annotations

import textwrap
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from ivr.engine.actions import (
    Action,
    CreateOrder,
    Hangup,
    Play,
    Record,
    StopPlayback,
    StopRecording,
)
from ivr.engine.engine import FlowEngine
from ivr.engine.errors import EngineUsageError
from ivr.engine.events import (
    CallStarted,
    Digit,
    Event,
    OrderCreated,
    OrderFailed,
    PlayDone,
    RecordingDone,
    TimerFired,
)
from ivr.engine.events import Hangup as CallerHungUp
from ivr.engine.flow import Flow, load_flow
from ivr.engine.verbs.play import spoken_digits

pytestmark = pytest.mark.unit

SHIPPED_MENU = Path(__file__).resolve().parents[2] / "config" / "menus" / "12320.yaml"
T0 = datetime(2026, 5, 1, 9, 0, tzinfo=timezone(timedelta(hours=8)))
TEST_PROMPTS = """\
voice: cmn-latn-pinyin
prompts:
  a: 甲
  b: 乙
  menu: 请选择
  invalid: 输入有误
  please_wait: 请稍候
  sorry: 系统繁忙
  bye: 再见
  beep: {tone: 1000, seconds: 0.25}
""" + "".join(f"  digits/{digit}: '{digit}'\n" for digit in "0123456789")


def make_flow(tmp_path: Path, body: str) -> Flow:
    (tmp_path / "menus").mkdir(exist_ok=True)
    (tmp_path / "prompts").mkdir(exist_ok=True)
    (tmp_path / "prompts" / "zh.yaml").write_text(TEST_PROMPTS, encoding="utf-8")
    menu = tmp_path / "menus" / "test.yaml"
    menu.write_text("version: 1\nstart: main\n" + textwrap.dedent(body), encoding="utf-8")
    return load_flow(menu)


@pytest.fixture(scope="module")
def shipped() -> Flow:
    return load_flow(SHIPPED_MENU)


class Call:
    """Drives one engine with a fake clock; ``send`` advances the clock first."""

    def __init__(self, flow: Flow) -> None:
        self.engine = FlowEngine(flow, call_id="call-1", caller="13800138000", callee="12320")
        self.now = T0

    def start(self) -> list[Action]:
        return self.send(CallStarted("call-1", "13800138000", "12320"))

    def send(self, event: Event, after: float = 0.0) -> list[Action]:
        self.now += timedelta(seconds=after)
        return self.engine.handle(event, self.now)

    def fire(self) -> list[Action]:
        deadline = self.engine.next_deadline()
        assert deadline is not None, "the engine asked for no timer"
        self.now = max(self.now, deadline)
        return self.engine.handle(TimerFired(), self.now)

    def waits(self) -> float | None:
        deadline = self.engine.next_deadline()
        return None if deadline is None else (deadline - self.now).total_seconds()


def to_main_menu(call: Call) -> None:
    assert call.start() == [Play(("welcome",))]
    assert call.send(PlayDone(), after=9) == [Play(("main_menu",), barge_in=True)]


def to_recording(call: Call, key: str = "2") -> None:
    to_main_menu(call)
    assert call.send(PlayDone(), after=15) == []
    assert call.waits() == 6
    assert call.send(Digit(key), after=1) == [Play(("record_instructions",))]
    assert call.send(PlayDone(), after=4) == [Record(max_seconds=60, silence_seconds=4, beep=True)]


def test_menu_prompt_waits_for_the_key_from_when_the_prompt_ends(shipped: Flow) -> None:
    call = Call(shipped)
    to_main_menu(call)
    assert call.waits() is None  # the timeout starts when the prompt has been played
    assert call.send(PlayDone(), after=15) == []
    assert call.waits() == 6


def test_barge_in_stops_the_menu_prompt_and_takes_the_choice(shipped: Flow) -> None:
    call = Call(shipped)
    to_main_menu(call)
    assert call.send(Digit("2"), after=2) == [StopPlayback(), Play(("record_instructions",))]
    # PlayDone of the stopped menu prompt must not count as the instructions' end.
    assert call.send(PlayDone()) == []
    assert call.send(PlayDone(), after=4) == [Record(max_seconds=60, silence_seconds=4, beep=True)]
    assert call.engine.variables["menu_path"] == "2"
    assert call.engine.variables["category"] == "complaint"


def test_keys_during_a_prompt_without_barge_in_are_dropped(shipped: Flow) -> None:
    call = Call(shipped)
    assert call.start() == [Play(("welcome",))]
    assert call.send(Digit("2"), after=1) == []
    assert call.send(PlayDone(), after=8) == [Play(("main_menu",), barge_in=True)]
    assert call.engine.variables["menu_path"] == ""


def test_hash_key_stops_the_recording_and_the_order_carries_it(shipped: Flow) -> None:
    call = Call(shipped)
    to_recording(call)
    assert call.waits() == 60
    assert call.send(Digit("5"), after=3) == []  # only the finish key counts
    assert call.send(Digit("#"), after=5) == [StopRecording("key")]
    done = RecordingDone("var/recordings/call-1.wav", 8.0, "key")
    assert call.send(done) == [
        CreateOrder(
            idempotency_key="call-1",
            caller="13800138000",
            category="complaint",
            menu_path=("2",),
            recording="var/recordings/call-1.wav",
            flow_version=call.engine.flow.version,
        )
    ]


def test_max_seconds_timer_stops_the_recording(shipped: Flow) -> None:
    call = Call(shipped)
    to_recording(call)
    assert call.fire() == [StopRecording("max_length")]
    actions = call.send(RecordingDone("r.wav", 60.0, "max_length"))
    assert [type(action) for action in actions] == [CreateOrder]


def test_silence_end_of_recording_comes_from_the_session(shipped: Flow) -> None:
    call = Call(shipped)
    to_recording(call)
    actions = call.send(RecordingDone("r.wav", 12.0, "silence"), after=12)
    # The caller has already been quiet for silence_seconds (4 s): hold prompt at once.
    assert actions == [
        CreateOrder(
            "call-1", "13800138000", "complaint", ("2",), (), "r.wav", call.engine.flow.version
        ),
        Play(("please_wait",)),
    ]


def test_a_session_that_never_ends_the_recording_does_not_hold_the_call(shipped: Flow) -> None:
    call = Call(shipped)
    to_recording(call)
    assert call.send(Digit("#"), after=5) == [StopRecording("key")]
    assert call.waits() == 5
    actions = call.fire()
    assert isinstance(actions[0], CreateOrder)
    assert actions[0].recording is None


def test_order_created_reads_the_number_back_and_hangs_up(shipped: Flow) -> None:
    call = Call(shipped)
    to_recording(call)
    call.send(Digit("#"), after=5)
    call.send(RecordingDone("r.wav", 5.0, "key"))
    assert call.send(OrderCreated("12320-20260501-00042"), after=0.3) == [Play(("order_accepted",))]
    digits = tuple(f"digits/{digit}" for digit in "2026050100042")
    assert call.send(PlayDone(), after=3) == [Play(digits)]
    assert call.send(PlayDone(), after=7) == [Play(("goodbye",))]
    assert call.send(PlayDone(), after=2) == [Hangup()]
    assert call.engine.finished
    assert call.engine.next_deadline() is None
    assert call.engine.variables["order_number"] == "12320-20260501-00042"


def test_order_failed_apologises_and_hangs_up(shipped: Flow) -> None:
    call = Call(shipped)
    to_recording(call)
    call.send(Digit("#"), after=5)
    call.send(RecordingDone("r.wav", 5.0, "key"))
    assert call.send(OrderFailed("http 503"), after=1) == [Play(("order_failed",))]
    assert call.send(PlayDone(), after=6) == [Hangup()]
    assert call.engine.finished


def test_hold_prompt_while_the_order_is_slow_and_give_up_after_timeout(shipped: Flow) -> None:
    call = Call(shipped)
    to_recording(call)
    call.send(Digit("#"), after=5)
    call.send(RecordingDone("r.wav", 5.0, "key"))
    assert call.waits() == 4
    assert call.fire() == [Play(("please_wait",))]
    assert call.waits() == 26  # only the overall timeout while audio plays
    assert call.send(PlayDone(), after=1) == []
    assert call.waits() == 4
    fired: list[Action] = []
    while not fired or fired == [Play(("please_wait",))]:
        if fired:
            call.send(PlayDone(), after=1)
        fired = call.fire()
    assert fired == [Play(("order_failed",))]
    assert call.now - T0 > timedelta(seconds=30)
    assert call.send(OrderCreated("12320-20260501-00001")) == []  # too late: ignored


def test_caller_hangup_mid_flow_finishes_the_engine(shipped: Flow) -> None:
    call = Call(shipped)
    to_recording(call)
    assert call.send(CallerHungUp(), after=3) == []
    assert call.engine.finished
    assert call.engine.next_deadline() is None
    for event in (RecordingDone("r.wav", 3.0, "hangup"), Digit("#"), PlayDone(), TimerFired()):
        assert call.send(event) == []


def test_invalid_key_replays_the_menu_with_the_invalid_prompt(shipped: Flow) -> None:
    call = Call(shipped)
    to_main_menu(call)
    call.send(PlayDone(), after=15)
    again = Play(("invalid_choice", "main_menu"), barge_in=True)
    assert call.send(Digit("7"), after=1) == [again]
    assert call.send(PlayDone(), after=17) == []
    assert call.send(Digit("*"), after=1) == [again]
    assert call.send(PlayDone(), after=17) == []
    assert call.send(Digit("1"), after=1) == [Play(("record_instructions",))]
    assert call.engine.variables["menu_path"] == "1"


def test_three_invalid_keys_open_a_callback_order(shipped: Flow) -> None:
    call = Call(shipped)
    to_main_menu(call)
    call.send(PlayDone(), after=15)
    call.send(Digit("7"), after=1)
    call.send(Digit("8"), after=1)  # barge-in on the re-prompt
    actions = call.send(Digit("6"), after=1)
    assert actions[0] == StopPlayback()
    assert isinstance(actions[1], CreateOrder)
    assert actions[1].flags == ("callback", "no_input")
    assert actions[1].menu_path == ()


def test_early_or_stale_timer_is_ignored(shipped: Flow) -> None:
    call = Call(shipped)
    to_main_menu(call)
    call.send(PlayDone(), after=15)
    assert call.send(TimerFired(), after=2) == []  # deadline is 6 s after the prompt
    assert call.waits() == 4
    assert call.fire() == [Play(("no_input", "main_menu"), barge_in=True)]


def test_events_before_call_started_are_ignored(shipped: Flow) -> None:
    call = Call(shipped)
    assert call.send(Digit("1")) == []
    assert call.send(PlayDone()) == []
    assert call.start() == [Play(("welcome",))]
    assert call.start() == []  # a second CallStarted changes nothing


def test_now_must_be_timezone_aware(shipped: Flow) -> None:
    engine = FlowEngine(shipped, call_id="c", caller="1", callee="12320")
    with pytest.raises(EngineUsageError, match="timezone-aware"):
        engine.handle(CallStarted("c", "1", "12320"), datetime(2026, 5, 1, 9, 0))


def test_barge_in_play_keeps_the_key_for_the_next_menu(tmp_path: Path) -> None:
    flow = make_flow(
        tmp_path,
        """\
        flows:
          main:
            - play: {prompt: [a, b], barge_in: true}
            - menu: {prompt: menu, options: {2: chosen}}
          chosen:
            - play: bye
            - hangup
        """,
    )
    call = Call(flow)
    assert call.start() == [Play(("a", "b"), barge_in=True)]
    assert call.send(Digit("2"), after=1) == [StopPlayback()]
    assert call.send(PlayDone()) == [Play(("bye",))]
    assert call.engine.variables["menu_path"] == "2"


def test_menu_without_on_failure_goes_on_after_retries(tmp_path: Path) -> None:
    flow = make_flow(
        tmp_path,
        """\
        flows:
          main:
            - menu: {prompt: menu, options: {1: main}, retries: 0, timeout: 3, invalid: invalid}
            - play: bye
        """,
    )
    call = Call(flow)
    assert call.start() == [Play(("menu",), barge_in=True)]
    call.send(PlayDone(), after=2)
    assert call.fire() == [Play(("bye",))]
    assert call.send(PlayDone(), after=1) == [Hangup()]  # the flow ends: the call ends


def test_set_copies_variables_and_say_digits_reads_them(tmp_path: Path) -> None:
    flow = make_flow(
        tmp_path,
        """\
        flows:
          main:
            - set: {category: help, note: $caller}
            - say_digits: $note
            - create_order: {category: $category, flags: [vip], on_failure: main}
        """,
    )
    call = Call(flow)
    (play,) = call.start()
    assert play == Play(tuple(f"digits/{digit}" for digit in "13800138000"))
    assert call.send(Digit("5"), after=1) == []  # the caller's input: an order, not 无效来电
    (order,) = call.send(PlayDone(), after=4)
    assert isinstance(order, CreateOrder)
    assert (order.category, order.flags) == ("help", ("vip",))


def test_a_goto_loop_that_never_waits_ends_the_call(tmp_path: Path) -> None:
    flow = make_flow(
        tmp_path,
        """\
        flows:
          main: [{goto: other}]
          other: [{set: {category: help}}, {goto: main}]
        """,
    )
    call = Call(flow)
    assert call.start() == [Hangup()]
    assert call.engine.finished


@pytest.mark.parametrize(
    ("value", "digits"),
    [
        ("12320-20260501-00042", "2026050100042"),
        ("12320-20261231-12345", "2026123112345"),
        ("13800138000", "13800138000"),
        ("010-6543 21", "010654321"),
        ("", ""),
        ("unknown", ""),
    ],
)
def test_spoken_digits(value: str, digits: str) -> None:
    assert spoken_digits(value) == tuple(digits)
