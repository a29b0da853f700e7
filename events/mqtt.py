"""The hotline's one MQTT adapter (aiomqtt): connect, reconnect, publish, subscribe, shutdown.

The only module of the product that imports aiomqtt (a test walks the sources to keep it so).
``ivr/bus.py`` (commands in, partial transcripts out), the outbox publisher and the console's
subscriber each run one ``MqttLink``:

* **Reconnect.** aiomqtt does not reconnect by itself: ``MqttLink.run()`` is the loop, with
  capped exponential backoff (``initial_backoff`` doubling to ``max_backoff``) and jitter, so
  the workers of a node and several service instances do not reconnect in lockstep. It never
  raises on broker trouble; the first failure of a streak is a warning, the retries debug.
* **Subscribe.** After each connect the link subscribes to its topics with QoS 1 and hands
  every message to ``on_message(topic, payload)``; a handler that raises is logged and the
  link stays up (one bad message never blocks the others). With ``persistent_session`` the
  broker keeps the session (``clean_session=False``): QoS 1 messages sent while the link was
  down arrive after the reconnect.
* **Publish.** ``Connection.publish`` inside a ``session`` (the outbox publisher's drain);
  ``MqttLink.publish`` is best effort on whatever connection there is (partial transcripts).
  A QoS 1 publish returns once the PUBACK arrived and ends as soon as the connection drops
  (Mosquitto's answer to a topic it refuses) instead of waiting for the PUBACK timeout.
  Errors come out as ``PublishRefused`` (the client would not send it) or
  ``BrokerUnavailable``, so no caller needs aiomqtt's types.
* **Shutdown.** Cancel the task running ``run()``; the client disconnects on the way out. On
  Python 3.11 aiomqtt's waits for CONNACK, SUBACK and PUBACK can lose a cancellation
  (``_raise_lost_cancellation``); the link checks for one after each, so a shutdown that
  cancels it and waits for it does not wait forever.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import aiomqtt

log = logging.getLogger(__name__)


class MqttLinkError(Exception):
    """Base of the adapter's errors."""


class BrokerUnavailable(MqttLinkError):
    """The broker cannot be reached, or dropped the connection (maybe on this very message)."""


class PublishRefused(MqttLinkError):
    """The MQTT client refused a message before sending it (e.g. a wildcard in the topic)."""


@dataclass(frozen=True, slots=True)
class BrokerSettings:
    host: str
    port: int
    client_id: str
    username: str | None = None
    password: str | None = None
    #: ``clean_session=False``: the broker keeps subscriptions and QoS 1 messages while away.
    persistent_session: bool = False
    #: Seconds to wait for CONNACK, SUBACK, PUBACK (None: aiomqtt's default, 10 s).
    timeout: float | None = None


