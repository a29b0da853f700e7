"""Run the security battery of issue 13 against this tree.

    .venv/bin/python -m bench.security.run [--only corpus,scanners,events,kill,flood,leaks]
        [--flood-rate 300] [--flood-seconds 60] [--legit-calls 100] [--work DIR]

Starts ``hotline up --workers 2`` on free loopback ports (a broker of its own), runs the
steps in that order — a node that did not survive a step is replaced by a fresh one,
and that is reported — then stops everything it started. Figures go to
``bench/results/security-<date>.json`` and a Markdown table on stdout. Steps are
letters of the issue's acceptance list too: ``--only a,b``. Takes 8–12 minutes.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bench.security import corpus, events, flood, kill, leaks, scanners
from bench.security.node import REPO, BatteryError, BatteryNode, battery_node, caller_numbers
from bench.security.report import StepResult, results_json, table

STEPS = ("corpus", "scanners", "events", "kill", "flood", "leaks")
LETTERS = {"a": "corpus", "b": "scanners", "c": "flood", "d": "kill", "e": "events", "f": "leaks"}
RESULTS = REPO / "bench" / "results"


def chosen_steps(only: str | None) -> list[str]:
    """The steps to run, in the battery's order; ``only`` is names or letters, comma-separated."""
    if not only:
        return list(STEPS)
    wanted = set()
    for word in (w.strip().lower() for w in only.split(",") if w.strip()):
        name = LETTERS.get(word, word)
        if name not in STEPS:
            raise SystemExit(f"unknown step {word!r}: choose from {', '.join(STEPS)} or a–f")
        wanted.add(name)
    return [s for s in STEPS if s in wanted]


def numbers_used(args: argparse.Namespace) -> list[str]:
    """Every caller number the battery sends: step f greps the logs for them."""
    return (
        caller_numbers(flood.LEGIT_PREFIX, args.legit_calls)
        + caller_numbers("1392200", 60)
        + caller_numbers("1393300", events.LEGIT_CALLS + 1)
    )


def _git(*args: str) -> str:
    done = subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True)
    return done.stdout.strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.security.run",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--only", help="steps to run: names or letters a–f, comma-separated")
    parser.add_argument("--flood-rate", type=float, default=300.0)
    parser.add_argument("--flood-seconds", type=float, default=60.0)
    parser.add_argument("--legit-calls", type=int, default=100)
    parser.add_argument("--work", type=Path, help="keep the run's files here (default: a temp dir)")
    parser.add_argument(
        "--out", type=Path, help="the JSON file (default: bench/results/security-<date>.json)"
    )
    args = parser.parse_args(argv)
    steps = chosen_steps(args.only)
    started_at = datetime.now(UTC)
    out = args.out or RESULTS / f"security-{started_at:%Y-%m-%d}.json"
    venv_bin = Path(sys.executable).parent

    runners: dict[str, Callable[[BatteryNode], StepResult]] = {
        "corpus": corpus.run,
        "scanners": lambda n: scanners.run(n, venv_bin),
        "events": events.run,
        "kill": kill.run,
        "flood": lambda n: flood.run(
            n, rate=args.flood_rate, seconds=args.flood_seconds, legit=args.legit_calls
        ),
    }
    results: list[StepResult] = []
    with contextlib.ExitStack() as stack:
        root = args.work or Path(
            stack.enter_context(tempfile.TemporaryDirectory(prefix="security-"))
        )
        root.mkdir(parents=True, exist_ok=True)
        works: list[Path] = []
        node: BatteryNode | None = None
        node_stack = contextlib.ExitStack()
        stack.callback(node_stack.close)
        for step in steps:
            if node is None or not node.alive():
                if node is not None:
                    results[-1] = _with_note(
                        results[-1],
                        "the node did not survive this step; the next step runs on a fresh node",
                    )
                    node_stack.close()
                    node_stack = contextlib.ExitStack()
                    stack.callback(node_stack.close)
                work = root / f"node{len(works) + 1}"
                works.append(work)
                print(f"security: starting a node in {work}", flush=True)
                try:
                    node = node_stack.enter_context(battery_node(work))
                except (BatteryError, AssertionError, TimeoutError) as exc:
                    results.append(StepResult(step, step, error=f"node did not start: {exc}"))
                    node = None
                    continue
            print(f"security: {step} …", flush=True)
            began = time.monotonic()
            try:
                if step == "leaks":
                    result = leaks.run(node, works, numbers_used(args))
                else:
                    result = runners[step](node)
            except Exception as exc:  # a broken step must not hide the others
                traceback.print_exc()
                result = StepResult(
                    step,
                    step,
                    seconds=time.monotonic() - began,
                    error=f"{type(exc).__name__}: {exc}",
                )
            results.append(result)
            print(table([result]), flush=True)
        node_stack.close()
    report = results_json(
        results,
        started_at=started_at.isoformat(timespec="seconds"),
        commit=_git("rev-parse", "--short", "HEAD"),
        branch=_git("rev-parse", "--abbrev-ref", "HEAD"),
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    previous = json.loads(out.read_text()) if out.exists() else {}
    report["steps"] = {**previous.get("steps", {}), **report["steps"]}  # --only merges
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(f"\n{table(results)}\n\nsecurity: figures in {out}")
    return 0 if all(r.passed for r in results) else 1


def _with_note(result: StepResult, note: str) -> StepResult:
    from dataclasses import replace

    return replace(result, notes=(*result.notes, note))


if __name__ == "__main__":
    sys.exit(main())
