"""f) No full phone number in any log or export of the battery's run.

Greps every log the node wrote during the battery (``hotline up``'s, Kamailio's, the
work-order service's, every worker's, the broker's) and an export (the rates report as
CSV) for 11-digit mainland mobile numbers and for every number the battery's callers
used. The report names file and line and shows the number masked.
"""

from __future__ import annotations

import time
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bench.security.node import BatteryNode
from bench.security.report import Figure, NumberHit, StepResult, phone_numbers_in

SHANGHAI = ZoneInfo("Asia/Shanghai")


def node_logs(work: Path) -> list[Path]:
    """The node's own logs (not the battery's SIPp logs: those are the callers' side)."""
    var = work / "var"
    logs = sorted((var / "log").rglob("*.log*")) if (var / "log").exists() else []
    logs += sorted((work / "mosquitto").glob("*.log"))
    hotline = work / "hotline.log"
    return [*logs, hotline] if hotline.exists() else logs


def _rates_csv(node: BatteryNode) -> str:
    today = datetime.now(SHANGHAI).date()
    query = f"from={today - timedelta(days=1)}&to={today}&format=csv"
    request = urllib.request.Request(
        f"{node.up.api}/api/v1/reports/rates?{query}",
        headers={"Authorization": f"Bearer {node.up.token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return str(response.read().decode(errors="replace"))
    except OSError as exc:
        return f"(rates export failed: {exc})"


def grep(node: BatteryNode, works: list[Path], used: list[str]) -> tuple[list[NumberHit], int]:
    """``works``: the directories of every node the battery started (one per restart)."""
    hits: list[NumberHit] = []
    files = [path for work in works for path in node_logs(work)]
    for path in files:
        text = path.read_text(errors="replace")
        hits += phone_numbers_in(str(path.relative_to(node.work.parent)), text, used)
    export = _rates_csv(node)
    (node.work / "rates-export.csv").write_text(export)
    hits += phone_numbers_in("rates-export.csv", export, used)
    return hits, len(files) + 1


def run(node: BatteryNode, works: list[Path], used: list[str]) -> StepResult:
    started = time.monotonic()
    hits, sources = grep(node, works, used)
    by_source: dict[str, int] = {}
    for hit in hits:
        by_source[hit.source] = by_source.get(hit.source, 0) + 1
    return StepResult(
        "leaks",
        TITLE,
        figures=(
            Figure(
                "full phone numbers in logs and exports", len(hits), "== 0", f"in {sources} files"
            ),
        ),
        seconds=time.monotonic() - started,
        notes=tuple(f"{s}: {n}" for s, n in sorted(by_source.items())),
        details={"first_hits": [f"{h.source}:{h.line} {h.masked}" for h in hits[:20]]},
    )


TITLE = "f) full phone numbers in every log and export of the run"
