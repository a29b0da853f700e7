"""Rewrite a SIP datagram into the narrow dialect pyVoIP 1.6.8 can parse, or reject it.

pyVoIP's parser (defect 8 of ``shared/docs/pyvoip-notes.md``) wants
``Name: value`` exactly, full header names, one value per Via line, UTF-8, and
an SDP body whose every line has ``=``; it crashes on an empty header
(``Supported:`` as baresip sends it), an ``a=rtpmap`` for a payload not in
``m=`` (defect 7) and an offer with both session- and media-level ``c=``
(defect 6). It also splits header lines at every ``": "`` and SDP lines at
every ``=`` and single space, raises on a status code missing from its enum,
and its call set-up fails on an INVITE without SDP or without PCMU/PCMA (and
warns, resetting the process's warning filters, on codecs it does not know).
Rather than patch its parser in place we hand it only messages it can digest:
the rest is rejected here with a reason.
"""

from __future__ import annotations

import ipaddress
import re

from ivr.errors import IvrError
from ivr.sip.stack.message import COMPACT as STACK_COMPACT


class SipRejected(IvrError):
    """The datagram is not a SIP message we can handle."""


class SipRefused(SipRejected):
    """A well-formed INVITE whose session we cannot set up: answer it, never drop it.

    A dropped INVITE is retransmitted until the edge gives up and takes the worker out
    of rotation (issue 13, item 5), so the adapter answers ``code`` with a ``Warning``
    (RFC 3261 §20.43: ``warn_code`` 305 incompatible media format, 399 miscellaneous)
    instead. ``message`` is the request normalised without its body, for the reply's
    dialog headers.
    """

    def __init__(self, reason: str, *, warn_code: int, message: bytes) -> None:
        super().__init__(reason)
        self.code = 488
        self.status = "Not Acceptable Here"
        self.warn_code = warn_code
        self.message = message

    def warning(self, agent: str) -> str:
        """The ``Warning`` header value; the text is ASCII, quotes and controls removed."""
        text = "".join(c for c in str(self) if " " <= c <= "~" and c not in '"\\')
        return f'{self.warn_code} {agent} "{text}"'


#: Why an INVITE without SDP is refused rather than answered with an offer of our own.
LATE_OFFER = "late offer (INVITE without SDP) not supported: send the SDP offer in the INVITE"


