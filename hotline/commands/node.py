"""``hotline up``, ``check-config`` and ``prompts build``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from hotline.settings import Settings, SettingsError, load_settings


def register(commands: Any) -> None:
    commands.add_parser("up", help="run the whole hotline locally (foreground)").set_defaults(
        run=_up
    )
    check = commands.add_parser("check-config", help="validate the configuration")
    check.add_argument("dir", type=Path, nargs="?", default=Path("config"))
    check.set_defaults(run=_check_config)
    prompts = commands.add_parser("prompts", help="prompt audio")
    prompts.add_subparsers(dest="what", required=True).add_parser(
        "build", help="render prompt texts to 8 kHz WAV with espeak-ng"
    ).set_defaults(run=_prompts_build)


def _up(args: argparse.Namespace) -> int:
    from hotline.supervisor import run_node
    from ivr.prompts import build_prompts

    settings = load_settings(args.config)
    if check_settings(settings) != 0:
        return 1
    build_prompts(settings.ivr.prompt_texts, settings.ivr.prompt_audio)
    return run_node(settings, args.config)


def check_settings(settings: Settings) -> int:
    """Validate what ``settings`` points at; print problems; 0 when all is well."""
    from ivr.engine.flow import load_flow
    from ivr.errors import IvrError
    from routing.calendar_config import load_calendar
    from routing.errors import RoutingError

    status = 0
    try:
        flow = load_flow(settings.ivr.menu, prompt_texts=settings.ivr.prompt_texts)
        print(f"{settings.ivr.menu}: ok (version {flow.version})")
    except IvrError as exc:
        print(exc, file=sys.stderr)
        status = 1
    try:
        load_calendar(settings.calendar)
        print(f"{settings.calendar}: ok")
    except RoutingError as exc:
        print(exc, file=sys.stderr)
        status = 1
    return status


def _check_config(args: argparse.Namespace) -> int:
    try:
        settings = load_settings(args.dir / "hotline.yaml")
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 1
    return check_settings(settings)


def _prompts_build(args: argparse.Namespace) -> int:
    from ivr.prompts import build_prompts

    settings = load_settings(args.config)
    built = build_prompts(settings.ivr.prompt_texts, settings.ivr.prompt_audio)
    print(f"{len(built)} prompt(s) rendered into {settings.ivr.prompt_audio}")
    return 0
