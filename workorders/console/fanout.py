"""Which connected browser gets which MQTT event. Pure.

The service subscribes to the pop, agent and alert topics and hands each message here:

* ``hotline/pops/{group}`` (``call.answered``, ``order.created``, live
  ``call.partial_transcript``) → the agents of that group;
* ``hotline/agents/{login}/pops`` (``call.offered``) → that agent only;
* ``hotline/alerts/supervisors`` (``order.alert``) → supervisors;
* ``hotline/queues/{group}`` (``queue.changed``) → supervisors and the group's agents;
* anything else → nobody.

Delivery on MQTT is at least once, so an event whose ``id`` was seen recently is dropped
(``workorders.events.dedupe.EventDeduper``: bounded memory, the oldest ids forgotten first).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from events.topics import CONSOLE_SUBSCRIPTIONS
from workorders.events.dedupe import EventDeduper
from workorders.tokens import ROLE_ADMIN, ROLE_SUPERVISOR

#: The topics the service subscribes to for the console.
SUBSCRIPTIONS = CONSOLE_SUBSCRIPTIONS  # the contract's (events.topics)
SUPERVISOR_ROLES = frozenset({ROLE_SUPERVISOR, ROLE_ADMIN})
MAX_EVENT_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class Viewer:
    """A logged-in browser: who it is, its role and the agent groups it belongs to."""

    login: str
    role: str
    groups: frozenset[str] = frozenset()

    @property
    def supervises(self) -> bool:
        return self.role in SUPERVISOR_ROLES


@dataclass(frozen=True, slots=True)
class Audience:
    """Who a topic is for: the agents of ``group``, one agent ``login``, or supervisors."""

    group: str | None = None
    login: str | None = None
    supervisors: bool = False

    def includes(self, viewer: Viewer) -> bool:
        if self.supervisors and viewer.supervises:
            return True
        if self.group is not None and self.group in viewer.groups:
            return True
        return self.login is not None and self.login == viewer.login


NOBODY = Audience()


def audience_of(topic: str) -> Audience:
    parts = topic.split("/")
    if any(part in ("", "+", "#") for part in parts) or parts[0] != "hotline":
        return NOBODY
    match parts[1:]:
        case ["pops", group]:
            return Audience(group=group)
        case ["agents", login, "pops"]:
            return Audience(login=login)
        case ["alerts", "supervisors"]:
            return Audience(supervisors=True)
        case ["queues", group]:
            return Audience(group=group, supervisors=True)
    return NOBODY


def recipients(topic: str, viewers: Mapping[int, Viewer]) -> list[int]:
    """The keys of ``viewers`` that ``topic``'s events go to, in key order."""
    audience = audience_of(topic)
    return sorted(key for key, viewer in viewers.items() if audience.includes(viewer))


def parse_event(payload: bytes) -> dict[str, Any] | None:
    """The event in an MQTT payload, or ``None`` if it is not a well-formed event object
    (UTF-8 JSON with a string ``id``, a string ``type`` and an object ``payload``)."""
    if len(payload) > MAX_EVENT_BYTES:
        return None
    try:
        event = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    if not isinstance(event, dict):
        return None
    if not isinstance(event.get("id"), str) or not event["id"]:
        return None
    if not isinstance(event.get("type"), str) or not isinstance(event.get("payload"), dict):
        return None
    return event


@dataclass(frozen=True, slots=True)
class Delivery:
    """One event for some browsers: the message a WebSocket sends them."""

    keys: tuple[int, ...]
    message: dict[str, Any]


class Fanout:
    """Dedupe, then address. ``route(topic, payload)`` → a ``Delivery`` or ``None``."""

    def __init__(self, deduper: EventDeduper | None = None) -> None:
        self._deduper = deduper if deduper is not None else EventDeduper()
        self.dropped_malformed = 0

    @property
    def dropped_duplicates(self) -> int:
        return self._deduper.duplicates

    def route(self, topic: str, payload: bytes, viewers: Mapping[int, Viewer]) -> Delivery | None:
        event = parse_event(payload)
        if event is None:
            self.dropped_malformed += 1
            return None
        if not self._deduper.is_new(event["id"]):
            return None
        keys = tuple(recipients(topic, viewers))
        if not keys:
            return None
        return Delivery(keys, {"kind": "event", "topic": topic, "event": event})
