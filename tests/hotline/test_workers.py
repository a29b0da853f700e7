"""Worker layout (ports of N workers), the dispatcher list, and the restart backoff."""

from __future__ import annotations

import pytest

from hotline.edge import dispatcher_list
from hotline.restarts import RestartBackoff
from hotline.workers import worker_count, worker_slots
from settings.errors import SettingsError
from settings.node import Settings

pytestmark = pytest.mark.unit


def settings(**ivr: object) -> Settings:
    return Settings.model_validate({"ivr": ivr})


def test_default_layout_shares_the_rtp_range_out_in_disjoint_even_slices() -> None:
    slots = worker_slots(settings(), 2)
    assert [(w.name, w.sip_port, w.rtp_ports) for w in slots] == [
        ("ivr-worker-1", 5070, (20000, 20499)),
        ("ivr-worker-2", 5071, (20500, 20999)),
    ]
    assert [w.calls for w in slots] == [250, 250]


@pytest.mark.parametrize("count", [1, 2, 3, 7, 16])
def test_slices_never_overlap_and_stay_inside_the_range(count: int) -> None:
    slots = worker_slots(settings(rtp_ports=[30001, 39999]), count)
    ports = [set(range(w.rtp_ports[0], w.rtp_ports[1] + 1)) for w in slots]
    assert all(a.isdisjoint(b) for i, a in enumerate(ports) for b in ports[i + 1 :])
    assert all(w.rtp_ports[0] >= 30001 and w.rtp_ports[1] <= 39999 for w in slots)
    assert all(w.rtp_ports[0] % 2 == 0 for w in slots)
    assert len({w.sip_port for w in slots}) == count


@pytest.mark.parametrize(
    ("ivr", "count", "message"),
    [
        ({"rtp_ports": [20000, 20039]}, 3, "too small for 3 workers"),
        ({"sip_port": 20010}, 2, "overlap ivr.rtp_ports"),
        ({"sip_port": 20998}, 2, "overlap ivr.rtp_ports"),
        ({"sip_port": 5059}, 2, "edge.port 5060 is also an IVR worker's"),
        ({"sip_port": 65535}, 2, "passes port 65535"),
        ({"rtp_ports": [20999, 20000]}, 1, "low < high"),
        ({}, 0, "at least 1"),
    ],
)
def test_layouts_that_do_not_fit_are_refused(ivr: dict[str, object], count: int, message: str
                                             ) -> None:  # fmt: skip
    with pytest.raises(SettingsError, match=message):
        worker_slots(settings(**ivr), count)


def test_worker_count_comes_from_the_flag_then_the_file_then_the_cores() -> None:
    assert worker_count(settings(workers=3), 5) == 5
    assert worker_count(settings(workers=3)) == 3
    assert worker_count(settings()) >= 1


def test_dispatcher_list_starts_workers_inactive_and_probing() -> None:
    text = dispatcher_list([("127.0.0.1", 5070), ("10.0.0.2", 5071)])
    assert text.splitlines() == [
        "1 sip:127.0.0.1:5070 9 0 duid=ivr-1",
        "1 sip:10.0.0.2:5071 9 0 duid=ivr-2",
    ]


@pytest.mark.parametrize(
    ("lifetimes", "delays"),
    [
        ([0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5], [1, 2, 4, 8, 16, 30, 30]),  # crash loop: capped
        ([0.5, 0.5, 120.0, 0.5], [1, 2, 1, 2]),  # a long run forgives earlier crashes
        ([59.9, 60.0], [1, 1]),
    ],
)
def test_restart_backoff(lifetimes: list[float], delays: list[float]) -> None:
    backoff = RestartBackoff()
    assert [backoff.delay_after(t) for t in lifetimes] == delays


def test_dispatcher_list_names_workers_known_up_active() -> None:
    """An edge restarted after a crash sends calls to the running workers at once."""
    text = dispatcher_list([("127.0.0.1", 5070), ("127.0.0.1", 5071)], up=[("127.0.0.1", 5071)])
    assert [line.split()[2] for line in text.splitlines()] == ["9", "8"]