# RFC 3261 §7.3.3 compact forms: the one table, the new SIP stack's (this module goes when
# the adapter moves to that stack).
COMPACT = STACK_COMPACT
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
METHODS = frozenset({"INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "NOTIFY"})
# A NOTIFY's message/sipfrag body (RFC 3515) becomes this header: pyVoIP keeps only SDP bodies.
SIPFRAG_HEADER = "X-Sipfrag-Status"
# Status codes of pyVoIP 1.6.8's SIPStatus enum; any other is sent on as its class's x00.
PYVOIP_STATUS_CODES = frozenset(
    (
        *(100, 180, 181, 182, 183, 199, 200, 202, 204, 300, 301, 302, 305, 380),
        *range(400, 418),
        *(*range(420, 425), 428, 429, 430, 433, *range(436, 441), 469, 470),
        *(*range(480, 490), 491, 493, 494, *range(500, 506), 513, 555, 580),
        *(600, 603, 604, 606, 607, 608),
    )
)
G711_PAYLOADS = ("0", "8")  # PCMU, PCMA: the only audio pyVoIP sends
MAX_CSEQ = 2**31 - 1  # RFC 3261 §8.1.1.5
_START_REQUEST = re.compile(r"^([A-Z]+) (\S+) SIP/2\.0$")
_START_RESPONSE = re.compile(r"^SIP/2\.0 ([1-6][0-9][0-9])((?: .*)?)$")
_TOKEN = re.compile(r"^[A-Za-z0-9.!%*_+`'~-]+$")
_NUMBER = re.compile(r"^[0-9]{1,10}$")
_VIA = re.compile(r"^SIP ?/ ?2\.0 ?/ ?([A-Za-z0-9.!%*_+`'~-]+) ([^;\s].*)$")
_RTPMAP = re.compile(r"^a=rtpmap:([0-9]{1,3}) ([A-Za-z0-9_.+-]+)/([0-9]+)(/[0-9]+)?$")
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
        name = COMPACT.get(name.lower()) or CANONICAL.get(name.lower(), name)
        # pyVoIP keeps only what lies between the first and second ": " of a line.
        value = " ".join(value.split()).replace(": ", ":")
        if not value:
            continue  # pyVoIP crashes on empty headers; they carry nothing
        if name == "Via":
            result.extend(("Via", _via(part)) for part in _split_commas(value))
        elif name in ("From", "To"):
            result.append((name, _tidy_tag(value)))
        else:
            result.append((name, value))
    return result


def _via(value: str) -> str:
    """``SIP/2.0/UDP host;params`` with no whitespace where pyVoIP splits on it."""
    match = _VIA.match(value)
    if not match:
        raise SipRejected(f"malformed Via {value[:40]!r}")
    sent_by = re.sub(r" ?([;=:]) ?", r"\1", match.group(2))
    return f"SIP/2.0/{match.group(1).upper()} {sent_by}"


def _tidy_tag(value: str) -> str:
    """From/To with ``;tag=`` spelt as pyVoIP splits on it (no spaces, lowercase name)."""
    cut = value.rfind(">") + 1  # parameters follow the URI; the display name may hold anything
    params = re.sub(r" ?([;=]) ?", r"\1", value[cut:])
    return value[:cut] + re.sub(r";tag=", ";tag=", params, flags=re.IGNORECASE)


def _visible(line: str) -> str:
    """The part of an SDP line pyVoIP reads: it splits the line at every ``=``."""
    return line[2:].split("=", 1)[0]


def _session_line(line: str) -> str | None:
    """A session-level line as pyVoIP can parse it, ``None`` to drop it; raises if vital."""
    kind, fields = line[0], _visible(line).split(" ")
    if kind == "v" and line != "v=0":
        raise SipRejected("unsupported SDP version (v= is not 0)")
    if kind == "o" and len(fields) < 6:
        raise SipRejected("malformed SDP o= line")
    if (kind == "t" and len(fields) < 2) or (kind == "r" and len(fields) < 4):
        return None  # timing: unused, but pyVoIP indexes its fields
    if kind == "b" and ":" not in fields[0]:
        return None
    if line.startswith(("a=rtpmap:", "a=fmtp:")):
        return None  # pyVoIP files these under an m= line, which does not exist yet
    return line


def _audio_stream(stream: list[str]) -> list[str]:
    """The m=audio section with only the payloads pyVoIP can use; raises if none is G.711."""
    fields = stream[0][2:].split(" ")
    if (
        len(fields) < 4
        or not _NUMBER.match(fields[1])
        or not 0 < int(fields[1]) < 65536
        or not all(_NUMBER.match(f) for f in fields[3:])
    ):
        raise SipRejected("malformed m=audio line")
    if fields[2] != "RTP/AVP":
        raise SipRejected(f"media transport {fields[2][:20]!r} not supported (RTP/AVP only)")
    rtpmaps = {m.group(1): m for m in map(_RTPMAP.match, stream) if m}
    events = {
        payload
        for payload, m in rtpmaps.items()
        if m.group(2).lower() == "telephone-event" and int(payload) < 128
    }
    payloads = [p for p in dict.fromkeys(fields[3:]) if p in G711_PAYLOADS or p in events]
    if not set(payloads) & set(G711_PAYLOADS):
        raise SipRejected("no G.711 (PCMU/PCMA) payload offered")
    kept = [f"m=audio {int(fields[1])} RTP/AVP {' '.join(payloads)}"]
    for line in stream[1:]:
        if line.startswith("c="):
            continue
        if line.startswith("a=rtpmap:"):
            m = _RTPMAP.match(line)
            if m is None or m.group(1) not in payloads:
                continue
            name = "telephone-event" if m.group(1) in events else m.group(2)
            line = f"a=rtpmap:{m.group(1)} {name}/{m.group(3)}{m.group(4) or ''}"
        elif line.startswith("a=fmtp:"):
            payload, space, _ = line[7:].partition(" ")
            if payload not in payloads or not space:
                continue
        kept.append(line)
    return kept


def _sdp(body: str) -> str:
    lines = [" ".join(line.split()) for line in body.splitlines()]
    lines = [line for line in lines if len(line) > 2 and line[1] == "=" and line[0].isalpha()]
    media = [i for i, line in enumerate(lines) if line.startswith("m=")]
    audio = next((i for i in media if lines[i].startswith("m=audio ")), None)
    if audio is None:
        raise SipRejected("SDP offer without an audio stream")
    session = lines[: media[0]]
    stream = lines[audio : next((i for i in media if i > audio), None)]
    connection = [line for line in stream if line.startswith("c=")] or [
        line for line in session if line.startswith("c=")
    ]
    address = _visible(connection[0]).split(" ") if connection else []
    if len(address) != 3 or not address[2].split("/")[0]:
        raise SipRejected("SDP without a usable c= line")
    if address[:2] != ["IN", "IP4"] or not _is_ipv4(address[2].split("/")[0]):
        # RTP is sent to this address for every packet: a name would be resolved 50 times a
        # second, and a malformed one killed pyVoIP's sender thread.
        raise SipRejected("SDP c= is not an IPv4 address")
    kept = [
        line
        for line in map(_session_line, session)
        if line is not None and not line.startswith("c=")
    ]
    # One c= line, without TTL or address count: pyVoIP wants as many RTP ports as addresses.
    kept.insert(min(len(kept), 3), f"c={address[0]} {address[1]} {address[2].split('/')[0]}")
    kept += _audio_stream(stream)
    return "".join(line + "\r\n" for line in kept)


def _is_ipv4(text: str) -> bool:
    try:
        ipaddress.IPv4Address(text)
    except ValueError:
        return False
    return True


def normalise(datagram: bytes) -> bytes:
    """The same message in pyVoIP's dialect; raises ``SipRejected`` with a reason."""
    text = datagram.decode("utf-8", errors="replace").replace("\r\n", "\n")
    head, separator, body = text.partition("\n\n")
    if not separator:
        raise SipRejected("no blank line after the headers")
    lines = head.split("\n")
    start = lines[0].strip()
    request = _START_REQUEST.match(start)
    response = None if request else _START_RESPONSE.match(start)
    if request:
        if request.group(1) not in METHODS:
            raise SipRejected(f"method {request.group(1)} not handled here")
    elif response is None:
        raise SipRejected(f"bad start line {start[:40]!r}")
    elif int(response.group(1)) not in PYVOIP_STATUS_CODES:
        # RFC 3261 §8.1.3.2: an unknown response code is treated as the x00 of its class.
        start = f"SIP/2.0 {response.group(1)[0]}00{response.group(2)}"
    headers = _headers(lines[1:])
    names = {name for name, _ in headers}
    missing = [name for name in REQUIRED if name not in names]
    if missing:
        raise SipRejected(f"missing {', '.join(missing)}")
    values: dict[str, str] = {}
    for name, value in headers:
        values.setdefault(name, value)  # pyVoIP reads the first of each name
    for name in ("From", "To"):
        address = values[name].split(";tag=")[0]  # pyVoIP looks for sip: before the tag
        if not _NAME_ADDR.search(address) or "sip:" not in address:
            raise SipRejected(f"{name} is not a sip: URI")
    cseq = values["CSeq"].split()
    if len(cseq) != 2 or not _NUMBER.match(cseq[0]) or int(cseq[0]) > MAX_CSEQ:
        raise SipRejected("malformed CSeq")
    if request and cseq[1] != request.group(1):
        raise SipRejected("CSeq method does not match the request")
    if "Content-Encoding" in names:
        raise SipRejected("encoded bodies are not supported")
    content_type = values.get("Content-Type", "").split(";")[0].strip().lower()
    if request and request.group(1) == "NOTIFY" and content_type == "message/sipfrag":
        status = _START_RESPONSE.match(body.strip().split("\n", 1)[0].strip())
        if status is None:
            raise SipRejected("NOTIFY with a malformed message/sipfrag body")
        headers.append((SIPFRAG_HEADER, status.group(1)))
    body = body if content_type == "application/sdp" else ""
    invite = bool(request and request.group(1) == "INVITE")
    refusal: tuple[str, int] | None = None
    if body.strip():
        try:
            body = _sdp(body)
        except SipRejected as exc:
            if not invite:
                raise
            body, refusal = "", (str(exc), 305 if "G.711" in str(exc) else 399)
    elif invite:
        # pyVoIP's call set-up reads the offer; a delayed offer would crash it. We refuse it
        # (488) rather than offer in the 200 and read the answer from the ACK: every trunk
        # and phone the hotline serves sends the offer, and pyVoIP has no path for an answer
        # in an ACK — a second, untested media set-up path, for nobody.
        body, refusal = "", (LATE_OFFER, 399)
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
    normalised = ("\r\n".join(out) + "\r\n\r\n" + body).encode()
    if refusal is not None:
        raise SipRefused(refusal[0], warn_code=refusal[1], message=normalised)
    return normalised
