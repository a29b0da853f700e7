"""Cancellation that Python 3.11's ``asyncio.wait_for`` loses, raised again.

Pure asyncio (no aiomqtt), shared by the MQTT adapters ``publisher`` and ``subscriber``.
"""

from __future__ import annotations

import asyncio


def raise_lost_cancellation() -> None:
    """Raise ``CancelledError`` if this task was cancelled but carries on all the same.

    On Python 3.11, ``asyncio.wait_for`` (which aiomqtt uses to await CONNACK, SUBACK and
    PUBACK) returns the awaited result, or raises its error, instead of raising
    ``CancelledError`` when the reply arrives in the same event-loop cycle as
    ``Task.cancel()`` (CPython gh-86296, gone in 3.12). The request is still counted by
    ``Task.cancelling()``; honouring it after each such wait keeps an MQTT loop from running
    on forever after a cancel that the caller is waiting for.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
