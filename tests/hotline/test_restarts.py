"""When ``hotline up`` restarts a dead child and when it reports a crash loop (pure)."""

from __future__ import annotations

import pytest

from hotline.restarts import CRASH_LOOP, ChildRestarts, Died, RestartNow

pytestmark = pytest.mark.unit


def test_a_dead_child_is_restarted_after_its_backoff_and_then_left_alone() -> None:
    restarts = ChildRestarts()
    assert restarts.step(alive=True, started_at=0.0, now=100.0) is None
    assert restarts.step(alive=False, started_at=0.0, now=100.0) == Died(
        delay=1.0, crashes=1, crash_loop=False
    )
    assert restarts.step(alive=False, started_at=0.0, now=100.5) is None  # waiting
    assert restarts.step(alive=False, started_at=0.0, now=101.0) == RestartNow()
    assert restarts.step(alive=True, started_at=101.0, now=101.5) is None


def test_a_child_that_keeps_crashing_waits_longer_capped_and_is_reported_loudly() -> None:
    restarts = ChildRestarts()
    now, deaths = 0.0, []
    for _ in range(8):
        started = now
        now += 0.2  # dies soon after each start
        died = restarts.step(alive=False, started_at=started, now=now)
        assert isinstance(died, Died)
        deaths.append(died)
        now += died.delay
        assert restarts.step(alive=False, started_at=started, now=now) == RestartNow()
    assert [d.delay for d in deaths] == [1, 2, 4, 8, 16, 30, 30, 30]
    assert [d.crash_loop for d in deaths] == [n >= CRASH_LOOP for n in range(1, 9)]


def test_a_long_run_forgives_earlier_crashes() -> None:
    restarts = ChildRestarts()
    for started in (0.0, 2.0, 5.0):
        restarts.step(alive=False, started_at=started, now=started + 0.5)
        restarts.step(alive=False, started_at=started, now=started + 100)
    died = restarts.step(alive=False, started_at=200.0, now=400.0)  # ran 200 s
    assert died == Died(delay=1.0, crashes=1, crash_loop=False)


def test_the_supervisor_says_a_crash_loop_loudly_and_a_single_crash_plainly() -> None:
    from pathlib import Path

    from hotline.children import Child
    from hotline.supervisor import _died_line

    edge = Child("kamailio", ["kamailio"], Path("var/log/kamailio.log"))
    plain = _died_line(edge, Died(delay=1.0, crashes=1, crash_loop=False))
    loud = _died_line(edge, Died(delay=30.0, crashes=CRASH_LOOP, crash_loop=True))
    assert plain.startswith("hotline: kamailio (pid None)") and "restarting in 1 s" in plain
    assert "ALERT" not in plain
    assert loud.startswith(f"hotline: ALERT: kamailio KEEPS CRASHING ({CRASH_LOOP} times in a row)")
    assert loud.endswith("restarting in 30 s (log var/log/kamailio.log)")
