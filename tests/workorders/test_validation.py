from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from workorders.errors import InvalidInput, MalformedRequest
from workorders.model import Classification, Evidence, NewOrder
from workorders.validation import (
    check_text,
    parse_answered_call,
    parse_idempotency_key,
    parse_json_object,
    parse_new_order,
    parse_page,
    parse_transcript_update,
)

pytestmark = pytest.mark.unit

SPOKEN: dict[str, Any] = {"text": "我 爸 昏迷 了", "status": "done"}
CLASSIFIED: dict[str, Any] = {
    "category": "help",
    "domain": "medical_service",
    "emergency_line": "medical_120",
    "evidence": [{"kind": "emergency", "label": "medical_120", "word": "昏迷", "weight": 2}],
}
NOW = datetime(2025, 3, 14, 2, 30, tzinfo=UTC)  # the service's clock
VALID_ORDER: dict[str, Any] = {
    "caller_number": "13800138000",
    "category": "complaint",
    "menu_path": ["2", "1"],
}


def test_minimal_order_gets_defaults() -> None:
    assert parse_new_order(VALID_ORDER, default_group="intake", now=NOW) == NewOrder(
        caller_number="13800138000",
        category="complaint",
        menu_path=("2", "1"),
        group="intake",
    )


def test_full_order() -> None:
    body = {
        **VALID_ORDER,
        "flags": ["repeat_caller", "confidential", "repeat_caller"],
        "recording": "2025/03/14/c-1.wav",
        "flow_version": "menu-v3",
        "call_id": "c-1@edge",
        "group": "complaints",
        "received_at": "2025-03-14T10:00:00+08:00",
    }
    new = parse_new_order(body, default_group="intake", now=NOW)
    assert new.flags == ("repeat_caller", "confidential")
    assert new.recording == "2025/03/14/c-1.wav"
    assert new.group == "complaints"
    assert new.received_at == datetime(2025, 3, 14, 2, 0, tzinfo=UTC)
    assert new.canonical()["received_at"] == "2025-03-14T02:00:00.000Z"


@pytest.mark.parametrize("caller", ["13800138000", "+8613800138000", "anonymous", "alice", ""])
def test_any_sip_user_part_is_a_caller(caller: str) -> None:
    """A real call's order is never refused over the shape of its caller ID."""
    assert (
        parse_new_order(
            {**VALID_ORDER, "caller_number": caller}, default_group="g", now=NOW
        ).caller_number
        == caller
    )


def test_empty_flow_version_means_none() -> None:
    new = parse_new_order({**VALID_ORDER, "flow_version": ""}, default_group="intake", now=NOW)
    assert new.flow_version is None


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"caller_number": None}, "caller_number"),
        ({"caller_number": 13800138000}, "caller_number"),
        ({"caller_number": "138 0013"}, "caller_number"),
        ({"caller_number": "1" * 65}, "caller_number"),
        ({"caller_number": "138\n0013"}, "caller_number"),
        ({"category": "praise"}, "category"),
        ({"category": None}, "category"),
        ({"category": ""}, "category"),
        ({"menu_path": None}, "menu_path"),
        ({"menu_path": "21"}, "menu_path"),
        ({"menu_path": [2, 1]}, "menu_path"),
        ({"menu_path": [""]}, "menu_path"),
        ({"menu_path": ["1"] * 33}, "menu_path"),
        ({"flags": "urgent"}, "flags"),
        ({"flags": ["Has Space"]}, "flags"),
        ({"recording": "/etc/passwd"}, "recording"),
        ({"recording": "../x.wav"}, "recording"),
        ({"recording": "a//b.wav"}, "recording"),
        ({"recording": "a\\b.wav"}, "recording"),
        ({"recording": 7}, "recording"),
        ({"group": "pops/#"}, "group"),
        ({"group": ""}, "group"),
        ({"flow_version": ["v1"]}, "flow_version"),
        ({"call_id": "x" * 256}, "call_id"),
        ({"received_at": "yesterday"}, "received_at"),
        ({"received_at": "2025-03-14T10:00:00"}, "received_at"),
        ({"received_at": 1741917600}, "received_at"),
        ({"priority": "asap"}, "priority"),
        ({"domain": "astrology"}, "domain"),
        ({"domain": "医疗服务"}, "domain"),  # the code, not the label
    ],
)
def test_bad_order_fields_are_named(change: dict[str, Any], field: str) -> None:
    # A None in the table means "leave the field out".
    body = {key: value for key, value in {**VALID_ORDER, **change}.items() if value is not None}
    with pytest.raises(InvalidInput) as caught:
        parse_new_order(body, default_group="intake", now=NOW)
    assert caught.value.field == field


@pytest.mark.parametrize(("value", "error"), [(None, MalformedRequest), ("", MalformedRequest)])
def test_idempotency_key_is_required(value: str | None, error: type[Exception]) -> None:
    with pytest.raises(error):
        parse_idempotency_key(value)


