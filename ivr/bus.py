"""The IVR's MQTT link, on the events adapter (``events.mqtt``; ``ivr`` imports no aiomqtt).

Two things travel here rather than through the work-order service's outbox:

* live partial transcripts, out, QoS 0 on the call's screen-pop topic — they are
  stale a second later, so losing one while the broker restarts costs nothing;
* commands for a call in progress, in, QoS 1 on ``hotline/calls/<call_id>/commands``
  (e.g. an agent sending the caller to an emergency line). Every worker
  subscribes to all calls' commands and hands on those of calls it holds.
  Commands arrive at least once; the engine acts on an emergency once per call.

Topics and the event shape are the contract's (``events.topics``, ``events.payloads``), which
the work-order service uses too. The link reconnects by itself (jittered backoff up to
``max_backoff``) and keeps its session (``clean_session=False``) so commands sent while it was
away arrive. Nothing here waits for the broker on the SIP path: partials are spawned by the
session and dropped while it is away.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from typing import Any

from events.mqtt import BrokerSettings, MqttLink
from events.payloads import (
    CALL_PARTIAL_TRANSCRIPT,
    PartialTranscript,
    PartialTranscriptPayload,
    encode_event,
    utc_ms,
)
from events.topics import ALL_COMMANDS, call_id_of, command_topic, pop_topic
from routing.clock import Clock, system_clock

__all__ = ["COMMANDS", "CallBus", "call_id_of", "command_topic", "partial_event"]

log = logging.getLogger("ivr.bus")

COMMANDS = ALL_COMMANDS
PARTIAL_TIMEOUT = 2.0  # seconds; a partial is stale by then


def partial_event(
    call_id: str, group: str, text: str, clock: Clock = system_clock
) -> tuple[str, dict[str, Any]]:
    """(topic, event) of a live partial transcript, in the documented event shape."""
    payload = PartialTranscriptPayload(call_id=call_id, group=group, text=text)
    event = PartialTranscript(
        id=str(uuid.uuid4()), type=CALL_PARTIAL_TRANSCRIPT, at=utc_ms(clock()), payload=payload
    )
    return pop_topic(group), event.wire()


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
        self.on_command = on_command
        self._link = MqttLink(
            BrokerSettings(host, port, client_id, username, password, persistent_session=True),
            name="ivr bus",
            subscriptions=(COMMANDS,),
            on_message=self._dispatch,
            max_backoff=max_backoff,
        )
        self.connected = self._link.connected

    async def run(self) -> None:
        """Stay connected until cancelled; never raises on broker trouble."""
        await self._link.run()

    def _dispatch(self, topic: str, payload: bytes) -> None:
        parts = topic.split("/")
        if len(parts) != 4:
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
        topic, event = partial_event(call_id, group, text)
        await self._link.publish(topic, encode_event(event), qos=0, give_up_after=PARTIAL_TIMEOUT)
