"""The ``hotline`` command."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hotline.settings import SettingsError, load_settings

DEFAULT_CONFIG = Path("config/hotline.yaml")


def _up(args: argparse.Namespace) -> int:
    from hotline.supervisor import run_node
    from ivr.prompts import build_prompts

    settings = load_settings(args.config)
    if _check(settings) != 0:
        return 1
    build_prompts(settings.ivr.prompt_texts, settings.ivr.prompt_audio)
    return run_node(settings, args.config)


def _check(settings: object) -> int:
    from hotline.settings import Settings
    from ivr.engine.flow import load_flow
    from ivr.errors import IvrError

    assert isinstance(settings, Settings)
    try:
        flow = load_flow(settings.ivr.menu, prompt_texts=settings.ivr.prompt_texts)
    except IvrError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"{settings.ivr.menu}: ok (version {flow.version})")
    return 0


def _check_config(args: argparse.Namespace) -> int:
    config = args.dir / "hotline.yaml"
    try:
        settings = load_settings(config)
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 1
    return _check(settings)


def _prompts_build(args: argparse.Namespace) -> int:
    from ivr.prompts import build_prompts

    settings = load_settings(args.config)
    built = build_prompts(settings.ivr.prompt_texts, settings.ivr.prompt_audio)
    print(f"{len(built)} prompt(s) rendered into {settings.ivr.prompt_audio}")
    return 0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="hotline", description="12320 hotline server")
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="hotline.yaml")
    commands = parser.add_subparsers(dest="command", required=True)
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
    args = parser.parse_args(argv)
    try:
        sys.exit(args.run(args))
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        sys.exit(1)
