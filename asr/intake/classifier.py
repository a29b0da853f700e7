"""``IntakeClassifier``: the one entry point, built once from the rules, pure afterwards.

Built from ``IntakeRules`` (with their corpus) and a ``Segmenter``; ``classify(text, menu)``
does no I/O. Three logistic regressions are trained here on the corpus, over the same feature
strings: character 1- to 3-grams (dialect spellings share characters with the standard
words), jieba words, the cue classes of ``intake.yaml`` (a cue word the corpus never used
still counts as its class) and the markers the rules found (past, resolved, calm, mild,
hypothetical, complaint, story, not urgent, cues a marker cancelled).

* The **line** model (none + the emergency lines) decides the emergency line: its best line
  is sure at ``p >= line.sure`` and asked about at ``line.confirm <= p < line.sure``
  (thresholds chosen by cross-validation, ``bench.intake_eval.tune``). The hand-written cues
  and frames (``asr.intake.frames``) still run: their markers are features, and their words,
  frames and verdict are evidence beside the model's top features.
* A sure emergency decides the category (help, or report for public health); a line to
  confirm does not (the caller may say no). For a public-health line the domain is the
  frame's, or the domain model's best among the frames' domains.
* Otherwise the **category** model (trained on the sentences without an emergency) and the
  **domain** model decide, with the cue lexicon and the menu key added to their scores.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from asr.intake.evidence import Evidence, IntakeResult
from asr.intake.frames import LineDecision, decide
from asr.intake.model import TextModel
from asr.intake.rules import Cues, IntakeRules
from asr.intake.text import normalise

TOP_FEATURES = 3
CHAR_NGRAMS = (1, 2, 3)
NONE = "none"
"""The line model's label for "no emergency line"."""
LINE_MIN_DF = 2
_STRIP = set("，。！？；：、,.!?;:…—\"'“”‘’（）() \t\n")


class Segmenter(Protocol):
    def cut(self, text: str) -> list[str]: ...


