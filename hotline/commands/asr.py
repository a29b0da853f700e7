"""``hotline classify`` and ``hotline models pull|verify``.

Both ``models`` commands also print the model's sample rate (from ``conf/mfcc.conf``) against
the phone line's 8000 Hz, and warn when the audio is resampled to it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from settings.node import load_settings

DEFAULT_RULES = Path("config/intake.yaml")


def register(commands: Any) -> None:
    classify = commands.add_parser(
        "classify", help="classify an intake text (category, domain, emergency line, evidence)"
    )
    classify.add_argument("text")
    classify.add_argument("--menu", help="main-menu key the caller pressed (1-5)")
    classify.add_argument("--rules", type=Path, default=DEFAULT_RULES, help="intake.yaml")
    classify.add_argument("--json", action="store_true", help="print the stored JSON form")
    classify.set_defaults(run=_classify)

    models = commands.add_parser("models", help="speech models").add_subparsers(
        dest="what", required=True
    )
    pull = models.add_parser("pull", help="download, check and unpack a Vosk Chinese model")
    pull.add_argument("model", nargs="?", default="small-cn", choices=("small-cn", "cn"))
    pull.add_argument("--dir", type=Path, help="models directory (default: <var>/models)")
    pull.add_argument("--url", help="download from this mirror instead of alphacephei.com")
    pull.add_argument("--sha256", help="expected SHA-256 of the zip (overrides the pinned one)")
    pull.add_argument(
        "--insecure-skip-hash", action="store_true", help="install even without a known hash"
    )
    pull.add_argument("--force", action="store_true", help="replace an existing model")
    pull.set_defaults(run=_pull)
    verify = models.add_parser(
        "verify", help="re-check an unpacked model against its manifest; show its sample rate"
    )
    verify.add_argument("path", type=Path, nargs="?", help="model directory (default: asr.model)")
    verify.set_defaults(run=_verify)


def _classify(args: argparse.Namespace) -> int:
    from asr.intake import IntakeClassifier, IntakeRulesError, load_intake_rules
    from asr.segmenter import JiebaSegmenter
    from routing.units import DOMAIN_LABELS

    try:
        rules = load_intake_rules(args.rules)
    except IntakeRulesError as exc:
        print(exc, file=sys.stderr)
        return 1
    classifier = IntakeClassifier(rules, JiebaSegmenter(rules.vocabulary()))
    result = classifier.classify(args.text, args.menu)
    if args.json:
        print(json.dumps(result.as_dict(), ensure_ascii=False, indent=1))
        return 0
    print(f"category:        {result.category}")
    print(f"domain:          {result.domain} ({DOMAIN_LABELS.get(result.domain, '?')})")
    print(f"emergency line:  {result.emergency_line or '-'}")
    print(f"confirm line:    {result.confirm_line or '-'}  (not sure: the IVR asks once)")
    print("evidence:")
    for item in result.evidence:
        print(f"  {item.kind:<10} {item.label:<22} {item.word}  ({item.weight:+d})")
    lines = {k: v for k, v in result.scores.items() if k.startswith("line:")}
    if lines:
        print("rule scores:     " + ", ".join(f"{k[5:]} {v:g}" for k, v in lines.items()))
    probs = {k[2:]: v for k, v in result.scores.items() if k.startswith("p:")}
    if probs:
        ranked = sorted(probs.items(), key=lambda kv: -kv[1])
        print("line model:      " + ", ".join(f"{k} {v:.2f}" for k, v in ranked))
    if not result.evidence:
        print("  (no rule word matched)")
    return 0


class _ProgressBar:
    def __init__(self, stream: TextIO | None = None, width: int = 30) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.width, self._last = width, -1

    def __call__(self, done: int, total: int | None) -> None:
        mb = done / 1e6
        if total:
            percent = done * 100 // total
            if percent == self._last:
                return
            self._last = percent
            filled = self.width * done // total
            bar = "#" * filled + " " * (self.width - filled)
            self.stream.write(f"\r[{bar}] {percent:3d}% {mb:.1f}/{total / 1e6:.1f} MB")
        else:
            self.stream.write(f"\r{mb:.1f} MB")
        self.stream.flush()

    def finish(self) -> None:
        self.stream.write("\n")


def _pull(args: argparse.Namespace) -> int:
    from asr.model_store import MODEL_SOURCES, ModelDownloadError, pull_model

    settings = load_settings(args.config)
    source = MODEL_SOURCES[args.model]
    models_dir = args.dir or settings.paths.var / "models"
    if source.note and not args.sha256:
        print(f"note: {source.name}: {source.note}", file=sys.stderr)
    bar = _ProgressBar()
    try:
        target = pull_model(
            source,
            models_dir,
            url=args.url,
            sha256=args.sha256,
            insecure_skip_hash=args.insecure_skip_hash,
            force=args.force,
            progress=bar,
        )
    except ModelDownloadError as exc:
        bar.finish()
        print(exc, file=sys.stderr)
        return 1
    bar.finish()
    print(f"{source.name}: verified and unpacked into {target}")
    _print_rates(target)
    if Path(settings.asr.model) == target:
        print(f"{args.config}: asr.model already points at it")
    else:
        print(f"set this in {args.config} (now asr.model is {settings.asr.model}):")
        print(f"asr:\n  model: {target}")
    return 0


def _verify(args: argparse.Namespace) -> int:
    from asr.model_store import verify_model

    model_dir = args.path or load_settings(args.config).asr.model
    _print_rates(Path(model_dir))
    report = verify_model(Path(model_dir))
    for problem in report.problems:
        print(f"{model_dir}: {problem}", file=sys.stderr)
    for name in report.missing:
        print(f"{model_dir}: missing {name}", file=sys.stderr)
    for name in report.changed:
        print(f"{model_dir}: changed {name}", file=sys.stderr)
    if report.ok:
        print(f"{model_dir}: ok ({report.checked} files match the manifest)")
        return 0
    return 1


def _print_rates(model_dir: Path) -> None:
    """The model's sample rate against the phone line's, and what the hotline does about it."""
    from asr.errors import ModelUnavailable
    from asr.gating import SAMPLE_RATE
    from asr.model_conf import rate_report, read_feature_conf
    from asr.soxr_adapter import RESAMPLER_NAME

    try:
        conf = read_feature_conf(model_dir)
    except ModelUnavailable as exc:
        print(f"{model_dir}: sample rate unknown: {exc}", file=sys.stderr)
        return
    for line in rate_report(conf, SAMPLE_RATE, RESAMPLER_NAME):
        print(f"{model_dir}: {line}")
