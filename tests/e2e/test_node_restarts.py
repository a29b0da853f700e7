"""Issue 13 item 15: ``hotline up`` restarts every kind of child it runs, and loses no order.

One node (``hotline up --workers 2``, its own Mosquitto: nothing listened on the
MQTT port when it started). For each kind of child — the work-order service, the
Kamailio edge, the broker, an IVR worker — SIPp callers (the capacity benchmark's
caller: 1 in the main menu, speech, # after the intake, then wait for the order
number and the BYE) dial through the edge, and once some calls are answered the
child is killed with SIGKILL.

``hotline up`` must start it again (and keep running: before the fix, the death of
any child but a worker stopped the whole node). Calls in progress go on — except
those of a killed worker, whose media dies with it — and every call that reached the
end of its intake becomes exactly one order, at once or from the IVR's spool once
the service is back.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.capacity.media import make as make_media
from tests.e2e.hotline_up import UpNode, hotline_up, node_config
from tests.e2e.peers import REPO, free_port, require, tcp_listening, wait_for
from tests.e2e.sipp import Sipp, answered_calls

pytestmark = pytest.mark.e2e

CALLS = 8
RATE = 1.0
KILL_AFTER_ANSWERED = 3
WELCOME_MS = 11_500  # the greeting, then 1 barges into the main menu (bench/capacity/run.py)
INTAKE_MS = 8_000  # the record instructions (5.4 s) and the beep, then 2.4 s of speech
SPOOL_REPLAY_SECONDS = 30  # ivr/worker.py


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory, prompt_audio: Path) -> Iterator[UpNode]:
    require("kamailio", "sipp", "mosquitto", "espeak-ng", "sox")
    work = tmp_path_factory.mktemp("restarts")
    mqtt_port = free_port(socket.SOCK_STREAM)
    assert not tcp_listening(mqtt_port)  # so hotline up starts (and tends) its own broker
    config = node_config(work, workers=2, mqtt_port=mqtt_port, prompt_audio=prompt_audio,
                         drain_seconds=5)  # fmt: skip
    with hotline_up(work, config) as started:
        yield started


def child_pid(node: UpNode, kind: str) -> int:
    """The pid of ``hotline up``'s child of this kind, from its command line."""
    assert node.process.proc is not None
    out = subprocess.run(["pgrep", "-P", str(node.process.proc.pid)],
                         capture_output=True, text=True).stdout  # fmt: skip
    for pid in map(int, out.split()):
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        words = [a.decode(errors="replace") for a in argv]
        if kind == "ivr-worker-1":
            if "ivr.worker" in words and str(node.sip_ports[0]) in words:
                return pid
        elif kind == "workorders":
            if "workorders.service" in words:
                return pid
        elif any(word.endswith(kind) for word in words):  # the edge runs under its log writer
            return pid
    raise AssertionError(f"no {kind} child of hotline up")


def process_to_kill(node: UpNode, kind: str) -> int:
    """The process to SIGKILL: the child itself, or for the edge Kamailio's main process below
    its log writer (which then dies of the same signal, as Kamailio's stand-in)."""
    pid = child_pid(node, kind)
    if kind != "kamailio":
        return pid
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return int(out.split()[0])


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


@pytest.mark.parametrize("kind", ["workorders", "kamailio", "mosquitto", "ivr-worker-1"])
def test_a_killed_child_is_restarted_and_no_confirmed_intake_is_lost(
    node: UpNode, kind: str, tmp_path: Path
) -> None:
    media = tmp_path / "sipp"
    make_media(media)
    orders_before = {o["call_id"] for o in node.all_orders()}
    sipp = Sipp(media, edge_port=node.edge_port, scenario=caller_scenario(), calls=CALLS,
                rate=RATE, name=f"callers-{kind}")  # fmt: skip
    sipp.start()
    try:

        def answered() -> set[str]:
            """Our ids of this run's answered calls (orders carry them, not SIP Call-IDs)."""
            calls = answered_calls(node.worker_log(0) + node.worker_log(1))
            ours = sipp.call_ids_in(" ".join(calls.values()))
            return {server for server, sip in calls.items() if sip in ours}

        wait_for(lambda: len(answered()) >= KILL_AFTER_ANSWERED, 90, "calls answered")
        victim = child_pid(node, kind)
        restarts_before = node.process.log().count(f"hotline: {kind} restarted")
        os.kill(process_to_kill(node, kind), signal.SIGKILL)
        worker_log = node.worker_log(0)
        dropped = (
            logged(r"call (\S+) answered", worker_log) - logged(r"call (\S+) finished", worker_log)
            if kind == "ivr-worker-1"
            else set()
        )
        wait_for(lambda: node.process.log().count(f"hotline: {kind} restarted") > restarts_before,
                 30, f"{kind} restarted")  # fmt: skip
        successful, failed = sipp.wait_done(240)
    finally:
        sipp.stop()

    assert node.process.proc is not None and node.process.proc.poll() is None, "the node stopped"
    assert re.search(rf"{kind} \(pid {victim}\) killed by SIGKILL; restarting in \d+ s",
                     node.process.log())  # fmt: skip
    assert child_pid(node, kind) != victim
    every_call = answered()
    assert len(every_call) == CALLS
    dropped &= every_call
    # Only a killed worker's own calls drop (their media went with it).
    assert (successful, failed) == (CALLS - len(dropped), len(dropped))

    def orders_of_run() -> list[str]:
        return [o["call_id"] for o in node.all_orders() if o["call_id"] not in orders_before]

    confirmed = every_call - dropped  # each heard its order number (or was told it is noted)
    # The intakes the service could not take wait in the spool: replayed every 30 s.
    wait_for(lambda: confirmed <= set(orders_of_run()), SPOOL_REPLAY_SECONDS * 2 + 15,
             "every confirmed intake became an order", interval=1)  # fmt: skip
    calls = orders_of_run()
    assert len(calls) == len(set(calls)), "an order was duplicated"
    assert set(calls) <= every_call
