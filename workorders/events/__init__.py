"""The work-order service's side of the events on MQTT.

The contract (topics, payload models, the JSON schema) and the aiomqtt adapter are the
top-level ``events`` package, shared with the IVR. Here: the builders that map the service's
objects onto the contract (``screenpop``, ``alerts``, ``agents``), ``delivery`` (the
publisher's per-topic order and quarantine rule), ``dedupe`` for consumers, and the two users
of the adapter — ``publisher`` (outbox → broker) and ``subscriber`` (broker → the console's
WebSocket hub).
"""
