"""The user agent: datagrams and commands in; messages to send, events and timers out.

Shaped like aioquic's ``QuicConnection``: nothing here reads a clock or touches a
socket. The owner feeds ``receive(datagram, source, now)`` and ``handle_timer(now)``
at ``next_timer()``, runs commands with ``apply(command, now)``, and drains
``outgoing()`` (message, destination) and ``next_event()``. Incoming requests are
handled in ``incoming``, commands and responses to our requests in ``outgoing``.
"""

from __future__ import annotations

import secrets
from collections import deque
from dataclasses import dataclass

from ivr.sip.stack.call import Call, CallState, PendingRequest
from ivr.sip.stack.dialog import response_to
from ivr.sip.stack.errors import SipParseError
from ivr.sip.stack.events import Command, Event
from ivr.sip.stack.incoming import IncomingRequests
from ivr.sip.stack.message import Headers, SipMessage, SipRequest, SipResponse, parse_message
from ivr.sip.stack.outgoing import OutgoingRequests
from ivr.sip.stack.transaction import (
    T1,
    T2,
    Address,
    ClientTransaction,
    Deliver,
    InviteClient,
    NonInviteClient,
    Output,
    Send,
    ServerTransaction,
    Timeout,
    client_key,
)


@dataclass(frozen=True, slots=True)
class UserAgentConfig:
    local: Address  # our UDP address, for Via and Contact
    user: str = "ivr"
    domain: str = ""  # From/To host and REGISTER target; the local host when empty
    outbound_proxy: str | None = None  # e.g. "sip:edge:5060": first hop of our new requests
    registrar: str | None = None  # e.g. "sip:edge:5060"
    password: str | None = None
    user_agent: str = "hotline-ivr"
    ack_wait: float = 4.0  # in-dialog requests wait this long at most for our 2xx's ACK

    @property
    def contact(self) -> str:
        host = f"[{self.local[0]}]" if ":" in self.local[0] else self.local[0]
        return f"sip:{self.user}@{host}:{self.local[1]}"

    @property
    def address_of_record(self) -> str:
        return f"sip:{self.user}@{self.domain or self.local[0]}"


Owner = tuple[str, str]  # (call id or "", what the request is: "invite", "bye", ...)


