"""Issue 13, items 5 and 2 (worker half) end to end: real Kamailio edge, ``hotline up`` with
one worker, SIPp callers.

* Late-offer INVITEs (no SDP) are answered 488 — they used to be dropped, and the edge took
  the worker out of rotation — and calls after them are still answered.
* A worker at its ``max_calls`` answers 503 + Retry-After at once (before ringing, before a
  media port) and takes calls again when one ends.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.hotline_up import UpNode, hotline_up, node_config
from tests.e2e.peers import Mosquitto, require
from tests.e2e.sipp import SCENARIOS, Sipp, short_call

pytestmark = pytest.mark.e2e

MAX_CALLS = 2


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory, prompt_audio: Path) -> Iterator[UpNode]:
    require("kamailio", "sipp", "mosquitto", "espeak-ng", "sox")
    work = tmp_path_factory.mktemp("hostile")
    broker = Mosquitto(work / "mosquitto")
    broker.start()
    try:
        config = node_config(work, workers=1, mqtt_port=broker.port, prompt_audio=prompt_audio,
                             drain_seconds=5)  # fmt: skip
        config["ivr"]["max_calls"] = MAX_CALLS
        with hotline_up(work, config) as started:
            yield started
    finally:
        broker.stop()


def test_late_offer_invites_get_488_and_the_worker_stays_in_rotation(
    node: UpNode, tmp_path: Path
) -> None:
    late = Sipp(tmp_path / "late", edge_port=node.edge_port,
                scenario=(SCENARIOS / "late_offer.xml").read_text(), calls=5, rate=5,
                name="late")  # fmt: skip
    late.start()
    try:
        assert late.wait_done(30) == (5, 0)  # each got its 488 at once
    finally:
        late.stop()
    assert node.worker_log(0).count("INVITE refused (488): late offer") >= 5
    calls = Sipp(tmp_path / "after", edge_port=node.edge_port, scenario=short_call(1000),
                 calls=2, rate=2, name="after")  # fmt: skip
    calls.start()
    try:
        assert calls.wait_done(30) == (2, 0)  # the worker was never taken out of rotation
    finally:
        calls.stop()


def test_a_full_worker_refuses_with_503_and_takes_calls_again_after(
    node: UpNode, tmp_path: Path
) -> None:
    before = len(re.findall(r"call \S+ answered", node.worker_log(0)))
    burst = Sipp(tmp_path / "burst", edge_port=node.edge_port, scenario=short_call(6000),
                 calls=MAX_CALLS + 2, rate=20, name="burst")  # fmt: skip
    burst.start()
    try:
        successful, failed = burst.wait_done(60)
    finally:
        burst.stop()
    assert (successful, failed) == (MAX_CALLS, 2)  # one worker, nowhere to fail over to
    answered = len(re.findall(r"call \S+ answered", node.worker_log(0))) - before
    assert answered == MAX_CALLS  # the refused ones never rang, never took a port
    later = Sipp(tmp_path / "later", edge_port=node.edge_port, scenario=short_call(500),
                 calls=1, rate=1, name="later")  # fmt: skip
    later.start()
    try:
        assert later.wait_done(30) == (1, 0)
    finally:
        later.stop()
