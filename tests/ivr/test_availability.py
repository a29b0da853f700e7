"""Which requests a worker answers itself, available or draining (pure)."""

from __future__ import annotations

import pytest

from ivr.sip.availability import (
    AVAILABLE,
    DRAINING,
    FULL,
    RETRY_AFTER_SECONDS,
    Availability,
    Reply,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("method", "in_dialog", "available", "draining"),
    [
        ("OPTIONS", False, AVAILABLE, DRAINING),  # the dispatcher's probe
        ("OPTIONS", True, AVAILABLE, AVAILABLE),  # inside a call: the call is still served
        ("INVITE", False, None, DRAINING),  # a new call: the edge fails over
        ("INVITE", True, None, None),  # re-INVITE of a call in progress
        ("BYE", True, None, None),
        ("ACK", True, None, None),
        ("ACK", False, None, None),  # the edge's ACK for our 503
        ("CANCEL", False, None, None),
        ("NOTIFY", True, None, None),
    ],
)
def test_replies(
    method: str, in_dialog: bool, available: Reply | None, draining: Reply | None
) -> None:
    availability = Availability()
    assert availability.reply_to(method, in_dialog=in_dialog) == available
    availability.drain()
    assert availability.draining
    assert availability.reply_to(method, in_dialog=in_dialog) == draining


def test_replies_are_200_and_503() -> None:
    assert (AVAILABLE.code, DRAINING.code) == (200, 503)


@pytest.mark.parametrize("method", ["OPTIONS", "INVITE"])
def test_a_full_worker_answers_503_with_retry_after_to_new_calls_and_probes(method: str) -> None:
    availability = Availability(max_calls=2)
    assert availability.reply_to(method, in_dialog=False, calls=1, free_ports=10) in (
        None,
        AVAILABLE,
    )
    full = availability.reply_to(method, in_dialog=False, calls=2, free_ports=10)
    assert full == FULL
    assert (FULL.code, FULL.retry_after) == (503, RETRY_AFTER_SECONDS)


@pytest.mark.parametrize("method", ["OPTIONS", "INVITE"])
def test_no_free_rtp_port_is_full_whatever_max_calls_says(method: str) -> None:
    assert Availability().reply_to(method, in_dialog=False, calls=0, free_ports=0) == FULL


def test_requests_inside_calls_are_served_when_full() -> None:
    availability = Availability(max_calls=1)
    assert availability.reply_to("INVITE", in_dialog=True, calls=5, free_ports=0) is None
    assert availability.reply_to("BYE", in_dialog=True, calls=5, free_ports=0) is None
    assert availability.reply_to("OPTIONS", in_dialog=True, calls=5, free_ports=0) == AVAILABLE


def test_draining_wins_over_full_and_has_no_retry_after() -> None:
    availability = Availability(max_calls=1)
    availability.drain()
    assert availability.reply_to("INVITE", in_dialog=False, calls=1, free_ports=0) == DRAINING
