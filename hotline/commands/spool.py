"""``hotline spool list|retry``: the IVR's spool of intakes not yet taken by the service.

What waits (with its tries and the last error), and what was set aside — ``rejected/``
(the service refused it) and ``quarantine/`` (it kept failing) — with the reason; ``retry``
puts set-aside entries back to be sent on the workers' next replay (``ivr/spool.py``).
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from typing import Any, TextIO


def register(commands: Any) -> None:
    spool = commands.add_parser("spool", help="intakes waiting for the work-order service")
    what = spool.add_subparsers(dest="what", required=True)
    listing = what.add_parser("list", help="waiting, rejected and quarantined intakes, and why")
    listing.set_defaults(run=_list)
    retry = what.add_parser("retry", help="send set-aside intakes again")
    retry.add_argument("name", nargs="?", help="one entry (default: all set aside)")
    retry.set_defaults(run=_retry)


def _spool(args: argparse.Namespace) -> Any:
    from ivr.spool import Spool
    from settings.node import load_settings

    return Spool(load_settings(args.config).paths.spool)


def print_listing(rows: list[Any], out: TextIO) -> None:
    if not rows:
        print("spool empty: every intake reached the work-order service", file=out)
        return
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.state] = counts.get(row.state, 0) + 1
        retry = (
            f" next {datetime.fromtimestamp(row.next_at, UTC):%Y-%m-%dT%H:%M:%SZ}"
            if row.state == "waiting" and row.next_at
            else ""
        )
        print(f"{row.state:<10} {row.name}  tries {row.attempts}{retry}  {row.reason}", file=out)
    print(", ".join(f"{n} {state}" for state, n in sorted(counts.items())), file=out)


def _list(args: argparse.Namespace) -> int:
    rows = _spool(args).listing()
    print_listing(rows, sys.stdout)
    return 1 if any(row.state != "waiting" for row in rows) else 0


def _retry(args: argparse.Namespace) -> int:
    moved = _spool(args).retry(args.name)
    for name in moved:
        print(f"{name}: back in the spool, sent on the next replay")
    if not moved:
        print("nothing set aside" + (f" named {args.name}" if args.name else ""), file=sys.stderr)
        return 1
    return 0
