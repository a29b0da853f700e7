"""The verbs of issue #3 driven event by event with a fake clock (no SIP, no sleeps).

gather (digits and speech), hours and ``if`` on the real working-day calendar
(a holiday, the 调休 Saturday 2026-10-10), language switch, sub-flows,
variables, say_number, transfer and queue.
"""

from __future__ import annotations

import textwrap
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from ivr.engine.actions import (
    Action,
    CreateOrder,
    Enqueue,
    Hangup,
    ListenForSpeech,
    Play,
    StopListening,
    StopPlayback,
    Transfer,
)
from ivr.engine.engine import FlowEngine
from ivr.engine.events import (
    CallStarted,
    Digit,
    Event,
    OrderCreated,
    PlayDone,
    QueueResult,
    SpeechResult,
    TimerFired,
    TransferResult,
)
from ivr.engine.flow import Flow, load_flow
from ivr.engine.verbs.numbers import date_prompts, number_prompts, spoken_number
from routing.calendar import WorkCalendar
from routing.calendar_config import load_calendar

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
CHINA = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 5, 13, 9, 0, tzinfo=CHINA)  # a Wednesday, within business hours
PROMPT_KEYS = [
    *("a", "b", "ask", "again", "nothing", "open", "closed", "holiday", "bye", "hold"),
    *("please_wait", "number/1", "number/ten", "number/hundred", "number/thousand"),
    *("number/ten_thousand", "date/year", "date/month", "date/day"),
    *("queue_ahead", "queue_callers", "queue_next", "queue_callback_hint"),  # `queue` speaks them
]
PROMPTS = (
    "voice: cmn-latn-pinyin\nprompts:\n"
    + "".join(f"  {key}: 文{index}\n" for index, key in enumerate(PROMPT_KEYS))
    + "".join(f"  digits/{digit}: '{digit}'\n" for digit in "0123456789")
    + "  beep: {tone: 1000, seconds: 0.25}\n"
)
ROUTING = """\
lines:
  duty: {targets: ["sip:8001@127.0.0.1"]}
groups:
  agents: {members: ["sip:1001@127.0.0.1"]}
"""


@pytest.fixture(scope="module")
def calendar() -> WorkCalendar:
    return load_calendar(ROOT / "config" / "calendar.yaml")


def make_flow(tmp_path: Path, flows: str, english: str | None = None) -> Flow:
    (tmp_path / "menus").mkdir(exist_ok=True)
    (tmp_path / "prompts").mkdir(exist_ok=True)
    (tmp_path / "prompts" / "zh.yaml").write_text(PROMPTS, encoding="utf-8")
    if english is not None:
        (tmp_path / "prompts" / "en.yaml").write_text(english, encoding="utf-8")
    (tmp_path / "routing.yaml").write_text(ROUTING, encoding="utf-8")
    menu = tmp_path / "menus" / "test.yaml"
    text = "version: 1\nstart: main\nflows:\n" + textwrap.indent(textwrap.dedent(flows), "  ")
    menu.write_text(text, encoding="utf-8")
    return load_flow(menu)


class Call:
    """One engine, a fake clock; ``send`` advances the clock first."""

    def __init__(
        self,
        flow: Flow,
        *,
        at: datetime = T0,
        calendar: WorkCalendar | None = None,
        callee: str = "12320",
        repeat_caller: bool = False,
    ) -> None:
        self.engine = FlowEngine(
            flow, call_id="c1", caller="13800138000", callee=callee, calendar=calendar,
            repeat_caller=repeat_caller,
        )  # fmt: skip
        self.now = at
        self.callee = callee

    def start(self) -> list[Action]:
        return self.send(CallStarted("c1", "13800138000", self.callee))

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

    def var(self, name: str) -> str:
        return self.engine.variables[name]


# -- gather: digits ---------------------------------------------------------------------------
GATHER = """\
main:
  - gather:
      prompt: ask
      num_digits: 4
      min_digits: 2
      finish_on_key: "#"
      first_digit_timeout: 6
      inter_digit_timeout: 3
      retries: 1
      invalid: again
      no_input: nothing
      into: id_number
      on_failure: failed
  - play: a
  - hangup
failed:
  - play: bye
  - hangup
"""
ASK = Play(("ask",), barge_in=True)
AGAIN = Play(("again", "ask"), barge_in=True)
NOTHING = Play(("nothing", "ask"), barge_in=True)


