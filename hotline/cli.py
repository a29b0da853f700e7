"""The ``hotline`` command. Sub-commands live in ``hotline/commands/``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hotline.commands import agents, asr, console, flow, node, orders
from hotline.settings import SettingsError

DEFAULT_CONFIG = Path("config/hotline.yaml")
COMMAND_MODULES = (node, flow, asr, orders, console, agents)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="hotline", description="12320 hotline server")
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="hotline.yaml")
    commands = parser.add_subparsers(dest="command", required=True)
    for module in COMMAND_MODULES:
        module.register(commands)
    args = parser.parse_args(argv)
    try:
        sys.exit(args.run(args))
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        sys.exit(1)
