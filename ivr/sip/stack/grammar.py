"""The pieces of SIP header grammar the stack reads (RFC 3261 §25): parameters,
name-addr / addr-spec, Via and CSeq, and comma splitting that respects quotes and <>.

Parsing is tolerant where RFC 4475 asks for it (LWS around ``=`` and ``/``, spaces
inside ``< >``, unquoted display names with commas) and strict where a wrong reading
would misroute a message (unbalanced quotes, empty parameters, empty list elements).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ivr.sip.stack.errors import SipParseError

Params = tuple[tuple[str, str | None], ...]

TOKEN = re.compile(r"[A-Za-z0-9\-.!%*_+`'~]+")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")
_HOST_PORT = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._]+)(?::(\d{1,5}))?")
_CSEQ = re.compile(r"(\d{1,10})\s+(" + TOKEN.pattern + r")")
MAX_CSEQ = 2**31 - 1


def split_outside(value: str, separator: str) -> list[str]:
    """``value`` split at ``separator`` where it is not inside quotes or ``< >``."""
    parts: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    angle = 0
    for char in value:
        if escaped:
            escaped = False
        elif quoted and char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif not quoted and char == "<":
            angle += 1
        elif not quoted and char == ">" and angle:
            angle -= 1
        elif not quoted and not angle and char == separator:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    if quoted:
        raise SipParseError("unbalanced quote")
    parts.append("".join(current))
    return parts


def parse_params(text: str, where: str) -> Params:
    """``;a=1;b`` (the leading ``;`` already cut, or not) → ``(("a", "1"), ("b", None))``.

    Names are lower-cased; whitespace around ``=`` is tolerated (RFC 4475 §3.1.1.1).
    """
    text = text.strip()
    if not text:
        return ()
    params: list[tuple[str, str | None]] = []
    for part in split_outside(text, ";"):
        name, equals, value = part.partition("=")
        name = name.strip()
        if not TOKEN.fullmatch(name):
            raise SipParseError(f"empty or bad parameter in {where}")
        params.append((name.lower(), value.strip() if equals else None))
    return tuple(params)


def param(params: Params, name: str) -> str | None:
    """The value of parameter ``name`` ("" for one without a value), or None if absent."""
    for key, value in params:
        if key == name:
            return "" if value is None else value
    return None


def render_params(params: Params) -> str:
    return "".join(f";{k}" if v is None else f";{k}={v}" for k, v in params)


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


@dataclass(frozen=True, slots=True)
class NameAddr:
    """A From/To/Contact/Route value: optional display name, URI, header parameters."""

    uri: str
    display: str | None = None
    params: Params = ()

    @property
    def tag(self) -> str | None:
        return param(self.params, "tag")

    def with_tag(self, tag: str) -> NameAddr:
        kept = tuple(p for p in self.params if p[0] != "tag")
        return NameAddr(self.uri, self.display, (*kept, ("tag", tag)))

    def __str__(self) -> str:
        if self.uri == "*":
            return "*"
        display = ""
        if self.display is not None:
            escaped = self.display.replace("\\", "\\\\").replace('"', '\\"')
            display = f'"{escaped}" '
        return f"{display}<{self.uri}>{render_params(self.params)}"


def _check_uri(uri: str, where: str) -> str:
    if not _SCHEME.match(uri):
        raise SipParseError(f"{where} is not a URI")
    return uri


def parse_name_addr(value: str, where: str) -> NameAddr:
    """A name-addr (``"Bob" <sip:b@h>;tag=1``) or addr-spec (``sip:b@h;tag=1``).

    In the addr-spec form, everything after the first ``;`` is a header parameter
    (RFC 3261 §20.10), and a URI with ``?`` headers would be ambiguous: kept as is.
    """
    value = value.strip()
    if value == "*" and where == "Contact":
        return NameAddr("*")
    display: str | None = None
    rest = value
    if value.startswith('"'):
        end = 1
        while end < len(value) and value[end] != '"':
            end += 2 if value[end] == "\\" else 1
        if end >= len(value):
            raise SipParseError(f"unbalanced quote in {where}")
        display = _unquote(value[1:end])
        rest = value[end + 1 :].lstrip()
        if not rest.startswith("<"):
            raise SipParseError(f"quoted display name without <URI> in {where}")
    if "<" in rest.split(";", 1)[0] or rest.startswith("<"):
        before, _, after = rest.partition("<")
        if display is None and before.strip():
            display = before.strip()  # unquoted display name, tolerated (RFC 4475 §3.1.2.15)
        uri, closed, params = after.partition(">")
        if not closed:
            raise SipParseError(f"missing > in {where}")
        uri = "".join(uri.split())  # spaces inside < > tolerated (RFC 4475 §3.1.2.14)
        params = params.strip()
        if params and not params.startswith(";"):
            raise SipParseError(f"text after > in {where}")
        return NameAddr(_check_uri(uri, where), display, parse_params(params[1:], where))
    uri, _, params = rest.partition(";")
    uri = uri.strip()
    if not uri or any(c.isspace() for c in uri):
        raise SipParseError(f"bad addr-spec in {where}")
    return NameAddr(_check_uri(uri, where), None, parse_params(params, where))


@dataclass(frozen=True, slots=True)
class Via:
    """One Via value: ``SIP/2.0/<transport> <host>[:<port>];params``."""

    transport: str
    host: str
    port: int | None = None
    params: Params = ()

    @property
    def branch(self) -> str | None:
        return param(self.params, "branch")

    @property
    def received(self) -> str | None:
        return param(self.params, "received")

    @property
    def rport(self) -> int | None:
        """The rport filled in by the receiver; None if absent or asked for but empty."""
        value = param(self.params, "rport")
        return int(value) if value and value.isdigit() else None

    def reply_to(self, default_port: int = 5060) -> tuple[str, int]:
        """Where a response goes over UDP (RFC 3261 §18.2.2, RFC 3581 §4)."""
        host = self.received or self.host
        port = self.rport or self.port or default_port
        return host.strip("[]"), port

    def with_params(self, **values: str | None) -> Via:
        names = {k.lower() for k in values}
        kept = tuple(p for p in self.params if p[0] not in names)
        return Via(self.transport, self.host, self.port, (*kept, *values.items()))

    def __str__(self) -> str:
        port = f":{self.port}" if self.port is not None else ""
        return f"SIP/2.0/{self.transport} {self.host}{port}{render_params(self.params)}"


def parse_via(value: str) -> Via:
    protocol, _, rest = value.partition(";")
    pieces = protocol.split("/")
    if len(pieces) != 3:
        raise SipParseError("malformed Via")
    name, version, transport_host = (p.strip() for p in pieces)
    if name.upper() != "SIP" or version != "2.0":
        raise SipParseError("malformed Via")
    transport, _, sent_by = transport_host.partition(" ")
    sent_by = sent_by.strip()
    match = _HOST_PORT.fullmatch(sent_by)
    if not TOKEN.fullmatch(transport) or match is None:
        raise SipParseError("malformed Via")
    port = int(match.group(2)) if match.group(2) else None
    if port is not None and not 0 < port < 65536:
        raise SipParseError("malformed Via")
    return Via(transport.upper(), match.group(1), port, parse_params(rest, "Via"))


@dataclass(frozen=True, slots=True)
class CSeq:
    number: int
    method: str

    def __str__(self) -> str:
        return f"{self.number} {self.method}"


def parse_cseq(value: str) -> CSeq:
    match = _CSEQ.fullmatch(value.strip())
    if match is None or int(match.group(1)) > MAX_CSEQ:
        raise SipParseError("malformed CSeq")
    return CSeq(int(match.group(1)), match.group(2))