class IntakeClassifier:
    """Category, domain and emergency line of an intake (see the module docstring)."""

    def __init__(self, rules: IntakeRules, segmenter: Segmenter) -> None:
        self.rules = rules
        self.segmenter = segmenter
        self.thresholds = rules.line
        """Read at every ``classify``: ``bench.intake_eval.tune`` sets them on fold models."""
        self._category: TextModel | None = None
        self._domain: TextModel | None = None
        self._line: TextModel | None = None
        self._order = tuple(rule.line for rule in rules.emergencies)
        self._public_domains = {
            rule.line: tuple(dict.fromkeys(f.domain for f in rule.frames if f.domain))
            for rule in rules.emergencies
        }
        examples = rules.corpus
        docs = [self.features(e.text) for e in examples]
        lines = [e.line or NONE for e in examples]
        if len(set(lines)) > 1:
            self._line = TextModel(docs, lines, rules.line.C, min_df=LINE_MIN_DF)
        # The category of an emergency is its line's: learn it from the other sentences.
        calm = [i for i, e in enumerate(examples) if e.line is None]
        if calm:
            categories = [examples[i].category for i in calm]
            self._category = TextModel([docs[i] for i in calm], categories, rules.regularisation)
        labelled = [i for i, e in enumerate(examples) if e.domain]
        if labelled:
            domains = [str(examples[i].domain) for i in labelled]
            self._domain = TextModel([docs[i] for i in labelled], domains, rules.regularisation)

    def features(self, text: str, decision: LineDecision | None = None) -> list[str]:
        """The feature strings of ``text`` (normalised inside)."""
        plain = normalise(text)
        if decision is None:
            decision = decide(plain, self.rules)
        chars = "".join(c for c in plain if c not in _STRIP)
        found = [f"c:{chars[i : i + n]}" for n in CHAR_NGRAMS for i in range(len(chars) - n + 1)]
        found += [f"w:{t}" for t in self.segmenter.cut(plain) if t.strip() and t not in _STRIP]
        for prefix, cues in (("cat", self.rules.categories), ("dom", self.rules.domains)):
            found += [f"{prefix}:{c.label}" for c in cues if _cue_hits(chars, c)]
        found += [f"sig:{s}" for s in sorted(decision.signals)]
        return found

    def classify(self, text: str, menu: str | None = None) -> IntakeResult:
        """Classify one intake transcript; ``menu`` is the main-menu key the caller pressed."""
        rules = self.rules
        plain = normalise(text)
        decision = decide(plain, rules)
        evidence = list(decision.evidence)
        scores: dict[str, float] = {f"line:{k}": v for k, v in decision.scores.items()}
        features = self.features(plain, decision)
        chars = "".join(c for c in plain if c not in _STRIP)
        menu_category = rules.menu.get(menu) if menu is not None else None
        if menu_category is not None:
            weight = round(rules.menu_weight)
            evidence.append(Evidence("menu", menu_category, str(menu), weight))

        sure, confirm = self._decide_line(features, decision, evidence, scores)
        emergency = sure or confirm
        if sure is not None:  # a line to confirm may be declined: the model keeps the category
            category = next(r.category for r in rules.emergencies if r.line == sure)
        elif not plain:
            category = menu_category or rules.default_category
        else:
            category = self._choose(
                self._category, rules.categories, chars, features, "category", evidence, scores,
                bonus={menu_category: rules.menu_weight} if menu_category else {},
                default=rules.default_category,
            )  # fmt: skip
        framed = self._public_domains.get(emergency or "", ())
        rules_line = decision.line or decision.confirm
        if decision.domain is not None and emergency is not None and rules_line == emergency:
            domain = decision.domain
            evidence.append(Evidence("domain", domain, "frame", rules.scoring.frame))
        elif not plain or (sure is not None and not framed):
            domain = rules.default_domain  # 120/119/110/122: no domain is checked or routed on
        else:
            domain = self._choose(
                self._domain, rules.domains, chars, features, "domain", evidence, scores,
                bonus={}, default=rules.default_domain, among=framed,
            )  # fmt: skip
        return IntakeResult(category, domain, sure, tuple(evidence), scores, confirm)

    def line_probabilities(self, text: str) -> dict[str, float]:
        """The line model's probability of every label (``none`` and the lines) for ``text``;
        empty without a corpus. What ``bench.intake_eval.tune`` cross-validates."""
        if self._line is None:
            return {}
        return self._line.probabilities(self.features(text))

    def _decide_line(
        self,
        features: Sequence[str],
        decision: LineDecision,
        evidence: list[Evidence],
        scores: dict[str, float],
    ) -> tuple[str | None, str | None]:
        """(sure line, line to confirm) from the line model; the rules' own verdict when there
        is no corpus. Of the lines at or above ``sure``, the first in precedence wins."""
        verdict = decision.line or decision.confirm
        if verdict is not None:
            said = "sure" if decision.line else "confirm"
            evidence.append(Evidence("rules", verdict, said, decision.scores.get(verdict, 0)))
        if self._line is None:
            return decision.line, decision.confirm
        if not features:
            return None, None  # nothing said
        probs = self._line.probabilities(features)
        scores.update({f"p:{label}": round(p, 3) for label, p in probs.items()})
        ranked = sorted(self._order, key=lambda line: -probs.get(line, 0.0))
        best = ranked[0]
        p = probs.get(best, 0.0)
        if p < self.thresholds.confirm:
            return None, None
        if p >= self.thresholds.sure:
            best = next(ln for ln in self._order if probs.get(ln, 0.0) >= self.thresholds.sure)
            p = probs[best]
        evidence.append(Evidence("line", best, f"p={p:.2f}", round(p * 100)))
        shown: set[str] = set()
        for feature, weight in self._line.top_features(features, best, TOP_FEATURES * 2):
            word = _shown(feature)
            if word not in shown and len(shown) < TOP_FEATURES:
                shown.add(word)
                evidence.append(Evidence("line", best, word, max(1, round(weight * 100))))
        needed = self.thresholds.sure if decision.scores else self.thresholds.unbacked
        if p >= needed and not _rules_cancelled(decision):
            return best, None
        if p >= self.thresholds.sure:
            why = "the rules cancelled it" if decision.scores else "no rule cue backs it"
            evidence.append(Evidence("line", best, f"sure → confirm: {why}", 0))
        return None, best

    def _choose(
        self,
        model: TextModel | None,
        cues: Sequence[Cues],
        chars: str,
        features: Sequence[str],
        kind: str,
        evidence: list[Evidence],
        scores: dict[str, float],
        *,
        bonus: Mapping[str, float],
        default: str,
        among: Sequence[str] = (),
    ) -> str:
        """The best label of ``model`` (only of ``among`` when given and known to it)."""
        if model is None:
            return _count_cues(cues, chars, kind, evidence, scores, bonus, default)
        logs = dict(model.predict(features).log_probs)
        for label, extra in bonus.items():
            logs[label] = logs.get(label, -30.0) + extra
        for cue in cues:  # the lexicon counts directly too: it reaches words the corpus lacks
            found = _cue_score(chars, cue)
            if found and cue.label in logs:
                logs[cue.label] += self.rules.cue_weight * found
        allowed = [label for label in model.labels if label in among] or list(model.labels)
        best = max(allowed, key=lambda label: logs.get(label, -30.0))
        scores.update({f"{kind}:{label}": round(logs[label], 3) for label in model.labels})
        if kind == "domain" and best == self.rules.default_domain:
            return best  # nothing backs the default domain
        shown: set[str] = set()
        for feature, weight in model.top_features(features, best, TOP_FEATURES * 2):
            word = _shown(feature)  # "c:怎么" and "w:怎么" are one word to a reader
            if word not in shown and len(shown) < TOP_FEATURES:
                shown.add(word)
                evidence.append(Evidence(kind, best, word, max(1, round(weight * 100))))
        return best


