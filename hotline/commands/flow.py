"""``hotline schema``, ``simulate``, ``reload`` and ``diff``: working on the IVR menus.

``reload`` sends SIGHUP to the running IVR worker (found through
``var/run/ivr-worker.json``) and waits for the worker to say how it went;
``diff`` compares the menu the worker runs with the file on disk.
"""

from __future__ import annotations

import argparse
import difflib
import os
import signal
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from hotline.settings import Settings, load_settings

CHINA = ZoneInfo("Asia/Shanghai")
RELOAD_WAIT_SECONDS = 30.0


def register(commands: Any) -> None:
    schema = commands.add_parser("schema", help="print the JSON Schema of the menu language")
    schema.set_defaults(run=_schema)

    simulate = commands.add_parser(
        "simulate", help="run a menu with a scripted caller and a fake clock (no SIP, no sound)"
    )
    simulate.add_argument("--menu", type=Path, help="menu file (default: the configured one)")
    simulate.add_argument(
        "--input",
        default="",
        help='what the caller does, e.g. "2, speech:我要投诉收费, #" '
        "(keys, !KEYS during a prompt, speech:TEXT, talk:SECONDS, silence, hangup)",
    )
    simulate.add_argument(
        "--at", help="when the call comes in, e.g. 2026-10-01T09:00 (China time if no zone)"
    )
    simulate.add_argument("--caller", default="13800138000")
    simulate.add_argument("--callee", default="12320")
    simulate.add_argument("--connects", action="store_true", help="transfers and queues succeed")
    simulate.add_argument(
        "--orders-fail", action="store_true", help="the work-order service refuses orders"
    )
    simulate.set_defaults(run=_simulate)

    reload = commands.add_parser(
        "reload", help="make the running IVR worker load the menu again (new calls only)"
    )
    reload.set_defaults(run=_reload)
    diff = commands.add_parser(
        "diff", help="show how the menu on disk differs from the one the IVR worker runs"
    )
    diff.set_defaults(run=_diff)


def _schema(args: argparse.Namespace) -> int:
    from ivr.engine.jsonschema import menu_schema_text

    sys.stdout.write(menu_schema_text())
    return 0


def parse_at(text: str | None) -> datetime | None:
    if text is None:
        return None
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=CHINA)


def _simulate(args: argparse.Namespace) -> int:
    from ivr.engine.simulator import OrderService, parse_script, simulate
    from ivr.errors import IvrError
    from routing.calendar_config import load_calendar
    from routing.errors import RoutingError

    settings = load_settings(args.config)
    try:
        flow = _load_menu(settings, args.menu)
        script = parse_script(args.input)
        start = parse_at(args.at)
        calendar = load_calendar(settings.calendar)
    except (IvrError, RoutingError, ValueError) as exc:
        print(exc, file=sys.stderr)
        return 1
    orders = OrderService(number=None) if args.orders_fail else OrderService()
    try:
        result = simulate(
            flow,
            script,
            orders=orders,
            start=start,
            caller=args.caller,
            callee=args.callee,
            calendar=calendar,
            connects=args.connects,
            show_texts=True,
        )
    except IvrError as exc:
        print(f"simulation stopped: {exc}", file=sys.stderr)
        return 1
    when = (start or datetime(2026, 5, 1, 9, 0, tzinfo=CHINA)).isoformat(timespec="minutes")
    print(f"menu {flow.source} (version {flow.version}), call at {when}")
    print(result.transcript())
    print(f"ended by the {result.ended_by} after {result.seconds:.2f}s")
    if result.unused:
        print(f"unused input: {', '.join(repr(step) for step in result.unused)}")
    return 0


def _load_menu(settings: Settings, menu: Path | None) -> Any:
    from ivr.engine.flow import load_flow

    if menu is None or menu.resolve() == settings.ivr.menu.resolve():
        return load_flow(settings.ivr.menu, prompt_texts=settings.ivr.prompt_texts)
    return load_flow(menu)


def _reload(args: argparse.Namespace) -> int:
    from ivr.runstate import read_state, state_path

    settings = load_settings(args.config)
    path = state_path(settings.paths.var)
    before = read_state(path)
    if before is None or not _alive(before.pid):
        print(f"hotline: no running IVR worker ({path} missing or stale)", file=sys.stderr)
        return 1
    os.kill(before.pid, signal.SIGHUP)
    deadline = time.monotonic() + RELOAD_WAIT_SECONDS
    while time.monotonic() < deadline:
        after = read_state(path)
        if after is not None and after.pid == before.pid and after.reloads > before.reloads:
            outcome = after.last_reload
            assert outcome is not None
            if outcome.ok:
                print(
                    f"reloaded: new calls run flow {outcome.version} "
                    f"(was {before.flow_version}); calls in progress keep theirs"
                )
                return 0
            print(
                f"reload rejected; the worker still runs flow {outcome.version}:\n{outcome.error}",
                file=sys.stderr,
            )
            return 1
        time.sleep(0.1)
    print(f"hotline: the IVR worker (pid {before.pid}) did not answer the reload", file=sys.stderr)
    return 1


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _diff(args: argparse.Namespace) -> int:
    """Exit 0: the same; 1: they differ (printed as a unified diff); 2: nothing to compare."""
    from ivr.runstate import read_state, state_path

    settings = load_settings(args.config)
    path = state_path(settings.paths.var)
    state = read_state(path)
    if state is None:
        print(f"hotline: no running IVR worker ({path} missing)", file=sys.stderr)
        return 2
    menu = Path(state.menu)
    try:
        on_disk = menu.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"hotline: cannot read {menu}: {exc}", file=sys.stderr)
        return 2
    lines = list(
        difflib.unified_diff(
            state.menu_text.splitlines(keepends=True),
            on_disk.splitlines(keepends=True),
            fromfile=f"{menu} (running, version {state.flow_version})",
            tofile=f"{menu} (on disk)",
        )
    )
    if not lines:
        print(f"{menu}: the running version {state.flow_version} is what is on disk")
        return 0
    sys.stdout.writelines(line if line.endswith("\n") else line + "\n" for line in lines)
    return 1
