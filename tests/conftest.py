"""The test pyramid: every test is in exactly one tier, and the unit tier is held to its word.

Tiers (each test module says ``pytestmark = pytest.mark.<tier>``):

- ``unit``: in-process only — no sockets, no subprocesses, no real sleeps. Runs in seconds
  to a minute: ``.venv/bin/pytest -m unit``.
- ``integration``: one real peer (Mosquitto, PostgreSQL, an HTTP server on loopback, a
  subprocess such as espeak-ng or the CLI).
- ``e2e``: the whole node (Kamailio, baresip, SIPp, ``hotline up``, Chromium).

Collection fails for a test with no tier or with two, so a new module cannot slip through
untiered. For a unit test, from its setup to its teardown, an inet socket raises
``pytest_socket.SocketBlockedError`` and ``subprocess.Popen``, ``os.system``, ``time.sleep``
and ``asyncio.sleep`` with a positive delay raise :class:`RealWorldInUnitTest`. Unix sockets
stay allowed: asyncio's event loop wakes itself through a ``socketpair``. A unit module that
trips the guard belongs in the integration tier; the guard is not to be weakened for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import time
from collections.abc import Generator, Iterator
from typing import Any

import pytest
from pytest_socket import disable_socket, enable_socket

TIERS = ("unit", "integration", "e2e")


class RealWorldInUnitTest(RuntimeError):
    """A unit test reached for a subprocess or a real sleep."""


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Fail the run, before any ``-m`` selection, when a test has no tier or more than one."""
    wrong = []
    for item in items:
        tiers = sorted({mark.name for mark in item.iter_markers() if mark.name in TIERS})
        if len(tiers) != 1:
            wrong.append(f"  {item.nodeid}: {', '.join(tiers) or 'no tier'}")
    if wrong:
        raise pytest.UsageError(
            "every test needs exactly one tier marker (pytestmark = pytest.mark.unit, "
            "integration or e2e; see tests/conftest.py):\n" + "\n".join(wrong)
        )


def _refuse(what: str) -> Any:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise RealWorldInUnitTest(
            f"{what} in a unit test: mark the module pytest.mark.integration (one real peer)"
        )

    return refuse


@contextlib.contextmanager
def unit_guard() -> Iterator[None]:
    """No inet sockets, subprocesses or real sleeps while the block runs."""
    real_sleep = time.sleep
    real_async_sleep = asyncio.sleep

    def sleep(seconds: float) -> None:
        if seconds > 0:
            _refuse(f"time.sleep({seconds})")()
        real_sleep(0)

    async def async_sleep(delay: float, result: Any = None) -> Any:
        if delay > 0:
            _refuse(f"asyncio.sleep({delay})")()
        return await real_async_sleep(0, result)

    patches = [
        (subprocess.Popen, "__init__", _refuse("a subprocess")),
        (os, "system", _refuse("os.system")),
        (time, "sleep", sleep),
        (asyncio, "sleep", async_sleep),
    ]
    with pytest.MonkeyPatch.context() as patch:
        for target, name, value in patches:
            patch.setattr(target, name, value)
        disable_socket(allow_unix_socket=True)
        try:
            yield
        finally:
            enable_socket()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None]:
    """Guard a unit test's setup, call and teardown (fixtures of any scope it sets up too)."""
    if item.get_closest_marker("unit") is None:
        return (yield)
    with unit_guard():
        return (yield)