@pytest.fixture
def gather_flow(tmp_path: Path) -> Flow:
    return make_flow(tmp_path, GATHER)


def listening(flow: Flow) -> Call:
    call = Call(flow)
    assert call.start() == [ASK]
    assert call.waits() is None  # the first-digit timeout starts when the prompt ends
    assert call.send(PlayDone(), after=3) == []
    assert call.waits() == 6
    return call


@pytest.mark.parametrize(
    ("keys", "value"),
    [
        pytest.param("1234", "1234", id="count-reached"),
        pytest.param("12#", "12", id="finish-key"),
        pytest.param("123#", "123", id="finish-key-3"),
    ],
)
def test_gather_collects_digits_until_count_or_finish_key(
    gather_flow: Flow, keys: str, value: str
) -> None:
    call = listening(gather_flow)
    for key in keys[:-1]:
        assert call.send(Digit(key), after=1) == []
        assert call.waits() == 3  # inter-digit timeout after every key
    assert call.send(Digit(keys[-1]), after=1) == [Play(("a",))]
    assert call.var("id_number") == value


def test_gather_inter_digit_timeout_ends_the_input(gather_flow: Flow) -> None:
    call = listening(gather_flow)
    call.send(Digit("4"), after=2)
    call.send(Digit("2"), after=2.5)
    assert call.send(TimerFired(), after=2.9) == []  # early timer: ignored
    assert call.fire() == [Play(("a",))]
    assert call.var("id_number") == "42"


@pytest.mark.parametrize(
    ("keys", "replay"),
    [
        pytest.param("1#", AGAIN, id="too-few-digits"),
        pytest.param("#", AGAIN, id="finish-key-alone"),
        pytest.param("1*", AGAIN, id="invalid-key"),
    ],
)
def test_gather_invalid_input_replays_with_the_invalid_prompt(
    gather_flow: Flow, keys: str, replay: Play
) -> None:
    call = listening(gather_flow)
    for key in keys[:-1]:
        call.send(Digit(key), after=1)
    assert call.send(Digit(keys[-1]), after=1) == [replay]
    assert call.waits() is None
    call.send(PlayDone(), after=4)
    assert call.waits() == 6  # digits start afresh
    assert call.send(Digit("5"), after=1) == []
    assert call.send(Digit("6"), after=1) == []
    assert call.send(Digit("#"), after=1) == [Play(("a",))]
    assert call.var("id_number") == "56"


def test_gather_too_few_digits_at_the_inter_digit_timeout_is_invalid(gather_flow: Flow) -> None:
    call = listening(gather_flow)
    call.send(Digit("7"), after=1)
    assert call.fire() == [AGAIN]


def test_gather_no_input_retries_then_goes_to_on_failure(gather_flow: Flow) -> None:
    call = listening(gather_flow)
    assert call.fire() == [NOTHING]
    call.send(PlayDone(), after=4)
    assert call.fire() == [Play(("bye",))]
    assert call.var("id_number") == ""
    assert call.send(PlayDone(), after=1) == [Hangup()]


def test_gather_barge_in_stops_the_prompt_and_counts_the_key(gather_flow: Flow) -> None:
    call = Call(gather_flow)
    call.start()
    assert call.send(Digit("9"), after=1) == [StopPlayback()]
    assert call.waits() == 3
    assert call.send(PlayDone()) == []  # the stopped prompt's PlayDone
    call.send(Digit("8"), after=1)
    assert call.send(Digit("#"), after=1) == [Play(("a",))]
    assert call.var("id_number") == "98"


def test_gather_without_barge_in_drops_keys_during_the_prompt(tmp_path: Path) -> None:
    flow = make_flow(tmp_path, GATHER.replace("retries: 1", "retries: 1\n      barge_in: false"))
    call = Call(flow)
    assert call.start() == [Play(("ask",))]
    assert call.send(Digit("9"), after=1) == []
    call.send(PlayDone(), after=2)
    assert call.waits() == 6
    call.send(Digit("1"), after=1)
    call.send(Digit("2"), after=1)
    call.send(Digit("#"), after=1)
    assert call.var("id_number") == "12"


# -- gather: speech ---------------------------------------------------------------------------
SPEECH = """\
main:
  - gather:
      prompt: ask
      input: [digits, speech]
      phrases: {complaint: [投诉, 收费太高], consult: 咨询}
      into: choice
      retries: 0
      on_failure: failed
  - play: a
  - hangup
failed:
  - play: bye
  - hangup
"""
LISTEN = ListenForSpeech(("投诉", "收费太高", "咨询"), 5.0)


