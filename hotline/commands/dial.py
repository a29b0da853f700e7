"""``hotline dial``: call the hotline from the command line, headless.

A baresip caller (``hotline.baresip``) dials the configured edge, waits out the
greeting, presses ``--digits``, and with ``--speech FILE`` speaks the file after the beep
and presses ``#``, then waits for the hotline to hang up. How long to wait comes from the
rendered prompts (``welcome``, ``record_instructions`` in ``ivr.prompt_audio``) when they
exist; ``--wait`` and ``--speech-wait`` override it for other menus.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path
from typing import Any

from settings.node import Settings, load_settings

DEFAULT_GREETING_SECONDS = 12.0
DEFAULT_INSTRUCTIONS_SECONDS = 6.0
BEEP_SECONDS = 0.25
KEY_GAP_SECONDS = 1.0


def register(commands: Any) -> None:
    dial = commands.add_parser(
        "dial", help="call the hotline headless (baresip): keys, speech from a WAV file"
    )
    dial.add_argument("--digits", default="", help="keys to press after the greeting, e.g. 2")
    dial.add_argument("--speech", type=Path, help="a WAV file to speak after the beep, then #")
    dial.add_argument("--caller", default="13800138000", help="the caller's number (From)")
    dial.add_argument("--to", help="the number dialled (default: ivr.extension)")
    dial.add_argument("--codec", choices=("PCMU", "PCMA"), default="PCMU")
    dial.add_argument("--wait", type=float, help="seconds from answer to the first key")
    dial.add_argument("--speech-wait", type=float, help="seconds from the last key to speaking")
    dial.add_argument("--timeout", type=float, default=90.0, help="hang up after this many seconds")
    dial.set_defaults(run=_dial)


def _dial(args: argparse.Namespace) -> int:
    from hotline.baresip import BaresipCaller, BaresipError, CallerConfig

    settings = load_settings(args.config)
    if args.speech is not None and not args.speech.is_file():
        print(f"{args.speech}: no such file", file=sys.stderr)
        return 1
    missing = [b for b in ("baresip", "sox") if shutil.which(b) is None]
    if missing:
        print(f"hotline dial needs {', '.join(missing)} (./dev up installs them)", file=sys.stderr)
        return 1
    wait = args.wait if args.wait is not None else _greeting_seconds(settings)
    target = f"sip:{args.to or settings.ivr.extension}@{settings.edge.host}:{settings.edge.port}"
    with tempfile.TemporaryDirectory(prefix="hotline-dial-") as tmp:
        work = Path(tmp)
        silence = _sox(["-n"], work / "silence.wav", ["trim", "0", str(args.timeout + 30)])
        speech = None
        if args.speech is not None:
            try:  # 8 kHz mono 16 bit, half a second of lead-in as a person takes a breath
                speech = _sox([str(args.speech)], work / "speech.wav", ["pad", "0.5", "0"])
            except subprocess.CalledProcessError as exc:
                print(f"{args.speech}: sox cannot read it: {exc.stderr}", file=sys.stderr)
                return 1
        caller = BaresipCaller(
            work / "baresip",
            CallerConfig.on_free_ports(
                args.caller, f"{settings.edge.host}:{settings.edge.port}", silence,
                codec=args.codec,
            ),
        )  # fmt: skip
        started = time.monotonic()
        try:
            caller.start()
            print(f"calling {target} as {args.caller} …", flush=True)
            caller.control.command("dial", target)
            answer = caller.control.wait_event(("CALL_ESTABLISHED", "CALL_CLOSED"), 20)
            if answer.get("type") == "CALL_CLOSED":
                reason = answer.get("param") or "closed"
                print(f"the hotline did not answer: {reason}", file=sys.stderr)
                return 1
            print("answered", flush=True)
            time.sleep(wait)
            for key in args.digits:
                caller.control.command("sndcode", key)
                print(f"pressed {key}", flush=True)
                time.sleep(KEY_GAP_SECONDS)
            if speech is not None:
                time.sleep(_speech_wait(settings, args.speech_wait))
                seconds = _seconds(speech)
                caller.control.command("ausrc", f"aufile,{speech}")
                print(f"speaking {args.speech} ({seconds - 0.5:.1f} s)", flush=True)
                time.sleep(seconds + 1.0)
                caller.control.command("ausrc", f"aufile,{silence}")
                caller.control.command("sndcode", "#")
                print("pressed #", flush=True)
            left = max(1.0, args.timeout - (time.monotonic() - started))
            try:
                caller.control.wait_event("CALL_CLOSED", left)
            except BaresipError:
                caller.control.command("hangup")
                print(f"still connected after {args.timeout:.0f} s: hung up", file=sys.stderr)
                return 1
            print(f"the hotline hung up after {time.monotonic() - started:.0f} s")
            return 0
        except BaresipError as exc:
            print(f"hotline dial: {exc}\n{caller.log()[-1500:]}", file=sys.stderr)
            return 1
        finally:
            caller.stop()


def _sox(inputs: list[str], out: Path, effects: list[str]) -> Path:
    subprocess.run(
        ["sox", *inputs, "-r", "8000", "-c", "1", "-b", "16", str(out), *effects],
        check=True,
        capture_output=True,
        text=True,
    )
    return out


def _seconds(path: Path) -> float:
    with wave.open(str(path)) as wav:
        frames: int = wav.getnframes()
        rate: int = wav.getframerate()
    return frames / rate


def _prompt_seconds(settings: Settings, key: str) -> float | None:
    path = settings.ivr.prompt_audio / f"{key}.wav"
    try:
        return _seconds(path)
    except (OSError, wave.Error, EOFError):
        return None


def _greeting_seconds(settings: Settings) -> float:
    """Until the main menu listens: the welcome prompt's length and a second."""
    welcome = _prompt_seconds(settings, "welcome")
    return DEFAULT_GREETING_SECONDS if welcome is None else welcome + 1.0


def _speech_wait(settings: Settings, given: float | None) -> float:
    """From the key to speaking: the recording instructions, the beep and a second."""
    if given is not None:
        return given
    instructions = _prompt_seconds(settings, "record_instructions")
    seconds = DEFAULT_INSTRUCTIONS_SECONDS if instructions is None else instructions
    return seconds + BEEP_SECONDS + 1.0
