"""Intake classification: category, domain and emergency line of a caller's intake.

Pure apart from the ``Segmenter`` seam (``asr.segmenter.JiebaSegmenter`` in production). The
rules are data (``config/intake.yaml``): weighted cue words per category, domain and emergency
line, negation words that cancel a cue just before it in the same clause, and for emergencies
"acute" words that add to a line's score and "suppressor" words (past events, questions about
prevention, "不是急事") that subtract from every line. The result carries the evidence — each
word that counted, was negated or suppressed — so it can be stored on the order and shown to
admins trying their rules (``hotline classify``).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import yaml

from asr.errors import AsrError

CATEGORIES = ("consult", "complaint", "report", "suggestion", "help")
PUNCTUATION = set("，。！？；：、,.!?;:…—\"'“”‘’（）()")
_SPACE_BETWEEN_CJK = re.compile(r"(?<=[\u3400-\u9fff])\s+(?=[\u3400-\u9fff])")


class IntakeRulesError(AsrError):
    """``config/intake.yaml`` is unreadable or invalid."""


class Segmenter(Protocol):
    def cut(self, text: str) -> list[str]: ...


@dataclass(frozen=True)
class Cues:
    """Cue words of one label: ``words`` count 1, ``strong`` count 2."""

    label: str
    words: tuple[str, ...] = ()
    strong: tuple[str, ...] = ()

    def weights(self) -> dict[str, int]:
        return {**dict.fromkeys(self.words, 1), **dict.fromkeys(self.strong, 2)}


@dataclass(frozen=True)
class EmergencyRule:
    line: str
    label: str
    words: tuple[str, ...]
    category: str
    """The category an emergency of this line votes for (help, or report for outbreaks)."""
    together: tuple[tuple[str, ...], ...] = ()
    """Word groups that count as one emergency word when all of them occur (好多人 + 发烧)."""


@dataclass(frozen=True)
class IntakeRules:
    categories: tuple[Cues, ...]
    domains: tuple[Cues, ...]
    emergencies: tuple[EmergencyRule, ...]
    menu: Mapping[str, str]
    negations: tuple[str, ...]
    negation_window: int = 3
    default_category: str = "consult"
    default_domain: str = "other"
    menu_weight: int = 2
    emergency_weight: int = 2
    """Score of one emergency word; a line fires when its score reaches ``emergency_threshold``."""
    emergency_threshold: int = 2
    acute: tuple[str, ...] = ()
    suppressors: tuple[str, ...] = ()
    suppressor_weight: int = 3

    def vocabulary(self) -> set[str]:
        """Every word the rules mention, for the segmenter's dictionary."""
        words = {*self.negations, *self.acute, *self.suppressors}
        for cues in (*self.categories, *self.domains):
            words.update(cues.words, cues.strong)
        for rule in self.emergencies:
            words.update(rule.words)
            for group in rule.together:
                words.update(group)
        return words


@dataclass(frozen=True)
class Evidence:
    kind: str
    """``category``, ``domain``, ``emergency``, ``acute``, ``suppressor``, ``menu``, ``negated``."""
    label: str
    word: str
    weight: int

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "label": self.label, "word": self.word, "weight": self.weight}


