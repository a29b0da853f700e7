"""Screen-pop events: ``screenpop`` (pure event shapes and schemas) and ``publisher`` (the
outbox-to-MQTT publisher, the only module that imports aiomqtt).

Nothing is imported here, so importing ``workorders.events.screenpop`` does not load aiomqtt.
"""
