"""Several IVR workers behind the edge's dispatcher, run by ``hotline up --workers 2``.

Real Kamailio, SIPp callers, Mosquitto and the work-order service on loopback.
"""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hotline.edge import worker_up_line
from tests.e2e.hotline_up import UpNode, hotline_up, node_config
from tests.e2e.peers import Mosquitto, require, wait_for
from tests.e2e.sipp import Sipp, answered_calls, short_call

pytestmark = pytest.mark.e2e

#: Issue #7: a dead or hung worker gets no new call this long after it stopped answering.
DETECTION_SECONDS = 5.0


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory, prompt_audio: Path) -> Iterator[UpNode]:
    require("kamailio", "sipp", "mosquitto")
    work = tmp_path_factory.mktemp("workers")
    broker = Mosquitto(work / "mosquitto")
    broker.start()
    try:
        config = node_config(work, workers=2, mqtt_port=broker.port, prompt_audio=prompt_audio,
                             drain_seconds=8)  # fmt: skip
        with hotline_up(work, config) as started:
            yield started
    finally:
        broker.stop()


def answered_by(node: UpNode, index: int) -> set[str]:
    """SIP Call-IDs of the calls the worker answered."""
    return set(answered_calls(node.worker_log(index)).values())


def failovers(node: UpNode) -> list[str]:
    return re.findall(r"call (\S+): IVR worker \S+ failed", node.edge_log())


def calls(node: UpNode, tmp: Path, name: str, count: int, hold_ms: int = 2000) -> Sipp:
    sipp = Sipp(tmp, edge_port=node.edge_port, scenario=short_call(hold_ms), calls=count,
                rate=2, name=name)  # fmt: skip
    sipp.start()
    return sipp


def test_calls_are_shared_out_between_the_workers(node: UpNode, tmp_path: Path) -> None:
    sipp = calls(node, tmp_path, "shared", 6)
    try:
        assert sipp.wait_done(60) == (6, 0)
    finally:
        sipp.stop()
    first, second = answered_by(node, 0), answered_by(node, 1)
    assert len(first | second) == 6
    assert first and second  # round robin


def test_a_stopped_worker_gets_no_new_calls_after_5_seconds(node: UpNode, tmp_path: Path) -> None:
    hung = node.worker_pid(0)
    before = answered_by(node, 0)
    os.kill(hung, signal.SIGSTOP)  # hung: its sockets stay open, nothing answers
    try:
        time.sleep(DETECTION_SECONDS)
        assert f"IVR worker sip:127.0.0.1:{node.sip_ports[0]} down" in node.edge_log()
        failed_over = len(failovers(node))
        sipp = calls(node, tmp_path, "while-stopped", 6)
        try:
            assert sipp.wait_done(60) == (6, 0)
        finally:
            sipp.stop()
        # Every call went straight to the other worker: none was tried at the stopped one.
        assert len(failovers(node)) == failed_over
    finally:
        os.kill(hung, signal.SIGCONT)
    assert answered_by(node, 0) == before
    up = worker_up_line("127.0.0.1", node.sip_ports[0])
    wait_for(lambda: node.edge_log().count(up) >= 2, 10, "the edge to take the worker back")


def test_sigterm_drains_a_worker_and_hotline_up_starts_it_again(
    node: UpNode, tmp_path: Path
) -> None:
    """SIGTERM: calls in progress finish, new calls go to the other worker, then it exits."""
    long = calls(node, tmp_path, "in-progress", 2, hold_ms=6000)
    wait_for(lambda: _answered_sipp_calls(node, long) == 2, 30, "two calls answered")
    worker = next(k for k in (0, 1) if _sipp_calls_of(node, k, long))
    other = 1 - worker
    draining = node.worker_pid(worker)
    os.kill(draining, signal.SIGTERM)
    wait_for(lambda: "draining" in node.worker_log(worker), 5, "the worker to drain")
    more = calls(node, tmp_path, "during-drain", 4)
    try:
        assert more.wait_done(60) == (4, 0)
        assert long.wait_done(60) == (2, 0)  # the calls in progress finished normally
    finally:
        more.stop()
        long.stop()
    assert len(_sipp_calls_of(node, other, more)) == 4  # none reached the draining worker
    log = node.worker_log(worker)
    assert "drained: no call in progress" in log
    name = f"ivr-worker-{worker + 1}"
    wait_for(lambda: f"{name} restarted" in node.process.log(), 30, "the restart")
    assert f"{name} (pid {draining}) exit status 0; restarting in 1 s" in node.process.log()
    wait_for(lambda: node.worker_pid_now(worker) not in (None, draining), 30, "the new worker")
    up = worker_up_line("127.0.0.1", node.sip_ports[worker])
    wait_for(lambda: node.edge_log().count(up) >= 2, 60, "the edge to send calls to it again")


def test_the_drain_limit_hangs_up_calls_that_go_on_too_long(node: UpNode, tmp_path: Path) -> None:
    long = calls(node, tmp_path, "too-long", 2, hold_ms=40_000)  # longer than drain_seconds (8)
    wait_for(lambda: _answered_sipp_calls(node, long) == 2, 30, "two calls answered")
    worker = next(k for k in (0, 1) if _sipp_calls_of(node, k, long))
    pid = node.worker_pid(worker)
    started = time.monotonic()
    os.kill(pid, signal.SIGTERM)
    wait_for(lambda: "drain ended with" in node.worker_log(worker), 20, "the drain limit")
    wait_for(lambda: not _alive(pid), 30, "the worker to exit")
    assert time.monotonic() - started < 40  # it did not wait for the 40 s calls
    long.stop()


def _sipp_calls_of(node: UpNode, index: int, sipp: Sipp) -> set[str]:
    return answered_by(node, index) & sipp.call_ids_in(node.worker_log(index))


def _answered_sipp_calls(node: UpNode, sipp: Sipp) -> int:
    return len(_sipp_calls_of(node, 0, sipp) | _sipp_calls_of(node, 1, sipp))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
