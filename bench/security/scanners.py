"""b) SIPVicious against the edge: ``svwar`` (extension scan) and ``svcrack`` (password
guessing), then a hand-made guesser that counts how long the edge keeps answering.

``svwar --force`` runs from 127.0.0.4 over the agents' and service numbers (forced:
without it, svwar gives up when an unknown extension is answered like a known one); every
extension it reports is one a stranger can enumerate (target 0). ``svcrack`` runs from 127.0.0.5
against agent 1001. Then, from 127.0.0.7, ten REGISTERs for 1001 with a wrong digest:
a banning edge stops answering (or answers 403) after at most 5 failures, so the
answers to requests 6–10 must be 0; a 200 means REGISTER needs no authentication.
Last, the line hijack of issue 13 item 1: a stranger on 127.0.0.11 registers agent 1001
without credentials, and a call to 1001 from 127.0.0.12 must not reach the stranger.
"""

from __future__ import annotations

import contextlib
import re
import socket
import subprocess
import time
import uuid
from pathlib import Path

from bench.security.node import REPO, BatteryNode
from bench.security.report import Figure, StepResult

SVWAR_SOURCE = "127.0.0.4"
SVCRACK_SOURCE = "127.0.0.5"
GUESSER_SOURCE = "127.0.0.7"
HIJACKER_SOURCE = "127.0.0.11"
HIJACK_CALLER_SOURCE = "127.0.0.12"
EXTENSIONS = "100-130,1000-1010,110,119,120,122,12320"
TOOL_SECONDS = 60
GUESSES = 10
BAN_WITHIN = 5
_ROW = re.compile(r"^\|\s*([^|\s]+)\s*\|\s*([^|]*?)\s*\|\s*$")


def svwar_extensions(output: str) -> dict[str, str]:
    """The extensions ``svwar``'s table reports, with their status (``reqauth``, ``noauth``…)."""
    found = {}
    for line in output.splitlines():
        match = _ROW.match(line.strip())
        if match and match.group(1).lower() != "extension":
            found[match.group(1)] = match.group(2)
    return found


def svcrack_passwords(output: str) -> dict[str, str]:
    """``svcrack``'s table of cracked ``extension | password``."""
    return {k: v for k, v in svwar_extensions(output).items() if v.lower() != "password"}


def _tool(venv_bin: Path, name: str, source: str, args: list[str], log: Path) -> str:
    """Run the scanner really from ``source`` (``bound_sipvicious``: its ``-b`` alone is
    ignored, and 127.0.0.1 is the edge's own, allow-listed host)."""
    command = [str(venv_bin / "python"), "-m", "bench.security.bound_sipvicious", name, source]
    try:
        done = subprocess.run(
            [*command, *args],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=TOOL_SECONDS + 30,
            stdin=subprocess.DEVNULL,
        )
        out = done.stdout + done.stderr
    except subprocess.TimeoutExpired as exc:
        parts = [
            p.decode(errors="replace") if isinstance(p, bytes) else (p or "")
            for p in (exc.stdout, exc.stderr)
        ]
        out = "".join(parts) + "\n(timed out)"
    log.write_text(out)
    return out


