"""Issue #13 item 9 (the edge's part): the callers of a worker killed with SIGKILL are
released by the edge within seconds, not left in silence (36 s before).

A real node (conftest ``node``: the edge, the work-order service, one IVR worker);
three callers on their own loopback addresses dial 12320 and are answered, then the
worker is killed. The edge's dispatcher probes find it dead; the edge's dialog module
ends its calls: every caller gets a BYE.
"""

from __future__ import annotations

import os
import signal
import time

import pytest

from tests.e2e.conftest import Node
from tests.e2e.peers import free_port
from tests.e2e.sip_probe import SipProbe

pytestmark = pytest.mark.e2e

#: What the test holds the edge to; what it measured goes to the test's output.
RELEASE_BOUND_SECONDS = 10.0


def test_the_callers_of_a_killed_worker_get_a_bye_within_seconds(node: Node) -> None:
    callers = [SipProbe(f"127.0.0.{20 + n}", node.edge_port) for n in range(3)]
    try:
        for n, caller in enumerate(callers):
            reply = caller.call(f"sip:12320@127.0.0.1:{node.edge_port}",
                                f"1390000{n:04d}", free_port() & ~1)  # fmt: skip
            assert reply is not None and reply.status == 200, reply
        time.sleep(1.0)  # the calls are in the menu
        assert node.worker.proc is not None
        killed_at = time.monotonic()
        os.kill(node.worker.proc.pid, signal.SIGKILL)
        released: list[float] = []
        for caller in callers:
            bye = caller.next_request("BYE", RELEASE_BOUND_SECONDS - (time.monotonic() - killed_at))
            assert bye is not None, "a caller of the dead worker was left in silence"
            released.append(time.monotonic() - killed_at)
            caller.answer(bye)
    finally:
        for caller in callers:
            caller.close()
    print(f"callers released {', '.join(f'{s:.2f}' for s in released)} s after SIGKILL")
    assert max(released) < RELEASE_BOUND_SECONDS
    assert f"IVR worker sip:127.0.0.1:{node.worker_sip_port} down" in node.edge.log()
