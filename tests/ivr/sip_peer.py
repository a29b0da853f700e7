"""A scripted SIP peer for adapter tests: it plays the edge proxy on a loopback port.

It answers the worker's REGISTER, sends requests as Kamailio would relay them,
and collects what the worker sends back. Real UDP, real pyVoIP on the other side.
"""

from __future__ import annotations

import re
import socket
import time
import uuid
from dataclasses import dataclass


@dataclass
class Received:
    text: str

    @property
    def start(self) -> str:
        return self.text.split("\r\n", 1)[0]

    def header(self, name: str) -> str:
        match = re.search(rf"^{name}:\s*(.*)$", self.text, re.MULTILINE | re.IGNORECASE)
        return match.group(1).strip() if match else ""


class ScriptedProxy:
    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.worker: tuple[str, int] | None = None
        self.inbox: list[Received] = []

    def close(self) -> None:
        self.sock.close()

    def poll(self, timeout: float = 0.1) -> None:
        """Receive for ``timeout`` seconds, answering REGISTERs."""
        self.sock.settimeout(timeout)
        try:
            while True:
                data, source = self.sock.recvfrom(65535)
                message = Received(data.decode(errors="replace"))
                if message.start.startswith("REGISTER"):
                    self.worker = source
                    self.sock.sendto(_reply_to(message, "200 OK").encode(), source)
                else:
                    self.inbox.append(message)
                self.sock.settimeout(0.01)
        except (TimeoutError, BlockingIOError):
            return

    def wait(self, predicate, timeout: float, what: str) -> Received:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.poll(0.05)
            for message in self.inbox:
                if predicate(message):
                    return message
        raise TimeoutError(f"no {what}; got {[m.start for m in self.inbox]}")

    def wait_registered(self, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while self.worker is None and time.monotonic() < deadline:
            self.poll(0.05)
        assert self.worker is not None, "the worker never registered"

    def send(self, text: str | bytes, sock: socket.socket | None = None) -> None:
        assert self.worker is not None
        data = text.encode() if isinstance(text, str) else text
        (sock or self.sock).sendto(data, self.worker)


def _reply_to(request: Received, status: str) -> str:
    lines = [f"SIP/2.0 {status}"]
    for name in ("Via", "From", "To", "Call-ID", "CSeq"):
        for match in re.finditer(rf"^{name}:.*$", request.text, re.MULTILINE):
            lines.append(match.group(0).rstrip("\r"))
    lines.append("Content-Length: 0")
    return "\r\n".join(lines) + "\r\n\r\n"


def invite(
    proxy_port: int,
    *,
    rtp_port: int,
    codecs: tuple[tuple[int, str], ...] = ((0, "PCMU"),),
    call_id: str | None = None,
    caller: str = "13800138000",
) -> tuple[str, str]:
    """An INVITE as the edge would relay it; returns (text, call_id)."""
    call_id = call_id or uuid.uuid4().hex
    payloads = " ".join(str(pt) for pt, _ in codecs) + " 101"
    rtpmaps = "".join(f"a=rtpmap:{pt} {name}/8000\r\n" for pt, name in codecs)
    sdp = (
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        f"m=audio {rtp_port} RTP/AVP {payloads}\r\n{rtpmaps}"
        "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=sendrecv\r\n"
    )
    text = (
        "INVITE sip:12320@127.0.0.1 SIP/2.0\r\n"
        f"Record-Route: <sip:127.0.0.1:{proxy_port};lr>\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:{proxy_port};branch=z9hG4bK{uuid.uuid4().hex[:12]}\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK{uuid.uuid4().hex[:12]};rport=5999\r\n"
        f"From: <sip:{caller}@127.0.0.1>;tag=caller1\r\n"
        "To: <sip:12320@127.0.0.1>\r\n"
        f"Call-ID: {call_id}\r\n"
        "CSeq: 1 INVITE\r\n"
        f"Contact: <sip:{caller}@127.0.0.1:5999>\r\n"
        "Max-Forwards: 69\r\n"
        "Supported:\r\n"
        "Content-Type: application/sdp\r\n"
        f"Content-Length: {len(sdp)}\r\n\r\n{sdp}"
    )
    return text, call_id


def in_dialog(method: str, invite_text: str, proxy_port: int, cseq: int, to_tag: str = "") -> str:
    """CANCEL (same branch/CSeq number as the INVITE) or BYE for the INVITE's dialog."""
    via = re.search(r"^Via:.*$", invite_text, re.MULTILINE)
    call_id = re.search(r"^Call-ID: (.*)$", invite_text, re.MULTILINE)
    assert via and call_id
    to = "To: <sip:12320@127.0.0.1>" + (f";tag={to_tag}" if to_tag else "")
    return (
        f"{method} sip:12320@127.0.0.1 SIP/2.0\r\n"
        f"{via.group(0).rstrip()}\r\n"
        "From: <sip:13800138000@127.0.0.1>;tag=caller1\r\n"
        f"{to}\r\n"
        f"Call-ID: {call_id.group(1).strip()}\r\n"
        f"CSeq: {cseq} {method}\r\n"
        "Max-Forwards: 69\r\n"
        "Content-Length: 0\r\n\r\n"
    )
