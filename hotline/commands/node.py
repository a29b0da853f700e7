"""``hotline up``, ``check-config`` and ``prompts build``."""

from __future__ import annotations

import argparse
import sys
from datetime import date, tzinfo
from pathlib import Path
from typing import Any

from settings.errors import SettingsError
from settings.node import Settings, load_settings


def register(commands: Any) -> None:
    up = commands.add_parser("up", help="run the whole hotline locally (foreground)")
    up.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="IVR worker processes (default: ivr.workers in hotline.yaml, else one per core)",
    )
    up.add_argument(
        "--ivr-only",
        action="store_true",
        help="run only the IVR workers; the edge, broker and work-order service run elsewhere",
    )
    up.set_defaults(run=_up)
    check = commands.add_parser(
        "check-config",
        help="validate hotline.yaml, menus, prompt texts, routing.yaml, agents.yaml and the "
        "calendar",
    )
    check.add_argument(
        "dir",
        type=Path,
        nargs="?",
        help="a config directory (its hotline.yaml, else defaults anchored there); "
        "default: the directory of --config",
    )
    check.add_argument(
        "--audio", action="store_true", help="also check that every prompt has rendered audio"
    )
    check.add_argument(
        "--strict", action="store_true", help="warnings (e.g. the calendar's horizon) fail too"
    )
    check.add_argument(
        "--today",
        type=date.fromisoformat,
        help="check as of this day (YYYY-MM-DD; default: today in the calendar's time zone)",
    )
    check.set_defaults(run=_check_config)
    prompts = commands.add_parser("prompts", help="prompt audio")
    prompts.add_subparsers(dest="what", required=True).add_parser(
        "build", help="render prompt texts to 8 kHz WAV with espeak-ng"
    ).set_defaults(run=_prompts_build)


def _up(args: argparse.Namespace) -> int:
    from hotline.supervisor import run_node
    from hotline.workers import worker_count, worker_slots

    settings = load_settings(args.config)
    workers = worker_count(settings, args.workers)
    worker_slots(settings, workers)  # SettingsError before anything starts
    if check_settings(settings) != 0:
        return 1
    build_all_prompts(settings)
    # Absolute: the workers must read this very file, whatever directory they start in.
    config = args.config.absolute()
    return run_node(settings, config, workers=workers, ivr_only=args.ivr_only)


def build_all_prompts(settings: Settings) -> int:
    """Render the prompts of the menu's language and of every language it switches to."""
    from ivr.engine.flow import load_flow
    from ivr.prompts import build_prompts
    from ivr.prompts.library import language_audio_dir

    ivr = settings.ivr
    flow = load_flow(ivr.menu, prompt_texts=ivr.prompt_texts)
    built = 0
    for language in flow.languages:
        texts = (
            ivr.prompt_texts
            if language == flow.language
            else ivr.prompt_texts.with_name(f"{language}.yaml")
        )
        out = language_audio_dir(ivr.prompt_audio, flow.language, language)
        built += len(build_prompts(texts, out))
    return built


def check_settings(
    settings: Settings, *, audio: bool = False, strict: bool = False, today: date | None = None
) -> int:
    """Validate what ``settings`` points at; print problems; 0 when all is well.

    Every menu next to the configured one, every prompt-texts file next to the
    configured one, ``routing.yaml``, the shipped JSON Schema and the calendar;
    with ``audio``, that the rendered prompts the menu needs exist. Warnings (the
    calendar's horizon closer than its margin from ``today``) go to stderr and fail
    only when ``strict``.
    """
    from ivr.engine.errors import FlowError
    from ivr.engine.flow import default_routing, load_flow
    from ivr.engine.jsonschema import menu_schema_text
    from ivr.engine.targets import load_targets
    from ivr.errors import IvrError
    from ivr.prompts import load_prompt_texts
    from ivr.prompts.library import PromptLibrary
    from routing.calendar_config import load_calendar
    from routing.errors import RoutingError
    from routing.sla import load_sla
    from routing.units import load_units

    problems: list[str] = []
    #: Agent group → where it is used (menus' ``queue``, lines' ``fallback_group``).
    groups_used: dict[str, str] = {}

    def ok(what: object) -> None:
        print(f"{what}: ok")

    ivr = settings.ivr
    menus = sorted({ivr.menu, *ivr.menu.parent.glob("*.yaml")})
    for menu in menus:
        try:
            texts = ivr.prompt_texts if menu == ivr.menu else None
            flow = load_flow(menu, prompt_texts=texts)
            ok(f"{menu} (version {flow.version})")
            for verb in (verb for verbs in flow.flows.values() for verb in verbs):
                for ref in verb.references():
                    if ref.kind == "group":
                        groups_used.setdefault(ref.name, f"{menu}: queue")
            if audio and menu == ivr.menu:
                library = PromptLibrary.load(
                    flow.language, ivr.prompt_texts, ivr.prompt_audio, flow.languages
                )
                library.check(flow.prompt_keys() | {"beep"})
                ok(f"{ivr.prompt_audio} (audio)")
        except IvrError as exc:
            problems.append(str(exc))
    for texts_file in sorted({ivr.prompt_texts, *ivr.prompt_texts.parent.glob("*.yaml")}):
        try:
            load_prompt_texts(texts_file)
            ok(texts_file)
        except IvrError as exc:
            problems.append(str(exc))
    routing = default_routing(ivr.menu)
    if routing.exists():
        try:
            targets = load_targets(routing)
            ok(f"{routing} ({len(targets.lines)} lines, {len(targets.groups)} groups)")
            for name, line in targets.lines.items():
                if line.fallback_group is not None:
                    where = f"{routing}: lines.{name}.fallback_group"
                    groups_used.setdefault(line.fallback_group, where)
        except FlowError as exc:
            problems.append(str(exc))
    else:
        print(f"{routing}: absent, not checked (no transfer lines or groups)")
    schema = ivr.menu.parent / "menu.schema.json"
    if schema.exists():
        if schema.read_text(encoding="utf-8") != menu_schema_text():
            problems.append(f"{schema}: out of date; run `hotline schema > {schema}`")
        else:
            ok(schema)
    else:
        print(f"{schema}: absent, not checked")
    warnings: list[str] = []
    try:
        calendar = load_calendar(settings.calendar)
        horizon = calendar.horizon_status(today or today_in(calendar.timezone))
        if horizon.warn:
            warnings.append(f"warning: {settings.calendar}: {horizon.describe()}")
        else:
            print(f"{settings.calendar}: ok ({horizon.describe()})")
        load_units(settings.units)
        ok(settings.units)
        load_sla(settings.sla)
        ok(settings.sla)
    except RoutingError as exc:
        problems.append(str(exc))
    problems += _check_intake(settings, routing)
    problems += _check_agents(settings, groups_used)
    for problem in dict.fromkeys(problems):  # a shared file's problem once
        print(problem, file=sys.stderr)
    for warning in warnings:
        print(warning + (" (--strict: an error)" if strict else ""), file=sys.stderr)
    return 1 if problems or (strict and warnings) else 0


