"""Events on MQTT: pure shapes (``screenpop``, ``alerts``, ``agents``), their JSON Schema
(``schema``), ``topics`` (the one sanitiser of topic levels), ``delivery`` (the publisher's
per-topic order and quarantine rule), ``dedupe`` for consumers, ``cancellation`` (a Python
3.11 workaround), and the
two aiomqtt adapters — ``publisher`` (outbox → broker) and ``subscriber`` (broker → the
console's WebSocket hub), the only modules here that import aiomqtt.

Nothing is imported here, so importing ``workorders.events.screenpop`` does not load aiomqtt.
"""