@pytest.mark.parametrize("value", ["has space", "x" * 201, "ключ"])
def test_idempotency_key_shape(value: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_idempotency_key(value)
    assert caught.value.field == "Idempotency-Key"


def test_idempotency_key_accepted() -> None:
    assert parse_idempotency_key("call-1@edge:order") == "call-1@edge:order"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "done"}, "text"),
        ({"text": 5, "status": "done"}, "text"),
        ({"text": "a\x00b", "status": "done"}, "text"),
        ({"text": "\ud800", "status": "done"}, "text"),
        ({"text": "喂", "status": "pending"}, "status"),
        ({"text": "喂"}, "status"),
        ({**SPOKEN, "classification": "emergency"}, "classification"),
        ({**SPOKEN, "classification": {**CLASSIFIED, "score": 3}}, "classification.score"),
        ({**SPOKEN, "classification": {**CLASSIFIED, "category": "x"}}, "classification.category"),
        ({**SPOKEN, "classification": {"domain": "other"}}, "classification.category"),
        ({**SPOKEN, "classification": {**CLASSIFIED, "domain": "其它"}}, "classification.domain"),
        (
            {**SPOKEN, "classification": {**CLASSIFIED, "emergency_line": "120 now"}},
            "classification.emergency_line",
        ),
        (
            {**SPOKEN, "classification": {**CLASSIFIED, "confirm_line": ["medical_120"]}},
            "classification.confirm_line",
        ),
        (  # sure and to-be-confirmed at once: one of them is a lie
            {**SPOKEN, "classification": {**CLASSIFIED, "confirm_line": "fire_119"}},
            "classification.confirm_line",
        ),
        ({**SPOKEN, "classification": {**CLASSIFIED, "evidence": {}}}, "classification.evidence"),
        (
            {**SPOKEN, "classification": {**CLASSIFIED, "evidence": [{"kind": "domain"}]}},
            "classification.evidence[0]",
        ),
        (
            {
                **SPOKEN,
                "classification": {
                    **CLASSIFIED,
                    "evidence": [{"kind": "x", "label": "y", "word": "", "weight": 1}],
                },
            },
            "classification.evidence[0]",
        ),
        (
            {
                **SPOKEN,
                "classification": {
                    **CLASSIFIED,
                    "evidence": [{"kind": "x", "label": "y", "word": "z", "weight": True}],
                },
            },
            "classification.evidence[0]",
        ),
    ],
)
def test_bad_transcript(body: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_transcript_update(body)
    assert caught.value.field == field


@pytest.mark.parametrize("status", ["done", "unavailable"])
def test_transcript(status: str) -> None:
    update = parse_transcript_update({"text": "我要投诉", "status": status})
    assert (update.text, update.status, update.classification) == ("我要投诉", status, None)


def test_transcript_with_its_classification() -> None:
    update = parse_transcript_update({**SPOKEN, "classification": CLASSIFIED})
    assert update.classification == Classification(
        "help", "medical_service", "medical_120", (Evidence("emergency", "medical_120", "昏迷", 2),)
    )
    assert update.classification.to_json() == {**CLASSIFIED, "confirm_line": None}
    assert not update.classification.domain_backed  # no domain word among the evidence


def test_order_with_domain_and_priority() -> None:
    new = parse_new_order(
        {**VALID_ORDER, "domain": "infectious_disease", "priority": "urgent"},
        default_group="g",
        now=NOW,
    )
    assert (new.domain, new.priority) == ("infectious_disease", "urgent")
    assert (new.canonical()["domain"], new.canonical()["priority"]) == (
        "infectious_disease",
        "urgent",
    )
    # Without them the fingerprint is what it was before the fields existed.
    assert "domain" not in parse_new_order(VALID_ORDER, default_group="g", now=NOW).canonical()


def test_answered_call() -> None:
    body = {"call_id": "c-1", "caller_number": "13800138000", "callee": "12320"}
    call = parse_answered_call(body, default_group="intake")
    assert (call.group, call.worker) == ("intake", None)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"call_id": ""}, "call_id"),
        ({"callee": ""}, "callee"),
        ({"callee": "123 20"}, "callee"),
        ({"caller_number": 5}, "caller_number"),
        ({"group": "a b"}, "group"),
        ({"worker": 3}, "worker"),
    ],
)
def test_bad_answered_call(change: dict[str, Any], field: str) -> None:
    body = {"call_id": "c-1", "caller_number": "13800138000", "callee": "12320", **change}
    with pytest.raises(InvalidInput) as caught:
        parse_answered_call(body, default_group="intake")
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, (None, 50, 0)),
        ({"caller": "13800138000", "limit": "10", "offset": "20"}, ("13800138000", 10, 20)),
    ],
)
def test_page(query: dict[str, str], expected: tuple[str | None, int, int]) -> None:
    page = parse_page(query)
    assert (page.caller, page.limit, page.offset) == expected


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "201"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"offset": "-1"}, "offset"),
        ({"caller": "13800138000' OR 1=1"}, "caller"),
    ],
)
def test_bad_page(query: dict[str, str], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_page(query)
    assert caught.value.field == field


# -- issue 13, item 12: hostile input gives a 4xx naming the field -------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"caller_number": "138\ud800"}, "caller_number"),  # a lone surrogate
        ({"received_at": "9999-12-31T23:59:59-05:00"}, "received_at"),  # overflows in UTC
        ({"received_at": "0001-01-01T00:00:00+08:00"}, "received_at"),
        ({"received_at": "9999-12-31T00:00:00Z"}, "received_at"),
        ({"received_at": "7161-03-14T10:00:00+08:00"}, "received_at"),  # a typo, not an order
        ({"received_at": "2025-01-01T00:00:00Z"}, "received_at"),  # older than 30 days
        ({"received_at": "2025-03-14T03:00:00Z"}, "received_at"),  # half an hour ahead
        ({"flags": None}, "flags"),
        ({"call_id": "a\x01b"}, "call_id"),
        ({"call_id": "a\x00b"}, "call_id"),
        ({"call_id": "a\ud800b"}, "call_id"),
    ],
)
def test_hostile_order_fields_are_named(change: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_new_order({**VALID_ORDER, **change}, default_group="intake", now=NOW)
    assert caught.value.field == field


def test_received_at_window_follows_the_given_clock() -> None:
    body = {**VALID_ORDER, "received_at": "2025-02-20T10:00:00+08:00"}  # 22 days before NOW
    assert parse_new_order(body, default_group="g", now=NOW).received_at == datetime(
        2025, 2, 20, 2, 0, tzinfo=UTC
    )
    later = datetime(2025, 4, 1, tzinfo=UTC)
    with pytest.raises(InvalidInput):
        parse_new_order(body, default_group="g", now=later)


@pytest.mark.parametrize("call_id", ["a84b4c76e66710@pc33.example.com", "全角-呼叫", "x" * 255])
def test_printable_call_ids_stay_accepted(call_id: str) -> None:
    assert parse_new_order({**VALID_ORDER, "call_id": call_id}, default_group="g", now=NOW).call_id
    body = {"call_id": call_id, "caller_number": "1", "callee": "12320"}
    assert parse_answered_call(body, default_group="g").call_id == call_id


@pytest.mark.parametrize("call_id", ["a\x01b", "x" * 256, "a\ud800"])
def test_unprintable_call_ids_of_answered_calls_are_named(call_id: str) -> None:
    body = {"call_id": call_id, "caller_number": "1", "callee": "12320"}
    with pytest.raises(InvalidInput) as caught:
        parse_answered_call(body, default_group="g")
    assert caught.value.field == "call_id"
    assert "printable" in caught.value.message


@pytest.mark.parametrize(
    ("value", "multiline", "ok"),
    [
        ("张三\n李四", True, True),
        ("张三\n李四", False, False),
        ("a\x00b", True, False),
        ("a\ud800b", True, False),
        ("a\x85b", True, False),  # a C1 control
        ("正常文字", False, True),
    ],
)
def test_check_text(value: str, multiline: bool, ok: bool) -> None:
    if ok:
        assert check_text(value, "note", max_length=10, multiline=multiline) == value
    else:
        with pytest.raises(InvalidInput) as caught:
            check_text(value, "note", max_length=10, multiline=multiline)
        assert caught.value.field == "note"
        assert caught.value.message.startswith("备注")  # the console shows it in Chinese


@pytest.mark.parametrize(
    "raw",
    [
        '{"a": 1}'.encode("utf-16"),
        '{"a": "\u00e9"}'.encode("latin-1"),
        b"\xff\xfe",
        b"[]",
        b"{",
    ],
)
def test_bodies_must_be_utf8_json_objects(raw: bytes) -> None:
    with pytest.raises(MalformedRequest):
        parse_json_object(raw)


def test_a_utf8_body_is_read() -> None:
    assert parse_json_object('{"名": "张"}'.encode()) == {"名": "张"}


def test_a_line_to_confirm_is_kept() -> None:
    """The IVR's classifier sends ``confirm_line`` (asked, not sure) with no emergency_line."""
    body = {**CLASSIFIED, "emergency_line": None, "confirm_line": "medical_120"}
    update = parse_transcript_update({**SPOKEN, "classification": body})
    assert update.classification is not None
    assert (update.classification.emergency_line, update.classification.confirm_line) == (
        None,
        "medical_120",
    )
    assert update.classification.to_json()["confirm_line"] == "medical_120"
