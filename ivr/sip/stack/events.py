"""What the user agent reports (events) and what it is told to do (commands).

A call is named by its Call-ID (one dialog per call: forked 2xx after the first are
ACKed and hung up). The stack reports and the caller decides: an INVITE without SDP
is an ``IncomingCall`` with ``offer=None``; whether to answer it with an offer or to
refuse it (the worker answers 488 today) is not the stack's business.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ivr.sip.stack.message import SipRequest
from ivr.sip.stack.transaction import Address

Headers = tuple[tuple[str, str], ...]

# ----------------------------------------------------------------------------
# Events


@dataclass(frozen=True, slots=True)
class IncomingCall:
    call: str
    offer: bytes | None  # None: late offer, our answer() must carry the offer
    request: SipRequest = field(repr=False)
    source: Address


@dataclass(frozen=True, slots=True)
class CallRinging:
    """A provisional response (180/183) to our INVITE."""

    call: str
    status: int
    sdp: bytes | None


@dataclass(frozen=True, slots=True)
class CallAnswered:
    """A 2xx to our INVITE. With a late offer (``needs_answer``), send ``Answer`` for the ACK."""

    call: str
    sdp: bytes | None
    needs_answer: bool = False


@dataclass(frozen=True, slots=True)
class CallConfirmed:
    """The ACK of our 2xx arrived; ``sdp`` is the answer when we made a late-offer answer."""

    call: str
    sdp: bytes | None


@dataclass(frozen=True, slots=True)
class CallCancelled:
    call: str


@dataclass(frozen=True, slots=True)
class CallEnded:
    """The call is over: ``reason`` is one of the REASON_* strings, ``status`` a SIP code."""

    call: str
    reason: str
    status: int | None = None


@dataclass(frozen=True, slots=True)
class ReInvite:
    """A re-INVITE or UPDATE inside the call; answer it with ``Answer`` or ``Reject``."""

    call: str
    sdp: bytes | None
    hold: bool
    method: str = "INVITE"


@dataclass(frozen=True, slots=True)
class ReInviteAnswered:
    """The final response to our re-INVITE."""

    call: str
    status: int
    sdp: bytes | None


@dataclass(frozen=True, slots=True)
class ReferProgress:
    """The REFER's own final response, then each NOTIFY's sipfrag status."""

    call: str
    status: int
    final: bool


@dataclass(frozen=True, slots=True)
class DtmfInfo:
    call: str
    digit: str
    duration_ms: int | None


@dataclass(frozen=True, slots=True)
class OptionsProbe:
    source: Address
    in_dialog: bool


@dataclass(frozen=True, slots=True)
class Registered:
    """A REGISTER's outcome: ``expires`` > 0 while registered, 0 when refused or removed."""

    status: int
    expires: int


Event = (
    IncomingCall
    | CallRinging
    | CallAnswered
    | CallConfirmed
    | CallCancelled
    | CallEnded
    | ReInvite
    | ReInviteAnswered
    | ReferProgress
    | DtmfInfo
    | OptionsProbe
    | Registered
)

REASON_REMOTE_BYE = "remote hang-up"
REASON_LOCAL_BYE = "local hang-up"
REASON_REJECTED = "rejected"  # our INVITE got a final non-2xx, or we rejected theirs
REASON_CANCELLED = "cancelled"
REASON_TIMEOUT = "timeout"
REASON_NO_ACK = "no ACK for the 2xx"

# ----------------------------------------------------------------------------
# Commands


@dataclass(frozen=True, slots=True)
class Invite:
    """A new outgoing call (we are the UAC)."""

    target: str  # request URI, e.g. "sip:13800000000@edge"
    sdp: bytes | None  # None: late offer
    headers: Headers = ()


@dataclass(frozen=True, slots=True)
class Ring:
    call: str
    status: int = 180
    sdp: bytes | None = None


@dataclass(frozen=True, slots=True)
class Answer:
    """2xx to an incoming INVITE or re-INVITE/UPDATE; or the ACK's SDP after a late offer."""

    call: str
    sdp: bytes | None


@dataclass(frozen=True, slots=True)
class Reject:
    call: str
    status: int = 486
    headers: Headers = ()


@dataclass(frozen=True, slots=True)
class HangUp:
    """BYE once confirmed (after the ACK, for our 2xx), CANCEL while ringing out, 480 in."""

    call: str


@dataclass(frozen=True, slots=True)
class Refer:
    """Blind transfer: REFER with ``Refer-To: target`` (headers embedded in the URI)."""

    call: str
    target: str
    headers: Headers = ()


@dataclass(frozen=True, slots=True)
class Reinvite:
    call: str
    sdp: bytes


@dataclass(frozen=True, slots=True)
class Register:
    """REGISTER at ``registrar`` for ``expires`` seconds (0 removes the binding)."""

    expires: int = 3600


Command = Invite | Ring | Answer | Reject | HangUp | Refer | Reinvite | Register
