"""Dialog state (RFC 3261 §12) and the builders of the requests and responses the UA sends.

A dialog is the Call-ID, both tags and URIs, the remote target (the peer's Contact),
the route set (Record-Route in order for the UAS, reversed for the UAC) and both CSeq
counters. Requests inside it carry the route set as Route headers; with a loose-routing
first hop (``;lr``) the Request-URI is the remote target, with a strict router it is
the first route and the remote target goes last (§12.2.1.1).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from ivr.sip.stack.errors import SipError
from ivr.sip.stack.grammar import NameAddr, Via, parse_name_addr
from ivr.sip.stack.message import Headers, SipRequest, SipResponse, request, response
from ivr.sip.stack.transaction import MAGIC_COOKIE, Address

_URI_HOST = re.compile(r"sips?:(?:[^@]*@)?(\[[^\]]+\]|[^:;?>]+)(?::(\d+))?", re.IGNORECASE)
REASONS = {
    100: "Trying",
    180: "Ringing",
    183: "Session Progress",
    200: "OK",
    202: "Accepted",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    407: "Proxy Authentication Required",
    408: "Request Timeout",
    415: "Unsupported Media Type",
    416: "Unsupported URI Scheme",
    420: "Bad Extension",
    480: "Temporarily Unavailable",
    481: "Call/Transaction Does Not Exist",
    486: "Busy Here",
    487: "Request Terminated",
    488: "Not Acceptable Here",
    491: "Request Pending",
    500: "Server Internal Error",
    501: "Not Implemented",
    503: "Service Unavailable",
    603: "Decline",
}


def new_tag() -> str:
    return secrets.token_hex(6)


def new_branch() -> str:
    return MAGIC_COOKIE + secrets.token_hex(8)


def uri_address(uri: str) -> Address:
    """Host and port of a SIP URI (5060 by default); names are resolved by the adapter."""
    match = _URI_HOST.match(uri.strip("<>"))
    if match is None:
        raise SipError("not a sip: URI")
    return match.group(1).strip("[]"), int(match.group(2) or 5060)


def via_for(local: Address, branch: str | None = None) -> str:
    host = f"[{local[0]}]" if ":" in local[0] else local[0]
    params = (("branch", branch or new_branch()), ("rport", None))
    return str(Via("UDP", host, local[1], params))


def response_to(
    req: SipRequest,
    status: int,
    *,
    to_tag: str | None = None,
    headers: Headers = (),
    body: bytes = b"",
) -> SipResponse:
    """A response to ``req`` (§8.2.6): its Vias, From, To (+ our tag), Call-ID, CSeq.

    Responses that create a dialog (1xx but 100, and 2xx, to INVITE) copy Record-Route.
    """
    to = req.to
    if to_tag is not None and to.tag is None and status != 100:
        to = to.with_tag(to_tag)
    copied = [(n, v) for n, v in req.headers if n in ("Via", "From", "Call-ID", "CSeq")]
    if req.method == "INVITE" and 100 < status < 300:
        copied += [(n, v) for n, v in req.headers if n == "Record-Route"]
    first = [h for h in copied if h[0] == "Via"]
    rest = [h for h in copied if h[0] != "Via"]
    return response(
        status, REASONS.get(status, ""), (*first, ("To", str(to)), *rest, *headers), body
    )


@dataclass
class Dialog:
    call_id: str
    local: NameAddr  # with our tag
    remote: NameAddr  # with theirs (None until a UAC sees one)
    remote_target: str
    route_set: tuple[str, ...]  # name-addr strings, first hop first
    local_cseq: int
    remote_cseq: int | None
    contact: str

    @classmethod
    def for_uas(cls, invite: SipRequest, local_tag: str, contact: str) -> Dialog:
        target = invite.contacts[0].uri if invite.contacts else invite.from_.uri
        return cls(
            call_id=invite.call_id,
            local=invite.to.with_tag(local_tag),
            remote=invite.from_,
            remote_target=target,
            route_set=tuple(str(r) for r in invite.record_route),
            local_cseq=secrets.randbelow(2**16) + 1,
            remote_cseq=invite.cseq.number,
            contact=contact,
        )

    @classmethod
    def for_uac(cls, invite: SipRequest, answer: SipResponse, contact: str) -> Dialog:
        target = answer.contacts[0].uri if answer.contacts else invite.uri
        return cls(
            call_id=invite.call_id,
            local=invite.from_,
            remote=answer.to,
            remote_target=target,
            route_set=tuple(str(r) for r in reversed(answer.record_route)),
            local_cseq=invite.cseq.number,
            remote_cseq=None,
            contact=contact,
        )

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.call_id, self.local.tag or "", self.remote.tag or "")

    def next_hop(self) -> Address:
        if self.route_set:
            return uri_address(parse_name_addr(self.route_set[0], "Route").uri)
        return uri_address(self.remote_target)

    def request(
        self,
        method: str,
        local: Address,
        *,
        headers: Headers = (),
        body: bytes = b"",
        cseq: int | None = None,
    ) -> SipRequest:
        """An in-dialog request; a new CSeq unless given (ACK and CANCEL reuse the INVITE's)."""
        if cseq is None:
            self.local_cseq += 1
            cseq = self.local_cseq
        uri, routes = self.remote_target, list(self.route_set)
        if routes and ";lr" not in parse_name_addr(routes[0], "Route").uri.lower():
            uri = parse_name_addr(routes[0], "Route").uri  # strict router (§12.2.1.1)
            routes = [*routes[1:], f"<{self.remote_target}>"]
        base: list[tuple[str, str]] = [
            ("Via", via_for(local)),
            ("Max-Forwards", "70"),
            *(("Route", r) for r in routes),
            ("From", str(self.local)),
            ("To", str(self.remote)),
            ("Call-ID", self.call_id),
            ("CSeq", f"{cseq} {method}"),
            ("Contact", f"<{self.contact}>"),
        ]
        return request(method, uri, (*base, *headers), body)
