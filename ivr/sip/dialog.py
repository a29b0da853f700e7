"""Requests the IVR sends inside a call's dialog (REFER, BYE), built from plain fields.

pyVoIP builds in-dialog requests without a Route set, with a fixed CSeq and
only for BYE. As the UAS of the caller's INVITE, our side of the dialog is:
local URI/tag = the INVITE's To, remote URI/tag = its From, remote target = its
Contact, route set = its Record-Route in order (RFC 3261 §12.1.1).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from urllib.parse import quote

_ANGLE = re.compile(r"<([^>]*)>")


@dataclass(frozen=True, slots=True)
class Dialog:
    call_id: str
    local_uri: str  # name-addr without tag, e.g. "<sip:12320@127.0.0.1>"
    local_tag: str
    remote_uri: str
    remote_tag: str
    remote_target: str  # the caller's Contact URI, without angle brackets
    route_set: tuple[str, ...]  # "<sip:edge;lr>" entries, first hop first
    contact: str  # our Contact URI


def uri_of(name_addr: str) -> str:
    """``"Name" <sip:a@b>;p=1`` → ``sip:a@b``; a bare URI is returned as is (params cut)."""
    match = _ANGLE.search(name_addr)
    if match:
        return match.group(1).strip()
    return name_addr.split(";", 1)[0].strip()


def split_route(header: str) -> tuple[str, ...]:
    """A Record-Route value (possibly several, comma-separated) → its entries."""
    return tuple(f"<{uri}>" for uri in _ANGLE.findall(header))


def refer_to(target: str, headers: dict[str, str]) -> str:
    """The Refer-To value: ``target`` with ``headers`` embedded (RFC 3261 §19.1.5)."""
    if not headers:
        return f"<{target}>"
    embedded = "&".join(f"{quote(k, safe='-')}={quote(v, safe='')}" for k, v in headers.items())
    return f"<{target}?{embedded}>"


def request(
    dialog: Dialog,
    method: str,
    cseq: int,
    via: tuple[str, int],
    extra: list[tuple[str, str]] | None = None,
) -> str:
    """An in-dialog request from our side (no body)."""
    lines = [
        f"{method} {dialog.remote_target} SIP/2.0",
        f"Via: SIP/2.0/UDP {via[0]}:{via[1]};branch=z9hG4bK{secrets.token_hex(10)};rport",
        "Max-Forwards: 70",
        *(f"Route: {route}" for route in dialog.route_set),
        f"From: {dialog.local_uri};tag={dialog.local_tag}",
        f"To: {dialog.remote_uri};tag={dialog.remote_tag}",
        f"Call-ID: {dialog.call_id}",
        f"CSeq: {cseq} {method}",
        f"Contact: <{dialog.contact}>",
        *(f"{name}: {value}" for name, value in extra or []),
        "Content-Length: 0",
    ]
    return "\r\n".join(lines) + "\r\n\r\n"
