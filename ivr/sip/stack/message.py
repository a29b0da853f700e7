"""SIP messages as values: parse a datagram into a ``SipRequest`` or ``SipResponse`` and
serialise one back (RFC 3261 §7, §20; RFC 4475 for what must be tolerated or refused).

A parsed message is validated once: Via, From, To, Call-ID and CSeq are present, single
where they must be, and readable, so the accessors never raise on a parsed message.
Headers are stored in order with canonical names, one value per entry for the
comma-separated kinds (Via, Route, Contact...), and without Content-Length, which
``serialise`` recomputes from the body. Header text is decoded as UTF-8 with
``surrogateescape``: GBK display names survive a round trip byte for byte.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Self

from ivr.sip.stack.errors import SipParseError
from ivr.sip.stack.grammar import (
    TOKEN,
    CSeq,
    NameAddr,
    Via,
    parse_cseq,
    parse_name_addr,
    parse_via,
    split_outside,
)

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
    "u": "Allow-Events",
    "x": "Session-Expires",
    "a": "Accept-Contact",
    "j": "Reject-Contact",
    "d": "Request-Disposition",
}
_NAMES = [
    "Via",
    "From",
    "To",
    "Call-ID",
    "CSeq",
    "Contact",
    "Content-Length",
    "Content-Type",
    "Max-Forwards",
    "Route",
    "Record-Route",
    "Allow",
    "Supported",
    "Require",
    "Proxy-Require",
    "Unsupported",
    "Accept",
    "Accept-Encoding",
    "Accept-Language",
    "Allow-Events",
    "Content-Encoding",
    "Content-Disposition",
    "Expires",
    "Event",
    "Subscription-State",
    "Refer-To",
    "Referred-By",
    "Replaces",
    "User-Agent",
    "Server",
    "Reason",
    "Warning",
    "WWW-Authenticate",
    "Authorization",
    "Proxy-Authenticate",
    "Proxy-Authorization",
    "Date",
    "Subject",
    "Session-Expires",
    "Min-SE",
    "Min-Expires",
    "Retry-After",
    "Path",
    "Service-Route",
    "Call-Info",
    "Alert-Info",
    "Error-Info",
    "In-Reply-To",
    "Timestamp",
    "Organization",
    "Priority",
    "P-Asserted-Identity",
    "Privacy",
    "RSeq",
    "RAck",
    "Refer-Sub",
    "Accept-Contact",
    "Reject-Contact",
    "Request-Disposition",
]
CANONICAL = {name.lower(): name for name in _NAMES}
# Headers whose values are comma-separated lists (RFC 3261 §7.3.1); stored one per entry.
LIST_HEADERS = frozenset(
    [
        "Via",
        "Route",
        "Record-Route",
        "Contact",
        "Allow",
        "Supported",
        "Require",
        "Proxy-Require",
        "Unsupported",
        "Accept",
        "Accept-Encoding",
        "Accept-Language",
        "Allow-Events",
        "Content-Encoding",
        "Path",
        "Service-Route",
        "In-Reply-To",
        "Warning",
        "Call-Info",
        "Alert-Info",
        "Error-Info",
        "P-Asserted-Identity",
    ]
)
# A list header whose empty element means a broken message, not an ignorable one.
_STRICT_LISTS = frozenset({"Via", "Route", "Record-Route", "Contact"})
SINGLE_HEADERS = frozenset(
    ["From", "To", "Call-ID", "CSeq", "Content-Length", "Content-Type", "Max-Forwards", "Expires"]
)
_VERSION = re.compile(r"SIP/(\d{1,3})\.(\d{1,3})", re.IGNORECASE)
_URI_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:\S+")
_LINE_END = re.compile(rb"\r?\n")

Headers = tuple[tuple[str, str], ...]


def canonical(name: str) -> str:
    """A header name in its usual spelling; compact forms expanded."""
    lower = name.lower()
    return COMPACT.get(lower) or CANONICAL.get(lower) or name


@dataclass(frozen=True, slots=True)
class _Message:
    headers: Headers
    body: bytes

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (any spelling), or None."""
        wanted = canonical(name)
        return next((v for n, v in self.headers if n == wanted), None)

    def header_values(self, name: str) -> tuple[str, ...]:
        wanted = canonical(name)
        return tuple(v for n, v in self.headers if n == wanted)

    def with_header(self, name: str, *values: str) -> Self:
        """A copy with ``name``'s values replaced (appended where it was not present)."""
        wanted = canonical(name)
        kept = tuple((n, v) for n, v in self.headers if n != wanted)
        return replace(self, headers=(*kept, *((wanted, v) for v in values)))

    def without_header(self, name: str) -> Self:
        wanted = canonical(name)
        return replace(self, headers=tuple((n, v) for n, v in self.headers if n != wanted))

    @property
    def vias(self) -> tuple[Via, ...]:
        return tuple(parse_via(v) for v in self.header_values("Via"))

    @property
    def from_(self) -> NameAddr:
        return parse_name_addr(self.header("From") or "", "From")

    @property
    def to(self) -> NameAddr:
        return parse_name_addr(self.header("To") or "", "To")

    @property
    def call_id(self) -> str:
        return self.header("Call-ID") or ""

    @property
    def cseq(self) -> CSeq:
        return parse_cseq(self.header("CSeq") or "")

    @property
    def contacts(self) -> tuple[NameAddr, ...]:
        return tuple(parse_name_addr(v, "Contact") for v in self.header_values("Contact"))

    @property
    def record_route(self) -> tuple[NameAddr, ...]:
        return tuple(parse_name_addr(v, "Record-Route") for v in self.header_values("Record-Route"))

    @property
    def content_type(self) -> str | None:
        value = self.header("Content-Type")
        return value.split(";", 1)[0].strip().lower() if value else None

    def _head(self) -> str:
        raise NotImplementedError

    def serialise(self) -> bytes:
        """The message on the wire, with a Content-Length of the body's length."""
        lines = [self._head()]
        lines += [f"{name}: {value}" for name, value in self.headers if name != "Content-Length"]
        lines.append(f"Content-Length: {len(self.body)}")
        head = "\r\n".join(lines) + "\r\n\r\n"
        return head.encode("utf-8", "surrogateescape") + self.body


