"""The IVR's MQTT link (aiomqtt): the only ``ivr`` module importing aiomqtt.

Two things travel here rather than through the work-order service's outbox:

* live partial transcripts, out, QoS 0 on the call's screen-pop topic — they are
  stale a second later, so losing one while the broker restarts costs nothing;
* commands for a call in progress, in, QoS 1 on ``hotline/calls/<call_id>/commands``
  (e.g. an agent sending the caller to an emergency line). Every worker
  subscribes to all calls' commands and hands on those of calls it holds.
  Commands arrive at least once; the engine acts on an emergency once per call.

aiomqtt does not reconnect by itself: ``run()`` is the reconnect loop. On Python 3.11 its waits
for CONNACK and SUBACK can lose a cancellation (see ``_raise_lost_cancellation``); ``run()``
checks for one after each, so a worker shutdown that cancels it does not wait forever
(partials are QoS 0: no broker acknowledgement, and each runs in its own short task).
Nothing here waits for the broker on the SIP path: partials are spawned by the session and
dropped while it is away.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import random
import string
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

import aiomqtt

log = logging.getLogger("ivr.bus")

COMMANDS = "hotline/calls/+/commands"
PARTIAL_TIMEOUT = 2.0  # seconds; a partial is stale by then

_MAX_LEVEL = 128
_KEPT = 96
_SAFE = frozenset(string.ascii_letters + string.digits + "-_.@")


def topic_level(text: str) -> str:
    """Twin of ``workorders.events.topics.topic_level`` (``ivr`` does not import
    ``workorders``; a test keeps them equal): outside ``A-Z a-z 0-9 - _ . @`` percent-encoded
    in UTF-8, a level over 128 characters cut and ended with ``~`` and a SHA-256 prefix."""
    raw = text.encode("utf-8", "surrogatepass")
    encoded = "".join(chr(byte) if chr(byte) in _SAFE else f"%{byte:02X}" for byte in raw)
    if encoded and len(encoded) <= _MAX_LEVEL:
        return encoded
    if not encoded:
        return "~"
    kept = encoded[:_KEPT]
    cut = kept.rfind("%", len(kept) - 2)
    if cut != -1:
        kept = kept[:cut]
    return f"{kept}~{hashlib.sha256(raw).hexdigest()[:16]}"


def command_topic(call_id: str) -> str:
    """The call's command topic; the id encoded as the work-order service does."""
    return f"hotline/calls/{topic_level(call_id)}/commands"


def call_id_of(level: str, command: dict[str, Any]) -> str:
    """The call a command on topic level ``level`` is for: the payload's ``call_id`` when it
    encodes to ``level`` (a long id's level is cut, so the payload is the only full copy),
    else the decoded level."""
    payload = command.get("payload")
    named = payload.get("call_id") if isinstance(payload, dict) else None
    if isinstance(named, str) and topic_level(named) == level:
        return named
    return unquote(level, errors="surrogatepass")


def partial_event(call_id: str, group: str, text: str) -> tuple[str, dict[str, Any]]:
    """(topic, event) of a live partial transcript, in the documented event shape."""
    return f"hotline/pops/{topic_level(group)}", {
        "id": str(uuid.uuid4()),
        "type": "call.partial_transcript",
        "at": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "payload": {"call_id": call_id, "group": group, "text": text},
    }


class CallBus:
    def __init__(
        self,
        host: str,
        port: int,
        *,
        client_id: str,
        on_command: Callable[[str, dict[str, Any]], None],
        max_backoff: float = 10.0,
        username: str | None = None,
        password: str | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self._username = username
        self._password = password
        self.client_id = client_id
        self.on_command = on_command
        self.max_backoff = max_backoff
        self.connected = asyncio.Event()
        self._client: aiomqtt.Client | None = None

    async def run(self) -> None:
        """Stay connected until cancelled; never raises on broker trouble."""
        backoff = 0.2
        while True:
            try:
                async with aiomqtt.Client(
                    self.host,
                    self.port,
                    identifier=self.client_id,
                    clean_session=False,
                    username=self._username,
                    password=self._password,
                ) as client:
                    _raise_lost_cancellation()  # the wait for CONNACK may have lost it
                    await client.subscribe(COMMANDS, qos=1)
                    _raise_lost_cancellation()  # the wait for SUBACK may have lost it
                    self._client = client
                    self.connected.set()
                    backoff = 0.2
                    async for message in client.messages:
                        self._dispatch(str(message.topic), message.payload)
            except aiomqtt.MqttError as exc:
                log.warning("MQTT %s:%s unavailable (%s); retrying", self.host, self.port, exc)
            finally:
                self._client = None
                self.connected.clear()
            _raise_lost_cancellation()  # a failed wait for CONNACK or SUBACK may have lost it
            # Jitter keeps the workers of a node from reconnecting in lockstep.
            await asyncio.sleep(backoff * (0.5 + random.random() / 2))
            backoff = min(self.max_backoff, backoff * 2)

    def _dispatch(self, topic: str, payload: object) -> None:
        parts = topic.split("/")
        if len(parts) != 4 or not isinstance(payload, bytes | bytearray):
            return
        try:
            command = json.loads(payload)
        except ValueError:
            log.warning("malformed command on %s dropped", topic)
            return
        if not isinstance(command, dict):
            return
        try:
            self.on_command(call_id_of(parts[2], command), command)
        except Exception:  # a bad command must not end the link for every call
            log.exception("command on %s failed", topic)

    async def publish_partial(self, call_id: str, group: str, text: str) -> None:
        """Best effort: dropped while the broker is away."""
        client = self._client
        if client is None:
            return
        topic, event = partial_event(call_id, group, text)
        with contextlib.suppress(aiomqtt.MqttError):
            await client.publish(
                topic, json.dumps(event, ensure_ascii=False), qos=0, timeout=PARTIAL_TIMEOUT
            )


def _raise_lost_cancellation() -> None:
    """Raise ``CancelledError`` if this task was cancelled but carries on all the same.

    On Python 3.11, ``asyncio.wait_for`` (which aiomqtt uses to await CONNACK and SUBACK)
    returns the awaited result, or raises its error, instead of raising ``CancelledError``
    when the reply arrives in the same event-loop cycle as ``Task.cancel()`` (CPython
    gh-86296, gone in 3.12). ``Task.cancelling()`` still counts the request. ``ivr`` does not
    import ``workorders``, so this twin of ``workorders.events.cancellation`` lives here.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
