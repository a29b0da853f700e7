"""Keyword spotting plan and matching (pure; the Vosk grammar recognizer is in the adapter).

A grammar-mode recognizer only ever outputs words of its grammar, about 20× cheaper than the
free-text recognizer, so it runs alongside it on every gated frame. Each configured phrase is a
sequence of words of the model's vocabulary separated by spaces (e.g. ``"呼吸 困难"``) and names
the dedicated line it triggers. At start every word is looked up; phrases with unknown words
are left out of the grammar and reported. ``[unk]`` absorbs everything else; a model without it
forces every utterance onto some keyword, so spotting is then disabled unless the operator
explicitly accepts the false alarms (``require_unk: false``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

UNK = "[unk]"


@dataclass(frozen=True)
class KeywordRule:
    phrase: str
    """Vocabulary words separated by single spaces."""
    line: str
    """The dedicated line it triggers: 120, 119, 110, 122 or public_health_duty."""

    @property
    def words(self) -> tuple[str, ...]:
        return tuple(self.phrase.split())


@dataclass(frozen=True)
class MissingKeyword:
    phrase: str
    line: str
    unknown_words: tuple[str, ...]


@dataclass(frozen=True)
class KeywordPlan:
    """What the grammar recognizer is built from, and what could not be included."""

    rules: tuple[KeywordRule, ...]
    missing: tuple[MissingKeyword, ...]
    has_unk: bool
    enabled: bool
    reason: str = ""
    """Why spotting is disabled, or the warning that applies while it is enabled."""

    @property
    def grammar(self) -> list[str]:
        """The phrase list for ``KaldiRecognizer(model, rate, json.dumps(plan.grammar))``."""
        phrases = list(dict.fromkeys(rule.phrase for rule in self.rules))
        return [*phrases, UNK] if self.has_unk else phrases

    def report(self) -> list[str]:
        """Human-readable lines for the start-up log and ``hotline`` commands."""
        lines = [
            f"keyword {m.phrase!r} (line {m.line}) left out: not in the model's vocabulary: "
            + ", ".join(m.unknown_words)
            for m in self.missing
        ]
        if self.reason:
            lines.append(self.reason)
        return lines


@dataclass(frozen=True)
class KeywordMatch:
    phrase: str
    line: str


def rules_from_mapping(phrases_by_line: Mapping[str, Iterable[str]]) -> tuple[KeywordRule, ...]:
    """``{"120": ["昏迷", "呼吸 困难"], ...}`` → rules, whitespace normalised."""
    rules: list[KeywordRule] = []
    for line, phrases in phrases_by_line.items():
        for phrase in phrases:
            normalised = " ".join(str(phrase).split())
            if not normalised:
                raise ValueError(f"empty keyword phrase for line {line}")
            rules.append(KeywordRule(normalised, str(line)))
    return tuple(rules)


def plan_keywords(
    rules: Sequence[KeywordRule],
    has_word: Callable[[str], bool],
    *,
    require_unk: bool = True,
) -> KeywordPlan:
    """Check every keyword word against the model vocabulary (``has_word``) and plan the grammar."""
    usable: list[KeywordRule] = []
    missing: list[MissingKeyword] = []
    for rule in rules:
        unknown = tuple(word for word in rule.words if not has_word(word))
        if unknown:
            missing.append(MissingKeyword(rule.phrase, rule.line, unknown))
        else:
            usable.append(rule)
    has_unk = has_word(UNK)
    if not usable:
        return KeywordPlan(
            (),
            tuple(missing),
            has_unk,
            False,
            "keyword spotting disabled: no configured keyword is in the model's vocabulary",
        )
    if not has_unk and require_unk:
        return KeywordPlan(
            tuple(usable),
            tuple(missing),
            False,
            False,
            f"keyword spotting disabled: the model has no {UNK} word, so every utterance would "
            "be forced onto a keyword (set require_unk: false to accept the false alarms)",
        )
    reason = (
        ""
        if has_unk
        else (f"warning: the model has no {UNK} word; every utterance is forced onto a keyword")
    )
    return KeywordPlan(tuple(usable), tuple(missing), has_unk, True, reason)


def match_keywords(recognized: str, plan: KeywordPlan) -> tuple[KeywordMatch, ...]:
    """Phrases of ``plan`` found as whole word sequences in the grammar recognizer's text."""
    if not plan.enabled:
        return ()
    words = recognized.split()
    found: list[KeywordMatch] = []
    for rule in plan.rules:
        size = len(rule.words)
        if any(tuple(words[i : i + size]) == rule.words for i in range(len(words) - size + 1)):
            match = KeywordMatch(rule.phrase, rule.line)
            if match not in found:
                found.append(match)
    return tuple(found)
