"""``hotline events schema``: the JSON Schema of every event on MQTT, on standard output.

Generated from the contract's pydantic models (``events.schema``); the kept copy is
``docs/events.schema.json`` (``hotline events schema > docs/events.schema.json``; a test
keeps the two equal).
"""

from __future__ import annotations

import argparse
from typing import Any


def register(commands: Any) -> None:
    events = commands.add_parser("events", help="the events on MQTT")
    events_commands = events.add_subparsers(dest="what", required=True)
    schema = events_commands.add_parser(
        "schema", help="print the JSON Schema of every event (docs/events.schema.json)"
    )
    schema.set_defaults(run=_schema)


def _schema(_args: argparse.Namespace) -> int:
    from events.schema import main

    return main()
