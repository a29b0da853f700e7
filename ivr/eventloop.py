"""Which event loop the IVR worker runs on: uvloop when it is installed, else asyncio's own.

The worker's loop carries every call's RTP (50 packets a second each way per call), so the
cost of a datagram in the loop is most of a worker's cost per call; uvloop's is about half of
asyncio's (``bench/README.md``). This is the only module that imports uvloop.
``HOTLINE_EVENT_LOOP=asyncio`` forces the standard loop (to compare, or to debug).
"""

from __future__ import annotations

import asyncio
import gc
import os
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

ENV = "HOTLINE_EVENT_LOOP"


def loop_name() -> str:
    """``"uvloop"`` or ``"asyncio"``: what ``run`` will use."""
    if os.environ.get(ENV, "").strip().lower() == "asyncio":
        return "asyncio"
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return "asyncio"
    return "uvloop"


def run(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(main)``, on uvloop when ``loop_name()`` says so.

    What exists by now (the imported modules: most of the process's objects) is
    collected once and frozen, so the collector's occasional full passes during
    calls scan only what calls create — a full pass over everything took ~40 ms
    with 300 calls, and the loop sends no audio meanwhile.
    """
    gc.collect()
    gc.freeze()
    if loop_name() == "uvloop":
        import uvloop

        return uvloop.run(main)
    return asyncio.run(main)
