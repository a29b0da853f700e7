"""The events contract, pure: models, generated schema, topics and what consumers read.

No sockets: the wire shapes are checked against the models, the generated JSON Schema, the
service's builders and the fields the console's JavaScript reads.
"""

from __future__ import annotations

import copy
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from pydantic import ValidationError

from events.payloads import EVENT_KINDS, EVENT_TYPES, Event, encode_event, utc_ms
from events.schema import SCHEMA_PATH, events_schema, events_schema_text
from events.topics import (
    CONSOLE_SUBSCRIPTIONS,
    agent_pop_topic,
    call_id_of,
    command_topic,
    pop_topic,
    queue_topic,
)
from ivr.bus import partial_event
from tests.events.samples import SAMPLES
from workorders.events.agents import EarlierOrder, call_offered_event, queue_changed_event
from workorders.events.alerts import alert_event
from workorders.events.screenpop import (
    call_answered_event,
    emergency_command,
    order_created_event,
)
from workorders.lifecycle.model import Alert
from workorders.model import AnsweredCall, WorkOrder

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
STATIC = REPO / "workorders/console/static"
VALIDATOR = jsonschema.Draft202012Validator(events_schema())
MODELS: dict[str, type[Event]] = {kind.type: kind.model for kind in EVENT_KINDS}
AT = datetime(2025, 3, 14, 2, 0, tzinfo=UTC)


def test_the_kept_schema_is_the_generated_one() -> None:
    kept = (REPO / SCHEMA_PATH).read_text(encoding="utf-8")
    assert kept == events_schema_text(), "regenerate: hotline events schema > " + SCHEMA_PATH
    jsonschema.Draft202012Validator.check_schema(json.loads(kept))


def test_every_type_has_a_sample_a_model_and_a_definition() -> None:
    assert set(EVENT_TYPES) == set(SAMPLES) == set(events_schema()["$defs"])
    assert len(EVENT_TYPES) == len(set(EVENT_TYPES))


@pytest.mark.parametrize("event_type", sorted(SAMPLES))
def test_a_sample_passes_the_model_and_the_schema_unchanged(event_type: str) -> None:
    sample = SAMPLES[event_type]
    assert VALIDATOR.is_valid(sample)
    model = MODELS[event_type].model_validate_json(json.dumps(sample))
    assert model.wire() == sample  # same names, same shapes, null kept as null
    assert list(model.wire()) == ["id", "type", "at", "payload"]
    assert json.loads(encode_event(model.wire())) == sample