@dataclass(frozen=True, slots=True)
class SipRequest(_Message):
    method: str = ""
    uri: str = ""

    def _head(self) -> str:
        return f"{self.method} {self.uri} SIP/2.0"


@dataclass(frozen=True, slots=True)
class SipResponse(_Message):
    status: int = 0
    reason: str = ""

    def _head(self) -> str:
        return f"SIP/2.0 {self.status} {self.reason}"


SipMessage = SipRequest | SipResponse


def request(method: str, uri: str, headers: Headers, body: bytes = b"") -> SipRequest:
    return SipRequest(headers=headers, body=body, method=method, uri=uri)


def response(status: int, reason: str, headers: Headers, body: bytes = b"") -> SipResponse:
    return SipResponse(headers=headers, body=body, status=status, reason=reason)


# ----------------------------------------------------------------------------
# Parsing


def _split_head(data: bytes) -> tuple[list[str], bytes]:
    data = data.lstrip(b"\r\n")
    match = re.search(rb"\r?\n\r?\n", data)
    if match is None:
        raise SipParseError("no blank line after the headers")
    head = data[: match.start()].decode("utf-8", "surrogateescape")
    lines: list[str] = []
    for line in re.split(r"\r?\n", head):
        if line[:1] in (" ", "\t") and lines:
            lines[-1] += " " + line.strip()  # folded line (RFC 3261 §7.3.1)
        else:
            lines.append(line)
    return lines, data[match.end() :]


