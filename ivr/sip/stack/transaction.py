"""RFC 3261 §17 transactions over UDP, as pure state machines on an injected clock.

Four kinds: INVITE client (timers A, B, D), non-INVITE client (E, F, K), INVITE server
(G, H, I; 100 Trying at once) and non-INVITE server (J). The INVITE transactions follow
RFC 6026: after a 2xx they stay "accepted" for 64*T1 so that retransmitted INVITEs are
absorbed (server) and retransmitted 2xx still reach the UA core, which ACKs them (client).
Each method returns what to do — ``Send`` a message, ``Deliver`` one to the UA core,
or report a ``Timeout`` — and the owner asks ``next_deadline()`` when to call ``on_timer``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from ivr.sip.stack.message import SipMessage, SipRequest, SipResponse, request

T1 = 0.5
T2 = 4.0
T4 = 5.0
MAGIC_COOKIE = "z9hG4bK"

Address = tuple[str, int]


@dataclass(frozen=True, slots=True)
class Send:
    message: SipMessage
    destination: Address


@dataclass(frozen=True, slots=True)
class Deliver:
    """A response for the UA core (client transactions only)."""

    message: SipResponse


@dataclass(frozen=True, slots=True)
class Timeout:
    """Timer B or F (no final response) or H (no ACK for a final response)."""

    transaction: Transaction


Output = Send | Deliver | Timeout


class State(Enum):
    CALLING = "calling"
    TRYING = "trying"
    PROCEEDING = "proceeding"
    ACCEPTED = "accepted"  # RFC 6026
    COMPLETED = "completed"
    CONFIRMED = "confirmed"
    TERMINATED = "terminated"


def client_key(message: SipMessage) -> tuple[str, ...]:
    """A response's (or our request's) client transaction: top branch and CSeq method."""
    method = message.cseq.method
    return ("client", message.vias[0].branch or "", "INVITE" if method == "ACK" else method)


def server_key(message: SipRequest) -> tuple[str, ...]:
    """The server transaction of a request (§17.2.3; RFC 2543 matching without the cookie).

    An ACK matches its INVITE's transaction (only the ACK of a non-2xx shares the branch).
    """
    top = message.vias[0]
    method = "INVITE" if message.method == "ACK" else message.method
    sent_by = f"{top.host}:{top.port or 5060}"
    branch = top.branch or ""
    if branch.startswith(MAGIC_COOKIE):
        return ("server", branch, sent_by, method)
    to_tag = "" if message.method == "ACK" else (message.to.tag or "")
    return (
        "server-2543",
        message.uri,
        to_tag,
        message.from_.tag or "",
        message.call_id,
        str(message.cseq.number),
        str(top),
        method,
    )


class Transaction:
    """Timers and state shared by the four kinds."""

    def __init__(self, request: SipRequest, peer: Address, state: State) -> None:
        self.request = request
        self.peer = peer
        self.state = state
        self.timers: dict[str, float] = {}
        self.intervals: dict[str, float] = {}
        self.last_response: SipResponse | None = None

    @property
    def terminated(self) -> bool:
        return self.state is State.TERMINATED

    def next_deadline(self) -> float | None:
        return min(self.timers.values(), default=None)

    def _start(self, name: str, now: float, after: float) -> None:
        self.timers[name] = now + after
        self.intervals[name] = after

    def _terminate(self) -> None:
        self.state = State.TERMINATED
        self.timers.clear()

    def on_timer(self, now: float) -> list[Output]:
        out: list[Output] = []
        for name, deadline in sorted(self.timers.items(), key=lambda item: item[1]):
            if deadline <= now and name in self.timers:
                del self.timers[name]
                out += self._fire(name, now)
        return out

    def _fire(self, name: str, now: float) -> list[Output]:
        raise NotImplementedError


class InviteClient(Transaction):
    """§17.1.1 with RFC 6026's Accepted state."""

    def __init__(self, request: SipRequest, peer: Address) -> None:
        super().__init__(request, peer, State.CALLING)

    def start(self, now: float) -> list[Output]:
        self._start("A", now, T1)
        self._start("B", now, 64 * T1)
        return [Send(self.request, self.peer)]

    def on_response(self, response: SipResponse, now: float) -> list[Output]:
        if self.state in (State.CALLING, State.PROCEEDING):
            self.timers.pop("A", None)
            if response.status < 200:
                self.state = State.PROCEEDING
                self.timers.pop("B", None)
                return [Deliver(response)]
            if response.status < 300:
                self.state = State.ACCEPTED
                self.timers.clear()
                self._start("M", now, 64 * T1)
                return [Deliver(response)]
            self.state = State.COMPLETED
            self.timers.clear()
            self._start("D", now, 32.0)
            return [Send(self.ack_for(response), self.peer), Deliver(response)]
        if self.state is State.ACCEPTED and 200 <= response.status < 300:
            return [Deliver(response)]  # the UA core ACKs every 2xx retransmission
        if self.state is State.COMPLETED and response.status >= 300:
            return [Send(self.ack_for(response), self.peer)]
        return []

    def ack_for(self, response: SipResponse) -> SipRequest:
        """The ACK of a non-2xx final response (§17.1.1.3): same branch, the response's To."""
        invite = self.request
        keep = ("Via", "From", "Call-ID", "Route", "Max-Forwards")
        headers = [(n, v) for n, v in invite.headers if n in keep]
        headers = headers[:1] + [h for h in headers[1:] if h[0] != "Via"]
        headers += [("To", response.header("To") or ""), ("CSeq", f"{invite.cseq.number} ACK")]
        return request("ACK", invite.uri, tuple(headers))

    def _fire(self, name: str, now: float) -> list[Output]:
        if name == "A" and self.state is State.CALLING:
            self._start("A", now, 2 * self.intervals["A"])
            return [Send(self.request, self.peer)]
        if name == "B" and self.state is State.CALLING:
            self._terminate()
            return [Timeout(self)]
        if name in ("D", "M"):
            self._terminate()
        return []


