"""Issue #7 acceptance: SIGKILL one of two workers during a 100-call run.

100 SIPp callers (the capacity benchmark's caller: speech for the whole call, 1 in
the main menu, # after the intake, then wait for the IVR to read the order number
and hang up) dial ``hotline up --workers 2`` through the edge, 5 new calls a
second. When about 40 calls have been answered, worker 1 is killed with SIGKILL.

Its calls in progress drop; every other call — also those the edge sent to the
dead worker before its probes noticed, which fail over — is answered and gets its
order; no order is lost (every order the IVR logged exists) or duplicated (one
order per Call-ID, the idempotency key). ``hotline up`` starts the worker again.
"""

from __future__ import annotations

import os
import re
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.capacity.media import make as make_media
from tests.e2e.hotline_up import UpNode, hotline_up, node_config
from tests.e2e.peers import REPO, Mosquitto, require, wait_for
from tests.e2e.sipp import Sipp, answered_calls

pytestmark = pytest.mark.e2e

CALLS = 100
RATE = 5.0
KILL_AFTER_ANSWERED = 40
# Calls the killed worker held but its log could not show yet: one in its 1-s ring (not
# answered, so not "dropped" by the log, and the edge does not fail it over to the other
# worker: a known gap), or answered a moment before the kill. At 5 calls/s, at most two.
IN_FLIGHT = 2
WELCOME_MS = 11_500  # the greeting, then 1 barges into the main menu (bench/capacity/run.py)
INTAKE_MS = 8_000  # the record instructions (5.4 s) and the beep, then 2.4 s of speech


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory, prompt_audio: Path) -> Iterator[UpNode]:
    require("kamailio", "sipp", "mosquitto", "espeak-ng", "sox")
    work = tmp_path_factory.mktemp("killed")
    broker = Mosquitto(work / "mosquitto")
    broker.start()
    try:
        config = node_config(work, workers=2, mqtt_port=broker.port, prompt_audio=prompt_audio,
                             drain_seconds=5)  # fmt: skip
        with hotline_up(work, config) as started:
            yield started
    finally:
        broker.stop()


def caller_scenario() -> str:
    return (
        (REPO / "bench/capacity/caller.xml")
        .read_text()
        .replace("WELCOME_MS", str(WELCOME_MS))
        .replace("INTAKE_MS", str(INTAKE_MS))
        .replace('<recv request="BYE" timeout="90000"/>', '<recv request="BYE" timeout="45000"/>')
    )


def logged(pattern: str, text: str) -> set[str]:
    return set(re.findall(pattern, text))


def test_sigkill_drops_only_that_workers_calls_and_loses_no_order(
    node: UpNode, tmp_path: Path
) -> None:
    media = tmp_path / "sipp"
    make_media(media)
    sipp = Sipp(media, edge_port=node.edge_port, scenario=caller_scenario(), calls=CALLS,
                rate=RATE, name="callers")  # fmt: skip
    sipp.start()
    try:

        def answered() -> set[str]:
            """Our ids of this run's answered calls (orders carry them, not SIP Call-IDs)."""
            calls = answered_calls(node.worker_log(0) + node.worker_log(1))
            ours = sipp.call_ids_in(" ".join(calls.values()))
            return {server for server, sip in calls.items() if sip in ours}

        wait_for(lambda: len(answered()) >= KILL_AFTER_ANSWERED, 60, "calls answered")
        victim = node.worker_pid(0)
        os.kill(victim, signal.SIGKILL)
        before_kill = node.worker_log(0)
        dropped = logged(r"call (\S+) answered", before_kill) - logged(
            r"call (\S+) finished", before_kill
        )
        successful, failed = sipp.wait_done(240)
    finally:
        sipp.stop()

    assert dropped, "the killed worker had no call in progress: the test proved nothing"
    # Its calls in progress dropped; every other call was answered and went to the end.
    assert successful + failed == CALLS
    assert len(dropped) <= failed <= len(dropped) + IN_FLIGHT
    every_call = answered()
    assert CALLS - (failed - len(dropped)) <= len(every_call) <= CALLS
    assert re.search(rf"ivr-worker-1 \(pid {victim}\) killed by SIGKILL; restarting in 1 s",
                     node.process.log())  # fmt: skip

    orders = node.all_orders()
    order_calls = [o["call_id"] for o in orders]
    assert len(order_calls) == len(set(order_calls)), "an order was duplicated"
    assert set(order_calls) <= every_call
    assert all(o["menu_path"] == ["1"] for o in orders)
    logs = node.worker_log(0) + node.worker_log(1)
    reached = logged(r"call (\S+): order \S+ created", logs)  # callers who were told a number
    assert reached <= set(order_calls), "an order the IVR announced is missing"
    assert every_call - dropped <= set(order_calls), "a call that went to the end has no order"