class Connection:
    """One connected session of a link; valid until the session callback returns."""

    def __init__(self, client: aiomqtt.Client) -> None:
        self._client = client

    async def publish(
        self,
        topic: str,
        payload: bytes,
        *,
        qos: int,
        retain: bool = False,
        give_up_after: float | None = None,
    ) -> None:
        """Publish; with QoS 1 returns once the broker acknowledged it. ``give_up_after``
        seconds (default: the settings' ``timeout``) bound the wait."""
        try:
            if qos == 0:
                await self._client.publish(
                    topic, payload, qos=0, retain=retain, timeout=give_up_after
                )
            else:
                await self._publish_unless_disconnected(topic, payload, qos, retain, give_up_after)
        except ValueError as error:  # paho refuses the topic or payload before sending
            raise PublishRefused(str(error)) from error
        except aiomqtt.MqttError as error:
            raise BrokerUnavailable(str(error)) from error
        _raise_lost_cancellation()  # the wait for PUBACK may have lost it

    async def _publish_unless_disconnected(
        self, topic: str, payload: bytes, qos: int, retain: bool, give_up_after: float | None
    ) -> None:
        """``client.publish``, ended as soon as the connection is lost.

        aiomqtt's publish waits for the PUBACK until its timeout even when the broker has
        already dropped the connection (what Mosquitto does with a topic it refuses), so each
        try of a refused outbox row cost the whole timeout. Racing it against the client's
        disconnection (a private future, looked up softly) makes the failure immediate.
        """
        publishing = self._client.publish(
            topic, payload, qos=qos, retain=retain, timeout=give_up_after
        )
        disconnected = getattr(self._client, "_disconnected", None)
        if not isinstance(disconnected, asyncio.Future):
            await publishing
            return
        task = asyncio.ensure_future(publishing)
        try:
            await asyncio.wait({task, disconnected}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        if not task.cancelled():
            task.result()  # its own error, or success
            return
        raise aiomqtt.MqttError("the broker closed the connection during the publish")

    async def subscribe(self, topic: str, qos: int = 1) -> None:
        try:
            await self._client.subscribe(topic, qos=qos)
        except aiomqtt.MqttError as error:
            raise BrokerUnavailable(str(error)) from error
        _raise_lost_cancellation()  # the wait for SUBACK may have lost it

    async def deliver_messages(self, on_message: Callable[[str, bytes], object]) -> None:
        """Hand each message to ``on_message`` until the connection ends."""
        async for message in self._client.messages:
            payload = message.payload
            if isinstance(payload, str):
                data = payload.encode("utf-8")
            elif isinstance(payload, bytes | bytearray):
                data = bytes(payload)
            else:
                continue  # aiomqtt hands numbers and None over as such; no event is one
            topic = str(message.topic)
            try:
                on_message(topic, data)
            except Exception:  # one bad message must not end the link for the others
                log.exception("MQTT message on %s could not be handled", topic)


Session = Callable[[Connection], Awaitable[None]]


class MqttLink:
    """One client identity kept connected to the broker until cancelled."""

    def __init__(
        self,
        settings: BrokerSettings,
        *,
        name: str,
        subscriptions: Sequence[str] = (),
        on_message: Callable[[str, bytes], object] | None = None,
        session: Session | None = None,
        initial_backoff: float = 0.2,
        max_backoff: float = 10.0,
        expected_errors: tuple[type[Exception], ...] = (),
    ) -> None:
        """``session(connection)``, when given, runs while connected (its return or error
        ends the connection; the link reconnects); else messages go to ``on_message``.
        ``expected_errors`` of the session are logged like a broker outage, without a
        traceback."""
        self.settings = settings
        self.name = name
        self._subscriptions = tuple(subscriptions)
        self._on_message = on_message
        self._session = session
        self._initial_backoff = initial_backoff
        self._max_backoff = max_backoff
        self._expected = expected_errors
        self._connection: Connection | None = None
        self._backoff = initial_backoff
        self._streak = 0  # failures since the last successful connection
        self.connected = asyncio.Event()
        self.connections = 0  # successful connections (subscribed) since start
        self.failures = 0  # broker, or expected session, failures since start

    async def run(self) -> None:
        """Stay connected until cancelled; never raises on broker trouble."""
        settings = self.settings
        while True:
            try:
                async with aiomqtt.Client(
                    settings.host,
                    settings.port,
                    identifier=settings.client_id,
                    username=settings.username,
                    password=settings.password,
                    clean_session=False if settings.persistent_session else None,
                    timeout=settings.timeout,
                ) as client:
                    try:
                        await self._serve(Connection(client))
                    finally:
                        self._connection = None
                        self.connected.clear()
                        _collect_disconnect_error(client)
            except (aiomqtt.MqttError, MqttLinkError) as error:
                self._failed("MQTT %s:%d: %s", settings.host, settings.port, error)
            except Exception as error:
                if isinstance(error, self._expected):
                    self._failed("%s", error)
                else:
                    log.exception("%s failed; reconnecting", self.name)
                    self.failures += 1
            self._streak += 1
            _raise_lost_cancellation()  # a failed wait for CONNACK or SUBACK may have lost it
            await asyncio.sleep(self._backoff * (0.5 + random.random() / 2))
            self._backoff = min(self._backoff * 2, self._max_backoff)

    async def _serve(self, connection: Connection) -> None:
        _raise_lost_cancellation()  # the wait for CONNACK may have lost it
        for topic in self._subscriptions:
            await connection.subscribe(topic, qos=1)
        self.connections += 1
        self._connection = connection
        self.connected.set()
        settings = self.settings
        after = f" after {self._streak} failed attempts" if self._streak else ""
        log.info("%s connected to MQTT %s:%d%s", self.name, settings.host, settings.port, after)
        self._backoff, self._streak = self._initial_backoff, 0
        if self._session is not None:
            await self._session(connection)
        else:
            await connection.deliver_messages(self._on_message or _drop)

    async def publish(
        self, topic: str, payload: bytes, *, qos: int, give_up_after: float | None = None
    ) -> bool:
        """Best effort on the current connection: False when there is none or it failed."""
        connection = self._connection
        if connection is None:
            return False
        try:
            await connection.publish(topic, payload, qos=qos, give_up_after=give_up_after)
        except MqttLinkError as error:
            log.debug("%s: publish to %s dropped: %s", self.name, topic, error)
            return False
        return True

    def _failed(self, message: str, *args: object) -> None:
        """The first failure of a streak is a warning; the retries that follow are debug."""
        self.failures += 1
        level = logging.WARNING if self._streak == 0 else logging.DEBUG
        log.log(level, "%s: " + message, self.name, *args)


def _drop(_topic: str, _payload: bytes) -> None:
    """A link without a handler (publish only) ignores what arrives."""


def _raise_lost_cancellation() -> None:
    """Raise ``CancelledError`` if this task was cancelled but carries on all the same.

    On Python 3.11, ``asyncio.wait_for`` (which aiomqtt uses to await CONNACK, SUBACK and
    PUBACK) returns the awaited result, or raises its error, instead of raising
    ``CancelledError`` when the reply arrives in the same event-loop cycle as
    ``Task.cancel()`` (CPython gh-86296, gone in 3.12). The request is still counted by
    ``Task.cancelling()``; honouring it after each such wait keeps a link from running on
    forever after a cancel that its owner is waiting for.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


def _collect_disconnect_error(client: aiomqtt.Client) -> None:
    """Mark aiomqtt's "unexpected disconnection" error as seen.

    When the broker drops the connection while a session waits (the outbox publisher between
    polls) and the link is then cancelled, ``Client.__aexit__`` returns without looking at
    that error and asyncio later logs "Future exception was never retrieved". The attribute
    is private, so look it up softly.
    """
    disconnected = getattr(client, "_disconnected", None)
    if (
        isinstance(disconnected, asyncio.Future)
        and disconnected.done()
        and not disconnected.cancelled()
    ):
        disconnected.exception()