@pytest.mark.parametrize(
    ("said", "choice"),
    [("我要投诉收费", "complaint"), ("收费 太高", "complaint"), ("我想咨询一下", "consult")],
)
def test_gather_speech_keyword_picks_the_choice(tmp_path: Path, said: str, choice: str) -> None:
    call = Call(make_flow(tmp_path, SPEECH))
    call.start()
    assert call.send(PlayDone(), after=2) == [LISTEN]
    assert call.send(SpeechResult(said), after=2) == [Play(("a",))]
    assert call.var("choice") == choice


def test_gather_speech_without_a_recogniser_falls_back_to_keys(tmp_path: Path) -> None:
    call = Call(make_flow(tmp_path, SPEECH))
    call.start()
    call.send(PlayDone(), after=2)
    assert call.send(SpeechResult("", available=False)) == []
    assert call.waits() == 5
    assert call.send(Digit("2"), after=1) == [Play(("a",))]
    assert call.var("choice") == "2"


def test_gather_a_key_cancels_listening(tmp_path: Path) -> None:
    call = Call(make_flow(tmp_path, SPEECH))
    call.start()
    call.send(PlayDone(), after=2)
    assert call.send(Digit("3"), after=1) == [StopListening(), Play(("a",))]
    assert call.send(SpeechResult("投诉")) == []  # late answer: ignored


def test_gather_speech_only_without_a_recogniser_goes_to_on_failure(tmp_path: Path) -> None:
    flow = make_flow(tmp_path, SPEECH.replace("[digits, speech]", "speech"))
    call = Call(flow)
    assert call.start() == [Play(("ask",))]  # no barge-in without digits
    call.send(PlayDone(), after=2)
    assert call.send(SpeechResult("", available=False)) == [Play(("bye",))]


def test_gather_speech_that_matches_nothing_is_invalid(tmp_path: Path) -> None:
    call = Call(make_flow(tmp_path, SPEECH))
    call.start()
    call.send(PlayDone(), after=2)
    assert call.send(SpeechResult("今天天气不错")) == [Play(("bye",))]


# -- hours and if on the working-day calendar ---------------------------------------------------
HOURS = """\
main:
  - hours: {open: staffed, closed: after_hours, holiday: holiday}
staffed:
  - play: open
  - hangup
after_hours:
  - play: closed
  - hangup
holiday:
  - play: holiday
  - hangup
"""


@pytest.mark.parametrize(
    ("at", "heard"),
    [
        pytest.param(datetime(2026, 10, 1, 9, 0), "holiday", id="national-day-holiday"),
        pytest.param(datetime(2026, 10, 10, 9, 0), "open", id="tiaoxiu-saturday-working"),
        pytest.param(datetime(2026, 10, 10, 20, 0), "closed", id="tiaoxiu-saturday-evening"),
        pytest.param(datetime(2026, 10, 17, 9, 0), "closed", id="ordinary-saturday"),
        pytest.param(datetime(2026, 10, 9, 9, 0), "open", id="friday-morning"),
        pytest.param(datetime(2026, 10, 9, 12, 30), "closed", id="friday-lunch-break"),
        pytest.param(datetime(2026, 10, 9, 13, 30), "open", id="friday-afternoon-opens"),
    ],
)
def test_hours_branches_on_the_calendar(
    tmp_path: Path, calendar: WorkCalendar, at: datetime, heard: str
) -> None:
    call = Call(make_flow(tmp_path, HOURS), at=at.replace(tzinfo=CHINA), calendar=calendar)
    assert call.start() == [Play((heard,))]


def test_hours_without_a_holiday_branch_treats_a_holiday_as_closed(
    tmp_path: Path, calendar: WorkCalendar
) -> None:
    flow = make_flow(tmp_path, HOURS.replace(", holiday: holiday}", "}"))
    call = Call(flow, at=datetime(2026, 10, 1, 9, 0, tzinfo=CHINA), calendar=calendar)
    assert call.start() == [Play(("closed",))]


IF = """\
main:
  - if: {condition: CONDITION, then: yes_flow, else: no_flow}
yes_flow:
  - play: a
  - hangup
no_flow:
  - play: b
  - hangup
"""