@dataclass(frozen=True)
class IntakeResult:
    category: str
    domain: str
    emergency_line: str | None
    evidence: tuple[Evidence, ...]
    scores: Mapping[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form with the scores (``hotline classify --json``)."""
        return {**self.for_order(), "scores": dict(self.scores)}

    def for_order(self) -> dict[str, Any]:
        """What the order keeps (``PUT …/transcript``'s ``classification``)."""
        return {
            "category": self.category,
            "domain": self.domain,
            "emergency_line": self.emergency_line,
            "evidence": [e.as_dict() for e in self.evidence],
        }


def normalise(text: str) -> str:
    """Join the space-separated words of a Vosk transcript ("我 爸 昏迷 了" → "我爸昏迷了")."""
    return _SPACE_BETWEEN_CJK.sub("", text.strip())


def classify(
    text: str, rules: IntakeRules, segmenter: Segmenter, *, menu: str | None = None
) -> IntakeResult:
    """Classify one intake transcript; ``menu`` is the main-menu key the caller pressed."""
    tokens = segmenter.cut(normalise(text))
    vocabulary = rules.vocabulary()
    evidence: list[Evidence] = []
    negated: set[int] = {i for i in range(len(tokens)) if _is_negated(tokens, i, rules)}

    def hits(weights: Mapping[str, int], kind: str, label: str) -> int:
        score, seen = 0, set()
        for index, token in enumerate(tokens):
            for word in _words_in(token, weights, vocabulary):
                if word in seen:
                    continue
                seen.add(word)
                if index in negated:
                    evidence.append(Evidence("negated", label, word, 0))
                else:
                    evidence.append(Evidence(kind, label, word, weights[word]))
                    score += weights[word]
        return score

    acute = hits(dict.fromkeys(rules.acute, 1), "acute", "emergency")
    suppressed = -hits(
        dict.fromkeys(rules.suppressors, -rules.suppressor_weight), "suppressor", "emergency"
    )
    line_scores: dict[str, int] = {}
    for rule in rules.emergencies:
        found = hits(dict.fromkeys(rule.words, rules.emergency_weight), "emergency", rule.line)
        for group in rule.together:
            present = [w for w in group if _present(w, tokens, negated, vocabulary)]
            if len(present) == len(group):
                joined = "+".join(group)
                evidence.append(Evidence("emergency", rule.line, joined, rules.emergency_weight))
                found += rules.emergency_weight
        if found:
            line_scores[rule.line] = found + acute - suppressed
    line = _best(line_scores, [r.line for r in rules.emergencies], rules.emergency_threshold)

    scores = {cues.label: hits(cues.weights(), "category", cues.label) for cues in rules.categories}
    menu_category = rules.menu.get(menu) if menu is not None else None
    if menu_category is not None:
        scores[menu_category] = scores.get(menu_category, 0) + rules.menu_weight
        evidence.append(Evidence("menu", menu_category, str(menu), rules.menu_weight))
    if line is not None:
        voted = next(r.category for r in rules.emergencies if r.line == line)
        scores[voted] = scores.get(voted, 0) + rules.emergency_weight
    order = [cues.label for cues in rules.categories]
    category = _best(scores, order, 1) or menu_category or rules.default_category

    domain_scores = {
        cues.label: hits(cues.weights(), "domain", cues.label) for cues in rules.domains
    }
    domain = _best(domain_scores, [c.label for c in rules.domains], 1) or rules.default_domain
    all_scores = {**scores, **{f"domain:{k}": v for k, v in domain_scores.items() if v}}
    all_scores.update({f"line:{k}": v for k, v in line_scores.items()})
    return IntakeResult(category, domain, line, tuple(evidence), all_scores)


def _words_in(token: str, weights: Mapping[str, int], vocabulary: set[str]) -> list[str]:
    """Rule words matching ``token``: the token itself, or a rule word of two or more
    characters inside it (jieba's dictionary cuts "流感疫苗" and "拿回扣" as one word) unless
    the token is itself a rule word (so "动手术", listed, never matches "动手")."""
    found = [token] if token in weights else []
    if len(token) > 2 and token not in vocabulary:
        found += [w for w in weights if len(w) >= 2 and w != token and w in token]
    return found


def _present(word: str, tokens: Sequence[str], negated: set[int], vocabulary: set[str]) -> bool:
    return any(
        index not in negated and word in _words_in(token, {word: 1}, vocabulary)
        for index, token in enumerate(tokens)
    )


def _is_negated(tokens: Sequence[str], index: int, rules: IntakeRules) -> bool:
    for back in range(index - 1, max(-1, index - 1 - rules.negation_window), -1):
        token = tokens[back]
        if token in PUNCTUATION:
            return False
        if token in rules.negations:
            return True
    return False


def _best(scores: Mapping[str, int], order: Sequence[str], threshold: int) -> str | None:
    """The highest score at or above ``threshold``; ties go to the earlier label in ``order``."""
    ranked = [label for label in order if scores.get(label, 0) >= threshold]
    return max(ranked, key=lambda label: scores[label], default=None)


def unknown_domains(rules: IntakeRules, known: Collection[str]) -> list[str]:
    """Domains the rules name (cues and the default) that are not in ``known``.

    The rules use the dispatch vocabulary of ``routing.units.DOMAIN_LABELS`` (codes such as
    ``medical_service``), so a classified domain can drive dispatch; the caller passes it in.
    """
    named = [cues.label for cues in rules.domains] + [rules.default_domain]
    return sorted({label for label in named if label not in known})


def load_intake_rules(path: Path) -> IntakeRules:
    """Read and check ``config/intake.yaml``."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise IntakeRulesError(f"{path}: {exc}") from exc
    try:
        return parse_intake_rules(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise IntakeRulesError(f"{path}: {exc}") from exc


def parse_intake_rules(data: Any) -> IntakeRules:
    if not isinstance(data, dict) or data.get("version") != 1:
        raise ValueError("expected a mapping with version: 1")
    categories = tuple(_cues(label, body) for label, body in data["categories"].items())
    unknown = {c.label for c in categories} - set(CATEGORIES)
    if unknown:
        raise ValueError(f"unknown categories {sorted(unknown)}; known: {', '.join(CATEGORIES)}")
    labels = {c.label for c in categories}
    menu = {str(key): str(value) for key, value in (data.get("menu") or {}).items()}
    emergencies = tuple(
        EmergencyRule(
            str(line),
            str(body.get("label", line)),
            _words(body, "words"),
            str(body.get("category", "help")),
            tuple(_group(g) for g in body.get("together") or []),
        )
        for line, body in data["emergencies"].items()
    )
    emergency = data.get("emergency") or {}
    negation = data.get("negation") or {}
    rules = IntakeRules(
        categories=categories,
        domains=tuple(_cues(label, body) for label, body in data["domains"].items()),
        emergencies=emergencies,
        menu=menu,
        negations=_words(negation, "words"),
        negation_window=int(negation.get("window", 3)),
        default_category=str(data.get("default_category", "consult")),
        default_domain=str(data.get("default_domain", "other")),
        menu_weight=int(data.get("menu_weight", 2)),
        emergency_weight=int(emergency.get("weight", 2)),
        emergency_threshold=int(emergency.get("threshold", 2)),
        acute=_words(emergency, "acute"),
        suppressors=_words(emergency, "suppressors"),
        suppressor_weight=int(emergency.get("suppressor_weight", 3)),
    )
    referenced = {*menu.values(), rules.default_category, *(r.category for r in emergencies)}
    if referenced - labels:
        raise ValueError(f"categories used but not defined: {sorted(referenced - labels)}")
    return rules


def _cues(label: Any, body: Any) -> Cues:
    if not isinstance(body, dict):
        raise ValueError(f"{label}: expected a mapping with words/strong")
    return Cues(str(label), _words(body, "words"), _words(body, "strong"))


def _group(group: Any) -> tuple[str, ...]:
    if not isinstance(group, list) or len(group) < 2 or not all(isinstance(w, str) for w in group):
        raise ValueError(f"together: expected lists of two or more words, got {group!r}")
    return tuple(w.strip() for w in group)


def _words(body: Mapping[str, Any], key: str) -> tuple[str, ...]:
    words = body.get(key) or []
    if not isinstance(words, list) or not all(isinstance(w, str) and w.strip() for w in words):
        raise ValueError(f"{key}: expected a list of non-empty words")
    return tuple(w.strip() for w in words)
