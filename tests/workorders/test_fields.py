"""The field rules: each format accepts and refuses what its users (validation, the ACD and
invalid-call parsers, the OpenAPI models) rely on."""

from __future__ import annotations

import pytest

from workorders import fields
from workorders.model import CATEGORY_LABELS, PRIORITIES, is_order_number, mask_phone

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("rule", "good", "bad"),
    [
        (fields.SIP_USER, ["", "anonymous", "+8613800138000", "alice"], ["a b", "x" * 65, "\x00"]),
        (fields.GROUP, ["intake", "a.b-c_1"], ["", "a/b", "a+b", "a#b", "x" * 65]),
        (fields.FLAG, ["repeat_caller"], ["Upper", "x" * 33]),
        (fields.IDEMPOTENCY_KEY, ["k-1", "~" * 200], ["", "a b", "é", "k" * 201]),
        (fields.LINE, ["medical_120", "_x"], ["120", "a-b", ""]),
        (fields.ASCII_CALL_ID, ["c-1", "x" * 255], ["", "c 1", "é", "x" * 256]),
        (fields.ORDER_NUMBER, ["12320-20250314-00001"], ["12320-2025031-00001", "x"]),
        (fields.SKILL, ["mandarin", "a-b_c"], ["1x", "Upper", "x" * 33]),
        (fields.MENU_KEY, ["1", "*", "#", "D"], ["E", "12", ""]),
    ],
)
def test_formats(rule: fields.TextFormat, good: list[str], bad: list[object]) -> None:
    assert all(rule.matches(value) for value in good)
    assert not any(rule.matches(value) for value in [*bad, None, 12])
    assert rule.schema()["pattern"] == rule.pattern


def test_the_model_takes_its_enums_and_phone_rule_from_the_fields() -> None:
    assert CATEGORY_LABELS is fields.CATEGORY_LABELS
    assert PRIORITIES is fields.PRIORITIES
    assert mask_phone is fields.mask_phone
    assert mask_phone("13800138000") == "138****8000"
    assert is_order_number("12320-20250314-00001")
