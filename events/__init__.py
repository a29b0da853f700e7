"""The hotline's events on MQTT: one contract and one broker adapter.

The contract is pure and imports neither ``ivr`` nor ``workorders``, so both may use it:

* ``topics``: every topic name and the one encoding of a topic level built from outside text;
* ``payloads``: every event as a pydantic model, with its topic, QoS and producer;
* ``schema``: ``docs/events.schema.json``, generated from those models
  (``hotline events schema``).

``mqtt`` is the adapter (connect, reconnect with backoff, publish, subscribe, shutdown): the
only module of the product that imports aiomqtt. ``ivr/bus.py``, the outbox publisher and the
console's subscriber are built on it. Nothing is imported here, so importing the contract
does not load aiomqtt.
"""
