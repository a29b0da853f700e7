"""The pure ACD core: tables of (second, event) steps on a fake clock, and what came out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from routing.acd import (
    AFTER_CALL,
    AWAY,
    BUSY,
    EMERGENCY,
    OFFLINE,
    READY,
    Acd,
    AcdError,
    Action,
    AgentSetAway,
    CallForgotten,
    CallLeft,
    CallLost,
    CallQueued,
    CallSeen,
    Connected,
    Event,
    Offer,
    OfferResult,
    OfferWithdrawn,
    Overflowed,
    PositionChanged,
    PresenceSet,
    Tick,
    TimedOut,
    UnknownAgent,
    UnknownCall,
    UnknownGroup,
)
from routing.agents import AgentsConfig, parse_agents

pytestmark = pytest.mark.unit

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)

CONFIG = """
groups:
  intake:     {label: 受理组, overflow_to: complaints, overflow_after: 120, max_wait: 300}
  complaints: {label: 投诉组, overflow_to: intake, overflow_after: 180, max_wait: 400}
  experts:    {label: 专家组, skills_required: [medicine], ring_seconds: 10}
agents:
  - {login: a1, name: 张敏, extension: "1001", groups: [intake, experts],
     skills: [mandarin, cantonese, medicine]}
  - {login: a2, name: 李强, extension: "1002", groups: [intake, complaints], skills: [mandarin]}
  - {login: a3, name: 王芳, extension: "1003", groups: [complaints], skills: [mandarin]}