class NonInviteClient(Transaction):
    """§17.1.2."""

    def __init__(self, request: SipRequest, peer: Address) -> None:
        super().__init__(request, peer, State.TRYING)

    def start(self, now: float) -> list[Output]:
        self._start("E", now, T1)
        self._start("F", now, 64 * T1)
        return [Send(self.request, self.peer)]

    def on_response(self, response: SipResponse, now: float) -> list[Output]:
        if self.state not in (State.TRYING, State.PROCEEDING):
            return []  # retransmitted final responses are absorbed
        if response.status < 200:
            self.state = State.PROCEEDING
            return [Deliver(response)]
        self.state = State.COMPLETED
        self.timers.clear()
        self._start("K", now, T4)
        return [Deliver(response)]

    def _fire(self, name: str, now: float) -> list[Output]:
        if name == "E" and self.state in (State.TRYING, State.PROCEEDING):
            after = T2 if self.state is State.PROCEEDING else min(2 * self.intervals["E"], T2)
            self._start("E", now, after)
            return [Send(self.request, self.peer)]
        if name == "F" and self.state in (State.TRYING, State.PROCEEDING):
            self._terminate()
            return [Timeout(self)]
        if name == "K":
            self._terminate()
        return []


class InviteServer(Transaction):
    """§17.2.1 with RFC 6026's Accepted state; the 100 Trying goes out at once."""

    def __init__(self, request: SipRequest, peer: Address) -> None:
        super().__init__(request, peer, State.PROCEEDING)

    def on_request(self, request: SipRequest, now: float) -> list[Output]:
        """A retransmitted INVITE, or the ACK of our non-2xx final response."""
        if request.method == "ACK":
            if self.state is State.COMPLETED:
                self.state = State.CONFIRMED
                self.timers.clear()
                self._start("I", now, T4)
            return []
        if self.state in (State.PROCEEDING, State.COMPLETED) and self.last_response:
            return [Send(self.last_response, self.peer)]
        return []  # Accepted: the UA core retransmits the 2xx itself

    def respond(self, response: SipResponse, now: float) -> list[Output]:
        if self.state is not State.PROCEEDING:
            return []
        self.last_response = response
        if 200 <= response.status < 300:
            self.state = State.ACCEPTED
            self._start("L", now, 64 * T1)
        elif response.status >= 300:
            self.state = State.COMPLETED
            self._start("G", now, T1)
            self._start("H", now, 64 * T1)
        return [Send(response, self.peer)]

    def _fire(self, name: str, now: float) -> list[Output]:
        if name == "G" and self.state is State.COMPLETED and self.last_response:
            self._start("G", now, min(2 * self.intervals["G"], T2))
            return [Send(self.last_response, self.peer)]
        if name == "H" and self.state is State.COMPLETED:
            self._terminate()
            return [Timeout(self)]
        if name in ("I", "L"):
            self._terminate()
        return []


class NonInviteServer(Transaction):
    """§17.2.2."""

    def __init__(self, request: SipRequest, peer: Address) -> None:
        super().__init__(request, peer, State.TRYING)

    def on_request(self, request: SipRequest, now: float) -> list[Output]:
        if self.state in (State.PROCEEDING, State.COMPLETED) and self.last_response:
            return [Send(self.last_response, self.peer)]
        return []

    def respond(self, response: SipResponse, now: float) -> list[Output]:
        if self.state not in (State.TRYING, State.PROCEEDING):
            return []
        self.last_response = response
        if response.status < 200:
            self.state = State.PROCEEDING
        else:
            self.state = State.COMPLETED
            self._start("J", now, 64 * T1)
        return [Send(response, self.peer)]

    def _fire(self, name: str, now: float) -> list[Output]:
        if name == "J":
            self._terminate()
        return []


ClientTransaction = InviteClient | NonInviteClient
ServerTransaction = InviteServer | NonInviteServer