def _mutations(sample: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """``sample`` with one field replaced by a wrong (or right) value, or missing."""
    values: list[Any] = [None, "", "x", 0, -1, 1.5, True, [], ["a"], {}, "red", "manual",
                         "bored", "12320-20250314-00002", "2025-03-14 04:00",
                         "2025-03-14T04:00:00.000Z"]  # fmt: skip
    found: list[tuple[str, dict[str, Any]]] = []
    parents: list[tuple[str, dict[str, Any]]] = [("", sample), ("payload", sample["payload"])]
    for prefix, parent in parents:
        for key in [*parent, "extra"]:
            for value in [*values, "<missing>"]:
                event = copy.deepcopy(sample)
                target = event if not prefix else event[prefix]
                if value == "<missing>":
                    if key not in target:
                        continue
                    del target[key]
                else:
                    target[key] = value
                found.append((f"{prefix}.{key}={value!r}", event))
    return found


@pytest.mark.parametrize("event_type", sorted(SAMPLES))
def test_the_models_and_the_schema_accept_and_refuse_alike(event_type: str) -> None:
    model = MODELS[event_type]
    for change, event in _mutations(SAMPLES[event_type]):
        try:
            model.model_validate_json(json.dumps(event))
            accepted = True
        except ValidationError:
            accepted = False
        assert accepted == VALIDATOR.is_valid(event), change


@pytest.mark.parametrize(
    ("event_type", "change"),
    [
        ("order.alert", {"reason": "bored"}),
        ("order.alert", {"caller_number": "13800138000"}),  # never a number to supervisors
        ("call.offered", {"agent": ""}),
        ("call.offered", {"priority": "urgent"}),
        ("call.emergency", {"line": ""}),
        ("queue.changed", {"waiting": -1}),
    ],
)
def test_a_producer_cannot_build_an_event_the_contract_refuses(
    event_type: str, change: dict[str, Any]
) -> None:
    event = copy.deepcopy(SAMPLES[event_type])
    event["payload"].update(change)
    with pytest.raises(ValidationError):
        MODELS[event_type].model_validate(event)


def test_the_service_builders_emit_the_documented_shapes() -> None:
    def same_as_sample(event: dict[str, Any]) -> None:
        sample = SAMPLES[event["type"]]
        assert {**event, "id": sample["id"]} == sample

    call = AnsweredCall(call_id="c-1", caller_number="13800138000", callee="12320", group="intake")
    same_as_sample(call_answered_event(SAMPLES["call.answered"]["id"], call, AT))
    command = emergency_command(
        SAMPLES["call.emergency"]["id"], "a+b#c%d@10.0.0.1", "medical_120", "taker", AT
    )
    same_as_sample(command)
    alert = Alert("red", "overdue", "handling", datetime(2025, 3, 14, 4, 0, tzinfo=UTC))
    same_as_sample(
        alert_event(SAMPLES["order.alert"]["id"], "12320-20250314-00001", "saihan-cdc", alert, AT)
    )
    earlier = EarlierOrder(
        "12320-20250310-00007", datetime(2025, 3, 10, 1, 2, 3, tzinfo=UTC), "complaint", "closed"
    )
    offered = call_offered_event(
        SAMPLES["call.offered"]["id"], AT, call_id="c-1", caller_number="13800138000",
        group="intake", agent="a1001",
        menu_path=("0",), order_number=None, history=(earlier,), repeat_caller=True,
        priority="normal",
    )  # fmt: skip
    same_as_sample(offered)
    queue = queue_changed_event(
        SAMPLES["queue.changed"]["id"],
        AT,
        group="intake",
        label="受理组",
        waiting=2,
        agents_ready=0,
    )
    same_as_sample(queue)
    for event in (command, offered, queue):
        assert VALIDATOR.is_valid(event)


def test_order_created_is_built_from_an_order() -> None:
    order = WorkOrder(
        number="12320-20250314-00001", channel="phone", caller_number="13800138000",
        received_at=AT, category="complaint", menu_path=("1", "3"),
        flags=("infectious_disease",), description=None, transcript_status="pending",
        recording=None, flow_version=None, call_id="c-1", status="received", group="intake",
        created_at=AT, updated_at=AT,
    )  # fmt: skip
    event = order_created_event(SAMPLES["order.created"]["id"], order, AT)
    assert event == SAMPLES["order.created"]


def test_the_ivr_partial_is_the_documented_event() -> None:
    topic, event = partial_event("c-1", "intake", "我要投诉", clock=lambda: AT)
    assert topic == "hotline/pops/intake"
    assert {**event, "id": SAMPLES["call.partial_transcript"]["id"]} == SAMPLES[
        "call.partial_transcript"
    ]
    assert VALIDATOR.is_valid(event)


def test_times_on_the_wire_are_utc_with_milliseconds() -> None:
    shanghai = datetime.fromisoformat("2025-03-14T10:00:00.123456+08:00")
    assert utc_ms(shanghai) == "2025-03-14T02:00:00.123Z"
    with pytest.raises(ValueError, match="aware"):
        utc_ms(datetime(2025, 3, 14))


def _fields_read(script: str, variable: str) -> set[str]:
    source = (STATIC / script).read_text(encoding="utf-8")
    return set(re.findall(rf"\b{variable}\.(\w+)", source))


def _payload_fields(*event_types: str) -> set[str]:
    fields: set[str] = set()
    for event_type in event_types:
        fields |= set(SAMPLES[event_type]["payload"])
    return fields


def test_the_console_reads_only_fields_the_pops_carry() -> None:
    read = _fields_read("console.js", "payload")
    assert read, "console.js no longer reads payload.<field>: update this test"
    pops = ("call.offered", "call.answered", "order.created", "call.partial_transcript")
    assert read <= _payload_fields(*pops)
    assert {"call_id", "caller_number", "order_number", "text", "history"} <= read


def test_the_wallboard_reads_only_fields_alerts_carry() -> None:
    read = _fields_read("wallboard.js", "alert")
    assert read, "wallboard.js no longer reads alert.<field>: update this test"
    assert read <= _payload_fields("order.alert")
    source = (STATIC / "wallboard.js").read_text(encoding="utf-8")
    reasons = set(re.findall(r"(\w+): \"", source.split("ALERT_REASONS = {")[1].split("}")[0]))
    enum = events_schema()["$defs"]["order.alert"]["properties"]["payload"]["properties"]
    assert reasons <= set(enum["reason"]["enum"])


def test_topics_keep_outside_text_in_one_level() -> None:
    assert pop_topic("intake") == "hotline/pops/intake"
    assert agent_pop_topic("a/b") == "hotline/agents/a%2Fb/pops"
    assert queue_topic("#") == "hotline/queues/%23"
    assert command_topic("a+b") == "hotline/calls/a%2Bb/commands"
    long_id = "号" * 255
    level = command_topic(long_id).split("/")[2]
    assert "~" in level
    assert call_id_of(level, {"payload": {"call_id": long_id}}) == long_id
    assert call_id_of("a%2Bb", {"payload": "not an object"}) == "a+b"
    assert CONSOLE_SUBSCRIPTIONS == (
        "hotline/pops/+",
        "hotline/agents/+/pops",
        "hotline/alerts/supervisors",
        "hotline/queues/+",
    )
