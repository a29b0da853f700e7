"""Commands (answer, hang up, transfer, call out...) and the responses to our requests."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ivr.sip.dialog import refer_to
from ivr.sip.stack.auth import authorization, parse_challenge
from ivr.sip.stack.call import Call, CallState
from ivr.sip.stack.dialog import Dialog, new_tag, uri_address, via_for
from ivr.sip.stack.errors import SipStateError
from ivr.sip.stack.events import (
    REASON_CANCELLED,
    REASON_LOCAL_BYE,
    REASON_REJECTED,
    REASON_TIMEOUT,
    Answer,
    CallAnswered,
    CallEnded,
    CallRinging,
    Command,
    HangUp,
    Invite,
    Refer,
    ReferProgress,
    Register,
    Registered,
    Reinvite,
    ReInviteAnswered,
    Reject,
    Ring,
)
from ivr.sip.stack.grammar import param
from ivr.sip.stack.message import Headers, SipRequest, SipResponse, request
from ivr.sip.stack.transaction import T1, InviteServer

if TYPE_CHECKING:
    from ivr.sip.stack.useragent import Owner, UserAgent

_EXPIRES = re.compile(r"\d+")


class OutgoingRequests:
    def __init__(self, ua: UserAgent) -> None:
        self.ua = ua
        self.register_call_id = ""
        self.register_cseq = 0
        self.register_tries = 0
        self.register_expires = 0

    def _call(self, call_id: str) -> Call:
        call = self.ua.calls.get(call_id)
        if call is None or call.state is CallState.ENDED:
            raise SipStateError(f"no call {call_id}")
        return call

    def apply(self, command: Command, now: float) -> str | None:
        if isinstance(command, Invite):
            return self._invite(command, now)
        if isinstance(command, Register):
            self.register_tries = 0
            self.register_expires = command.expires
            self._register(now, ())
            return None
        call = self._call(command.call)
        if isinstance(command, Ring):
            if call.state is not CallState.RINGING_IN or call.server is None:
                raise SipStateError("not ringing")
            body = command.sdp or b""
            self.ua.respond(call.server, command.status, now, to_tag=call.local_tag, body=body)
        elif isinstance(command, Answer):
            self._answer(call, command.sdp, now)
        elif isinstance(command, Reject):
            self._reject(call, command, now)
        elif isinstance(command, HangUp):
            self._hang_up(call, now)
        elif isinstance(command, Refer):
            value = refer_to(command.target, dict(command.headers))
            referred_by = str(call.dialog.local.uri) if call.dialog else ""
            headers = (("Refer-To", value), ("Referred-By", f"<{referred_by}>"))
            self.ua.send_in_dialog(call, "REFER", now, headers)
        elif isinstance(command, Reinvite):
            if call.state is not CallState.CONFIRMED or call.reinvite_out or call.server:
                raise SipStateError("a re-INVITE needs a confirmed call with nothing pending")
            call.reinvite_out = True
            self.ua.send_in_dialog(call, "INVITE", now, (), command.sdp)
        return None

    # ------------------------------------------------------------------ UAS side

    def _answer(self, call: Call, sdp: bytes | None, now: float) -> None:
        body = sdp or b""
        contact = (("Contact", f"<{self.ua.config.contact}>"),)
        if call.needs_answer and call.dialog is not None:  # our late-offer INVITE's ACK
            call.needs_answer = False
            self._send_ack(call, body)
            return
        server = call.server
        if server is None:
            raise SipStateError("nothing to answer")
        call.server = None
        if call.state is CallState.RINGING_IN:
            call.dialog = Dialog.for_uas(call.invite, call.local_tag, self.ua.config.contact)
            call.state = CallState.WAIT_ACK
            call.ack_wait_until = now + self.ua.config.ack_wait
        ok = self.ua.respond(server, 200, now, to_tag=call.local_tag, headers=contact, body=body)
        if isinstance(server, InviteServer):  # §13.3.1.4: the UA core retransmits its 2xx
            call.ok, call.ok_interval = ok, T1
            call.ok_next, call.ok_give_up = now + T1, now + 64 * T1

    def _reject(self, call: Call, command: Reject, now: float) -> None:
        server = call.server
        if server is None:
            raise SipStateError("nothing to reject")
        call.server = None
        self.ua.respond(server, command.status, now, to_tag=call.local_tag, headers=command.headers)
        if call.state is CallState.RINGING_IN:
            self.ua.end(call, CallEnded(call.id, REASON_REJECTED, command.status), now)

    def _hang_up(self, call: Call, now: float) -> None:
        if call.state is CallState.RINGING_IN:
            self._reject(call, Reject(call.id, 480), now)
        elif call.state is CallState.CALLING:
            call.cancel_wanted = True  # a CANCEL waits for a provisional response (§9.1)
        elif call.state is CallState.EARLY:
            call.cancel_wanted = True
            self._send_cancel(call, now)
        elif call.state in (CallState.WAIT_ACK, CallState.CONFIRMED):
            self.ua.send_in_dialog(call, "BYE", now)

    # ------------------------------------------------------------------ UAC side

    def _invite(self, command: Invite, now: float) -> str:
        from ivr.sip.stack.useragent import new_call_id

        config = self.ua.config
        call_id = new_call_id(config.local)
        tag = new_tag()
        routes: Headers = ()
        destination = uri_address(command.target)
        if config.outbound_proxy:
            routes = (("Route", f"<{config.outbound_proxy};lr>"),)
            destination = uri_address(config.outbound_proxy)
        headers: Headers = (
            ("Via", via_for(config.local)),
            ("Max-Forwards", "70"),
            *routes,
            ("From", f"<{config.address_of_record}>;tag={tag}"),
            ("To", f"<{command.target}>"),
            ("Call-ID", call_id),
            ("CSeq", "1 INVITE"),
            ("Contact", f"<{config.contact}>"),
            ("User-Agent", config.user_agent),
            ("Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, NOTIFY, UPDATE"),
            *command.headers,
        )
        if command.sdp:
            headers = (*headers, ("Content-Type", "application/sdp"))
        invite = request("INVITE", command.target, headers, command.sdp or b"")
        call = Call(call_id, False, invite, destination, tag, CallState.CALLING)
        self.ua.calls[call_id] = call
        self.ua.start_client(invite, destination, (call_id, "invite"), now)
        return call_id

    def _send_cancel(self, call: Call, now: float) -> None:
        """CANCEL: the INVITE's Request-URI, top Via, Call-ID, From, To, Route (§9.1)."""
        invite = call.invite
        keep = [(n, v) for n, v in invite.headers if n in ("From", "To", "Call-ID", "Route")]
        via = ("Via", invite.header("Via") or "")
        cseq = ("CSeq", f"{invite.cseq.number} CANCEL")
        cancel = request("CANCEL", invite.uri, (via, ("Max-Forwards", "70"), *keep, cseq))
        self.ua.start_client(cancel, call.peer, (call.id, "cancel"), now)

    def _send_ack(self, call: Call, body: bytes) -> None:
        assert call.dialog is not None
        headers: Headers = (("Content-Type", "application/sdp"),) if body else ()
        number = call.invite.cseq.number
        call.ack = call.dialog.request(
            "ACK", self.ua.config.local, headers=headers, body=body, cseq=number
        )
        self.ua.send(call.ack, call.dialog.next_hop())

    def _register(self, now: float, auth: Headers) -> None:
        config = self.ua.config
        if not config.registrar:
            raise SipStateError("no registrar configured")
        from ivr.sip.stack.useragent import new_call_id

        self.register_call_id = self.register_call_id or new_call_id(config.local)
        self.register_cseq += 1
        aor = config.address_of_record
        uri = f"sip:{config.domain}" if config.domain else config.registrar
        headers: Headers = (
            ("Via", via_for(config.local)),
            ("Max-Forwards", "70"),
            ("From", f"<{aor}>;tag={new_tag()}"),
            ("To", f"<{aor}>"),
            ("Call-ID", self.register_call_id),
            ("CSeq", f"{self.register_cseq} REGISTER"),
            ("Contact", f"<{config.contact}>"),
            ("Expires", str(self.register_expires)),
            ("User-Agent", config.user_agent),
            *auth,
        )
        reg = request("REGISTER", uri, headers)
        self.ua.start_client(reg, uri_address(config.registrar), ("", "register"), now)

    # ------------------------------------------------------------------ responses

    def on_response(self, response: SipResponse, owner: Owner, now: float) -> None:
        call_id, kind = owner
        if kind == "register":
            self._registered(response, now)
            return
        call = self.ua.calls.get(call_id)
        if call is None:
            return
        if kind == "invite":
            self._invite_response(call, response, now)
        elif kind == "reinvite" and response.status >= 200:
            call.reinvite_out = False
            if response.status < 300 and call.dialog is not None:
                ack = call.dialog.request("ACK", self.ua.config.local, cseq=response.cseq.number)
                self.ua.send(ack, call.dialog.next_hop())
            self.ua.emit(ReInviteAnswered(call.id, response.status, response.body or None))
        elif kind == "bye" and response.status >= 200:
            self.ua.end(call, CallEnded(call.id, REASON_LOCAL_BYE, response.status), now)
        elif kind == "refer" and response.status >= 200:
            self.ua.emit(ReferProgress(call.id, response.status, response.status >= 300))

    def _invite_response(self, call: Call, response: SipResponse, now: float) -> None:
        status = response.status
        if status < 200:
            if call.state is CallState.CALLING:
                call.state = CallState.EARLY
                if call.cancel_wanted:
                    self._send_cancel(call, now)
            if status > 100:
                self.ua.emit(CallRinging(call.id, status, response.body or None))
        elif status < 300:
            if call.dialog is not None:  # a retransmission (or another fork): ACK again
                if call.ack is not None:
                    self.ua.send(call.ack, call.dialog.next_hop())
                return
            call.dialog = Dialog.for_uac(call.invite, response, self.ua.config.contact)
            call.state = CallState.CONFIRMED
            call.needs_answer = not call.invite.body
            if not call.needs_answer:
                self._send_ack(call, b"")
            self.ua.emit(CallAnswered(call.id, response.body or None, call.needs_answer))
            if call.cancel_wanted:  # the 2xx crossed our CANCEL: end it properly
                self.ua.send_in_dialog(call, "BYE", now)
        elif status in (401, 407) and call.auth_tries == 0 and self.ua.config.password:
            call.auth_tries += 1
            call.invite = self._with_auth(call.invite, response)
            self.ua.start_client(call.invite, call.peer, (call.id, "invite"), now)
        else:
            reason = REASON_CANCELLED if call.cancel_wanted else REASON_REJECTED
            self.ua.end(call, CallEnded(call.id, reason, status), now)

    def _with_auth(self, req: SipRequest, challenge: SipResponse) -> SipRequest:
        config = self.ua.config
        header = "WWW-Authenticate" if challenge.status == 401 else "Proxy-Authenticate"
        answer = "Authorization" if challenge.status == 401 else "Proxy-Authorization"
        fields = parse_challenge(challenge.header(header) or "")
        value = authorization(fields, req.method, req.uri, config.user, config.password or "")
        cseq = f"{req.cseq.number + 1} {req.method}"
        updated = req.with_header("CSeq", cseq).with_header(answer, value)
        vias = (via_for(config.local),)
        return updated.with_header("Via", *vias)

    def _registered(self, response: SipResponse, now: float) -> None:
        if response.status < 200:
            return
        if response.status in (401, 407) and self.register_tries == 0 and self.ua.config.password:
            self.register_tries += 1
            header = "WWW-Authenticate" if response.status == 401 else "Proxy-Authenticate"
            answer = "Authorization" if response.status == 401 else "Proxy-Authorization"
            fields = parse_challenge(response.header(header) or "")
            config = self.ua.config
            uri = f"sip:{config.domain}" if config.domain else config.registrar or ""
            value = authorization(fields, "REGISTER", uri, config.user, config.password or "")
            self._register(now, ((answer, value),))
            return
        expires = 0
        if response.status < 300:
            mine = [c for c in response.contacts if c.uri == self.ua.config.contact]
            given = param(mine[0].params, "expires") if mine else response.header("Expires")
            expires = int(given) if given and _EXPIRES.fullmatch(given) else self.register_expires
        self.ua.emit(Registered(response.status, expires))

    def on_timeout(self, owner: Owner, now: float) -> None:
        call_id, kind = owner
        if kind == "register":
            self.ua.emit(Registered(408, 0))
            return
        call = self.ua.calls.get(call_id)
        if call is None or call.state is CallState.ENDED:
            return
        if kind == "invite":
            self.ua.end(call, CallEnded(call.id, REASON_TIMEOUT, 408), now)
        elif kind == "bye":
            self.ua.end(call, CallEnded(call.id, REASON_LOCAL_BYE, 408), now)
        elif kind == "refer":
            self.ua.emit(ReferProgress(call.id, 408, True))
        elif kind == "reinvite":
            call.reinvite_out = False
            self.ua.emit(ReInviteAnswered(call.id, 408, None))
