"""``hotline agents passwd EXT``: the SIP password of an agent phone at the edge.

Only HA1 (``md5(EXT:realm:password)``) is stored, in the edge's ``subscriber`` table
(``paths.edge_db``, hotline/edge_db.py); the running edge reads the changed file at the
phone's next REGISTER. The dedicated lines (120, 110, 119, 122, every line target of
routing.yaml, every ``edge.gateways`` user) and the IVR number are refused: they are
static gateways or services, never registrable. The password is read twice from the
terminal, or once from standard input with ``--password-stdin``.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any


def register(commands: Any) -> None:
    agents = commands.add_parser("agents", help="agent phones at the SIP edge")
    agents_commands = agents.add_subparsers(dest="what", required=True)
    passwd = agents_commands.add_parser(
        "passwd", help="set an agent phone's SIP password (adds the extension if new)"
    )
    passwd.add_argument("extension", help="the phone's SIP user, e.g. 1001")
    passwd.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    passwd.set_defaults(run=_passwd)
    remove = agents_commands.add_parser("remove", help="delete an agent phone's credentials")
    remove.add_argument("extension")
    remove.set_defaults(run=_remove)


def _read_password(from_stdin: bool) -> str | None:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("新密码: ")
    if getpass.getpass("再次输入: ") != first:
        print("两次输入的密码不一致", file=sys.stderr)
        return None
    return first


def _line_users(settings: Any) -> set[str]:
    """The users of routing.yaml's line targets that live at this edge (``sip:120``)."""
    from ivr.engine.errors import FlowError
    from ivr.engine.flow import default_routing
    from ivr.engine.targets import load_targets

    path = default_routing(settings.ivr.menu)
    if not path.exists():
        return set()
    try:
        targets = load_targets(path)
    except FlowError:
        return set()  # `hotline check-config` reports it
    return {
        target.split(":", 1)[1]
        for line in targets.lines.values()
        for target in line.targets
        if "@" not in target
    }


def _passwd(args: argparse.Namespace) -> int:
    from hotline.edge_db import EdgeDbError, set_password, unregistrable
    from settings.node import load_settings

    settings = load_settings(args.config)
    forbidden = unregistrable(
        [*settings.edge.gateways, *_line_users(settings)], [settings.ivr.extension]
    )
    if args.extension in forbidden:
        print(f"{args.extension} 是专线或服务号码（静态网关），不能注册", file=sys.stderr)
        return 2
    password = _read_password(args.password_stdin)
    if password is None:
        return 2
    try:
        created = set_password(
            settings.paths.edge_db, args.extension, settings.edge.realm, password,
            forbidden=forbidden,
        )  # fmt: skip
    except EdgeDbError as exc:
        print(exc, file=sys.stderr)
        return 2
    print(f"{args.extension}: {'added' if created else 'password changed'} "
          f"({settings.paths.edge_db / 'subscriber'})")  # fmt: skip
    return 0


def _remove(args: argparse.Namespace) -> int:
    from hotline.edge_db import remove_user
    from settings.node import load_settings

    settings = load_settings(args.config)
    if not remove_user(settings.paths.edge_db, args.extension):
        print(f"{args.extension}: no such agent phone", file=sys.stderr)
        return 1
    print(f"{args.extension}: removed")
    return 0
