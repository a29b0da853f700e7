from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from workorders.errors import InvalidInput, SequenceExhausted
from workorders.model import (
    CATEGORY_LABELS,
    WorkOrder,
    category_label,
    format_order_number,
    format_utc,
    is_order_number,
    mask_phone,
    order_day,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("now", "day"),
    [
        (datetime(2025, 3, 14, 2, 0, tzinfo=UTC), "20250314"),
        # Midnight in Shanghai is 16:00 UTC the day before.
        (datetime(2025, 3, 14, 15, 59, 59, tzinfo=UTC), "20250314"),
        (datetime(2025, 3, 14, 16, 0, tzinfo=UTC), "20250315"),
        (datetime(2025, 12, 31, 16, 0, tzinfo=UTC), "20260101"),
        (datetime(2025, 3, 15, 0, 30, tzinfo=timezone(timedelta(hours=8))), "20250315"),
    ],
)
def test_order_day_is_the_date_in_shanghai(now: datetime, day: str) -> None:
    assert order_day(now) == day


def test_order_day_refuses_naive_time() -> None:
    with pytest.raises(ValueError, match="aware"):
        order_day(datetime(2025, 3, 14, 2, 0))


@pytest.mark.parametrize(
    ("day", "sequence", "number"),
    [
        ("20250314", 1, "12320-20250314-00001"),
        ("20250314", 42, "12320-20250314-00042"),
        ("20250314", 99_999, "12320-20250314-99999"),
    ],
)
def test_order_number_format(day: str, sequence: int, number: str) -> None:
    assert format_order_number(day, sequence) == number
    assert is_order_number(number)


def test_order_number_sequence_is_bounded() -> None:
    with pytest.raises(SequenceExhausted):
        format_order_number("20250314", 100_000)
    with pytest.raises(ValueError, match="starts at 1"):
        format_order_number("20250314", 0)
    with pytest.raises(ValueError, match="YYYYMMDD"):
        format_order_number("2025-03-14", 1)


@pytest.mark.parametrize(
    "text", ["", "12320-2025031-00001", "12320-20250314-0001", "12345-20250314-00001", "x"]
)
def test_not_order_numbers(text: str) -> None:
    assert not is_order_number(text)


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("13800138000", "138****8000"),
        ("+8613800138000", "+861****8000"),
        ("01012345678", "010****5678"),
        ("12345678", "123****5678"),
        ("12320", "****20"),
        ("12", "****"),
        ("", "****"),
        ("anonymous", "ano****mous"),
    ],
)
def test_mask_phone(number: str, masked: str) -> None:
    assert mask_phone(number) == masked


def test_masked_mobile_keeps_no_middle_digits() -> None:
    assert "0013" not in mask_phone("13800138000")


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(2025, 3, 14, 2, 0, tzinfo=UTC), "2025-03-14T02:00:00.000Z"),
        (
            datetime(2025, 3, 14, 10, 0, 0, 123456, tzinfo=timezone(timedelta(hours=8))),
            "2025-03-14T02:00:00.123Z",
        ),
    ],
)
def test_format_utc(moment: datetime, text: str) -> None:
    assert format_utc(moment) == text


def test_categories_and_labels() -> None:
    assert dict(CATEGORY_LABELS) == {
        "consult": "咨询",
        "complaint": "投诉",
        "report": "举报",
        "suggestion": "意见建议",
        "help": "求助",
        "emergency": "紧急",
    }
    assert category_label("report") == "举报"
    with pytest.raises(InvalidInput) as caught:
        category_label("praise")
    assert caught.value.field == "category"


def _order(menu_path: tuple[str, ...]) -> WorkOrder:
    at = datetime(2025, 3, 14, 2, 0, tzinfo=UTC)
    return WorkOrder(
        number="12320-20250314-00001",
        channel="phone",
        caller_number="13800138000",
        received_at=at,
        category="help",
        menu_path=menu_path,
        flags=("repeat_caller",),
        description=None,
        transcript_status="pending",
        recording=None,
        flow_version="v1",
        call_id="c-1",
        status="received",
        group="intake",
        created_at=at,
        updated_at=at,
    )


@pytest.mark.parametrize(("menu_path", "choice"), [((), None), (("2",), "2"), (("2", "5"), "5")])
def test_menu_choice_is_the_last_key(menu_path: tuple[str, ...], choice: str | None) -> None:
    assert _order(menu_path).menu_choice == choice


def test_order_json() -> None:
    body = _order(("2", "5")).to_json()
    assert body["category_label"] == "求助"
    assert body["menu_path"] == ["2", "5"]
    assert body["flags"] == ["repeat_caller"]
    assert body["received_at"] == "2025-03-14T02:00:00.000Z"
