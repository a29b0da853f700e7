"""A minimal SIP phone for the tests: registers at the edge and answers, refuses or rings.

It stands in for a dedicated line (120, 110, …) or an agent phone. Its point is
to show what arrived — the INVITE with its headers — so it is scripted in
Python rather than a full UA; baresip plays the caller.
"""

from __future__ import annotations

import re
import socket
import threading
import time
import uuid


class ScriptedPhone:
    def __init__(self, user: str, edge_port: int, behaviour: str = "answer") -> None:
        self.user = user
        self.edge = ("127.0.0.1", edge_port)
        self.behaviour = behaviour  # "answer" | "busy" | "ring"
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.rtp.bind(("127.0.0.1", 0))
        self.invites: list[str] = []
        self.invited_at: list[float] = []  # wall-clock time of each INVITE's arrival
        self.requests: list[str] = []
        self.registered = threading.Event()
        self._stop = False
        self._thread = threading.Thread(target=self._run, name=f"phone-{user}", daemon=True)

    def start(self) -> ScriptedPhone:
        self._thread.start()
        self._register()
        if not self.registered.wait(5):
            raise TimeoutError(f"{self.user} did not register at the edge")
        return self

    def stop(self) -> None:
        self._register(expires=0)  # leave no stale contact at the edge for the next test
        time.sleep(0.2)
        self._stop = True
        self._thread.join(2)
        self.sock.close()
        self.rtp.close()

    def _register(self, expires: int = 300) -> None:
        branch = uuid.uuid4().hex[:16]
        text = (
            f"REGISTER sip:127.0.0.1:{self.edge[1]} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{self.port};branch=z9hG4bK{branch};rport\r\n"
            f"From: <sip:{self.user}@127.0.0.1>;tag={branch[:8]}\r\n"
            f"To: <sip:{self.user}@127.0.0.1>\r\n"
            f"Call-ID: reg-{branch}\r\nCSeq: 1 REGISTER\r\n"
            f"Contact: <sip:{self.user}@127.0.0.1:{self.port}>\r\nExpires: {expires}\r\n"
            "Content-Length: 0\r\n\r\n"
        )
        self.sock.sendto(text.encode(), self.edge)

    def _run(self) -> None:
        self.sock.settimeout(0.1)
        while not self._stop:
            try:
                data, source = self.sock.recvfrom(65535)
            except (TimeoutError, OSError):
                continue
            text = data.decode(errors="replace")
            start = text.split("\r\n", 1)[0]
            if start.startswith("SIP/2.0 200") and "REGISTER" in _header(text, "CSeq"):
                self.registered.set()
            elif start.startswith("INVITE"):
                self.invited_at.append(time.time())
                self.invites.append(text)
                self._answer_invite(text, source)
            elif start.startswith(("BYE", "CANCEL")):
                self.requests.append(text)
                self.sock.sendto(_response(text, "200 OK").encode(), source)
            elif start.startswith("ACK"):
                self.requests.append(text)

    def _answer_invite(self, text: str, source: tuple[str, int]) -> None:
        self.sock.sendto(_response(text, "100 Trying").encode(), source)
        time.sleep(0.1)  # Kamailio's UDP workers run in parallel: keep the replies in order
        if self.behaviour == "busy":
            self.sock.sendto(_response(text, "486 Busy Here", tag=True).encode(), source)
            return
        self.sock.sendto(_response(text, "180 Ringing", tag=True).encode(), source)
        if self.behaviour == "ring":
            return
        time.sleep(0.2)
        sdp = (
            "v=0\r\no=- 2 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
            f"m=audio {self.rtp.getsockname()[1]} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
        )
        ok = _response(
            text, "200 OK", tag=True, body=sdp,
            extra=f"Contact: <sip:{self.user}@127.0.0.1:{self.port}>\r\n",
        )  # fmt: skip
        self.sock.sendto(ok.encode(), source)

    def header_values(self, name: str) -> list[str]:
        return [_header(invite, name) for invite in self.invites]


def _header(text: str, name: str) -> str:
    match = re.search(rf"^{re.escape(name)}\s*:\s*(.*?)\r?$", text, re.MULTILINE | re.IGNORECASE)
    return match.group(1) if match else ""


def _response(
    request: str, status: str, *, tag: bool = False, body: str = "", extra: str = ""
) -> str:
    lines = [f"SIP/2.0 {status}"]
    for line in request.split("\r\n\r\n", 1)[0].split("\r\n")[1:]:
        name = line.split(":", 1)[0].strip().lower()
        if name in ("via", "record-route", "from", "call-id", "cseq"):
            lines.append(line)
        elif name == "to":
            lines.append(line + (";tag=phone1" if tag and ";tag=" not in line else ""))
    text = "\r\n".join(lines) + "\r\n" + extra
    if body:
        text += "Content-Type: application/sdp\r\n"
    return text + f"Content-Length: {len(body)}\r\n\r\n{body}"
