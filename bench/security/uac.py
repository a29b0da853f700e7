"""A bare SIP caller over UDP for what SIPp cannot send: any bytes in the Call-ID.

SIPp's scenarios are XML, which cannot carry a control character; a hostile caller's
INVITE can. This one sends an INVITE with SDP, ACKs the 200 along its Record-Route,
stays silent, and hangs up with a BYE.
"""

from __future__ import annotations

import re
import socket
import time
import uuid


class BareCall:
    def __init__(self, edge: tuple[str, int], source: str, call_id: str, caller: str) -> None:
        self.edge = edge
        self.call_id = call_id
        self.caller = caller
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((source, 0))
        self.local = self.sock.getsockname()
        self.tag = uuid.uuid4().hex[:8]
        self.to = ""
        self.target = ""
        self.routes: list[str] = []

    def _headers(self, method: str, uri: str, cseq: int, to: str) -> str:
        lhost, lport = self.local
        return (
            f"{method} {uri} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {lhost}:{lport};branch=z9hG4bK{uuid.uuid4().hex}\r\n"
            f"From: <sip:{self.caller}@{lhost}>;tag={self.tag}\r\nTo: {to}\r\n"
            f"Call-ID: {self.call_id}\r\nCSeq: {cseq} {method}\r\n"
            f"Contact: <sip:caller@{lhost}:{lport}>\r\nMax-Forwards: 70\r\n"
        )

    def invite(self, timeout: float = 10.0) -> int | None:
        """Dial 12320 at the edge; the final status (200: answered and ACKed)."""
        host, port = self.edge
        lhost, lport = self.local
        sdp = (
            f"v=0\r\no=- 1 1 IN IP4 {lhost}\r\ns=-\r\nc=IN IP4 {lhost}\r\nt=0 0\r\n"
            f"m=audio {lport + 2} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n"
        )
        uri = f"sip:12320@{host}:{port}"
        message = self._headers("INVITE", uri, 1, f"<{uri}>")
        message += f"Content-Type: application/sdp\r\nContent-Length: {len(sdp)}\r\n\r\n{sdp}"
        self.sock.sendto(message.encode("latin-1"), self.edge)
        deadline = time.monotonic() + timeout
        self.sock.settimeout(0.5)
        while time.monotonic() < deadline:
            try:
                reply = self.sock.recv(65535).decode("latin-1")
            except TimeoutError:
                continue
            status = int(reply.split(" ", 2)[1])
            if status < 200:
                continue
            if status >= 300:
                return status
            self.to = _header(reply, "To")
            self.target = re.sub(r"^.*<|>.*$", "", _header(reply, "Contact"))
            self.routes = [r.strip() for r in reversed(_all(reply, "Record-Route"))]
            self._send("ACK", 1)
            return status
        return None

    def _send(self, method: str, cseq: int) -> None:
        message = self._headers(method, self.target, cseq, self.to)
        message += "".join(f"Route: {r}\r\n" for r in self.routes)
        message += "Content-Length: 0\r\n\r\n"
        self.sock.sendto(message.encode("latin-1"), self.edge)

    def hang_up(self) -> None:
        if self.target:
            self._send("BYE", 2)
        self.sock.close()


def _header(message: str, name: str) -> str:
    values = _all(message, name)
    return values[0] if values else ""


def _all(message: str, name: str) -> list[str]:
    head = message.split("\r\n\r\n", 1)[0]
    found = []
    for line in head.split("\r\n")[1:]:
        key, _, value = line.partition(":")
        if key.strip().lower() == name.lower():
            found += (
                [v.strip() for v in value.split(",")] if name == "Record-Route" else [value.strip()]
            )
    return found
