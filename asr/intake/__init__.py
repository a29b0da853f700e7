"""Intake classification: category, domain and emergency line of a caller's intake.

Pure apart from the ``Segmenter`` seam (``asr.segmenter.JiebaSegmenter`` in production) and
the loading of the rules (``config/intake.yaml`` and its training corpus). Build one
``IntakeClassifier`` from the rules and call ``classify(text, menu)``; the result carries the
evidence of every decision — the words and frames that counted, were negated or cancelled,
the model's top features — so it can be stored on the order and shown to admins
(``hotline classify``). ``docs/intake-classifier.md`` explains the design.
"""

from asr.intake.classifier import IntakeClassifier, Segmenter
from asr.intake.evidence import Evidence, IntakeResult
from asr.intake.rules import (
    CATEGORIES,
    Cues,
    EmergencyRule,
    Example,
    Frame,
    IntakeRules,
    IntakeRulesError,
    LineThresholds,
    load_corpus,
    load_intake_rules,
    parse_corpus,
    parse_intake_rules,
    unknown_domains,
)
from asr.intake.text import normalise

__all__ = [
    "CATEGORIES",
    "Cues",
    "EmergencyRule",
    "Evidence",
    "Example",
    "Frame",
    "IntakeClassifier",
    "IntakeResult",
    "IntakeRules",
    "IntakeRulesError",
    "LineThresholds",
    "Segmenter",
    "load_corpus",
    "load_intake_rules",
    "normalise",
    "parse_corpus",
    "parse_intake_rules",
    "unknown_domains",
]
