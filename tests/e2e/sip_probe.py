"""A raw SIP client for the edge's security tests: one UDP socket on a chosen loopback
address (Linux routes all of 127.0.0.0/8 to lo), so a test can play several hosts —
a stranger on 127.0.0.5, a flooder on 127.0.0.6 — against one edge.

It sends hand-made requests and reads what comes back; a scanner does no more.
"""

from __future__ import annotations

import re
import socket
import time
import uuid
from dataclasses import dataclass

from tests.e2e.sip_phone import _response, digest_authorization


@dataclass(frozen=True)
class Reply:
    status: int
    text: str

    def header(self, name: str) -> str:
        match = re.search(rf"^{re.escape(name)}\s*:\s*(.*?)\r?$", self.text, re.M | re.I)
        return match.group(1) if match else ""


class SipProbe:
    def __init__(self, host: str, edge_port: int, port: int = 0) -> None:
        self.host = host
        self.edge = ("127.0.0.1", edge_port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        # Room for the replies to a burst (the default holds about 160 small datagrams).
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.sock.bind((host, port))
        self.port = self.sock.getsockname()[1]

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> SipProbe:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def build(
        self, method: str, uri: str, *, user: str = "13900001111", to_user: str | None = None,
        to_tag: str = "", call_id: str = "", cseq: int = 1, extra: str = "", body: str = "",
    ) -> str:  # fmt: skip
        to = f"<sip:{to_user or user}@127.0.0.1>" + (f";tag={to_tag}" if to_tag else "")
        branch = uuid.uuid4().hex[:16]
        text = (
            f"{method} {uri} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {self.host}:{self.port};branch=z9hG4bK{branch};rport\r\n"
            f"Max-Forwards: 70\r\n"
            f"From: <sip:{user}@{self.host}>;tag={branch[:8]}\r\nTo: {to}\r\n"
            f"Call-ID: {call_id or uuid.uuid4().hex}\r\nCSeq: {cseq} {method}\r\n"
            f"Contact: <sip:{user}@{self.host}:{self.port}>\r\n{extra}"
        )
        if body:
            text += "Content-Type: application/sdp\r\n"
        return text + f"Content-Length: {len(body)}\r\n\r\n{body}"

    def send(self, text: str) -> None:
        self.sock.sendto(text.encode(), self.edge)

    def final(self, timeout: float = 2.0, call_id: str = "") -> Reply | None:
        """The next final reply (of ``call_id`` if given; provisional ones skipped), or None
        when the edge is silent. A final reply to an INVITE that is not 2xx is ACKed, so
        the edge does not send it again."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65535)
            except TimeoutError:
                return None
            reply = Reply(0, data.decode(errors="replace"))
            match = re.match(r"SIP/2\.0 (\d{3})", reply.text)
            if not match or int(match.group(1)) < 200:
                continue
            reply = Reply(int(match.group(1)), reply.text)
            if reply.status >= 300 and reply.header("CSeq").endswith("INVITE"):
                self.send(_ack(reply))
            if not call_id or reply.header("Call-ID") == call_id:
                return reply
        return None

    def request(
        self, method: str, uri: str, timeout: float = 2.0, **fields: object
    ) -> Reply | None:
        text = self.build(method, uri, **fields)  # type: ignore[arg-type]
        self.send(text)
        return self.final(timeout, call_id=Reply(0, text).header("Call-ID"))

    def next_request(self, method: str, timeout: float) -> str | None:
        """The next request ``method`` that arrives (replies and other requests skipped)."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            self.sock.settimeout(left)
            try:
                text = self.sock.recv(65535).decode(errors="replace")
            except TimeoutError:
                return None
            if text.startswith(f"{method} "):
                return text
        return None

    def answer(self, request: str, status: str = "200 OK") -> None:
        self.send(_response(request, status))

    def call(self, uri: str, user: str, rtp_port: int, timeout: float = 15.0) -> Reply | None:
        """INVITE ``uri``; on 2xx, ACK it along the Record-Route (the dialog is up)."""
        reply = self.request("INVITE", uri, timeout, user=user, to_user=uri[4:].split("@")[0],
                             body=sdp(self.host, rtp_port))  # fmt: skip
        if reply is not None and reply.status < 300:
            contact = re.search(r"<([^>]+)>", reply.header("Contact"))
            route = reply.header("Record-Route")
            cseq = reply.header("CSeq").split()[0]
            branch = uuid.uuid4().hex[:16]
            self.send(
                f"ACK {contact[1] if contact else uri} SIP/2.0\r\n"
                f"Via: SIP/2.0/UDP {self.host}:{self.port};branch=z9hG4bK{branch};rport\r\n"
                + (f"Route: {route}\r\n" if route else "")
                + f"Max-Forwards: 70\r\nFrom: {reply.header('From')}\r\n"
                f"To: {reply.header('To')}\r\nCall-ID: {reply.header('Call-ID')}\r\n"
                f"CSeq: {cseq} ACK\r\nContent-Length: 0\r\n\r\n"
            )
        return reply

    def register(self, user: str, password: str | None, *, expires: int = 300) -> Reply | None:
        """REGISTER as ``user``; answer the challenge with ``password`` if one is given."""
        uri = f"sip:127.0.0.1:{self.edge[1]}"
        call_id = uuid.uuid4().hex
        extra = f"Expires: {expires}\r\n"
        reply = self.request("REGISTER", uri, user=user, call_id=call_id, extra=extra)
        if reply is None or reply.status != 401 or password is None:
            return reply
        auth = digest_authorization(
            reply.header("WWW-Authenticate"), user, password, "REGISTER", uri
        )
        return self.request("REGISTER", uri, user=user, call_id=call_id, cseq=2, extra=extra + auth)


def _ack(reply: Reply) -> str:
    """The ACK of a negative final reply to an INVITE (same branch: RFC 3261 §17.1.1.3)."""
    uri = re.search(r"<([^>]+)>", reply.header("To"))
    cseq = reply.header("CSeq").split()[0]
    return (
        f"ACK {uri[1] if uri else 'sip:invalid'} SIP/2.0\r\nVia: {reply.header('Via')}\r\n"
        f"Max-Forwards: 70\r\nFrom: {reply.header('From')}\r\nTo: {reply.header('To')}\r\n"
        f"Call-ID: {reply.header('Call-ID')}\r\nCSeq: {cseq} ACK\r\nContent-Length: 0\r\n\r\n"
    )


def sdp(host: str, port: int) -> str:
    return (
        f"v=0\r\no=- 1 1 IN IP4 {host}\r\ns=-\r\nc=IN IP4 {host}\r\nt=0 0\r\n"
        f"m=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
    )
