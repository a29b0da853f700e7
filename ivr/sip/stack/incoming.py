"""Requests that reach the user agent: new calls, CANCEL, ACK, and in-dialog requests.

Policy stays with the caller: an INVITE is reported (``IncomingCall``) and waits for
``Answer``/``Reject``; only what RFC 3261 makes the UA's own business is answered here
(420 for an unknown Require, 415 for a body that is not SDP, 416 for a strange URI
scheme, 481 for an unknown dialog, 491 for a re-INVITE during another, 487 on CANCEL).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ivr.sip.stack.call import Call, CallState
from ivr.sip.stack.dialog import new_tag
from ivr.sip.stack.events import (
    REASON_CANCELLED,
    REASON_REMOTE_BYE,
    CallCancelled,
    CallConfirmed,
    CallEnded,
    DtmfInfo,
    IncomingCall,
    OptionsProbe,
    ReferProgress,
    ReInvite,
)
from ivr.sip.stack.message import SipRequest
from ivr.sip.stack.transaction import (
    Address,
    InviteServer,
    NonInviteServer,
    ServerTransaction,
    State,
    server_key,
)

if TYPE_CHECKING:
    from ivr.sip.stack.useragent import UserAgent

ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, NOTIFY, UPDATE"
SUPPORTED: frozenset[str] = frozenset()
_KNOWN_NOT_ALLOWED = frozenset({"REFER", "SUBSCRIBE", "MESSAGE", "REGISTER", "PRACK", "PUBLISH"})
_SIPFRAG = re.compile(rb"\s*SIP/2\.0\s+(\d{3})")
_SIGNAL = re.compile(rb"Signal\s*=\s*([0-9A-D*#])", re.IGNORECASE)
_DURATION = re.compile(rb"Duration\s*=\s*(\d+)", re.IGNORECASE)


def is_hold(sdp: bytes | None) -> bool:
    """RFC 3264 §8.4 hold (sendonly/inactive) or the RFC 2543 0.0.0.0 form."""
    if not sdp:
        return False
    return any(m in sdp for m in (b"a=sendonly", b"a=inactive", b"c=IN IP4 0.0.0.0"))


class IncomingRequests:
    def __init__(self, ua: UserAgent) -> None:
        self.ua = ua

    def on_request(self, req: SipRequest, source: Address, now: float) -> None:
        key = server_key(req)
        existing = self.ua.servers.get(key)
        if existing is not None and not (
            req.method == "ACK" and existing.state is not State.COMPLETED
        ):
            self.ua.run(existing.on_request(req, now), now, ("", ""))
            return
        if req.method == "ACK":
            self._ack(req, now)
            return
        server: ServerTransaction
        if req.method == "INVITE":
            server = InviteServer(req, req.vias[0].reply_to())
            self.ua.servers[key] = server
            self.ua.respond(server, 100, now)  # at once: the edge stops retransmitting
        else:
            server = NonInviteServer(req, req.vias[0].reply_to())
            self.ua.servers[key] = server
        if req.method == "CANCEL":
            self._cancel(req, server, now)
        elif req.method == "OPTIONS" and req.to.tag is None:
            self._options(server, source, False, now)
        elif req.to.tag is None and req.method == "INVITE":
            self._new_call(req, server, source, now)
        elif req.to.tag is None:
            self._refuse_method(req, server, now)
        else:
            self._in_dialog(req, server, source, now)

    # ------------------------------------------------------------------ outside a dialog

    def _new_call(
        self, req: SipRequest, server: ServerTransaction, source: Address, now: float
    ) -> None:
        assert isinstance(server, InviteServer)
        unknown = [r for r in req.header_values("Require") if r.lower() not in SUPPORTED]
        if unknown:
            self.ua.respond(server, 420, now, headers=(("Unsupported", ", ".join(unknown)),))
            return
        if not req.uri.lower().startswith(("sip:", "sips:", "tel:")):
            self.ua.respond(server, 416, now)
            return
        if req.body and req.content_type != "application/sdp":
            self.ua.respond(server, 415, now, headers=(("Accept", "application/sdp"),))
            return
        if req.call_id in self.ua.calls:
            self.ua.respond(server, 482, now)  # a second INVITE of the same call: a loop
            return
        call = Call(req.call_id, True, req, server.peer, new_tag(), CallState.RINGING_IN)
        call.server = server
        self.ua.calls[call.id] = call
        self.ua.emit(IncomingCall(call.id, req.body or None, req, source))

    def _cancel(self, req: SipRequest, server: ServerTransaction, now: float) -> None:
        invite_key = server_key(
            SipRequest(headers=req.headers, body=b"", method="INVITE", uri=req.uri)
        )
        invite = self.ua.servers.get(invite_key)
        if invite is None:
            self.ua.respond(server, 481, now)
            return
        self.ua.respond(server, 200, now)
        call = self.ua.calls.get(req.call_id)
        if call is None or invite.state is not State.PROCEEDING:
            return  # answered already: the CANCEL has no effect (§9.2)
        self.ua.respond(invite, 487, now, to_tag=call.local_tag)
        call.server = None
        self.ua.end(call, CallCancelled(call.id), now)
        self.ua.emit(CallEnded(call.id, REASON_CANCELLED, 487))

    def _options(
        self, server: ServerTransaction, source: Address, in_dialog: bool, now: float
    ) -> None:
        headers = (("Allow", ALLOW), ("Accept", "application/sdp"))
        self.ua.respond(server, 200, now, headers=headers)
        self.ua.emit(OptionsProbe(source, in_dialog))

    def _refuse_method(self, req: SipRequest, server: ServerTransaction, now: float) -> None:
        if req.method in _KNOWN_NOT_ALLOWED:
            self.ua.respond(server, 405, now, headers=(("Allow", ALLOW),))
        elif req.method in ("BYE", "INFO", "NOTIFY", "UPDATE"):
            self.ua.respond(server, 481, now)
        else:
            self.ua.respond(server, 501, now, headers=(("Allow", ALLOW),))

    # ------------------------------------------------------------------ inside a dialog

    def _dialog_call(self, req: SipRequest) -> Call | None:
        call = self.ua.calls.get(req.call_id)
        if call is None or call.dialog is None or call.state is CallState.ENDED:
            return None
        local, remote = call.dialog.local.tag, call.dialog.remote.tag
        if req.to.tag != local or req.from_.tag != remote:
            return None
        return call

    def _ack(self, req: SipRequest, now: float) -> None:
        """The ACK of a 2xx: stops its retransmission and lets held requests go."""
        call = self._dialog_call(req)
        if call is None or call.ok is None or req.cseq.number != call.ok.cseq.number:
            return
        call.ok = call.ok_next = call.ok_give_up = None
        if call.state is CallState.WAIT_ACK:
            call.state = CallState.CONFIRMED
            self.ua.emit(CallConfirmed(call.id, req.body or None))
            self.ua.flush_pending(call, now)

    def _in_dialog(
        self, req: SipRequest, server: ServerTransaction, source: Address, now: float
    ) -> None:
        call = self._dialog_call(req)
        if call is None or call.dialog is None:
            if req.method == "OPTIONS":
                self._options(server, source, True, now)
            else:
                self.ua.respond(server, 481, now)
            return
        remote = call.dialog.remote_cseq
        if remote is not None and req.cseq.number <= remote and req.method != "INVITE":
            self.ua.respond(server, 500, now, headers=(("Retry-After", "1"),))
            return
        call.dialog.remote_cseq = req.cseq.number
        if req.method == "BYE":
            self.ua.respond(server, 200, now)
            if call.server is not None and call.server is not server:
                self.ua.respond(call.server, 487, now)
                call.server = None
            self.ua.end(call, CallEnded(call.id, REASON_REMOTE_BYE), now)
        elif req.method in ("INVITE", "UPDATE"):
            self._session_change(call, req, server, now)
        elif req.method == "INFO":
            self._info(call, req, server, now)
        elif req.method == "NOTIFY":
            self._notify(call, req, server, now)
        elif req.method == "OPTIONS":
            self._options(server, source, True, now)
        else:
            self._refuse_method(req, server, now)

    def _session_change(
        self, call: Call, req: SipRequest, server: ServerTransaction, now: float
    ) -> None:
        if call.server is not None or call.reinvite_out:
            self.ua.respond(server, 491, now)  # glare (RFC 3261 §14.2)
            return
        if req.contacts and call.dialog is not None:
            call.dialog.remote_target = req.contacts[0].uri  # target refresh (§12.2.2)
        call.server = server
        sdp = req.body or None
        self.ua.emit(ReInvite(call.id, sdp, is_hold(sdp), req.method))

    def _info(self, call: Call, req: SipRequest, server: ServerTransaction, now: float) -> None:
        self.ua.respond(server, 200, now)
        if req.content_type == "application/dtmf-relay":
            signal, duration = _SIGNAL.search(req.body), _DURATION.search(req.body)
            if signal:
                length = int(duration.group(1)) if duration else None
                self.ua.emit(DtmfInfo(call.id, signal.group(1).decode(), length))
        elif req.content_type == "application/dtmf" and req.body.strip()[:1]:
            self.ua.emit(DtmfInfo(call.id, req.body.strip()[:1].decode("latin-1"), None))

    def _notify(self, call: Call, req: SipRequest, server: ServerTransaction, now: float) -> None:
        self.ua.respond(server, 200, now)
        frag = _SIPFRAG.match(req.body)
        if (req.header("Event") or "").split(";")[0].strip().lower() == "refer" and frag:
            state = (req.header("Subscription-State") or "").lower()
            self.ua.emit(ReferProgress(call.id, int(frag.group(1)), state.startswith("terminated")))
