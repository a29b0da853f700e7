"""Rewrite a SIP datagram into the narrow dialect pyVoIP 1.6.8 can parse, or reject it.

pyVoIP's parser (defect 8 of ``shared/docs/pyvoip-notes.md``) wants
``Name: value`` exactly, full header names, one value per Via line, UTF-8, and
an SDP body whose every line has ``=``; it crashes on an empty header
(``Supported:`` as baresip sends it), an ``a=rtpmap`` for a payload not in
``m=`` (defect 7) and an offer with both session- and media-level ``c=``
(defect 6). Rather than patch its parser in place we hand it only messages it
can digest: the rest is rejected here with a reason.
"""

from __future__ import annotations

import re

from ivr.errors import IvrError


class SipRejected(IvrError):
    """The datagram is not a SIP message we can handle."""


COMPACT = {
    "i": "Call-ID",
    "f": "From",
    "t": "To",
    "v": "Via",
    "m": "Contact",
    "l": "Content-Length",
    "c": "Content-Type",
    "k": "Supported",
    "s": "Subject",
    "e": "Content-Encoding",
    "o": "Event",
    "r": "Refer-To",
    "b": "Referred-By",
    "x": "Session-Expires",
}
CANONICAL = {
    name.lower(): name
    for name in (
        "Via",
        "From",
        "To",
        "Call-ID",
        "CSeq",
        "Contact",
        "Content-Length",
        "Content-Type",
        "Content-Encoding",
        "Max-Forwards",
        "Record-Route",
        "Route",
        "Supported",
        "Allow",
        "User-Agent",
        "WWW-Authenticate",
        "Authorization",
        "Expires",
        "Event",
        "Refer-To",
        "Referred-By",
    )
}
REQUIRED = ("Via", "From", "To", "Call-ID", "CSeq")
METHODS = frozenset({"INVITE", "ACK", "BYE", "CANCEL", "OPTIONS"})
_START_REQUEST = re.compile(r"^([A-Z]+) (\S+) SIP/2\.0$")
_START_RESPONSE = re.compile(r"^SIP/2\.0 ([1-6]\d\d)(?: .*)?$")
_TOKEN = re.compile(r"^[A-Za-z0-9.!%*_+`'~-]+$")
_NAME_ADDR = re.compile(r"sips?:[^@>;\s]*@?[^>;\s]+")


def _split_commas(value: str) -> list[str]:
    """Split a header value at commas outside quotes and angle brackets."""
    parts: list[str] = []
    current: list[str] = []
    depth, quoted = 0, False
    for char in value:
        if char == '"':
            quoted = not quoted
        elif not quoted and char == "<":
            depth += 1
        elif not quoted and char == ">":
            depth = max(0, depth - 1)
        elif char == "," and not quoted and depth == 0:
            parts.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    parts.append("".join(current).strip())
    return [p for p in parts if p]


def _headers(lines: list[str]) -> list[tuple[str, str]]:
    unfolded: list[str] = []
    for line in lines:
        if line[:1] in (" ", "\t") and unfolded:
            unfolded[-1] += " " + line.strip()
        else:
            unfolded.append(line)
    result: list[tuple[str, str]] = []
    for line in unfolded:
        name, colon, value = line.partition(":")
        name = name.strip()
        if not colon or not _TOKEN.match(name):
            raise SipRejected(f"malformed header line {line[:40]!r}")
        name = COMPACT.get(name, CANONICAL.get(name.lower(), name))
        value = " ".join(value.split())
        if not value:
            continue  # pyVoIP crashes on empty headers; they carry nothing
        if name == "Via":
            result.extend(("Via", part) for part in _split_commas(value))
        else:
            result.append((name, value))
    return result


def _sdp(body: str) -> str:
    lines = [line.strip() for line in body.splitlines()]
    lines = [line for line in lines if len(line) > 2 and line[1] == "=" and line[0].isalpha()]
    media = [i for i, line in enumerate(lines) if line.startswith("m=")]
    audio = next((i for i in media if lines[i].startswith("m=audio ")), None)
    if audio is None:
        raise SipRejected("SDP offer without an audio stream")
    fields = lines[audio][2:].split()
    if len(fields) < 4 or not fields[1].isdigit() or not all(f.isdigit() for f in fields[3:]):
        raise SipRejected("malformed m=audio line")
    payloads = set(fields[3:])
    first_media = media[0]
    session, streams = (
        lines[:first_media],
        lines[audio : next((i for i in media if i > audio), None)],
    )
    connection = [line for line in streams if line.startswith("c=")] or [
        line for line in session if line.startswith("c=")
    ]
    if not connection or len(connection[0].split()) != 3:
        raise SipRejected("SDP without a usable c= line")
    kept = [line for line in session if not line.startswith("c=")]
    kept.insert(min(len(kept), 3), connection[0].split("/")[0])
    for line in streams:
        if line.startswith("c="):
            continue
        if line.startswith(("a=rtpmap:", "a=fmtp:")):
            payload = line.split(":", 1)[1].split(" ", 1)[0]
            if payload not in payloads or " " not in line:
                continue
        kept.append(line)
    return "".join(line + "\r\n" for line in kept)


def normalise(datagram: bytes) -> bytes:
    """The same message in pyVoIP's dialect; raises ``SipRejected`` with a reason."""
    text = datagram.decode("utf-8", errors="replace").replace("\r\n", "\n")
    head, separator, body = text.partition("\n\n")
    if not separator:
        raise SipRejected("no blank line after the headers")
    lines = head.split("\n")
    start = lines[0].strip()
    request = _START_REQUEST.match(start)
    if request:
        if request.group(1) not in METHODS:
            raise SipRejected(f"method {request.group(1)} not handled here")
    elif not _START_RESPONSE.match(start):
        raise SipRejected(f"bad start line {start[:40]!r}")
    headers = _headers(lines[1:])
    names = {name for name, _ in headers}
    missing = [name for name in REQUIRED if name not in names]
    if missing:
        raise SipRejected(f"missing {', '.join(missing)}")
    values: dict[str, str] = {}
    for name, value in headers:
        values.setdefault(name, value)  # pyVoIP reads the first of each name
    for name in ("From", "To"):
        if not _NAME_ADDR.search(values[name]) or "sip:" not in values[name]:
            raise SipRejected(f"{name} is not a sip: URI")
    cseq = values["CSeq"].split()
    if len(cseq) != 2 or not cseq[0].isdigit():
        raise SipRejected("malformed CSeq")
    if request and cseq[1] != request.group(1):
        raise SipRejected("CSeq method does not match the request")
    if "Content-Encoding" in names:
        raise SipRejected("encoded bodies are not supported")
    content_type = values.get("Content-Type", "").split(";")[0].strip().lower()
    body = body if content_type == "application/sdp" else ""
    if body.strip():
        body = _sdp(body)
    else:
        body = ""
    out = [start]
    seen: set[str] = set()
    for name, value in headers:
        if name in ("Content-Length", "Content-Type") or (name != "Via" and name in seen):
            continue  # pyVoIP keeps only the first of a name anyway
        seen.add(name)
        if name in ("Record-Route", "Route"):
            # One line holding the whole route set, so that pyVoIP keeps all of it.
            value = ", ".join(v for n, v in headers if n == name)
        out.append(f"{name}: {value}")
    if body:
        out.append("Content-Type: application/sdp")
    out.append(f"Content-Length: {len(body.encode())}")
    return ("\r\n".join(out) + "\r\n\r\n" + body).encode()
