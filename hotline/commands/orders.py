"""``hotline user add`` and ``hotline report rates``: work-order administration.

Both talk to the database named in ``config/hotline.yaml`` directly (migrating it first), so
they work whether or not the service runs.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import date
from typing import Any


def register(commands: Any) -> None:
    user = commands.add_parser("user", help="API users (bearer tokens)")
    user_commands = user.add_subparsers(dest="what", required=True)
    add = user_commands.add_parser("add", help="create a user; prints its token once")
    add.add_argument("name")
    add.add_argument("--role", required=True)
    add.add_argument("--unit", help="units.yaml id (required for dispatcher and handler)")
    add.set_defaults(run=_user_add)
    report = commands.add_parser("report", help="reports")
    report_commands = report.add_subparsers(dest="what", required=True)
    rates = report_commands.add_parser(
        "rates", help="响应率 / 解决率 / 满意率 (default: the current month in Asia/Shanghai)"
    )
    rates.add_argument("--from", dest="start", type=date.fromisoformat, help="YYYY-MM-DD")
    rates.add_argument("--to", dest="end", type=date.fromisoformat, help="YYYY-MM-DD")
    rates.add_argument("--unit")
    rates.add_argument("--region")
    rates.add_argument("--csv", action="store_true", help="CSV instead of a table")
    rates.set_defaults(run=_report_rates)


def _rules(settings: Any) -> Any:
    from workorders.rules import load_rules

    return load_rules(settings.calendar, settings.units, settings.sla)


def _user_add(args: argparse.Namespace) -> int:
    from routing.errors import RoutingError
    from settings.node import load_settings
    from workorders.errors import WorkOrderError
    from workorders.store import Store
    from workorders.tokens import ROLES, UNIT_ROLES

    settings = load_settings(args.config)
    try:
        rules = _rules(settings)
    except RoutingError as exc:
        print(exc, file=sys.stderr)
        return 1
    if args.role not in ROLES:
        print(f"unknown role {args.role}; expected one of {', '.join(ROLES)}", file=sys.stderr)
        return 2
    if args.unit is not None and args.unit not in rules.tree:
        print(f"unknown unit {args.unit} (see {settings.units})", file=sys.stderr)
        return 2
    if args.role in UNIT_ROLES and (args.unit is None or rules.tree.is_centre(args.unit)):
        print(f"a {args.role} belongs to a sub-centre or unit: give --unit", file=sys.stderr)
        return 2

    async def add() -> str:
        async with Store.open(settings.api.database, rules=rules) as store:
            await store.migrate()
            token: str = await store.people.create_token(args.name, args.role, args.unit)
            return token

    try:
        token = asyncio.run(add())
    except WorkOrderError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(token)
    print(f"user {args.name} ({args.role}, {args.unit or 'centre'}): keep this token; "
          "only its hash is stored", file=sys.stderr)  # fmt: skip
    return 0


def _report_rates(args: argparse.Namespace) -> int:
    from routing.clock import system_clock
    from routing.errors import RoutingError
    from settings.node import load_settings
    from workorders.errors import WorkOrderError
    from workorders.rates import ReportPeriod, compute_rates, rates_csv, rates_table
    from workorders.store import Store

    settings = load_settings(args.config)
    try:
        rules = _rules(settings)
    except RoutingError as exc:
        print(exc, file=sys.stderr)
        return 1
    if args.unit is not None and args.unit not in rules.tree:
        print(f"unknown unit {args.unit}", file=sys.stderr)
        return 2
    if (args.start is None) != (args.end is None):
        print("give both --from and --to, or neither (the current month)", file=sys.stderr)
        return 2
    if args.start is None:
        period = ReportPeriod.current_month(system_clock())
    elif args.end < args.start:
        print("--to is before --from", file=sys.stderr)
        return 2
    else:
        period = ReportPeriod(args.start, args.end)
    start, end = period.bounds()
    units = None if args.unit is None else rules.tree.subtree(args.unit)

    async def inputs() -> Any:
        async with Store.open(settings.api.database, rules=rules) as store:
            await store.migrate()
            return await store.reports.rate_inputs(
                start=start, end=end, units=units, region=args.region
            )

    try:
        rates = compute_rates(asyncio.run(inputs()))
    except WorkOrderError as exc:
        print(exc, file=sys.stderr)
        return 1
    if args.csv:
        print(f"period: {period.describe()}", file=sys.stderr)  # stdout stays plain CSV
        sys.stdout.write(rates_csv(rates))
    else:
        scope = period.describe()
        scope += f"  unit {args.unit}" if args.unit else ""
        scope += f"  region {args.region}" if args.region else ""
        print(scope)
        sys.stdout.write(rates_table(rates))
    return 0