@pytest.mark.parametrize(
    ("condition", "at", "kwargs", "heard"),
    [
        ('{variable: repeat_caller, equals: "yes"}', T0, {"repeat_caller": True}, "a"),
        ('{variable: repeat_caller, equals: "yes"}', T0, {}, "b"),
        ("{variable: callee, in: ['123208', '12320-en']}", T0, {"callee": "123208"}, "a"),
        ("{variable: callee, not_equals: '12320'}", T0, {}, "b"),
        ("{time: '08:00-12:00'}", T0, {}, "a"),
        ("{time: '18:00-24:00'}", T0.replace(hour=23), {}, "a"),
        ("{time: '18:00-24:00'}", T0, {}, "b"),
        ("{day_kind: [makeup_workday]}", datetime(2026, 10, 10, 9, tzinfo=CHINA), {}, "a"),
        ("{day_kind: [holiday, weekend]}", datetime(2026, 10, 10, 9, tzinfo=CHINA), {}, "b"),
        ("{day_kind: [holiday]}", datetime(2026, 10, 1, 9, tzinfo=CHINA), {}, "a"),
        ("{open: false}", datetime(2026, 10, 1, 9, tzinfo=CHINA), {}, "a"),
        ("{open: true, variable: repeat_caller, equals: 'no'}", T0, {}, "a"),
        ("{open: true, variable: repeat_caller, equals: 'yes'}", T0, {}, "b"),
    ],
)
def test_if_branches_on_variables_time_and_day_kind(
    tmp_path: Path,
    calendar: WorkCalendar,
    condition: str,
    at: datetime,
    kwargs: dict[str, object],
    heard: str,
) -> None:
    flow = make_flow(tmp_path, IF.replace("CONDITION", condition))
    call = Call(flow, at=at, calendar=calendar, **kwargs)  # type: ignore[arg-type]
    assert call.start() == [Play((heard,))]


def test_clock_variables_follow_the_calendar(tmp_path: Path, calendar: WorkCalendar) -> None:
    flow = make_flow(tmp_path, "main:\n  - play: a\n  - hangup\n")
    call = Call(flow, at=datetime(2026, 10, 10, 14, 5, tzinfo=CHINA), calendar=calendar)
    call.start()
    assert (call.var("date"), call.var("time_of_day")) == ("2026-10-10", "14:05")
    assert (call.var("day_kind"), call.var("open")) == ("makeup_workday", "yes")
    assert call.var("repeat_caller") == "no"


# -- sub-flows, set, language -------------------------------------------------------------------
def test_sub_flows_and_variables_carry_across_goto(tmp_path: Path) -> None:
    flow = make_flow(
        tmp_path,
        """\
        main:
          - set: {topic: vaccines, category: consult}
          - goto: ask
        ask:
          - if: {condition: {variable: topic, equals: vaccines}, then: vaccines}
          - play: b
        vaccines:
          - set: {copy: $topic}
          - play: a
          - create_order: {category: $category, on_failure: ask, domain: infectious_disease,
                           priority: high}
        """,
    )
    call = Call(flow)
    assert call.start() == [Play(("a",))]
    assert call.var("copy") == "vaccines"
    assert call.engine.position == ("vaccines", 1)
    assert call.send(Digit("1"), after=1) == []  # the caller's input: an order, not 无效来电
    (order,) = call.send(PlayDone(), after=2)
    assert isinstance(order, CreateOrder)
    assert (order.category, order.domain, order.priority) == (
        "consult",
        "infectious_disease",
        "high",
    )
    assert call.send(OrderCreated("12320-20260513-00001"), after=1) == [Hangup()]


def test_language_switch_plays_the_second_prompt_set_with_fallback(tmp_path: Path) -> None:
    english = "voice: en\nprompts:\n  a: Hello\n"
    flow = make_flow(
        tmp_path,
        """\
        main:
          - play: a
          - language: en
          - play: [a, b]
          - if: {condition: {variable: language, equals: en}, then: done}
        done:
          - play: bye
          - hangup
        """,
        english=english,
    )
    assert flow.languages == ("zh", "en")
    assert flow.prompt_language("a", "en") == "en"
    assert flow.prompt_language("b", "en") == "zh"  # no English text: Mandarin
    assert flow.prompt_text("a", "en") == "Hello"
    call = Call(flow)
    assert call.start() == [Play(("a",))]
    assert call.send(PlayDone(), after=2) == [Play(("a", "b"), language="en")]
    assert call.send(PlayDone(), after=2) == [Play(("bye",), language="en")]


