"""Which requests a worker answers itself, available or draining (pure)."""

from __future__ import annotations

import pytest

from ivr.sip.availability import AVAILABLE, DRAINING, Availability, Reply


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
