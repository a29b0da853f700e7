"""MQTT topic levels from outside text (call ids, groups, logins). Pure.

Every topic the service builds from a value it did not choose passes ``topic_level``, so a
value can never add a level (``/``), turn into a wildcard (``+``, ``#``), or carry what the
broker refuses: Mosquitto disconnects a client that publishes to a topic with NUL, another
control character or invalid UTF-8, and the outbox once retried such a row for 18 minutes.

Anything outside ``A-Z a-z 0-9 - _ . @`` is percent-encoded byte by byte in UTF-8 (lone
surrogates, which JSON can carry, pass through ``surrogatepass`` so nothing raises); a level
longer than ``MAX_LEVEL`` after encoding is cut and ends in ``~`` and a SHA-256 prefix of the
whole value, so it stays unique and bounded. ``~`` never appears in an encoded level, so a cut
one cannot collide with an uncut one. ``urllib.parse.unquote(level, errors="surrogatepass")``
reverses an uncut level; a consumer of a cut one takes the id from the payload and checks that
``topic_level`` of it gives the level (``ivr/bus.py`` does). ``ivr/bus.py`` has a twin of this
function (``ivr`` does not import ``workorders``); a test keeps the two equal.
"""

from __future__ import annotations

import hashlib
import string

MAX_LEVEL = 128
_KEPT = 96  # encoded characters kept before "~" and the hash of a cut level
_HASH_CHARS = 16
_SAFE = frozenset(string.ascii_letters + string.digits + "-_.@")


def topic_level(text: str) -> str:
    """``text`` as one safe, bounded MQTT topic level (see the module docstring)."""
    raw = text.encode("utf-8", "surrogatepass")
    encoded = "".join(chr(byte) if chr(byte) in _SAFE else f"%{byte:02X}" for byte in raw)
    if encoded and len(encoded) <= MAX_LEVEL:
        return encoded
    if not encoded:
        return "~"  # an empty value still makes one non-empty level
    kept = encoded[:_KEPT]
    cut = kept.rfind("%", len(kept) - 2)
    if cut != -1:
        kept = kept[:cut]  # never split a %XX escape
    return f"{kept}~{hashlib.sha256(raw).hexdigest()[:_HASH_CHARS]}"
