"""The ``hotline`` command. Sub-commands live in ``hotline/commands/``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hotline.commands import (
    agents,
    asr,
    calendar,
    console,
    dial,
    events,
    flow,
    node,
    orders,
    spool,
)
from settings.errors import SettingsError
from settings.node import DEFAULT_CONFIG

COMMAND_MODULES = (node, flow, asr, orders, console, calendar, dial, agents, spool, events)
CONFIG_HELP = f"hotline.yaml (default {DEFAULT_CONFIG}); its paths are relative to its directory"


def _accept_config_everywhere(parser: argparse.ArgumentParser) -> None:
    """``--config`` after any sub-command too (``hotline up --config x.yaml``), as people
    type it. ``SUPPRESS``: a sub-command without it keeps the value given before it."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                sub.add_argument("--config", type=Path, default=argparse.SUPPRESS, help=CONFIG_HELP)
                _accept_config_everywhere(sub)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="hotline", description="12320 hotline server")
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help=CONFIG_HELP)
    commands = parser.add_subparsers(dest="command", required=True)
    for module in COMMAND_MODULES:
        module.register(commands)
    _accept_config_everywhere(parser)
    args = parser.parse_args(argv)
    try:
        sys.exit(args.run(args))
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