CANCELLING = frozenset({"past", "resolved", "story", "not_urgent", "hypothetical"})


def _rules_cancelled(decision: LineDecision) -> bool:
    """The rules saw a danger and saw it cancelled (past, resolved, a story, not urgent, a
    hypothetical), and no line kept a positive score: the model's sure becomes a question."""
    if any(score > 0 for score in decision.scores.values()):
        return False
    cancelled = any(s.startswith("cancelled:") for s in decision.signals)
    return cancelled or bool(decision.scores and decision.signals & CANCELLING)


def _cue_score(text: str, cue: Cues) -> int:
    """Strong words 2, others 1; a word inside a longer word of the same cue counts once."""
    weights = {**dict.fromkeys(cue.words, 1), **dict.fromkeys(cue.strong, 2)}
    found = [w for w in weights if w in text]
    return sum(weights[w] for w in found if not any(w != o and w in o for o in found))


def _cue_hits(chars: str, cues: Cues) -> bool:
    return any(w in chars for w in (*cues.words, *cues.strong))


def _shown(feature: str) -> str:
    """``c:投诉`` → ``投诉``; class and marker features keep their prefix."""
    prefix, _, rest = feature.partition(":")
    return (rest if prefix in ("c", "w") else feature)[:64]


def _count_cues(
    cues: Sequence[Cues],
    chars: str,
    kind: str,
    evidence: list[Evidence],
    scores: dict[str, float],
    bonus: Mapping[str, float],
    default: str,
) -> str:
    """Without a corpus: count cue words (strong 2, others 1) found in the text."""
    totals: dict[str, float] = {}
    for cue in cues:
        weights = {**dict.fromkeys(cue.words, 1), **dict.fromkeys(cue.strong, 2)}
        for word, weight in weights.items():
            if word in chars:
                totals[cue.label] = totals.get(cue.label, 0) + weight
                evidence.append(Evidence(kind, cue.label, word, weight))
        totals[cue.label] = totals.get(cue.label, 0) + bonus.get(cue.label, 0)
    scores.update({f"{kind}:{k}": v for k, v in totals.items() if v})
    ranked = [c.label for c in cues if totals.get(c.label, 0) > 0]
    return max(ranked, key=lambda label: totals[label], default=default)