# -- transfer and queue -------------------------------------------------------------------------
CONNECT = """\
main:
  - VERB: {TARGET: NAME, on_failure: sorry, hold_prompt: hold, timeout: 20}
  - play: b
  - hangup
sorry:
  - play: bye
  - hangup
"""


@pytest.mark.parametrize(
    ("verb", "target", "name", "wanted", "answer"),
    [
        ("transfer", "line", "duty", Transfer("duty", timeout=20), TransferResult),
        ("queue", "group", "agents", Enqueue("agents", timeout=20), QueueResult),
    ],
)
def test_transfer_and_queue_wait_for_the_result(
    tmp_path: Path,
    verb: str,
    target: str,
    name: str,
    wanted: Action,
    answer: type[TransferResult] | type[QueueResult],
) -> None:
    body = CONNECT.replace("VERB", verb).replace("TARGET", target).replace("NAME", name)
    flow = make_flow(tmp_path, body)

    failed = Call(flow)
    assert failed.start() == [wanted, Play(("hold",))]
    assert failed.send(answer(ok=False, detail="not supported"), after=1) == [
        StopPlayback(),
        Play(("bye",)),
    ]
    assert failed.var("connect_failure") == "not supported"

    connected = Call(flow)
    connected.start()
    assert connected.send(answer(ok=True), after=5) == []
    assert connected.engine.finished  # the call has left the IVR: no Hangup from us

    unanswered = Call(flow)
    unanswered.start()
    unanswered.send(PlayDone(), after=2)
    assert unanswered.waits() == 18
    assert unanswered.fire() == [Play(("bye",))]
    assert unanswered.var("connect_failure") == "timeout"


# -- say_number -------------------------------------------------------------------------------
def _words(prompts: tuple[str, ...]) -> str:
    names = {"number/1": "一", "number/ten": "十", "number/hundred": "百",
             "number/thousand": "千", "number/ten_thousand": "万", "date/year": "年",
             "date/month": "月", "date/day": "日"}  # fmt: skip
    names.update({f"digits/{d}": "零一二三四五六七八九"[int(d)] for d in "0123456789"})
    return "".join(names[key] for key in prompts)


@pytest.mark.parametrize(
    ("value", "spoken"),
    [
        (0, "零"),
        (7, "七"),
        (10, "十"),
        (12, "十二"),
        (20, "二十"),
        (105, "一百零五"),
        (110, "一百一十"),
        (1000, "一千"),
        (1010, "一千零一十"),
        (2026, "二千零二十六"),
        (10000, "一万"),
        (20300, "二万零三百"),
        (123456, "十二万三千四百五十六"),
    ],
)
def test_number_prompts_read_mandarin_numbers(value: int, spoken: str) -> None:
    assert _words(number_prompts(value)) == spoken


def test_dates_and_non_numbers() -> None:
    assert _words(date_prompts("2026-10-01") or ()) == "二零二六年十月一日"
    assert _words(date_prompts("20261231") or ()) == "二零二六年十二月三十一日"
    assert date_prompts("2026-13-01") is None
    assert spoken_number("A12", "number") == ("digits/1", "digits/2")
    assert spoken_number("not a date", "date") == ()


def test_say_number_reads_a_variable(tmp_path: Path) -> None:
    flow = make_flow(
        tmp_path,
        """\
        main:
          - set: {count: "15"}
          - say_number: $count
          - say_number: {value: $date, style: date}
        """,
    )
    call = Call(flow)
    assert call.start() == [Play(("number/ten", "digits/5"))]
    (play,) = call.send(PlayDone(), after=1)
    assert isinstance(play, Play)
    assert _words(play.prompts) == "二零二六年五月十三日"


def test_queue_carries_priority_skills_and_its_timeout(tmp_path: Path) -> None:
    flow = make_flow(
        tmp_path,
        """
        main:
          - queue: {group: agents, priority: emergency, skills: [cantonese], timeout: 90}
        """,
    )
    assert Call(flow).start() == [Enqueue("agents", 90.0, "emergency", ("cantonese",))]
    assert "queue_callback_hint" in flow.prompt_keys()  # the queue's announcements
    assert "number/ten" in flow.prompt_keys()
