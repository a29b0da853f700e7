"""Issue 13, item 11, pure parts: topic levels, the publisher's order, quarantine."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import unquote

import pytest

from events.topics import MAX_LEVEL, topic_level
from workorders.events.agents import agent_pop_topic, queue_topic
from workorders.events.delivery import delivery_order, should_quarantine
from workorders.events.screenpop import OutboxMessage, command_topic, pop_topic

pytestmark = pytest.mark.unit

AT = datetime(2025, 3, 14, 2, 0, tzinfo=UTC)
HOSTILE = ["a\x01b", "n\0ul", "x/y", "a+b", "#", "100%", "全角", "\ud800", "sp ace", "\x7f", ""]


@pytest.mark.parametrize("text", HOSTILE)
def test_a_level_is_safe_and_reversible(text: str) -> None:
    level = topic_level(text)
    assert level and all(c.isascii() and c.isprintable() and c not in "/+# " for c in level)
    if text:
        assert unquote(level, errors="surrogatepass") == text


def test_plain_values_are_unchanged() -> None:
    for text in ("intake", "emergency_agents", "a1001", "a84b4c76e66710@pc33.example.com"):
        assert topic_level(text) == text


def test_long_values_are_cut_unique_and_bounded() -> None:
    first, second = topic_level("x" * 300 + "1"), topic_level("x" * 300 + "2")
    assert first != second
    assert len(first) <= MAX_LEVEL and "~" in first
    chinese = topic_level("号" * 255)  # 2295 characters encoded
    assert len(chinese) <= MAX_LEVEL
    assert "%" not in chinese.split("~")[0][-2:]  # no escape split in two


@pytest.mark.parametrize(
    "topic",
    [
        command_topic("a\x01b/c+d#"),
        pop_topic("g/#"),
        agent_pop_topic("a+1"),
        queue_topic("q\0"),
    ],
)
def test_every_topic_builder_sanitises(topic: str) -> None:
    assert len(topic.split("/")) in (3, 4)
    assert not set(topic) & {"+", "#", "\0", "\x01"}


def _row(seq: int, topic: str, attempts: int = 0) -> OutboxMessage:
    return OutboxMessage(f"e{seq}", topic, {}, AT, None, attempts)


def test_suspects_go_last_and_hold_only_their_own_topic() -> None:
    rows = [
        _row(1, "hotline/calls/bad/commands", attempts=2),
        _row(2, "hotline/pops/intake"),
        _row(3, "hotline/calls/bad/commands"),  # behind the suspect: waits
        _row(4, "hotline/pops/intake", attempts=1),  # a suspect of its own
        _row(5, "hotline/pops/intake"),  # behind that one: waits
        _row(6, "hotline/agents/a1001/pops"),
    ]
    assert [row.id for row in delivery_order(rows)] == ["e2", "e6", "e1", "e4"]


def test_fresh_rows_keep_their_order() -> None:
    rows = [_row(n, f"t/{n % 2}") for n in range(6)]
    assert delivery_order(rows) == rows


def test_quarantine_after_max_attempts() -> None:
    assert not should_quarantine(4, 5)
    assert should_quarantine(5, 5)