def today_in(zone: tzinfo) -> date:
    """Today's date in ``zone``, from the product's clock seam (``routing.clock``; callers
    and tests can also pass ``today`` to ``check_settings``)."""
    from routing.clock import now_in

    return now_in(zone).date()


def _check_intake(settings: Settings, routing: Path) -> list[str]:
    """``intake.yaml`` loads, every emergency line it names exists in ``routing.yaml``, and
    every domain it classifies into is a domain of ``routing/units.py`` (what dispatch and
    ``units.yaml`` use)."""
    from asr.errors import AsrError
    from asr.intake import load_intake_rules, unknown_domains
    from ivr.engine.targets import load_targets
    from ivr.errors import IvrError
    from routing.units import DOMAIN_LABELS

    try:
        rules = load_intake_rules(settings.intake)
        lines = load_targets(routing).lines if routing.exists() else {}
    except (AsrError, IvrError) as exc:
        return [str(exc)]
    problems = []
    unknown = sorted({rule.line for rule in rules.emergencies} - set(lines))
    if unknown:
        problems.append(
            f"{settings.intake}: emergency line(s) not in {routing}: {', '.join(unknown)}"
        )
    domains = unknown_domains(rules, DOMAIN_LABELS)
    if domains:
        problems.append(
            f"{settings.intake}: domain(s) {', '.join(domains)} are not dispatch domains "
            f"(routing/units.py DOMAIN_LABELS: {', '.join(DOMAIN_LABELS)})"
        )
    if not problems:
        print(f"{settings.intake}: ok")
    return problems


def _check_agents(settings: Settings, groups_used: dict[str, str]) -> list[str]:
    """``agents.yaml`` loads, and every group a menu queues to or a line falls back to is in it."""
    from routing.agents import AgentsError, load_agents

    try:
        agents = load_agents(settings.agents)
    except AgentsError as exc:
        return [str(exc)]
    unknown = agents.unknown_groups(groups_used)
    if unknown:
        return [
            f"{groups_used[name]}: agent group {name!r} is not in {settings.agents} "
            f"(groups: {', '.join(agents.groups)})"
            for name in unknown
        ]
    print(f"{settings.agents}: ok ({len(agents.groups)} groups, {len(agents.agents)} agents)")
    return []


def _check_config(args: argparse.Namespace) -> int:
    """Checks the files of DIR (or of ``--config``'s directory), wherever it runs from."""
    try:
        if args.dir is None:
            settings = load_settings(args.config)
        elif not args.dir.is_dir():
            raise SettingsError(f"{args.dir}: no such directory")
        else:
            settings = load_settings(args.dir / "hotline.yaml", required=False)
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 1
    return check_settings(settings, audio=args.audio, strict=args.strict, today=args.today)


def _prompts_build(args: argparse.Namespace) -> int:
    from ivr.errors import IvrError

    settings = load_settings(args.config)
    try:
        built = build_all_prompts(settings)
    except IvrError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"{built} prompt(s) rendered next to {settings.ivr.prompt_audio}")
    return 0
