"""Choose the line model's thresholds by k-fold cross-validation on the training corpus.

    /work/main/.venv/bin/python -m bench.intake_eval.tune [--folds 5] [--max-false-alarms 0.01]
        [--max-confirm 0.03] [--errors] [--json OUT] [--rules config/intake.yaml]

The corpus is cut into k folds (stratified by line: the n-th sentence of each line goes to
fold n mod k, so the folds are the same at every run). For each fold the classifier is trained
on the other folds and classifies the fold: every sentence gets an out-of-fold prediction.
``sure`` is the lowest threshold (in steps of 0.01) whose out-of-fold false alarms (a sure
line on a non-emergency) stay at or under ``--max-false-alarms``; ``confirm`` the lowest below
it whose confirm questions on non-emergencies stay at or under ``--max-confirm``. Prints both
(to copy into ``model.line`` of config/intake.yaml) and the out-of-fold figures overall and
per kind with those thresholds (category, domain, recall, false alarms).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from asr.intake import Example, IntakeClassifier, IntakeResult, IntakeRulesError, load_intake_rules
from asr.segmenter import JiebaSegmenter
from bench.intake_eval.run import DEFAULT_RULES, report, tally

STEP = 0.01


@dataclass(frozen=True)
class OutOfFold:
    example: Example
    line: str | None
    """The model's best line."""
    p: float
    """Its probability."""


def folds(examples: Sequence[Example], k: int) -> list[int]:
    """The fold of each example: the n-th example of each line goes to fold n mod k."""
    seen: Counter[str | None] = Counter()
    out = []
    for example in examples:
        out.append(seen[example.line] % k)
        seen[example.line] += 1
    return out


def choose(
    predictions: Sequence[OutOfFold], max_false_alarms: float, max_confirm: float
) -> tuple[float, float]:
    """(sure, confirm): the lowest thresholds within the limits on non-emergencies."""
    calm = [p.p for p in predictions if p.example.line is None]
    grid = [round(STEP * n, 2) for n in range(1, int(1 / STEP) + 1)]
    sure = next(t for t in grid if sum(p >= t for p in calm) <= max_false_alarms * len(calm))
    confirm = next(
        t for t in grid if t > sure or sum(t <= p < sure for p in calm) <= max_confirm * len(calm)
    )
    return sure, min(confirm, sure)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--max-false-alarms", type=float, default=0.01)
    parser.add_argument("--max-confirm", type=float, default=0.03)
    parser.add_argument("--errors", action="store_true", help="print every out-of-fold error")
    parser.add_argument("--json", type=Path, help="write the thresholds and figures here")
    parser.add_argument("--rules", type=Path, default=DEFAULT_RULES)
    args = parser.parse_args(argv)
    try:
        rules = load_intake_rules(args.rules)
    except IntakeRulesError as exc:
        print(exc, file=sys.stderr)
        return 1
    segmenter = JiebaSegmenter(rules.vocabulary())
    examples = rules.corpus
    fold_of = folds(examples, args.folds)
    trained: list[tuple[IntakeClassifier, list[Example]]] = []
    predictions: list[OutOfFold] = []
    for k in range(args.folds):
        train = tuple(e for e, f in zip(examples, fold_of, strict=True) if f != k)
        test = [e for e, f in zip(examples, fold_of, strict=True) if f == k]
        classifier = IntakeClassifier(replace(rules, corpus=train), segmenter)
        trained.append((classifier, test))
        for example in test:
            probs = classifier.line_probabilities(example.text)
            best = max((ln for ln in probs if ln != "none"), key=lambda ln: probs[ln])
            predictions.append(OutOfFold(example, best, probs[best]))
        print(f"fold {k + 1}/{args.folds}: trained on {len(train)}", file=sys.stderr)
    sure, confirm = choose(predictions, args.max_false_alarms, args.max_confirm)
    pairs: list[tuple[Example, IntakeResult]] = []
    for classifier, test in trained:
        classifier.thresholds = replace(rules.line, sure=sure, confirm=confirm)
        pairs += [(e, classifier.classify(e.text)) for e in test]
    overall, per_kind, errors = tally(pairs)
    print(
        f"thresholds ({args.folds}-fold, out-of-fold false alarms <= "
        f"{args.max_false_alarms:.1%}, confirm on non-emergencies <= {args.max_confirm:.1%}):"
    )
    print(
        f"  model.line: {{sure: {sure}, confirm: {confirm}, unbacked: {rules.line.unbacked}, "
        f"C: {rules.line.C:g}}}"
        f"   (now in {args.rules}: sure {rules.line.sure}, confirm {rules.line.confirm})\n"
    )
    print(report(overall, per_kind, errors if args.errors else []))
    if args.json is not None:
        data = {
            "folds": args.folds,
            "thresholds": {"sure": sure, "confirm": confirm},
            "overall": overall.figures(),
            "per_kind": {kind: t.figures() for kind, t in sorted(per_kind.items())},
            "errors": errors,
        }
        args.json.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
