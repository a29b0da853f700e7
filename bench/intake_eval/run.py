"""Measure the intake classifier on a labelled YAML file (docs/intake-labels.md).

    /work/main/.venv/bin/python -m bench.intake_eval.run FILE.yaml [--json OUT] [--rules R]

FILE is a list of ``{text, line, category, domain, kind}`` (domain null = not checked) or the
grouped form of ``config/intake_corpus.yaml``. Prints emergency recall to the right line (sure
only, and sure + confirm), the confirm rate on emergencies and on the rest, false alarms (a
sure line on a non-emergency, or a sure line that is the wrong one), category and domain
accuracy, a per-kind table and every error. Sentences that are also in the training corpus are
counted and named: a held-out figure must have none.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asr.intake import (
    Example,
    IntakeClassifier,
    IntakeResult,
    IntakeRulesError,
    load_corpus,
    load_intake_rules,
    normalise,
)
from asr.segmenter import JiebaSegmenter

DEFAULT_RULES = Path("config/intake.yaml")


@dataclass
class Tally:
    n: int = 0
    category: int = 0
    domain: int = 0
    domain_n: int = 0
    emergencies: int = 0
    sure_right: int = 0
    asked_right: int = 0
    confirm_on_emergencies: int = 0
    calm: int = 0
    false_alarms: int = 0
    confirm_on_calm: int = 0
    wrong_line: int = 0

    def add(self, example: Example, result: IntakeResult) -> None:
        self.n += 1
        self.category += result.category == example.category
        if example.domain is not None:
            self.domain_n += 1
            self.domain += result.domain == example.domain
        if example.line is not None:
            self.emergencies += 1
            self.sure_right += result.emergency_line == example.line
            self.asked_right += (result.emergency_line or result.confirm_line) == example.line
            self.confirm_on_emergencies += result.confirm_line is not None
            self.wrong_line += result.emergency_line not in (None, example.line)
        else:
            self.calm += 1
            self.false_alarms += result.emergency_line is not None
            self.confirm_on_calm += result.confirm_line is not None

    def figures(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "emergencies": self.emergencies,
            "recall_sure": _rate(self.sure_right, self.emergencies),
            "recall_sure_or_confirm": _rate(self.asked_right, self.emergencies),
            "confirm_rate_emergencies": _rate(self.confirm_on_emergencies, self.emergencies),
            "confirm_rate_non_emergencies": _rate(self.confirm_on_calm, self.calm),
            "false_alarms_non_emergencies": _rate(self.false_alarms, self.calm),
            "wrong_line_on_emergencies": _rate(self.wrong_line, self.emergencies),
            "category_accuracy": _rate(self.category, self.n),
            "domain_accuracy": _rate(self.domain, self.domain_n),
        }


def _rate(right: int, total: int) -> dict[str, Any]:
    return {"right": right, "of": total, "rate": round(right / total, 4) if total else None}


def evaluate(
    examples: Sequence[Example], classifier: IntakeClassifier
) -> tuple[Tally, dict[str, Tally], list[dict[str, Any]]]:
    return tally([(example, classifier.classify(example.text)) for example in examples])


def tally(
    pairs: Sequence[tuple[Example, IntakeResult]],
) -> tuple[Tally, dict[str, Tally], list[dict[str, Any]]]:
    """Figures overall and per kind, and the errors, of (example, result) pairs."""
    overall, per_kind = Tally(), defaultdict[str, Tally](Tally)
    errors = []
    for example, result in pairs:
        overall.add(example, result)
        per_kind[example.kind].add(example, result)
        wrong = [
            name
            for name, ok in (
                ("line", result.emergency_line == example.line),
                ("category", result.category == example.category),
                ("domain", example.domain is None or result.domain == example.domain),
            )
            if not ok
        ]
        if wrong:
            errors.append(
                {
                    "text": example.text,
                    "kind": example.kind,
                    "wrong": wrong,
                    "want": [example.line, example.category, example.domain],
                    "got": [
                        result.emergency_line,
                        f"confirm:{result.confirm_line}" if result.confirm_line else None,
                        result.category,
                        result.domain,
                    ],
                }
            )
    return overall, dict(per_kind), errors


def _pct(rate: dict[str, Any]) -> str:
    if rate["rate"] is None:
        return "   -  "
    return f"{rate['rate']:6.1%} ({rate['right']}/{rate['of']})"


def report(overall: Tally, per_kind: dict[str, Tally], errors: list[dict[str, Any]]) -> str:
    f = overall.figures()
    lines = [
        f"sentences: {f['n']}, emergencies: {f['emergencies']}",
        f"emergency recall, right line, sure:           {_pct(f['recall_sure'])}",
        f"emergency recall, right line, sure + confirm: {_pct(f['recall_sure_or_confirm'])}",
        f"confirm asked on emergencies:                 {_pct(f['confirm_rate_emergencies'])}",
        f"confirm asked on non-emergencies:             {_pct(f['confirm_rate_non_emergencies'])}",
        f"false alarms (sure line on a non-emergency):  {_pct(f['false_alarms_non_emergencies'])}",
        f"wrong sure line on an emergency:              {_pct(f['wrong_line_on_emergencies'])}",
        f"category accuracy:                            {_pct(f['category_accuracy'])}",
        f"domain accuracy (where checked):              {_pct(f['domain_accuracy'])}",
        "",
        f"{'kind':<13}{'n':>4}  {'category':>8}  {'domain':>8}  {'line sure':>9}  "
        f"{'+confirm':>9}  {'false al.':>9}",
    ]
    for kind, tally in sorted(per_kind.items()):
        k = tally.figures()
        cells = [
            k["category_accuracy"],
            k["domain_accuracy"],
            k["recall_sure"],
            k["recall_sure_or_confirm"],
        ]
        shown = ["-" if c["rate"] is None else f"{c['rate']:.0%}" for c in cells]
        alarms = f"{tally.false_alarms}/{tally.calm}"
        lines.append(
            f"{kind:<13}{tally.n:>4}  {shown[0]:>8}  {shown[1]:>8}  {shown[2]:>9}  "
            f"{shown[3]:>9}  {alarms:>9}"
        )
    lines += ["", f"errors ({len(errors)}):"]
    for error in errors:
        lines.append(
            f"  [{error['kind']}] {error['text']}\n"
            f"      wrong {','.join(error['wrong'])}: want {error['want']}, got {error['got']}"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", type=Path, nargs="+", metavar="FILE")
    parser.add_argument("--json", type=Path, help="write the figures and errors here")
    parser.add_argument("--rules", type=Path, default=DEFAULT_RULES)
    args = parser.parse_args(argv)
    try:
        rules = load_intake_rules(args.rules)
        examples = [e for file in args.files for e in load_corpus(file, rules)]
    except IntakeRulesError as exc:
        print(exc, file=sys.stderr)
        return 1
    trained = {normalise(e.text) for e in rules.corpus}
    overlap = [e.text for e in examples if normalise(e.text) in trained]
    classifier = IntakeClassifier(rules, JiebaSegmenter(rules.vocabulary()))
    overall, per_kind, errors = evaluate(examples, classifier)
    print(report(overall, per_kind, errors))
    if overlap:
        print(f"\nwarning: {len(overlap)} sentences are also in the training corpus:")
        print("\n".join(f"  {text}" for text in overlap[:10]))
    if args.json is not None:
        data = {
            "files": [str(file) for file in args.files],
            "overall": overall.figures(),
            "per_kind": {kind: tally.figures() for kind, tally in sorted(per_kind.items())},
            "in_training_corpus": overlap,
            "errors": errors,
        }
        args.json.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
