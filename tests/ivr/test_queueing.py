"""The IVR's pure queue wait: ACD statuses, keys, transfer progress and time in; actions out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ivr.queueing import (
    AgentOffer,
    Announce,
    Finish,
    Leave,
    OfferEnded,
    QueueStatus,
    QueueWait,
    Refer,
    Report,
    Silence,
    parse_status,
    position_prompts,
    report_outcome,
)

pytestmark = pytest.mark.unit

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
OFFER = AgentOffer("a1002", "1002", 20.0)
HINT = "queue_callback_hint"


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def waiting(position: int, version: str | None = None) -> QueueStatus:
    return QueueStatus("waiting", version or f"waiting:{position}", position)


def offered(offer: AgentOffer = OFFER, version: str = "offered:1") -> QueueStatus:
    return QueueStatus("offered", version, None, offer)


@pytest.mark.parametrize(
    ("position", "prompts"),
    [
        (1, ("queue_next",)),
        (2, ("queue_ahead", "number/1", "queue_callers")),
        (13, ("queue_ahead", "number/ten", "digits/2", "queue_callers")),
        (101, ("queue_ahead", "number/1", "number/hundred", "queue_callers")),
    ],
)
def test_position_prompts_say_how_many_are_ahead(position: int, prompts: tuple[str, ...]) -> None:
    assert position_prompts(position) == prompts


def test_the_position_is_announced_when_it_changes_and_now_and_then() -> None:
    wait = QueueWait()
    assert wait.on_status(waiting(3), at(0)) == [
        Announce(("queue_ahead", "digits/2", "queue_callers", HINT))
    ]
    assert wait.polling
    assert wait.on_status(waiting(3), at(10)) == []  # the long-poll came back unchanged
    assert wait.on_status(waiting(2), at(12)) == [
        Announce(("queue_ahead", "number/1", "queue_callers", HINT))
    ]
    assert wait.on_time(at(20)) == []
    assert wait.on_time(at(32)) == [Announce(("queue_ahead", "number/1", "queue_callers", HINT))]


def test_an_offer_is_a_refer_and_an_answer_ends_the_wait() -> None:
    wait = QueueWait()
    wait.on_status(waiting(1), at(0))
    assert wait.on_status(offered(), at(5)) == [Silence(), Refer(OFFER)]
    assert wait.transferring
    assert wait.deadline() == at(5 + 20 + 5)
    assert wait.on_key("1") == []  # too late for a callback: the phone rings
    assert wait.on_transfer("accepted", 202, at(6)) == []
    assert wait.on_transfer("answered", 200, at(9)) == [
        OfferEnded(OFFER, at(5), at(9), "answered", 200),
        Report("answered"),
        Silence(),
        Finish(True, "connected"),
    ]
    assert wait.done


@pytest.mark.parametrize(
    ("stage", "code", "second", "outcome", "report"),
    [
        ("failed", 486, 8, "refused", "busy"),
        ("failed", 480, 8, "refused", "no_answer"),
        ("failed", 404, 8, "refused", "failed"),
        (None, None, 30, "no_answer", "no_answer"),  # no NOTIFY within ring time + margin
    ],
)
def test_an_unanswered_offer_is_reported_and_the_wait_goes_on(
    stage: str | None, code: int | None, second: float, outcome: str, report: str
) -> None:
    wait = QueueWait()
    wait.on_status(waiting(1, "v1"), at(0))
    wait.on_status(offered(), at(5))
    if stage is None:
        assert wait.on_time(at(29)) == []
        todo = wait.on_time(at(second))
    else:
        todo = wait.on_transfer(stage, code, at(second))
    assert todo == [OfferEnded(OFFER, at(5), at(second), outcome, code), Report(report)]
    assert wait.polling
    # The stale "offered" the poll may still see is no new offer; the caller hears where
    # they are again, and the next change is taken.
    assert wait.on_status(offered(), at(second + 1)) == [Announce(("queue_next", HINT))]
    assert wait.on_status(waiting(1, "v2"), at(second + 2)) == []
    other = AgentOffer("a1001", "1001", 20.0)
    assert wait.on_status(offered(other, "offered:2"), at(second + 3)) == [Silence(), Refer(other)]


def test_the_callback_key_leaves_the_queue() -> None:
    wait = QueueWait()
    wait.on_status(waiting(4), at(0))
    assert wait.on_key("5") == []
    assert wait.on_key("1") == [Leave("callback"), Silence(), Finish(False, "callback")]
    assert wait.done
    assert wait.on_status(offered(), at(1)) == []


@pytest.mark.parametrize(
    ("status", "finish"),
    [
        (QueueStatus("timeout", "t", detail="max_wait"), Finish(False, "max_wait")),
        (QueueStatus("timeout", "t", detail="no_agents"), Finish(False, "no_agents")),
        (QueueStatus("left", "l", detail="gone"), Finish(False, "gone")),
        (QueueStatus("connected", "c"), Finish(True, "connected")),
    ],
)
def test_final_statuses_end_the_wait(status: QueueStatus, finish: Finish) -> None:
    wait = QueueWait()
    assert wait.on_status(status, at(0)) == [Silence(), finish]
    assert wait.done


def test_an_unreachable_acd_and_a_cancelled_wait() -> None:
    wait = QueueWait()
    assert wait.on_failure("HTTP 503") == [Silence(), Finish(False, "unavailable")]
    wait = QueueWait()
    wait.on_status(waiting(2), at(0))
    assert wait.on_failure("timeout") == [Leave("flow"), Silence(), Finish(False, "unavailable")]
    wait = QueueWait()
    wait.on_status(waiting(2), at(0))
    assert wait.cancel("hangup") == [Silence(), Leave("hangup")]
    assert wait.cancel("hangup") == []


@pytest.mark.parametrize(
    ("data", "status"),
    [
        ({"status": "waiting", "version": "v", "position": 2, "offer": None},
         QueueStatus("waiting", "v", 2)),
        ({"status": "offered", "version": "v", "position": None,
          "offer": {"agent": "a1", "extension": "1001", "ring_seconds": 20}},
         QueueStatus("offered", "v", None, AgentOffer("a1", "1001", 20.0))),
        ({"status": "timeout", "version": "v", "detail": "max_wait"},
         QueueStatus("timeout", "v", detail="max_wait")),
        ({"error": "nonsense"}, QueueStatus("left", "", detail="unavailable")),
        ({"status": "offered", "version": "v", "offer": {"agent": "a1"}},
         QueueStatus("left", "", detail="unavailable")),
    ],
)  # fmt: skip
def test_parse_status(data: dict[str, Any], status: QueueStatus) -> None:
    assert parse_status(data) == status


def test_report_outcomes() -> None:
    assert [report_outcome(c) for c in (486, 600, 408, 487, None, 404, 503)] == [
        "busy", "busy", "no_answer", "no_answer", "no_answer", "failed", "failed",
    ]  # fmt: skip
