"""The security battery's harness (bench/security), unit-level: figures against targets,
the JSON and the table, the phone-number grep, the tone filter, the scanners' output.

The battery itself starts a whole node and runs for minutes: ``python -m bench.security.run``.
"""

from __future__ import annotations

import math

import pytest

from bench.security.report import (
    Figure,
    StepResult,
    mask,
    phone_numbers_in,
    results_json,
    table,
)
from bench.security.run import chosen_steps
from bench.security.scanners import svcrack_passwords, svwar_extensions
from bench.security.tones import seconds_of_tones, tone_frequencies

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("value", "target", "met"),
    [(0, "== 0", True), (3, "== 0", False), (99.0, ">= 99", True), (98.9, ">= 99", False),
     (5.0, "<= 5", True), (5.1, "<= 5", False), (7, "", None), (None, "== 0", None),
     ("x", "== 0", None)],
)  # fmt: skip
def test_a_figure_meets_its_target_or_not(value: object, target: str, met: bool | None) -> None:
    assert Figure("f", value, target).met is met  # type: ignore[arg-type]


def test_a_step_passes_only_when_it_measured_and_every_target_is_met() -> None:
    good = StepResult("corpus", "a)", figures=(Figure("deaths", 0, "== 0"), Figure("sent", 9)))
    bad = StepResult("flood", "c)", figures=(Figure("answered", 3.3, ">= 99", "%"),))
    unmeasured = StepResult("scanners", "b)", error="sipvicious not installed")
    assert [good.passed, bad.passed, unmeasured.passed] == [True, False, False]


def test_results_json_and_table_carry_every_figure() -> None:
    steps = [
        StepResult("corpus", "a) corpus", figures=(Figure("process deaths", 0, "== 0"),),
                   seconds=12.34, notes=("5,000 files",)),
        StepResult("flood", "c) flood", figures=(Figure("answered", 3.25, ">= 99", "%"),)),
        StepResult("scanners", "b) scanners", error="sipvicious not installed"),
    ]  # fmt: skip
    report = results_json(steps, started_at="2026-12-07T18:00:00+00:00", commit="abc", branch="b")
    assert report["steps"]["corpus"] == {
        "title": "a) corpus",
        "passed": True,
        "seconds": 12.3,
        "error": None,
        "figures": [
            {"name": "process deaths", "value": 0, "unit": "", "target": "== 0", "met": True}
        ],
        "notes": ["5,000 files"],
        "details": {},
    }
    assert report["steps"]["flood"]["passed"] is False
    assert table(steps).splitlines()[2:] == [
        "| corpus | process deaths | 0 | == 0 | ✔ |",
        "| flood | answered | 3.2 % | >= 99 | ✘ |",
        "| scanners | (not measured) | sipvicious not installed | | ✘ |",
    ]


def test_the_grep_finds_mobiles_and_the_battery_numbers_and_reports_them_masked() -> None:
    text = (
        "call 1-1@127.0.0.3 from 13911000001 answered\n"  # a mobile
        "caller 139****0001 order 20261207-0001\n"  # masked: fine
        "order 2026120700012 rtp 20000-20300 pid 139110000012345\n"  # longer digit runs: fine
        "From: <sip:0105551234@127.0.0.1>\n"  # a number the battery used (not mobile-shaped)
        "Call-ID 12345678901\n"  # 11 digits but not a mobile
    )
    hits = phone_numbers_in("var/log/ivr-worker-1.log", text, used=["0105551234", "120"])
    assert [(h.line, h.masked) for h in hits] == [(1, "139****0001"), (4, "010***1234")]
    assert all("13911000001" not in str(h) for h in hits)
    assert mask("13911000001") == "139****0001"


def test_steps_are_chosen_by_name_or_letter_in_the_battery_order() -> None:
    assert chosen_steps(None)[0] == "corpus"
    assert chosen_steps("f,a,kill") == ["corpus", "kill", "leaks"]
    with pytest.raises(SystemExit, match="unknown step 'x'"):
        chosen_steps("x")


def test_the_tone_filter_finds_which_callers_tone_is_in_a_recording() -> None:
    tones = tone_frequencies(60)
    assert len(set(tones)) == 60 and max(tones) < 3400
    own, other = tones[3], tones[41]
    samples = [8000 * math.sin(2 * math.pi * own * t / 8000) for t in range(2 * 8000)]
    samples += [8000 * math.sin(2 * math.pi * other * t / 8000) for t in range(8000 // 2)]
    samples += [0.0] * 8000  # silence counts for no tone
    found = {f: s for f, s in seconds_of_tones(samples, tones).items() if s}
    assert found == pytest.approx({own: 2.0, other: 0.5})


SVWAR = """\
WARNING:TakeASip:extension '1000' probably exists but the response is unexpected
+-----------+----------------+
| Extension | Authentication |
+===========+================+
| 1001      | noauth         |
+-----------+----------------+
| 203       | reqauth        |
+-----------+----------------+
"""


def test_the_scanners_tables_are_read() -> None:
    assert svwar_extensions(SVWAR) == {"1001": "noauth", "203": "reqauth"}
    cracked = "| Extension | Password |\n| 1001 | 1234 |\n"
    assert svcrack_passwords(cracked) == {"1001": "1234"}
    assert svwar_extensions("found nothing\n") == {}