def _register(edge: tuple[str, int], s: socket.socket, user: str, n: int) -> bytes:
    host, port = edge
    lhost, lport = s.getsockname()
    return (
        f"REGISTER sip:{host}:{port} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP {lhost}:{lport};branch=z9hG4bK{uuid.uuid4().hex}\r\n"
        f"From: <sip:{user}@{host}>;tag={uuid.uuid4().hex[:8]}\r\nTo: <sip:{user}@{host}>\r\n"
        f"Call-ID: guess-{uuid.uuid4().hex}\r\nCSeq: {n} REGISTER\r\n"
        f"Contact: <sip:{user}@{lhost}:{lport}>\r\nExpires: 60\r\n"
        f'Authorization: Digest username="{user}", realm="{host}", nonce="0", '
        f'uri="sip:{host}", response="{uuid.uuid4().hex}"\r\n'
        "Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    ).encode()


def guess(edge: tuple[str, int], user: str = "1001") -> list[int | None]:
    """The status code of each wrong-password REGISTER (None: no answer in 1 s)."""
    codes: list[int | None] = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((GUESSER_SOURCE, 0))
        s.settimeout(1.0)
        for n in range(1, GUESSES + 1):
            s.sendto(_register(edge, s, user, n), edge)
            code: int | None = None
            try:
                deadline = time.monotonic() + 1.0
                while time.monotonic() < deadline:
                    reply = s.recv(65535).decode(errors="replace")
                    status = int(reply.split(" ", 2)[1])
                    if status >= 200:
                        code = status
                        break
            except (TimeoutError, ValueError, IndexError):
                pass
            codes.append(code)
    return codes


def hijack(edge: tuple[str, int], user: str = "1001") -> tuple[int | None, bool]:
    """Register ``user`` from 127.0.0.11 without credentials, then call it from 127.0.0.12:
    (the REGISTER's status, whether the call reached the stranger's socket)."""
    host, port = edge
    with (
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as thief,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as caller,
    ):
        thief.bind((HIJACKER_SOURCE, 0))
        caller.bind((HIJACK_CALLER_SOURCE, 0))
        thief.settimeout(1.0)
        register = _register(edge, thief, user, 1).decode()
        register = re.sub(r"Authorization: [^\r]*\r\n", "", register)
        thief.sendto(register.encode(), edge)
        status: int | None = None
        with contextlib.suppress(TimeoutError, ValueError, IndexError):
            status = int(thief.recv(65535).decode(errors="replace").split(" ", 2)[1])
        chost, cport = caller.getsockname()
        sdp = f"v=0\r\no=- 1 1 IN IP4 {chost}\r\ns=-\r\nc=IN IP4 {chost}\r\nt=0 0\r\n"
        sdp += f"m=audio {cport + 2} RTP/AVP 0\r\n"
        invite = (
            f"INVITE sip:{user}@{host}:{port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {chost}:{cport};branch=z9hG4bK{uuid.uuid4().hex}\r\n"
            f"From: <sip:caller@{chost}>;tag={uuid.uuid4().hex[:8]}\r\n"
            f"To: <sip:{user}@{host}>\r\nCall-ID: hijack-{uuid.uuid4().hex}\r\n"
            f"CSeq: 1 INVITE\r\nContact: <sip:caller@{chost}:{cport}>\r\nMax-Forwards: 70\r\n"
            f"Content-Type: application/sdp\r\nContent-Length: {len(sdp)}\r\n\r\n{sdp}"
        )
        caller.sendto(invite.encode(), edge)
        reached = False
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and not reached:
            with contextlib.suppress(TimeoutError):
                reached = thief.recv(65535).startswith(b"INVITE ")
        return status, reached


def run(node: BatteryNode, venv_bin: Path) -> StepResult:
    if not (venv_bin / "sipvicious_svwar").exists():
        return StepResult(
            "scanners", TITLE, error="sipvicious not installed (pip install -e '.[test]')"
        )
    started = time.monotonic()
    mark = node.mark()
    host, port = node.edge
    target = f"udp://{host}:{port}"
    war = _tool(
        venv_bin,
        "svwar",
        SVWAR_SOURCE,
        [
            "-e",
            EXTENSIONS,
            "-b",
            SVWAR_SOURCE,
            "-m",
            "REGISTER",
            "--force",  # what an attacker does when every extension answers alike
            "--maximumtime",
            str(TOOL_SECONDS),
            target,
        ],
        node.work / "svwar.log",
    )
    crack = _tool(
        venv_bin,
        "svcrack",
        SVCRACK_SOURCE,
        [
            "-u",
            "1001",
            "-r",
            "1-40",
            "-b",
            SVCRACK_SOURCE,
            "--maximumtime",
            str(TOOL_SECONDS),
            target,
        ],
        node.work / "svcrack.log",
    )
    extensions = svwar_extensions(war)
    passwords = svcrack_passwords(crack)
    codes = guess(node.edge)
    hijack_status, hijacked = hijack(node.edge)
    answered_after = sum(1 for c in codes[BAN_WITHIN:] if c is not None and c != 403)
    return StepResult(
        "scanners",
        TITLE,
        figures=(
            Figure("svwar: extensions found", len(extensions), "== 0"),
            Figure("svcrack: passwords found", len(passwords), "== 0"),
            Figure(
                "wrong-digest REGISTERs accepted (200)", codes.count(200), "== 0", f"of {GUESSES}"
            ),
            Figure(
                f"answers after {BAN_WITHIN} failures (not 403)",
                answered_after,
                "== 0",
                f"of {GUESSES - BAN_WITHIN}",
            ),
            Figure(
                "unauthenticated REGISTER of agent 1001 accepted", int(hijack_status == 200), "== 0"
            ),
            Figure("a call to 1001 reached the stranger who registered it", int(hijacked), "== 0"),
            Figure("process deaths", len(node.deaths_since(mark)), "== 0"),
        ),
        seconds=time.monotonic() - started,
        details={
            "svwar": extensions,
            "svcrack_cracked": sorted(passwords),
            "guess_codes": codes,
        },
    )


TITLE = "b) sipvicious svwar + svcrack against the edge; banned within 5 failures"
