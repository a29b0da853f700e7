"""The one error base of the SIP stack."""

from __future__ import annotations

from ivr.errors import IvrError


class SipError(IvrError):
    """Base class of every error the SIP stack raises."""


class SipParseError(SipError):
    """A datagram that is not a SIP message we accept (RFC 3261 §16.3, RFC 4475).

    ``status`` is what a UAS answers a request it could read that far with: 400, or 505
    for a version other than SIP/2.0. A response that fails to parse is dropped.
    """

    def __init__(self, reason: str, *, status: int = 400) -> None:
        super().__init__(reason)
        self.status = status


class SipStateError(SipError):
    """A command that the call's or transaction's state does not allow (e.g. answer twice)."""
