"""One call's state as the user agent core keeps it (data only; the logic is in
``incoming``/``outgoing``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from ivr.sip.stack.dialog import Dialog
from ivr.sip.stack.message import Headers, SipRequest, SipResponse
from ivr.sip.stack.transaction import T1, Address, InviteServer, NonInviteServer


class CallState(Enum):
    RINGING_IN = "ringing in"  # UAS: INVITE received, not answered
    CALLING = "calling"  # UAC: INVITE sent, nothing back
    EARLY = "early"  # UAC: a provisional response came back
    WAIT_ACK = "waiting for ACK"  # UAS: our 2xx sent, retransmitted until the ACK
    CONFIRMED = "confirmed"
    ENDING = "ending"  # our BYE is out
    ENDED = "ended"


@dataclass(frozen=True, slots=True)
class PendingRequest:
    """An in-dialog request held until the ACK of our 2xx (or ``ack_wait`` seconds)."""

    method: str
    headers: Headers
    body: bytes


@dataclass
class Call:
    id: str
    uas: bool
    invite: SipRequest
    peer: Address
    local_tag: str
    state: CallState
    dialog: Dialog | None = None
    # a received INVITE / re-INVITE / UPDATE waiting for Answer or Reject
    server: InviteServer | NonInviteServer | None = None
    # our 2xx to an INVITE, retransmitted until the ACK (§13.3.1.4)
    ok: SipResponse | None = None
    ok_interval: float = T1
    ok_next: float | None = None
    ok_give_up: float | None = None
    ack_wait_until: float | None = None
    pending: list[PendingRequest] = field(default_factory=list)
    ack: SipRequest | None = None  # UAC: our ACK of the 2xx, sent again for retransmissions
    cancel_wanted: bool = False
    needs_answer: bool = False  # UAC late offer: the ACK waits for Answer
    reinvite_out: bool = False
    purge_at: float | None = None
    auth_tries: int = 0

    def deadlines(self) -> list[float]:
        times = (self.ok_next, self.ok_give_up, self.ack_wait_until, self.purge_at)
        return [t for t in times if t is not None]