class UserAgent:
    """A UAS and UAC for many calls at once over one UDP address."""

    def __init__(self, config: UserAgentConfig) -> None:
        self.config = config
        self.calls: dict[str, Call] = {}
        self.clients: dict[tuple[str, ...], tuple[ClientTransaction, Owner]] = {}
        self.servers: dict[tuple[str, ...], ServerTransaction] = {}
        self.rejected_datagrams = 0
        self._out: deque[Send] = deque()
        self._events: deque[Event] = deque()
        self._incoming = IncomingRequests(self)
        self._outgoing = OutgoingRequests(self)

    # ------------------------------------------------------------------ the owner's API

    def receive(self, data: bytes | SipMessage, source: Address, now: float) -> None:
        """A datagram (or an already parsed message) from ``source``."""
        if isinstance(data, bytes):
            try:
                data = parse_message(data)
            except SipParseError:
                self.rejected_datagrams += 1
                return
        if isinstance(data, SipRequest):
            self._incoming.on_request(_stamp_received(data, source), source, now)
        else:
            self._on_response(data, now)

    def apply(self, command: Command, now: float) -> str | None:
        """Run a command; an ``Invite`` returns the new call's id."""
        return self._outgoing.apply(command, now)

    def handle_timer(self, now: float) -> None:
        for key, (tx, owner) in list(self.clients.items()):
            self.run(tx.on_timer(now), now, owner)
            if tx.terminated:
                del self.clients[key]
        for skey, server in list(self.servers.items()):
            self.run(server.on_timer(now), now, ("", ""))
            if server.terminated:
                del self.servers[skey]
        for call in list(self.calls.values()):
            self._call_timers(call, now)

    def next_timer(self) -> float | None:
        times = [t.next_deadline() for t, _ in self.clients.values()]
        times += [s.next_deadline() for s in self.servers.values()]
        deadlines = [t for t in times if t is not None]
        for call in self.calls.values():
            deadlines += call.deadlines()
        return min(deadlines, default=None)

    def outgoing(self) -> list[tuple[bytes, Address]]:
        """Datagrams to send, with their destinations, in order."""
        sends = [(s.message.serialise(), s.destination) for s in self._out]
        self._out.clear()
        return sends

    def next_event(self) -> Event | None:
        return self._events.popleft() if self._events else None

    # ------------------------------------------------------------------ for the handlers

    def emit(self, event: Event) -> None:
        self._events.append(event)

    def send(self, message: SipMessage, destination: Address) -> None:
        self._out.append(Send(message, destination))

    def run(self, outputs: list[Output], now: float, owner: Owner) -> None:
        for output in outputs:
            if isinstance(output, Send):
                self._out.append(output)
            elif isinstance(output, Deliver):
                self._outgoing.on_response(output.message, owner, now)
            elif isinstance(output, Timeout) and isinstance(
                output.transaction, InviteClient | NonInviteClient
            ):
                self._outgoing.on_timeout(owner, now)

    def respond(
        self,
        server: ServerTransaction,
        status: int,
        now: float,
        *,
        to_tag: str | None = None,
        headers: Headers = (),
        body: bytes = b"",
    ) -> SipResponse:
        extra = (("Server", self.config.user_agent), *headers)
        if body:
            extra = (*extra, ("Content-Type", "application/sdp"))
        reply = response_to(server.request, status, to_tag=to_tag, headers=extra, body=body)
        self.run(server.respond(reply, now), now, ("", ""))
        return reply

    def start_client(
        self, request: SipRequest, destination: Address, owner: Owner, now: float
    ) -> None:
        tx: ClientTransaction
        if request.method == "INVITE":
            tx = InviteClient(request, destination)
        else:
            tx = NonInviteClient(request, destination)
        self.clients[client_key(request)] = (tx, owner)
        self.run(tx.start(now), now, owner)

    def send_in_dialog(
        self, call: Call, method: str, now: float, headers: Headers = (), body: bytes = b""
    ) -> None:
        """An in-dialog request; held while our 2xx waits for its ACK (the adapter's rule)."""
        if call.state is CallState.WAIT_ACK:
            call.pending.append(PendingRequest(method, headers, body))
            return
        self.send_now(call, PendingRequest(method, headers, body), now)

    def send_now(self, call: Call, pending: PendingRequest, now: float) -> None:
        assert call.dialog is not None
        if pending.body and all(n != "Content-Type" for n, _ in pending.headers):
            headers = (*pending.headers, ("Content-Type", "application/sdp"))
        else:
            headers = pending.headers
        req = call.dialog.request(
            pending.method, self.config.local, headers=headers, body=pending.body
        )
        kind = "reinvite" if pending.method == "INVITE" else pending.method.lower()
        if pending.method == "BYE":
            call.state = CallState.ENDING
        self.start_client(req, call.dialog.next_hop(), (call.id, kind), now)

    def flush_pending(self, call: Call, now: float) -> None:
        call.ack_wait_until = None
        pending, call.pending = call.pending, []
        for item in pending:
            self.send_now(call, item, now)

    def end(self, call: Call, event: Event, now: float) -> None:
        call.state = CallState.ENDED
        call.ok_next = call.ok_give_up = call.ack_wait_until = None
        call.purge_at = now + 64 * T1  # absorbs late retransmissions, then forgotten
        self.emit(event)

    # ------------------------------------------------------------------ internals

    def _on_response(self, response: SipResponse, now: float) -> None:
        entry = self.clients.get(client_key(response))
        if entry is not None:
            self.run(entry[0].on_response(response, now), now, entry[1])
            return
        call = self.calls.get(response.call_id)
        if call and call.ack and 200 <= response.status < 300 and response.cseq.method == "INVITE":
            self.send(call.ack, call.dialog.next_hop() if call.dialog else call.peer)

    def _call_timers(self, call: Call, now: float) -> None:
        from ivr.sip.stack.events import REASON_NO_ACK, CallEnded

        if call.ok is not None and call.ok_next is not None and call.ok_next <= now:
            call.ok_interval = min(2 * call.ok_interval, T2)
            call.ok_next = now + call.ok_interval
            self.send(call.ok, call.peer)
        if call.ack_wait_until is not None and call.ack_wait_until <= now:
            self.flush_pending(call, now)  # waited long enough: send anyway, as the adapter did
        if call.ok_give_up is not None and call.ok_give_up <= now:
            call.ok = call.ok_next = call.ok_give_up = None
            if call.state is CallState.WAIT_ACK:  # §13.3.1.4: no ACK in 64*T1, end with BYE
                call.state = CallState.CONFIRMED
                self.send_now(call, PendingRequest("BYE", (), b""), now)
                self.end(call, CallEnded(call.id, REASON_NO_ACK, 408), now)
        if call.purge_at is not None and call.purge_at <= now:
            del self.calls[call.id]


def _stamp_received(request: SipRequest, source: Address) -> SipRequest:
    """§18.2.1 and RFC 3581: the top Via learns where the request really came from."""
    vias = request.vias
    top = vias[0]
    if top.host == source[0] and "rport" not in dict(top.params):
        return request
    stamped = top.with_params(received=source[0])
    if "rport" in dict(top.params):
        stamped = stamped.with_params(rport=str(source[1]))
    values = [str(stamped), *request.header_values("Via")[1:]]
    first = next(i for i, (n, _) in enumerate(request.headers) if n == "Via")
    others = [h for h in request.headers if h[0] != "Via"]
    headers = (*others[:first], *(("Via", v) for v in values), *others[first:])
    return SipRequest(headers=headers, body=request.body, method=request.method, uri=request.uri)


def new_call_id(local: Address) -> str:
    return f"{secrets.token_hex(16)}@{local[0]}"
