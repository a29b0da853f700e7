"""Every MQTT topic of the hotline, and the one encoding of a level from outside text. Pure.

Every topic built from a value the code did not choose (a SIP Call-ID, a group, a login)
passes ``topic_level``, so a value can never add a level (``/``), turn into a wildcard (``+``,
``#``), or carry what the broker refuses: Mosquitto disconnects a client that publishes to a
topic with NUL, another control character or invalid UTF-8, and the outbox once retried such
a row for 18 minutes (issue 13).

Anything outside ``A-Z a-z 0-9 - _ . @`` is percent-encoded byte by byte in UTF-8 (lone
surrogates, which JSON can carry, pass through ``surrogatepass`` so nothing raises); a level
longer than ``MAX_LEVEL`` after encoding is cut and ends in ``~`` and a SHA-256 prefix of the
whole value, so it stays unique and bounded. ``~`` never appears in an encoded level, so a cut
one cannot collide with an uncut one. ``decode_level`` reverses an uncut level; a consumer of
a cut one takes the id from the payload and checks that ``topic_level`` of it gives the level
(``call_id_of`` does).
"""

from __future__ import annotations

import hashlib
import string
from collections.abc import Mapping
from urllib.parse import unquote

MAX_LEVEL = 128
_KEPT = 96  # encoded characters kept before "~" and the hash of a cut level
_HASH_CHARS = 16
_SAFE = frozenset(string.ascii_letters + string.digits + "-_.@")

ROOT = "hotline"
POP_TOPIC_ROOT = f"{ROOT}/pops"
SUPERVISOR_TOPIC = f"{ROOT}/alerts/supervisors"

#: Topic patterns, ``{name}`` standing for one encoded level (the schema's ``x-topic``).
POP_PATTERN = f"{POP_TOPIC_ROOT}/{{group}}"
AGENT_POP_PATTERN = f"{ROOT}/agents/{{login}}/pops"
QUEUE_PATTERN = f"{ROOT}/queues/{{group}}"
COMMAND_PATTERN = f"{ROOT}/calls/{{call_id}}/commands"

#: Subscriptions: every worker takes every call's commands; the console takes what the
#: ``workorders`` account of ``docker/mosquitto/acl`` may read.
ALL_COMMANDS = f"{ROOT}/calls/+/commands"
CONSOLE_SUBSCRIPTIONS = (
    f"{POP_TOPIC_ROOT}/+",
    f"{ROOT}/agents/+/pops",
    SUPERVISOR_TOPIC,
    f"{ROOT}/queues/+",
)


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


def decode_level(level: str) -> str:
    """The value an uncut ``topic_level`` came from."""
    return unquote(level, errors="surrogatepass")


def pop_topic(group: str) -> str:
    """Screen-pops for the agents of ``group``."""
    return POP_PATTERN.format(group=topic_level(group))


def agent_pop_topic(login: str) -> str:
    """The agent's own topic: only that agent (and the service) may read it."""
    return AGENT_POP_PATTERN.format(login=topic_level(login))


def queue_topic(group: str) -> str:
    """A group's queue, for the wallboard."""
    return QUEUE_PATTERN.format(group=topic_level(group))


def command_topic(call_id: str) -> str:
    """Where the IVR worker holding ``call_id`` listens for commands (QoS 1)."""
    return COMMAND_PATTERN.format(call_id=topic_level(call_id))


def call_id_of(level: str, command: Mapping[str, object]) -> str:
    """The call a command on a topic with call level ``level`` is for: the payload's
    ``call_id`` when it encodes to ``level`` (a long id's level is cut, so the payload is the
    only full copy), else the decoded level."""
    payload = command.get("payload")
    named = payload.get("call_id") if isinstance(payload, Mapping) else None
    if isinstance(named, str) and topic_level(named) == level:
        return named
    return decode_level(level)
