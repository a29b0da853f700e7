"""c) An INVITE flood from one host while legitimate callers dial from another.

From 127.0.0.2: SIPp's built-in caller (INVITE, ACK, 2 s, BYE) at ``rate`` calls a second
for ``seconds`` (at most ``rate × seconds`` calls, 2,000 at once, SIPp's own global
timeout as a bound). From 127.0.0.3, 5 s into the flood: ``legit`` callers of the
capacity benchmark (1 in the menu, speech, #, then the order number and the IVR's BYE),
2 a second, each with its own 11-digit number. Measured: the share of legitimate calls
answered and completed (target ≥ 99 %), and the orders the flood's calls made (target 0).
"""

from __future__ import annotations

import re
import time
from pathlib import Path

from bench.capacity.media import make as make_media
from bench.security.node import (
    BatteryNode,
    caller_numbers,
    sipp,
    sipp_counts,
    wait_process,
)
from bench.security.report import Figure, StepResult
from tests.e2e.sipp import answered_calls

FLOOD_SOURCE = "127.0.0.2"
LEGIT_SOURCE = "127.0.0.3"
LEGIT_RATE = 2.0
WELCOME_MS = 11_500
INTAKE_MS = 8_000
LEGIT_PREFIX = "1391100"


def legit_scenario() -> str:
    from bench.security.node import REPO

    return (
        (REPO / "bench/capacity/caller.xml")
        .read_text()
        .replace("1390000[call_number]", "[field0]")
        .replace("WELCOME_MS", str(WELCOME_MS))
        .replace("INTAKE_MS", str(INTAKE_MS))
        .replace('<recv request="BYE" timeout="90000"/>', '<recv request="BYE" timeout="60000"/>')
    )


def run(node: BatteryNode, *, rate: float, seconds: float, legit: int) -> StepResult:
    started = time.monotonic()
    mark = node.mark()
    work = node.work / "flood"
    make_media(work)
    numbers = caller_numbers(LEGIT_PREFIX, legit)
    total = int(rate * seconds)
    flood = sipp(
        work,
        target=node.edge,
        source=FLOOD_SOURCE,
        name="flood",
        builtin="uac",
        calls=total,
        rate=rate,
        limit=2000,
        extra=("-d", "2000", "-timeout", f"{int(seconds) + 20}s", "-timeout_error"),
    )
    callers = sipp(
        work,
        target=node.edge,
        source=LEGIT_SOURCE,
        name="legit",
        scenario=legit_scenario(),
        calls=legit,
        rate=LEGIT_RATE,
        limit=legit,
        numbers=numbers,
        extra=("-trace_err",),
    )
    flood.start()
    try:
        time.sleep(5)
        callers.start()
        legit_ended = wait_process(callers, legit / LEGIT_RATE + 90)
        wait_process(flood, max(0.0, started + seconds + 25 - time.monotonic()))
    finally:
        callers.stop()
        flood.stop()
    ok, failed = sipp_counts(work, "legit")
    flood_ok, flood_failed = sipp_counts(work, "flood")
    time.sleep(15)  # the flood's last calls end; their orders are made
    orders = node.orders()
    refusals = _refusals(work)
    calls = answered_calls(node.up.worker_log(0) + node.up.worker_log(1))
    flood_orders = _orders_from(FLOOD_SOURCE, orders, calls)
    legit_orders = _orders_from(LEGIT_SOURCE, orders, calls)
    return StepResult(
        "flood",
        TITLE.format(rate=rate, seconds=seconds),
        figures=(
            Figure("legitimate calls answered and completed", 100.0 * ok / legit, ">= 99", "%"),
            Figure("legitimate calls with an order", legit_orders, f">= {legit}"),
            Figure("orders created by the flood", flood_orders, "== 0"),
            Figure("flood calls SIPp counted completed", flood_ok),
            Figure("flood calls SIPp counted failed", flood_failed),
            Figure("process deaths", len(node.deaths_since(mark)), "== 0"),
        ),
        seconds=time.monotonic() - started,
        notes=(f"legit SIPp ended by itself: {legit_ended}; {ok} ok, {failed} failed of {legit}",),
        details={"deaths": node.deaths_since(mark), "legit_call_errors": refusals},
    )


def _refusals(work: Path) -> dict[str, int]:
    """What ended the legitimate calls that failed, from SIPp's error log: status lines
    ("500 No error (2/SL)") and timeouts."""
    counts: dict[str, int] = {}
    for path in work.glob("legit*_errors.log"):
        text = path.read_text(errors="replace")
        reasons = re.findall(r"received 'SIP/2\.0 (\d{3}[^\r\n']*)", text)
        reasons += ["timeout"] * len(re.findall(r"timeout", text, re.IGNORECASE))
        for reason in reasons:
            counts[reason] = counts.get(reason, 0) + 1
    return counts


def _orders_from(source: str, orders: list[dict[str, object]], calls: dict[str, str]) -> int:
    """Orders of the calls SIPp made from ``source``: orders carry the worker's own call ids,
    ``calls`` maps them to SIPp's Call-IDs (``<n>-<pid>@<source>``, from the workers' logs)."""
    ours = {server for server, sip in calls.items() if sip.endswith(f"@{source}")}
    return sum(1 for o in orders if o.get("call_id") in ours)


TITLE = (
    "c) INVITE flood {rate:.0f}/s for {seconds:.0f} s from one host, legitimate calls from another"
)
