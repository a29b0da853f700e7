"""The worker's event loop: uvloop when installed, asyncio's own when asked for."""

from __future__ import annotations

import asyncio
import gc

import pytest

from ivr import eventloop

pytestmark = pytest.mark.unit


async def _loop_module() -> str:
    await asyncio.sleep(0)
    return type(asyncio.get_running_loop()).__module__


def test_uvloop_is_used_when_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("uvloop")
    monkeypatch.delenv(eventloop.ENV, raising=False)
    assert eventloop.loop_name() == "uvloop"
    assert eventloop.run(_loop_module()).startswith("uvloop")


def test_the_standard_loop_can_be_forced(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(eventloop.ENV, "asyncio")
    assert eventloop.loop_name() == "asyncio"
    assert eventloop.run(_loop_module()).startswith("asyncio")


def test_what_exists_before_the_loop_is_frozen_out_of_collections(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(eventloop.ENV, "asyncio")
    gc.unfreeze()
    try:
        eventloop.run(_loop_module())
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
