"""Nobody reads the wall clock behind the clock seam's back, and nothing uses the machine's zone.

The hotline counts days in Asia/Shanghai; a test that takes ``date.today()`` in the machine's
zone passes or fails by the hour it runs (issue 12: CI was red from 16:00 to 24:00 UTC). So:

* product code reads "now" only through ``routing/clock.py`` (tests pin or inject it there);
* no code, product or test, asks for the machine's local time or zone: ``date.today()``,
  ``datetime.now()``/``today()``/``utcnow()`` without a zone, ``time.localtime``/``ctime``/
  ``strftime``/``mktime``, ``fromtimestamp`` without a zone, ``astimezone()`` without one;
* unit and integration tests read no wall clock at all (they inject a clock or pin it with
  ``time-machine``); only end-to-end tests, which drive real processes on the system clock,
  may read it, and only as an aware instant;
* the console and wallboard show times in Asia/Shanghai, not in the browser's zone.

Monotonic time (``time.monotonic``, ``loop.time()``) measures durations and is fine anywhere.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[1]
PRODUCT = ("ivr", "asr", "routing", "recordings", "workorders", "hotline")
SEAM = REPO / "routing" / "clock.py"
E2E = REPO / "tests" / "e2e"

_DATE_NAMES = {"date", "datetime"}
#: Calls that read the machine's local time or zone, or a naive "now".
_LOCAL_TIME = {"localtime", "ctime", "strftime", "mktime", "asctime"}


def _name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _zone_given(call: ast.Call, position: int) -> bool:
    return len(call.args) > position or any(k.arg in ("tz", "tzinfo") for k in call.keywords)


def wall_clock_reads(tree: ast.AST) -> Iterator[tuple[int, str, bool]]:
    """(line, what, naive) of every wall-clock read; ``naive``: it uses the machine's zone."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        attr, owner = node.func.attr, _name(node.func.value)
        if owner in _DATE_NAMES and attr in ("today", "utcnow"):
            yield node.lineno, f"{owner}.{attr}()", True
        elif owner in _DATE_NAMES and attr == "now":
            yield node.lineno, f"{owner}.now()", not _zone_given(node, 0)
        elif owner in _DATE_NAMES and attr == "fromtimestamp" and not _zone_given(node, 1):
            yield node.lineno, f"{owner}.fromtimestamp() without a zone", True
        elif owner == "time" and attr in ("time", "time_ns"):
            yield node.lineno, f"time.{attr}()", False
        elif owner == "time" and attr in _LOCAL_TIME:
            yield node.lineno, f"time.{attr}()", True
        elif attr == "astimezone" and not node.args and not node.keywords:
            yield node.lineno, ".astimezone() to the machine's zone", True


def _python_files(*roots: Path) -> list[Path]:
    return sorted(path for root in roots for path in root.rglob("*.py"))


def _reads(paths: list[Path], *, allowed: tuple[Path, ...] = (), naive_only: bool = False
           ) -> list[str]:  # fmt: skip
    found = []
    for path in paths:
        if path in allowed:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for line, what, naive in wall_clock_reads(tree):
            if naive or not naive_only:
                found.append(f"{path.relative_to(REPO)}:{line} {what}")
    return found


def test_product_code_reads_the_clock_only_through_the_seam() -> None:
    assert _reads(_python_files(*(REPO / p for p in PRODUCT)), allowed=(SEAM,)) == []


def test_unit_and_integration_tests_read_no_wall_clock() -> None:
    tests = [p for p in _python_files(REPO / "tests") if E2E not in p.parents]
    assert _reads(tests) == []


def test_end_to_end_tests_read_the_clock_only_as_an_aware_instant() -> None:
    assert _reads(_python_files(E2E), naive_only=True) == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("date.today()", [(1, "date.today()", True)]),
        ('__import__("datetime").date.today()', [(1, "date.today()", True)]),
        ("datetime.now()", [(1, "datetime.now()", True)]),
        ("datetime.datetime.now(UTC)", [(1, "datetime.now()", False)]),
        ("datetime.now(tz=CHINA)", [(1, "datetime.now()", False)]),
        ("datetime.fromtimestamp(0)", [(1, "datetime.fromtimestamp() without a zone", True)]),
        ("datetime.fromtimestamp(0, UTC)", []),
        ("moment.astimezone()", [(1, ".astimezone() to the machine's zone", True)]),
        ("moment.astimezone(ZONE)", []),
        ("time.strftime('%H')", [(1, "time.strftime()", True)]),
        ("time.time()", [(1, "time.time()", False)]),
        ("time.monotonic(); loop.time()", []),
    ],
)
def test_the_check_finds_what_it_should(source: str, expected: list[tuple[int, str, bool]]
                                        ) -> None:  # fmt: skip
    assert list(wall_clock_reads(ast.parse(source))) == expected


#: Date methods that answer in the browser's zone (the agent's PC may be set to anything);
#: ``toLocale…String`` is fine with an explicit ``timeZone`` option.
_BROWSER_LOCAL = re.compile(
    r"\.(toLocale(?:Date|Time)?String|get(?:FullYear|Month|Date|Day|Hours|Minutes)|"
    r"toDateString|toTimeString)\("
)


def browser_local_times(script: str) -> list[int]:
    """Lines of ``script`` that format or read a date in the browser's zone."""
    found = []
    for match in _BROWSER_LOCAL.finditer(script):
        statement = script[match.end() : script.find(";", match.end())]
        if match.group(1).startswith("toLocale") and "timeZone" in statement:
            continue
        found.append(script.count("\n", 0, match.start()) + 1)
    return found


def test_console_pages_show_times_in_shanghai_not_the_browsers_zone() -> None:
    """Times on screen go through ``Intl.DateTimeFormat`` (or ``toLocale…String``) with
    ``timeZone: "Asia/Shanghai"`` (``api.js``: ``shanghaiDate``, ``shanghaiTime``,
    ``shanghaiClock``)."""
    found = [
        f"{path.relative_to(REPO)}:{line}"
        for path in sorted((REPO / "workorders/console/static").glob("*.js"))
        for line in browser_local_times(path.read_text(encoding="utf-8"))
    ]
    assert found == []


def test_the_browser_check_finds_what_it_should() -> None:
    script = (
        'a.toLocaleTimeString("zh-CN");\n'
        'b.toLocaleString("zh-CN",\n  { timeZone: "Asia/Shanghai" });\n'
        "c.getHours();\n"
    )
    assert browser_local_times(script) == [1, 4]
