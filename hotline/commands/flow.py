"""``hotline schema``, ``simulate``, ``reload`` and ``diff``: working on the IVR menus.

``reload`` sends SIGHUP to every running IVR worker of the node (found through
``var/run/ivr-worker-<port>.json``) and waits for each to say how it went;
``diff`` compares the menu the workers run with the file on disk.
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

from routing.clock import HOTLINE_ZONE, now_in
from settings.node import Settings, load_settings

CHINA = HOTLINE_ZONE
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
        "--at",
        help="when the call comes in, e.g. 2026-10-01T09:00 (in the calendar's zone if none "
        "is given); default: now",
    )
    simulate.add_argument("--caller", default="13800138000")
    simulate.add_argument("--callee", default="12320")
    simulate.add_argument("--connects", action="store_true", help="transfers and queues succeed")
    simulate.add_argument(
        "--orders-fail", action="store_true", help="the work-order service refuses orders"
    )
    simulate.add_argument(
        "--no-classify",
        action="store_true",
        help="do not classify what the caller says into recordings (config/intake.yaml): "
        "no emergency raised by the classifier, no confirming question",
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


def parse_at(text: str | None, zone: ZoneInfo = CHINA) -> datetime:
    """``--at``: an ISO time (naive: in ``zone``, the calendar's); none: now in ``zone``."""
    if text is None:
        return now_in(zone)
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


def _simulate(args: argparse.Namespace) -> int:
    from ivr.engine.simulator import OrderService, format_step, parse_script, simulate
    from ivr.errors import IvrError
    from ivr.prompts.durations import PromptDurations
    from routing.calendar_config import load_calendar
    from routing.errors import RoutingError

    settings = load_settings(args.config)
    try:
        flow = _load_menu(settings, args.menu)
        script = parse_script(args.input)
        calendar = load_calendar(settings.calendar)
        start = parse_at(args.at, calendar.timezone)
    except (IvrError, RoutingError, ValueError) as exc:
        print(exc, file=sys.stderr)
        return 1
    # The number the service would give today's 42nd order (days count in China).
    number = f"12320-{start.astimezone(CHINA):%Y%m%d}-00042"
    orders = OrderService(number=None) if args.orders_fail else OrderService(number=number)
    classify = None if args.no_classify else _intake_classifier(settings.intake)
    audio = settings.ivr.prompt_audio
    durations = PromptDurations(audio, flow.language, flow.prompt_language, flow.prompt_text)
    try:
        result = simulate(
            flow,
            script,
            orders=orders,
            prompt_seconds=durations,
            start=start,
            caller=args.caller,
            callee=args.callee,
            calendar=calendar,
            connects=args.connects,
            show_texts=True,
            classify=classify,
        )
    except IvrError as exc:
        print(f"simulation stopped: {exc}", file=sys.stderr)
        return 1
    when = start.isoformat(timespec="minutes") + (" (now)" if args.at is None else "")
    print(f"menu {flow.source} (version {flow.version}), call at {when}")
    print(result.transcript())
    print(f"ended by the {result.ended_by} after {result.seconds:.2f}s")
    if durations.estimated:
        print(
            f"prompt lengths estimated from the text for {len(durations.estimated)} prompt(s) "
            f"without audio in {audio} (`hotline prompts build` renders them)"
        )
    if result.unused:
        print(f"unused input: {', '.join(format_step(step) for step in result.unused)}")
    if result.question is not None:
        asked = result.question
        print(f"asked whether to transfer to {asked.line}: {asked.outcome}")
    return 0


def _intake_classifier(rules_file: Path) -> Any:
    """The worker's intake classifier (``ivr.transcripts.intake_classifier``) on ``rules_file``,
    so that ``speech:TEXT`` said into a recording is classified as a call's intake; ``None``
    (said on stderr) when the rules cannot be used."""
    from asr.errors import AsrError
    from asr.intake import load_intake_rules
    from ivr.transcripts import intake_classifier

    try:
        classify = intake_classifier(load_intake_rules(rules_file))
    except AsrError as exc:
        print(f"intake classification off: {exc}", file=sys.stderr)
        return None
    if classify is None:
        print(f"intake classification off: {rules_file} names unknown domains", file=sys.stderr)
    return classify


def _load_menu(settings: Settings, menu: Path | None) -> Any:
    from ivr.engine.flow import load_flow

    if menu is None or menu.resolve() == settings.ivr.menu.resolve():
        return load_flow(settings.ivr.menu, prompt_texts=settings.ivr.prompt_texts)
    return load_flow(menu)


def _reload(args: argparse.Namespace) -> int:
    from ivr.runstate import read_state, state_paths

    settings = load_settings(args.config)
    run_dir = settings.paths.var / "run"
    waiting = {}
    for path in state_paths(settings.paths.var):
        before = read_state(path)
        if before is not None and _alive(before.pid):
            os.kill(before.pid, signal.SIGHUP)
            waiting[path] = before
    if not waiting:
        print(
            f"hotline: no running IVR worker (state files in {run_dir} missing or stale)",
            file=sys.stderr,
        )
        return 1
    failed = 0
    deadline = time.monotonic() + RELOAD_WAIT_SECONDS
    while waiting and time.monotonic() < deadline:
        for path, before in list(waiting.items()):
            after = read_state(path)
            if after is None or after.pid != before.pid or after.reloads <= before.reloads:
                continue
            del waiting[path]
            outcome = after.last_reload
            assert outcome is not None
            if outcome.ok:
                print(
                    f"reloaded (pid {before.pid}): new calls run flow {outcome.version} "
                    f"(was {before.flow_version}); calls in progress keep theirs"
                )
            else:
                failed += 1
                print(
                    f"reload rejected (pid {before.pid}); the worker still runs flow "
                    f"{outcome.version}:\n{outcome.error}",
                    file=sys.stderr,
                )
        time.sleep(0.1)
    for before in waiting.values():
        print(f"hotline: the IVR worker (pid {before.pid}) did not answer the reload",
              file=sys.stderr)  # fmt: skip
    return 1 if failed or waiting else 0


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
    from ivr.runstate import read_state, state_paths

    settings = load_settings(args.config)
    states = [s for s in map(read_state, state_paths(settings.paths.var)) if s is not None]
    if not states:
        print(
            f"hotline: no running IVR worker (no state in {settings.paths.var / 'run'})",
            file=sys.stderr,
        )
        return 2
    for fallen_back in (s for s in states if s.fallback):
        print(
            f"hotline: worker pid {fallen_back.pid} runs the LAST GOOD configuration "
            f"(flow {fallen_back.flow_version}): {fallen_back.fallback}",
            file=sys.stderr,
        )
    versions = sorted({s.flow_version for s in states})
    if len(versions) > 1:
        print(f"hotline: the workers run different versions: {', '.join(versions)}; "
              "showing the newest start's", file=sys.stderr)  # fmt: skip
    state = max(states, key=lambda s: s.started_at)
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
