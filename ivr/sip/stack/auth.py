"""HTTP digest authentication for SIP (RFC 2617 / RFC 3261 §22.4; MD5, qop auth or none)."""

from __future__ import annotations

import hashlib
import secrets

from ivr.sip.stack.grammar import split_outside


def _md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def parse_challenge(value: str) -> dict[str, str]:
    """``Digest realm="x", nonce="y", qop="auth"`` → lower-cased names and unquoted values."""
    scheme, _, rest = value.strip().partition(" ")
    if scheme.lower() != "digest":
        return {}
    fields: dict[str, str] = {}
    for part in split_outside(rest, ","):
        name, _, raw = part.partition("=")
        fields[name.strip().lower()] = raw.strip().strip('"')
    return fields


def authorization(
    challenge: dict[str, str], method: str, uri: str, user: str, password: str
) -> str:
    """The Authorization / Proxy-Authorization value answering ``challenge``."""
    realm, nonce = challenge.get("realm", ""), challenge.get("nonce", "")
    ha1 = _md5(f"{user}:{realm}:{password}")
    ha2 = _md5(f"{method}:{uri}")
    parts = [
        f'username="{user}"',
        f'realm="{realm}"',
        f'nonce="{nonce}"',
        f'uri="{uri}"',
        "algorithm=MD5",
    ]
    qops = [q.strip() for q in challenge.get("qop", "").split(",")]
    if "auth" in qops:
        cnonce, nc = secrets.token_hex(8), "00000001"
        digest = _md5(f"{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}")
        parts += ["qop=auth", f"nc={nc}", f'cnonce="{cnonce}"']
    else:
        digest = _md5(f"{ha1}:{nonce}:{ha2}")
    parts.append(f'response="{digest}"')
    if "opaque" in challenge:
        parts.append(f'opaque="{challenge["opaque"]}"')
    return "Digest " + ", ".join(parts)