"""

Steps = list[tuple[float, Event]]


@pytest.fixture
def config() -> AgentsConfig:
    return parse_agents(CONFIG)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def run(acd: Acd, steps: Steps) -> list[list[Action]]:
    return [acd.handle(event, at(second)) for second, event in steps]


def flat(results: list[list[Action]]) -> list[Action]:
    return [action for actions in results for action in actions]


def offers(results: list[list[Action]]) -> list[tuple[str, str]]:
    return [(a.call_id, a.agent) for a in flat(results) if isinstance(a, Offer)]


def ready(login: str) -> PresenceSet:
    return PresenceSet(login, READY)


def queued(call_id: str, group: str = "intake", **kw: object) -> CallQueued:
    return CallQueued(call_id, group, "13800138000", **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("case", "steps", "expected"),
    [
        (
            "the agent idle longer gets the call",
            [(0, ready("a2")), (10, ready("a1")), (20, queued("c1"))],
            [("c1", "a2")],
        ),
        (
            "the same, the other way round",
            [(0, ready("a1")), (10, ready("a2")), (20, queued("c1"))],
            [("c1", "a1")],
        ),
        (
            "a break does not count as idle time",
            # a1: 5 s ready, 45 s away, ready again at 50 → 15 s idle at 60; a2: 40 s idle.
            [
                (0, ready("a1")),
                (5, PresenceSet("a1", AWAY)),
                (20, ready("a2")),
                (50, ready("a1")),
                (60, queued("c1")),
            ],
            [("c1", "a2")],
        ),
        (
            "idle time starts again after a call",
            [
                (0, ready("a1")),
                (10, ready("a2")),
                (20, queued("c1")),
                (21, OfferResult("c1", "answered")),
                (30, PresenceSet("a1", AFTER_CALL)),
                (40, ready("a1")),
                (100, queued("c2")),
            ],
            [("c1", "a1"), ("c2", "a2")],
        ),
        (
            "a call needing a skill goes to the one agent who has it",
            [
                (0, ready("a2")),
                (10, ready("a1")),
                (20, queued("c1", skills=frozenset({"cantonese"}))),
            ],
            [("c1", "a1")],
        ),
        (
            "a group's required skill",
            [(0, ready("a1")), (20, queued("c1", "experts"))],
            [("c1", "a1")],
        ),
        (
            "a waiting call is offered when an agent becomes ready",
            [(0, PresenceSet("a1", AWAY)), (5, queued("c1")), (30, ready("a1"))],
            [("c1", "a1")],
        ),
        (
            "emergency calls go to the head of the queue",
            [
                (0, PresenceSet("a2", AWAY)),
                (1, queued("c1")),
                (2, queued("c2")),
                (3, queued("c3", priority=EMERGENCY)),
                (10, ready("a2")),
                (11, OfferResult("c3", "answered")),
                (12, PresenceSet("a1", AWAY)),
                (13, ready("a1")),
            ],
            [("c3", "a2"), ("c1", "a1")],
        ),
        (
            "a call nobody ready can take does not hold up the calls behind it",
            [
                (0, PresenceSet("a1", AWAY)),
                (1, queued("c1", skills=frozenset({"cantonese"}))),
                (2, queued("c2")),
                (3, ready("a2")),
            ],
            [("c2", "a2")],
        ),
        (
            "RONA: no answer sets the agent away and the call goes to the next",
            [
                (0, ready("a1")),
                (10, ready("a2")),
                (20, queued("c1")),
                (40, OfferResult("c1", "no_answer")),
            ],
            [("c1", "a1"), ("c1", "a2")],
        ),
        (
            "RONA on a busy phone too",
            [
                (0, ready("a1")),
                (10, ready("a2")),
                (20, queued("c1")),
                (21, OfferResult("c1", "busy")),
            ],
            [("c1", "a1"), ("c1", "a2")],
        ),
        (
            "an offer nobody reports on times out after ring_seconds + margin",
            [
                (0, ready("a1")),
                (10, ready("a2")),
                (20, queued("c1")),
                (40, CallSeen("c1")),
                (54, Tick()),
                (55, Tick()),
            ],
            [("c1", "a1"), ("c1", "a2")],
        ),
    ],
)
def test_offers(
    config: AgentsConfig, case: str, steps: Steps, expected: list[tuple[str, str]]
) -> None:
    assert offers(run(Acd(config), steps)) == expected, case


def test_an_offer_carries_the_extension_group_and_ring_time(config: AgentsConfig) -> None:
    acd = Acd(config)
    (offer,) = [
        a for a in flat(run(acd, [(0, ready("a1")), (1, queued("c1", "experts"))]))
        if isinstance(a, Offer)
    ]  # fmt: skip
    assert offer == Offer("c1", "a1", "1001", "experts", 10.0)
    assert acd.agents["a1"].state == BUSY
    assert acd.agents["a1"].call_id == "c1"
    assert acd.calls["c1"].status == "offered"


def test_rona_keeps_the_agents_idle_time_and_the_calls_place(config: AgentsConfig) -> None:
    acd = Acd(config)
    results = run(acd, [
        (0, ready("a1")), (5, PresenceSet("a2", AWAY)), (10, queued("c1")), (11, queued("c2")),
        (30, OfferResult("c1", "no_answer")),
    ])  # fmt: skip
    assert AgentSetAway("a1", "c1", "no_answer") in results[-1]
    assert acd.agents["a1"].state == AWAY
    assert acd.agents["a1"].idle(at(30)) == 10.0  # ready 0..10, then it rang
    assert acd.positions() == {"c1": 1, "c2": 2}  # back in front of c2
    # Back from the break, the agent gets the first call again.
    assert offers(run(acd, [(40, ready("a1"))])) == [("c1", "a1")]


def test_an_agent_who_signs_out_while_ringing_stays_signed_out(config: AgentsConfig) -> None:
    acd = Acd(config)
    run(acd, [(0, ready("a1")), (1, queued("c1")), (2, PresenceSet("a1", OFFLINE))])
    assert acd.agents["a1"].call_id == "c1"  # the offer is still out
    run(acd, [(10, OfferResult("c1", "no_answer"))])
    assert acd.agents["a1"].state == OFFLINE


def test_an_answered_call_is_connected_and_the_agent_busy_until_they_say(
    config: AgentsConfig,
) -> None:
    acd = Acd(config)
    results = run(acd, [(0, ready("a1")), (1, queued("c1")), (5, OfferResult("c1", "answered")),
                        (6, OfferResult("c1", "no_answer"))])  # fmt: skip
    assert Connected("c1", "a1") in results[2]
    assert results[3] == []  # a late or repeated report changes nothing
    assert acd.calls["c1"].status == "connected"
    assert (acd.agents["a1"].state, acd.agents["a1"].call_id) == (BUSY, "c1")
    run(acd, [(200, PresenceSet("a1", AFTER_CALL))])
    assert (acd.agents["a1"].state, acd.agents["a1"].call_id) == (AFTER_CALL, None)


def test_positions_and_their_changes(config: AgentsConfig) -> None:
    acd = Acd(config)
    results = run(acd, [
        (0, PresenceSet("a1", AWAY)), (0, PresenceSet("a2", AWAY)),
        (1, queued("c1")), (2, queued("c2")), (3, queued("c3")),
        (4, CallLeft("c1", "hangup")),
    ])  # fmt: skip
    assert PositionChanged("c3", 3) in results[4]
    assert set(results[-1]) == {PositionChanged("c2", 1), PositionChanged("c3", 2)}
    assert acd.positions() == {"c2": 1, "c3": 2}


def everyone_away() -> Steps:
    return [(0, PresenceSet(login, AWAY)) for login in ("a1", "a2", "a3")]


def test_overflow_once_then_max_wait(config: AgentsConfig) -> None:
    acd = Acd(config)
    results = run(acd, [
        *everyone_away(), (10, queued("c1")), (100, CallSeen("c1")), (129, Tick()), (130, Tick()),
    ])  # fmt: skip
    assert results[-2] == []
    assert Overflowed("c1", "intake", "complaints") in results[-1]
    assert acd.calls["c1"].shown_status == "overflowed"
    # complaints → intake would be a loop: at complaints' overflow_after the call stays.
    results = run(acd, [(200, CallSeen("c1")), (300, CallSeen("c1")), (311, Tick())])
    assert acd.calls["c1"].status == "waiting"
    assert not [a for a in flat(results) if isinstance(a, Overflowed)]
    # max_wait of the group it waits in (complaints: 400 s), counted from queueing.
    results = run(acd, [(360, CallSeen("c1")), (409, Tick()), (410, Tick())])
    assert results[-2] == []
    assert TimedOut("c1", "complaints", "max_wait") in results[-1]
    assert acd.calls["c1"].status == "timeout"


def test_max_wait_is_the_current_groups(config: AgentsConfig) -> None:
    acd = Acd(config)
    run(acd, [*everyone_away(), (0, queued("c1")), (70, CallSeen("c1")), (120, Tick()),
              (180, CallSeen("c1")), (250, CallSeen("c1")), (300, Tick())])  # fmt: skip
    assert acd.calls["c1"].status == "waiting"  # intake's 300 s no longer apply
    run(acd, [(360, CallSeen("c1")), (400, Tick())])
    assert acd.calls["c1"].status == "timeout"


def test_after_overflow_the_first_groups_agents_still_take_the_call(config: AgentsConfig) -> None:
    acd = Acd(config)
    results = run(acd, [*everyone_away(), (0, queued("c1")), (70, CallSeen("c1")),
                        (120, Tick()), (125, ready("a1"))])  # fmt: skip
    assert offers(results) == [("c1", "a1")]


def test_overflow_goes_to_the_other_groups_ready_agent(config: AgentsConfig) -> None:
    acd = Acd(config)
    results = run(acd, [
        (0, PresenceSet("a1", AWAY)), (0, PresenceSet("a2", AWAY)), (0, ready("a3")),
        (1, queued("c1")), (60, Tick()), (100, CallSeen("c1")), (121, Tick()),
    ])  # fmt: skip
    assert offers(results) == [("c1", "a3")]
    assert offers(results[-1:]) == [("c1", "a3")]  # at the overflow, not before


def test_nobody_signed_in_overflows_at_once_or_times_out(config: AgentsConfig) -> None:
    acd = Acd(config)
    results = run(acd, [(0, ready("a3")), (1, queued("c1"))])
    assert Overflowed("c1", "intake", "complaints") in results[-1]
    assert offers(results) == [("c1", "a3")]
    lone = Acd(config)
    results = run(lone, [(1, queued("c2", "experts"))])
    assert TimedOut("c2", "experts", "no_agents") in results[-1]
    assert lone.calls["c2"].status == "timeout"


def test_a_skill_no_signed_in_agent_has_is_no_agents(config: AgentsConfig) -> None:
    acd = Acd(config)
    needs_cantonese = queued("c1", "complaints", skills=frozenset({"cantonese"}))
    results = run(acd, [(0, ready("a2")), (0, ready("a3")), (1, needs_cantonese)])
    # complaints overflows to intake at once (a1 is in intake but signed out): no one left.
    assert [type(a) for a in results[-1]] == [Overflowed, TimedOut]


def test_the_caller_leaving_during_an_offer_frees_the_agent(config: AgentsConfig) -> None:
    acd = Acd(config)
    results = run(acd, [(0, ready("a1")), (10, queued("c1")), (15, CallLeft("c1", "hangup"))])
    assert OfferWithdrawn("c1", "a1") in results[-1]
    assert acd.agents["a1"].state == READY
    assert acd.agents["a1"].call_id is None
    assert acd.agents["a1"].idle(at(20)) == 15.0  # 0..10 and 15..20
    assert (acd.calls["c1"].status, acd.calls["c1"].detail) == ("left", "hangup")
    assert run(acd, [(16, CallLeft("c1", "hangup"))]) == [[]]


def test_calls_whose_ivr_is_gone_are_dropped_and_finished_ones_forgotten(
    config: AgentsConfig,
) -> None:
    acd = Acd(config)
    run(acd, [(0, PresenceSet("a1", AWAY)), (0, queued("c1")), (0, queued("c2")),
              (50, CallSeen("c2"))])  # fmt: skip
    results = run(acd, [(60, Tick())])
    assert CallLost("c1") in results[0]
    assert (acd.calls["c1"].status, acd.calls["c1"].detail) == ("left", "gone")
    assert acd.calls["c2"].status == "waiting"
    results = run(acd, [(60 + 600, Tick())])
    assert CallForgotten("c1") in results[0]
    assert "c1" not in acd.calls


def test_queueing_is_idempotent(config: AgentsConfig) -> None:
    acd = Acd(config)
    run(acd, [(0, PresenceSet("a1", AWAY)), (1, queued("c1"))])
    assert run(acd, [(5, queued("c1"))]) == [[]]
    assert acd.calls["c1"].enqueued_at == at(1)


def test_setting_the_same_state_again_keeps_the_idle_clock(config: AgentsConfig) -> None:
    acd = Acd(config)
    run(acd, [(0, ready("a1")), (30, ready("a1"))])
    assert acd.agents["a1"].since == at(0)


@pytest.mark.parametrize(
    ("event", "error"),
    [
        (PresenceSet("nobody", READY), UnknownAgent),
        (PresenceSet("a1", BUSY), AcdError),
        (queued("c9", "nogroup"), UnknownGroup),
        (queued("c9", priority="urgent"), AcdError),
        (OfferResult("c9", "answered"), UnknownCall),
        (CallLeft("c9", "hangup"), UnknownCall),
        (CallSeen("c9"), UnknownCall),
    ],
)
def test_bad_events_are_errors(config: AgentsConfig, event: Event, error: type[Exception]) -> None:
    with pytest.raises(error):
        Acd(config).handle(event, T0)


def test_bad_outcome_and_reason(config: AgentsConfig) -> None:
    acd = Acd(config)
    run(acd, [(0, ready("a1")), (1, queued("c1"))])
    with pytest.raises(AcdError, match="outcome"):
        acd.handle(OfferResult("c1", "maybe"), at(2))
    with pytest.raises(AcdError, match="reason"):
        acd.handle(CallLeft("c1", "bored"), at(2))


def test_state_round_trips_through_records(config: AgentsConfig) -> None:
    """The store rebuilds the ACD from its records for every event: nothing else is kept."""
    acd = Acd(config)
    run(acd, [(0, ready("a1")), (5, PresenceSet("a2", AWAY)), (10, queued("c1")),
              (11, queued("c2"))])  # fmt: skip
    again = Acd(config, acd.agents.values(), acd.calls.values())
    results = run(again, [(12, OfferResult("c1", "no_answer")), (13, ready("a2"))])
    assert offers(results) == [("c1", "a2")]  # c1 keeps its place ahead of c2


def test_a_call_queued_again_after_its_queueing_ended_is_queued_anew(config: AgentsConfig) -> None:
    """A menu may queue one call twice (e.g. ``on_failure`` queues to another group)."""
    acd = Acd(config)
    run(acd, [(0, PresenceSet("a3", AWAY)), (1, queued("c1", "experts"))])
    assert acd.calls["c1"].status == "timeout"  # nobody of experts signed in
    results = run(acd, [(2, queued("c1", "complaints"))])
    assert acd.calls["c1"].status == "waiting"
    assert (acd.calls["c1"].group, acd.calls["c1"].enqueued_at) == ("complaints", at(2))
    assert PositionChanged("c1", 1) in results[0]
