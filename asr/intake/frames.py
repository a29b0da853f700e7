"""The emergency line of an intake: cue words and frames per line, read clause by clause.

A cue counts only when it is *live*: not negated ("没有昏迷"), not in a clause governed by a
past marker ("去年中风过" — the marker governs its clause and the clauses after it until a
"now" word: "…现在又突然说不出话了" is live again), not in a mild or hypothetical clause
("有点头晕", "万一晕倒了"), not before a "resolved" marker ("…现在没事了"), and not an
experience ("晕倒过"). Frames combine live words of several classes into a situation (a count
of people + a shared symptom; a sewer + a worker down; animals dying + a keeper with fever).
A line's score is its live cues and frames, +1 when something acute is said, minus what the
framing of the whole call takes away (calm questions, "不是急事", other people's stories,
complaints). The first line in precedence order that reaches ``sure`` is transferred at once;
one that only reaches ``confirm`` is asked about.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from asr.intake.evidence import Evidence
from asr.intake.rules import PEOPLE, EmergencyRule, Frame, IntakeRules, Markers
from asr.intake.text import Hit, clauses, counts, find

_PERSON_UNITS = frozenset("个名位口人家户桌")


@dataclass(frozen=True)
class Clause:
    text: str
    dead: str | None
    """Why its cues do not count (the marker: "去年", "万一", "没事了"...), or None."""


@dataclass(frozen=True)
class LineDecision:
    line: str | None
    """Sure: transfer now."""
    confirm: str | None
    """Real but not sure: ask once."""
    domain: str | None
    """The domain a frame of the chosen line implies (public health events)."""
    evidence: tuple[Evidence, ...]
    scores: dict[str, int] = field(default_factory=dict)
    signals: frozenset[str] = frozenset()
    """Markers found (past, calm, complaint...) and lines with cancelled cues: model features."""


def read_clauses(text: str, markers: Markers) -> tuple[list[Clause], set[str], list[Evidence]]:
    """The clauses of ``text`` with what cancels their cues; the markers found; evidence."""
    pieces = clauses(text, markers.openers)
    signals: set[str] = set()
    evidence: list[Evidence] = []
    window = markers.negation_window
    dead: list[str | None] = []
    past: str | None = None
    resolved_at, resolved_word = -1, ""
    for index, piece in enumerate(pieces):
        now = _first(find(piece, markers.now, (), window))
        said_past = _first(find(piece, markers.past, (), window))
        if now is not None:
            past = None
        elif said_past is not None:
            past = said_past
        reason = past
        for kind in ("mild", "hypothetical"):
            word = _first(find(piece, getattr(markers, kind), (), window))
            if word is not None:
                signals.add(kind)
                reason = reason or word
        resolved = _first(find(piece, markers.resolved, markers.negations, window))
        if resolved is not None:
            resolved_at, resolved_word = index, resolved
        dead.append(reason)
        if said_past is not None:
            signals.add("past")
            evidence.append(Evidence("time", "past", said_past, 0))
    if resolved_at >= 0:
        signals.add("resolved")
        evidence.append(Evidence("time", "resolved", resolved_word, 0))
        dead = [resolved_word if i <= resolved_at else d for i, d in enumerate(dead)]
    return [Clause(p, d) for p, d in zip(pieces, dead, strict=True)], signals, evidence


def _first(hits: Sequence[Hit]) -> str | None:
    live = [h.word for h in hits if not h.negated]
    return live[0] if live else None


def decide(text: str, rules: IntakeRules) -> LineDecision:
    """The emergency line (sure or to confirm) of a normalised intake text."""
    markers, scoring = rules.markers, rules.scoring
    parts, signals, evidence = read_clauses(text, markers)
    penalty = _penalty(text, rules, signals, evidence)
    acute = _first([h for c in parts if c.dead is None for h in find(c.text, markers.acute, (), 0)])
    raw: dict[str, int] = {}
    cue_evidence: dict[str, list[Evidence]] = {}
    for rule in rules.emergencies:
        raw[rule.line], cue_evidence[rule.line] = _cues(rule, parts, rules, signals)
    scores: dict[str, int] = {}
    domains: dict[str, str | None] = {}
    for rule in rules.emergencies:
        found, line_evidence, domain = raw[rule.line], cue_evidence[rule.line], None
        for frame in rule.frames:
            if any(raw.get(other, 0) > 0 for other in frame.unless):
                continue
            words = _frame_words(frame, parts, rules)
            if words is not None:
                found += scoring.frame
                domain = domain or frame.domain
                line_evidence.append(
                    Evidence("frame", rule.line, f"{frame.name}: {'+'.join(words)}", scoring.frame)
                )
        if found:
            if acute is not None:
                found += scoring.acute
                line_evidence.append(Evidence("acute", rule.line, acute, scoring.acute))
            scores[rule.line] = found - penalty
            domains[rule.line] = domain
        evidence.extend(line_evidence)
    order = [rule.line for rule in rules.emergencies]
    first = next((line for line in order if scores.get(line, 0) >= scoring.confirm), None)
    if first is None:
        return LineDecision(None, None, None, tuple(evidence), scores, frozenset(signals))
    sure = max(scores.values()) >= scoring.sure
    return LineDecision(
        first if sure else None,
        None if sure else first,
        domains.get(first),
        tuple(evidence),
        scores,
        frozenset(signals),
    )


def _penalty(text: str, rules: IntakeRules, signals: set[str], evidence: list[Evidence]) -> int:
    """What the framing of the whole call takes from every line."""
    markers, scoring = rules.markers, rules.scoring
    total = 0
    calm = sorted({h.word for h in find(text, markers.calm, (), 0)})
    if calm:
        signals.add("calm")
        weight = min(scoring.calm * len(calm), scoring.calm_cap)
        evidence.append(Evidence("suppressor", "calm", "+".join(calm)[:64], -weight))
        total += weight
    for kind in ("not_urgent", "story", "complaint"):
        hits = find(text, getattr(markers, kind), (), 0)
        if hits:
            signals.add(kind)
            weight = getattr(scoring, kind)
            evidence.append(Evidence("suppressor", kind, hits[0].word, -weight))
            total += weight
    return total


def _cues(
    rule: EmergencyRule, parts: Sequence[Clause], rules: IntakeRules, signals: set[str]
) -> tuple[int, list[Evidence]]:
    """The score of a line's live strong and weak words, each word counted once."""
    markers, scoring = rules.markers, rules.scoring
    strong = set(rule.strong)
    counted: dict[str, int] = {}
    evidence: list[Evidence] = []
    for clause in parts:
        for hit in find(clause.text, (*rule.strong, *rule.weak), markers.negations, 2):
            weight = scoring.strong if hit.word in strong else scoring.weak
            reason = _why_dead(hit, clause)
            if reason == "negated":
                evidence.append(Evidence("negated", rule.line, hit.word, 0))
            elif reason is not None:
                signals.add(f"cancelled:{rule.line}")
                evidence.append(Evidence("suppressed", rule.line, f"{hit.word} ← {reason}", 0))
            elif hit.word not in counted:
                counted[hit.word] = weight
                evidence.append(Evidence("emergency", rule.line, hit.word, weight))
    return sum(counted.values()), evidence


