"""A minimal SIP phone for the tests: answers, refuses or rings.

It stands in for a dedicated line (120, 110, …: a static gateway the edge knows,
listening on its port) or an agent phone (registers at the edge with digest
authentication). Its point is to show what arrived — the INVITE with its headers —
so it is scripted in Python rather than a full UA; baresip plays the caller.
"""

from __future__ import annotations

import hashlib
import re
import socket
import threading
import time
import uuid
from typing import TYPE_CHECKING

from tests.e2e.peers import AGENT_PASSWORD

if TYPE_CHECKING:
    from tests.e2e.peers import Kamailio


class ScriptedPhone:
    """``password``: an agent phone that registers; ``port``: a line's gateway on that port."""

    def __init__(
        self, user: str, edge_port: int, behaviour: str = "answer", *,
        password: str | None = None, port: int = 0,
    ) -> None:  # fmt: skip
        self.user = user
        self.edge = ("127.0.0.1", edge_port)
        self.behaviour = behaviour  # "answer" | "busy" | "ring"
        self.password = password
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", port))
        self.port = self.sock.getsockname()[1]
        self.rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.rtp.bind(("127.0.0.1", 0))
        self.invites: list[str] = []
        self.invited_at: list[float] = []  # wall-clock time of each INVITE's arrival
        self.requests: list[str] = []
        self.registered = threading.Event()
        self._expires = 300
        self._cseq = 0
        self._challengeable: set[int] = set()
        self._stop = False
        self._thread = threading.Thread(target=self._run, name=f"phone-{user}", daemon=True)

    @classmethod
    def at(cls, edge: Kamailio, user: str, behaviour: str = "answer") -> ScriptedPhone:
        """The phone for ``user`` at the test edge, started: its gateway, or a registered phone."""
        if user in edge.gateway_ports:
            return cls(user, edge.port, behaviour, port=edge.gateway_ports[user]).start()
        return cls(user, edge.port, behaviour, password=AGENT_PASSWORD).start()

    def start(self) -> ScriptedPhone:
        self._thread.start()
        if self.password is None:  # a static gateway: the edge knows where it is
            self.registered.set()
            return self
        self._register()
        if not self.registered.wait(5):
            raise TimeoutError(f"{self.user} did not register at the edge")
        return self

    def stop(self) -> None:
        if self.password is not None:
            self._register(expires=0)  # leave no stale contact at the edge for the next test
            time.sleep(0.2)
        self._stop = True
        self._thread.join(2)
        self.sock.close()
        self.rtp.close()

    def _register(self, expires: int = 300, challenge: str = "") -> None:
        branch = uuid.uuid4().hex[:16]
        self._expires = expires
        self._cseq += 1
        cseq = self._cseq
        if not challenge:
            self._challengeable.add(cseq)
        uri = f"sip:127.0.0.1:{self.edge[1]}"
        authorization = ""
        if challenge:
            assert self.password is not None
            authorization = digest_authorization(
                challenge, self.user, self.password, "REGISTER", uri
            )
        text = (
            f"REGISTER {uri} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{self.port};branch=z9hG4bK{branch};rport\r\n"
            f"From: <sip:{self.user}@127.0.0.1>;tag={branch[:8]}\r\n"
            f"To: <sip:{self.user}@127.0.0.1>\r\n"
            f"Call-ID: reg-{self.user}-{self.port}\r\nCSeq: {cseq} REGISTER\r\n"
            f"Contact: <sip:{self.user}@127.0.0.1:{self.port}>\r\nExpires: {expires}\r\n"
            f"{authorization}Content-Length: 0\r\n\r\n"
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
            elif start.startswith("SIP/2.0 401") and "REGISTER" in _header(text, "CSeq"):
                cseq = int(_header(text, "CSeq").split()[0])
                if cseq in self._challengeable:  # answer each challenge once
                    self._challengeable.discard(cseq)
                    self._register(self._expires, _header(text, "WWW-Authenticate"))
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


def digest_authorization(challenge: str, user: str, password: str, method: str, uri: str) -> str:
    """The Authorization header answering a ``WWW-Authenticate: Digest …`` challenge."""
    params = dict(re.findall(r'(\w+)="?([^",]*)"?', challenge.removeprefix("Digest ")))
    realm, nonce = params["realm"], params["nonce"]

    def md5(text: str) -> str:
        return hashlib.md5(text.encode()).hexdigest()

    ha1, ha2 = md5(f"{user}:{realm}:{password}"), md5(f"{method}:{uri}")
    fields = f'username="{user}", realm="{realm}", nonce="{nonce}", uri="{uri}", algorithm=MD5'
    if "qop" in params:
        cnonce = uuid.uuid4().hex[:8]
        response = md5(f"{ha1}:{nonce}:00000001:{cnonce}:auth:{ha2}")
        fields += f', qop=auth, nc=00000001, cnonce="{cnonce}"'
    else:
        response = md5(f"{ha1}:{nonce}:{ha2}")
    return f'Authorization: Digest {fields}, response="{response}"\r\n'


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
