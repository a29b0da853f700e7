"""Pure parts of the console: password hashing, login throttle, fan-out and dedupe."""

from __future__ import annotations

import json

import pytest

from workorders.console.auth import (
    hash_password,
    session_digest,
    verify_password,
)
from workorders.console.fanout import (
    Audience,
    Fanout,
    Viewer,
    audience_of,
    parse_event,
    recipients,
)
from workorders.errors import InvalidInput
from workorders.events.dedupe import EventDeduper

pytestmark = pytest.mark.unit

# -- passwords ------------------------------------------------------------------------------


def test_a_hash_verifies_its_password_only() -> None:
    stored = hash_password("正确的密码horse")
    assert stored.startswith("scrypt$16384$8$1$")
    assert "正确的密码horse" not in stored
    assert verify_password("正确的密码horse", stored)
    assert not verify_password("正确的密码horsE", stored)
    assert not verify_password("", stored)


def test_each_hash_has_its_own_salt() -> None:
    assert hash_password("password-1") != hash_password("password-1")
    salt = b"0123456789abcdef"
    assert hash_password("password-1", salt=salt) == hash_password("password-1", salt=salt)


@pytest.mark.parametrize("password", ["short", "x" * 257, "with\nnewline", "nul\x00inside"])
def test_unacceptable_passwords_are_refused(password: str) -> None:
    with pytest.raises(InvalidInput) as error:
        hash_password(password)
    assert error.value.field == "password"


@pytest.mark.parametrize(
    "stored",
    [
        None,
        "",
        "plain",
        "bcrypt$16384$8$1$c2FsdA$aGFzaA",
        "scrypt$16384$8$1$!!!$aGFzaA",
        "scrypt$16385$8$1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",  # N not a power of 2
        "scrypt$16384$8$1$c2FsdHNhbHRzYWx0$aGFzaA",  # key too short
        "scrypt$abc$8$1$c2FsdA$aGFzaA",
    ],
)
def test_malformed_or_missing_hashes_never_verify(stored: str | None) -> None:
    assert verify_password("password-1", stored) is False


def test_session_digest_is_sha256_hex() -> None:
    digest = session_digest("abc")
    assert len(digest) == 64 and digest != "abc"
    assert digest == session_digest("abc")


# -- fan-out --------------------------------------------------------------------------------

AGENT_1 = Viewer("a1001", "call_taker", frozenset({"intake", "emergency_agents"}))
AGENT_2 = Viewer("a1002", "call_taker", frozenset({"intake", "complaints"}))
SUPERVISOR = Viewer("s1", "supervisor")
ADMIN = Viewer("ops", "admin")
VIEWERS = {1: AGENT_1, 2: AGENT_2, 3: SUPERVISOR, 4: ADMIN}


@pytest.mark.parametrize(
    ("topic", "expected"),
    [
        ("hotline/pops/intake", [1, 2]),
        ("hotline/pops/complaints", [2]),
        ("hotline/pops/emergency_agents", [1]),
        ("hotline/pops/nobody_here", []),
        ("hotline/agents/a1001/pops", [1]),
        ("hotline/agents/a1002/pops", [2]),
        ("hotline/agents/s1/pops", [3]),
        ("hotline/alerts/supervisors", [3, 4]),
        ("hotline/queues/intake", [1, 2, 3, 4]),
        ("hotline/queues/complaints", [2, 3, 4]),
        ("hotline/calls/abc/commands", []),
        ("hotline/pops/intake/extra", []),
        ("hotline/pops/+", []),
        ("hotline/pops/#", []),
        ("hotline/pops/", []),
        ("other/pops/intake", []),
        ("hotline/agents/a1001/pops/x", []),
    ],
)
def test_recipients_of_each_topic(topic: str, expected: list[int]) -> None:
    assert recipients(topic, VIEWERS) == expected


def test_an_agent_never_sees_another_agents_pops_or_alerts() -> None:
    assert audience_of("hotline/agents/a1002/pops").includes(AGENT_1) is False
    assert audience_of("hotline/alerts/supervisors").includes(AGENT_1) is False
    assert Audience().includes(SUPERVISOR) is False


def _event(event_id: str, kind: str = "call.answered") -> bytes:
    payload = {"call_id": "c1", "caller_number": "13800138000", "group": "intake"}
    event = {"id": event_id, "type": kind, "at": "2025-03-14T02:00:00.000Z", "payload": payload}
    return json.dumps(event).encode()


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"not json",
        b"\xff\xfe",
        b"[]",
        b'{"type": "x", "payload": {}}',
        b'{"id": "", "type": "x", "payload": {}}',
        b'{"id": 5, "type": "x", "payload": {}}',
        b'{"id": "e", "type": "x", "payload": []}',
        b'{"id": "e", "payload": {}}',
        b"[" * 100_000,
    ],
)
def test_malformed_payloads_are_not_events(payload: bytes) -> None:
    assert parse_event(payload) is None


def test_fanout_drops_repeated_ids_and_counts_them() -> None:
    fanout = Fanout()
    first = fanout.route("hotline/pops/intake", _event("e1"), VIEWERS)
    assert first is not None and first.keys == (1, 2)
    assert first.message["event"]["id"] == "e1"
    assert first.message["topic"] == "hotline/pops/intake"
    assert fanout.route("hotline/pops/intake", _event("e1"), VIEWERS) is None
    assert fanout.dropped_duplicates == 1
    assert fanout.route("hotline/pops/intake", b"junk", VIEWERS) is None
    assert fanout.dropped_malformed == 1
    assert fanout.route("hotline/pops/intake", _event("e2"), VIEWERS) is not None


def test_the_fanout_dedupes_with_a_bounded_memory() -> None:
    fanout = Fanout(EventDeduper(capacity=2))
    for event_id in ("a", "b", "c"):  # "a" is forgotten when "c" arrives
        assert fanout.route("hotline/pops/intake", _event(event_id), VIEWERS) is not None
    assert fanout.route("hotline/pops/intake", _event("c"), VIEWERS) is None
    assert fanout.route("hotline/pops/intake", _event("a"), VIEWERS) is not None


def test_an_event_nobody_may_see_is_still_remembered() -> None:
    """A duplicate that arrives after its audience logged in is still a duplicate."""
    fanout = Fanout()
    assert fanout.route("hotline/pops/intake", _event("e1"), {}) is None
    assert fanout.route("hotline/pops/intake", _event("e1"), VIEWERS) is None