def _why_dead(hit: Hit, clause: Clause) -> str | None:
    if hit.negated:
        return "negated"
    if clause.dead is not None:
        return clause.dead
    after = clause.text[hit.start + len(hit.word) : hit.start + len(hit.word) + 2]
    if after.startswith("过") and not after.startswith(("过去", "过来")):
        return "过"  # an experience: "晕倒过", "中风过"
    return None


def _frame_words(frame: Frame, parts: Sequence[Clause], rules: IntakeRules) -> list[str] | None:
    """One live word per group of ``frame``, or None when a group has none."""
    words: list[str] = []
    live = [c for c in parts if c.dead is None]
    for group in frame.groups:
        if group == (PEOPLE,):
            word = _people(live, rules)
        else:
            word = next(
                (
                    h.word
                    for c in live
                    for h in find(c.text, group, rules.markers.negations, 2)
                    if not h.negated and _why_dead(h, c) is None
                ),
                None,
            )
        if word is None:
            return None
        words.append(word)
    return words


def _people(live: Iterable[Clause], rules: IntakeRules) -> str | None:
    """A count of three or more people, or a quantifier next to a word for people."""
    quantifiers = rules.classes.get("quantifiers", ())
    people = rules.classes.get("people", ())
    for clause in live:
        for count in counts(clause.text):
            if count.unit in _PERSON_UNITS and count.value >= 3:
                return count.text
        for hit in find(clause.text, quantifiers, (), 0):
            end = hit.start + len(hit.word)
            near = clause.text[max(0, hit.start - 4) : hit.start] + clause.text[end : end + 4]
            if any(p in near for p in people):
                return hit.word
    return None