def _start(line: str) -> tuple[str, str, int, str]:
    """("REQUEST", method, 0, uri) or ("RESPONSE", "", status, reason)."""
    if line.upper().startswith("SIP/"):
        version, _, rest = line.partition(" ")
        _check_version(version)
        code, _, reason = rest.partition(" ")
        if not re.fullmatch(r"[1-6]\d\d", code):
            raise SipParseError("bad status code")
        return "RESPONSE", "", int(code), reason
    parts = line.rstrip(" \t").split(" ")  # trailing blanks tolerated (RFC 4475 §3.1.2.10)
    if len(parts) != 3 or not TOKEN.fullmatch(parts[0]):
        raise SipParseError("bad request line")
    method, uri, version = parts
    _check_version(version)
    if not _URI_SCHEME.fullmatch(uri) or "<" in uri or ">" in uri:
        raise SipParseError("bad Request-URI")
    if uri.lower().startswith(("sip:", "sips:")) and "?" in uri.rsplit("@", 1)[-1]:
        raise SipParseError("headers in the Request-URI")  # RFC 4475 §3.1.2.11
    return "REQUEST", method, 0, uri


def _check_version(version: str) -> None:
    match = _VERSION.fullmatch(version)
    if match is None:
        raise SipParseError("bad SIP version")
    if (match.group(1), match.group(2)) != ("2", "0"):
        raise SipParseError("SIP version not supported", status=505)


def _headers(lines: list[str]) -> list[tuple[str, str]]:
    headers: list[tuple[str, str]] = []
    for line in lines:
        name, colon, value = line.partition(":")
        name = name.strip()
        if not colon or not TOKEN.fullmatch(name):
            raise SipParseError("malformed header line")
        name = canonical(name)
        value = value.strip()
        if name in LIST_HEADERS:
            items = [v.strip() for v in split_outside(value, ",")]
            if name in _STRICT_LISTS and not all(items):
                raise SipParseError(f"empty {name} value")
            headers += [(name, v) for v in items if v]
        else:
            headers.append((name, value))
    return headers


def _validate(message: SipMessage, headers: list[tuple[str, str]]) -> None:
    names = [n for n, _ in headers]
    missing = [n for n in ("Via", "From", "To", "Call-ID", "CSeq") if n not in names]
    if missing:
        raise SipParseError("missing " + ", ".join(missing))
    repeated = sorted({n for n in names if n in SINGLE_HEADERS and names.count(n) > 1})
    if repeated:
        raise SipParseError("repeated " + ", ".join(repeated))
    message.vias  # noqa: B018 - each raises SipParseError when malformed
    message.from_  # noqa: B018
    message.to  # noqa: B018
    message.contacts  # noqa: B018
    message.record_route  # noqa: B018
    call_id = message.call_id
    if not call_id or any(c.isspace() for c in call_id):
        raise SipParseError("malformed Call-ID")
    cseq = message.cseq
    if isinstance(message, SipRequest) and cseq.method != message.method:
        raise SipParseError("CSeq method does not match")
    forwards = message.header("Max-Forwards")
    if forwards is not None and not (forwards.isdigit() and int(forwards) <= 255):
        raise SipParseError("malformed Max-Forwards")


def _body(headers: list[tuple[str, str]], rest: bytes) -> bytes:
    length = next((v for n, v in headers if n == "Content-Length"), None)
    if length is None:
        return rest  # UDP: the datagram ends the body (RFC 3261 §18.3)
    if not length.isdigit():
        raise SipParseError("malformed Content-Length")
    if int(length) > len(rest):
        raise SipParseError("Content-Length larger than the message")
    return rest[: int(length)]  # bytes beyond it are ignored (RFC 4475 §3.1.1.8)


def parse_message(data: bytes) -> SipMessage:
    """One datagram → a validated message; ``SipParseError`` for anything else."""
    lines, rest = _split_head(data)
    kind, method, status, text = _start(lines[0])
    headers = _headers(lines[1:])
    body = _body(headers, rest)
    stored = tuple((n, v) for n, v in headers if n != "Content-Length")
    message: SipMessage
    if kind == "REQUEST":
        message = request(method, text, stored, body)
    else:
        message = response(status, text, stored, body)
    _validate(message, headers)
    return message
