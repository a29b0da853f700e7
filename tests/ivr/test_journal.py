"""Issue 13, item 9: an intake cut by a worker crash becomes an order marked ``call_cut``
with its partial recording, or is counted as lost with the reason — never orphaned.

The journal and the partial recordings are real files; the order goes through the real
work-order service (aiohttp app, SQLite) on loopback. A dead worker is a pid the test says
is not alive.
"""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path
from typing import Any

import pytest

from ivr.engine.actions import CreateOrder
from ivr.journal import IntakeJournal, OrderJournal, finish_cut_intakes
from ivr.worker import _speech_seconds
from recordings.store import RecordingStore, WavWriter
from tests.ivr.test_orders_client import RECEIVED, Service, client, service  # noqa: F401
from workorders.model import Page

pytestmark = pytest.mark.integration

TONE = b"".join(
    struct.pack("<h", int(12000 * math.sin(2 * math.pi * 440 * i / 8000))) for i in range(8000)
)
DEAD, ALIVE = 4_000_001, 4_000_002


def _alive(pid: int) -> bool:
    return pid == ALIVE


def _intake(journal: IntakeJournal, store: RecordingStore, key: str, audio: bytes) -> str:
    path, ref = store.new_path(key, RECEIVED)
    writer = WavWriter(path)
    writer.write(audio)  # the crash: never closed
    order = CreateOrder(key, "13800138000", "complaint", ("2",), recording=ref)
    body = {"call_id": key, "caller_number": "13800138000", "category": "complaint",
            "menu_path": ["2"], "flags": [], "recording": ref, "flow_version": "v1",
            "group": "intake", "received_at": RECEIVED.isoformat()}  # fmt: skip
    OrderJournal(journal, lambda _o, _at: body).begin(order, RECEIVED)
    return ref


async def test_cut_intakes_become_call_cut_orders_or_are_counted_lost(
    tmp_path: Path,
    service: Service,  # noqa: F811
) -> None:
    spool, store = tmp_path / "spool", RecordingStore(tmp_path / "recordings")
    dead = IntakeJournal(spool, pid=DEAD)
    spoken = _intake(dead, store, "a" * 32, TONE * 3)  # 3 s of speech, then the crash
    _intake(dead, store, "b" * 32, bytes(16000))  # 1 s of silence, then the crash
    _intake(IntakeJournal(spool, pid=ALIVE), store, "c" * 32, TONE)  # a live worker's call
    orders = client(service.url, service.token, spool)
    lost: list[tuple[str, dict[str, Any]]] = []

    async def report(key: str, caller: str, detail: dict[str, Any]) -> None:
        lost.append((key, detail))

    async def speech(ref: str) -> float:
        return _speech_seconds(store, ref)

    successor = IntakeJournal(spool, pid=ALIVE + 1)
    try:
        counts = await finish_cut_intakes(
            successor, speech_seconds=speech, spool=orders.spool.put, report_lost=report,
            alive=_alive,
        )  # fmt: skip
        assert counts == (1, 1)
        assert await orders.replay_spool() == 1
    finally:
        await orders.close()
    (order,) = await service.store.orders.list_orders(Page(limit=10))
    assert order.call_id == "a" * 32 and "call_cut" in order.flags
    assert order.recording == spoken
    assert [(key, d["reason"]) for key, d in lost] == [("b" * 32, "cut_silent")]
    left = sorted(p.name for p in (spool / "journal").glob("*.json"))
    assert left == ["c" * 32 + ".json"]  # the live worker's intake is not touched
    assert json.loads((spool / "journal" / left[0]).read_text(encoding="utf-8"))["pid"] == ALIVE


def test_a_journal_is_removed_when_its_call_ends_normally(tmp_path: Path) -> None:
    journal = IntakeJournal(tmp_path / "spool", pid=ALIVE)
    journal.open("k" * 32, {"flags": ["urgent"]})
    entry = json.loads((tmp_path / "spool" / "journal" / ("k" * 32 + ".json")).read_text())
    assert entry["body"]["flags"] == ["urgent", "call_cut"]
    journal.close("k" * 32)
    assert journal.orphans(lambda pid: False) == []
