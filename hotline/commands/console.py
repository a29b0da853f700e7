"""``hotline console passwd LOGIN``: set (or create) a console user's password;
``hotline console unlock LOGIN`` (or ``--address A``): lift the login limits on it.

Talks to the database named in ``config/hotline.yaml`` directly (migrating it first), so it
works whether or not the service runs. The password is read twice from the terminal, or
once from standard input with ``--password-stdin``; only its scrypt hash is stored, and a
changed password ends the user's open sessions.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from typing import Any

CONSOLE_ROLES = ("call_taker", "supervisor", "leader", "admin")


def register(commands: Any) -> None:
    console = commands.add_parser("console", help="agent console users")
    console_commands = console.add_subparsers(dest="what", required=True)
    passwd = console_commands.add_parser(
        "passwd", help="set a console user's password (creates the user if new)"
    )
    passwd.add_argument("login", help="the agent's login (as in config/agents.yaml)")
    passwd.add_argument("--name", help="display name (default: the login)")
    passwd.add_argument("--role", choices=CONSOLE_ROLES, help="new users: call_taker unless given")
    passwd.add_argument("--unit", help="units.yaml id (default: the centre)")
    passwd.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    passwd.set_defaults(run=_passwd)
    unlock = console_commands.add_parser(
        "unlock", help="lift the failed-login limits on a login and/or a source address"
    )
    unlock.add_argument("login", nargs="?", help="the console login")
    unlock.add_argument("--address", help="a source address (IPv4/IPv6) locked for failures")
    unlock.set_defaults(run=_unlock)


def _unlock(args: argparse.Namespace) -> int:
    from settings.node import load_settings
    from workorders.errors import WorkOrderError
    from workorders.store import Store

    if args.login is None and args.address is None:
        print("name a LOGIN or an --address", file=sys.stderr)
        return 2
    settings = load_settings(args.config)

    async def lift() -> int:
        async with Store.open(settings.api.database) as store:
            await store.migrate()
            cleared: int = await store.people.unlock_login(args.login, args.address)
            return cleared

    try:
        cleared = asyncio.run(lift())
    except WorkOrderError as exc:
        print(exc, file=sys.stderr)
        return 1
    what = " and ".join(
        text
        for text in (args.login, None if args.address is None else f"address {args.address}")
        if text
    )
    print(f"{what}: {cleared} failed-login counts cleared", file=sys.stderr)
    return 0


def _read_password(from_stdin: bool) -> str | None:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("新密码: ")
    if getpass.getpass("再次输入: ") != first:
        print("两次输入的密码不一致", file=sys.stderr)
        return None
    return first


def _passwd(args: argparse.Namespace) -> int:
    from routing.errors import RoutingError
    from settings.node import load_settings
    from workorders.console.auth import hash_password
    from workorders.errors import WorkOrderError
    from workorders.rules import load_rules
    from workorders.store import Store

    settings = load_settings(args.config)
    try:
        rules = load_rules(settings.calendar, settings.units, settings.sla)
    except RoutingError as exc:
        print(exc, file=sys.stderr)
        return 1
    if args.unit is not None and args.unit not in rules.tree:
        print(f"unknown unit {args.unit} (see {settings.units})", file=sys.stderr)
        return 2
    password = _read_password(args.password_stdin)
    if password is None:
        return 2
    try:
        stored = hash_password(password)
    except WorkOrderError as exc:
        print(exc.message, file=sys.stderr)
        return 2

    async def save() -> bool:
        async with Store.open(settings.api.database, rules=rules) as store:
            await store.migrate()
            created: bool = await store.people.set_console_user(
                args.login, stored, name=args.name, role=args.role, unit=args.unit
            )
            return created

    try:
        created = asyncio.run(save())
    except WorkOrderError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"console user {args.login} {'created' if created else 'updated'}", file=sys.stderr)
    return 0
