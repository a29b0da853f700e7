"""``config/intake.yaml`` and its training corpus: data classes and the validated loader.

Both are read through ``settings.located``: errors name ``file:line:col`` and the YAML path of
the offending entry, so an admin editing the rules sees where the mistake is.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from asr.errors import AsrError
from settings.located import AtPath, Located, near_miss, raising, read_located, refuse_unknown

CATEGORIES = ("consult", "complaint", "report", "suggestion", "help")
PEOPLE = "@people"
"""The frame group that is not a word list: a count of three or more people."""


class IntakeRulesError(AsrError):
    """``config/intake.yaml`` (or its corpus) is unreadable or invalid."""


class Invalid(AtPath):
    """A rules error at ``keys`` (the path of mapping keys and list indexes to the entry)."""

    def __init__(self, keys: Sequence[str | int], message: str) -> None:
        super().__init__(keys, message)
        self.keys = tuple(keys)


@dataclass(frozen=True)
class Cues:
    """Cue words of a category or domain: features of the category and domain models."""

    label: str
    words: tuple[str, ...] = ()
    strong: tuple[str, ...] = ()


@dataclass(frozen=True)
class Frame:
    """A situation that counts when one word of every group is said, live ("@people" +
    outbreak symptoms; hazards + a worker down). ``domain`` is the domain it implies."""

    name: str
    groups: tuple[tuple[str, ...], ...]
    domain: str | None = None
    unless: tuple[str, ...] = ()


@dataclass(frozen=True)
class EmergencyRule:
    line: str
    label: str
    category: str
    """The category of an emergency of this line (help, or report for public health)."""
    words: tuple[str, ...] = ()
    """Spotted live by the keyword recogniser (``ivr/worker.py``)."""
    strong: tuple[str, ...] = ()
    weak: tuple[str, ...] = ()
    frames: tuple[Frame, ...] = ()


@dataclass(frozen=True)
class Markers:
    """Words that say how a cue is meant: negated, past, asked about, told to complain."""

    negations: tuple[str, ...] = ()
    negation_window: int = 2
    openers: tuple[str, ...] = ()
    now: tuple[str, ...] = ()
    acute: tuple[str, ...] = ()
    past: tuple[str, ...] = ()
    mild: tuple[str, ...] = ()
    resolved: tuple[str, ...] = ()
    hypothetical: tuple[str, ...] = ()
    calm: tuple[str, ...] = ()
    not_urgent: tuple[str, ...] = ()
    story: tuple[str, ...] = ()
    complaint: tuple[str, ...] = ()

    def words(self) -> set[str]:
        return {
            w
            for name in self.__dataclass_fields__
            if name != "negation_window"
            for w in getattr(self, name)
        }


@dataclass(frozen=True)
class Scoring:
    strong: int = 3
    weak: int = 1
    frame: int = 3
    acute: int = 1
    calm: int = 2
    calm_cap: int = 4
    not_urgent: int = 5
    story: int = 3
    complaint: int = 2
    sure: int = 3
    confirm: int = 2


@dataclass(frozen=True)
class LineThresholds:
    """When the line model's probability of its best line is enough: ``sure`` transfers at
    once, ``confirm`` asks once. Chosen by cross-validation (``bench.intake_eval.tune``)."""

    sure: float = 0.5
    confirm: float = 0.25
    C: float = 16.0
    """Inverse regularisation of the line model."""
    unbacked: float = 0.6
    """``sure`` when the rules found no cue of any line at all (short, out-of-corpus calls
    such as "喂你好，是这样的" sat at 0.38)."""


@dataclass(frozen=True)
class Example:
    """One labelled sentence of the corpus (docs/intake-labels.md)."""

    text: str
    line: str | None
    category: str
    domain: str | None
    kind: str = "plain"
    where: str = ""


@dataclass(frozen=True)
class IntakeRules:
    categories: tuple[Cues, ...]
    domains: tuple[Cues, ...]
    emergencies: tuple[EmergencyRule, ...]
    """In order of precedence: the first line that applies wins."""
    menu: Mapping[str, str]
    markers: Markers = Markers()
    scoring: Scoring = Scoring()
    classes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    corpus: tuple[Example, ...] = ()
    regularisation: float = 8.0
    default_category: str = "consult"
    default_domain: str = "other"
    cue_weight: float = 0.5
    """Added to a label's log-probability per point of its cue words (strong 2, others 1)."""
    menu_weight: float = 2.0
    """Added to the log-probability of the category of the main-menu key pressed."""
    line: LineThresholds = LineThresholds()

    def vocabulary(self) -> set[str]:
        """Every word the rules mention, for the segmenter's dictionary."""
        words = self.markers.words()
        for cues in (*self.categories, *self.domains):
            words.update(cues.words, cues.strong)
        for rule in self.emergencies:
            words.update(rule.words, rule.strong, rule.weak)
        for members in self.classes.values():
            words.update(members)
        return {w for w in words if len(w) >= 2}


def unknown_domains(rules: IntakeRules, known: Collection[str]) -> list[str]:
    """Domains the rules name (cues, frames, corpus, the default) that are not in ``known``.

    The rules use the dispatch vocabulary of ``routing.units.DOMAIN_LABELS`` (codes such as
    ``medical_service``), so a classified domain can drive dispatch; the caller passes it in.
    """
    named = [cues.label for cues in rules.domains] + [rules.default_domain]
    named += [f.domain for r in rules.emergencies for f in r.frames if f.domain]
    named += [e.domain for e in rules.corpus if e.domain]
    return sorted({label for label in named if label not in known})


def load_intake_rules(path: Path) -> IntakeRules:
    """Read and check ``config/intake.yaml`` and the corpus it names (a file, or a directory
    whose ``*.yaml`` files are read in name order)."""
    path = Path(path)
    located = _read(path)
    data: Any = located.document.data
    try:
        rules = parse_intake_rules(data)
    except AtPath as exc:
        raise IntakeRulesError(str(located.at(exc))) from exc
    except (KeyError, TypeError, ValueError) as exc:
        raise IntakeRulesError(str(located.problem((), str(exc)))) from exc
    corpus_name = (data.get("model") or {}).get("corpus")
    if corpus_name is None:
        return rules
    corpus_path = path.parent / str(corpus_name)
    files = sorted(corpus_path.glob("*.yaml")) if corpus_path.is_dir() else [corpus_path]
    if not files:
        raise IntakeRulesError(f"{corpus_path}: no *.yaml corpus files")
    corpus = tuple(e for file in files for e in load_corpus(file))  # lines: see the bench
    return replace(rules, corpus=corpus)


def load_corpus(path: Path, rules: IntakeRules | None = None) -> tuple[Example, ...]:
    """Read a corpus (or evaluation) file: ``{version: 1, groups: [...]}`` of groups with
    ``kind, line, category, domain, texts``, or a plain list of ``{text, line, category,
    domain, kind}``. Labels are checked against ``rules`` when given."""
    located = _read(path)
    try:
        return parse_corpus(located.document.data, rules, str(path))
    except AtPath as exc:
        raise IntakeRulesError(str(located.at(exc))) from exc


def _read(path: Path) -> Located:
    return read_located(path, "intake rules", raising(IntakeRulesError))[1]


def parse_intake_rules(data: Any) -> IntakeRules:
    if not isinstance(data, dict) or data.get("version") != 1:
        raise Invalid((), "expected a mapping with version: 1")
    categories = tuple(
        _cues(("categories", label), label, body)
        for label, body in _mapping(data, "categories").items()
    )
    unknown = {c.label for c in categories} - set(CATEGORIES)
    if unknown:
        raise Invalid(
            ("categories", sorted(unknown)[0]),
            f"unknown categories {sorted(unknown)}; known: {', '.join(CATEGORIES)}",
        )
    menu = {str(key): str(value) for key, value in (data.get("menu") or {}).items()}
    classes = {
        str(name): _words(("classes",), {name: words}, name)
        for name, words in (data.get("classes") or {}).items()
    }
    emergencies = tuple(
        _emergency(str(line), body, classes) for line, body in _mapping(data, "emergencies").items()
    )
    model = data.get("model") or {}
    rules = IntakeRules(
        categories=categories,
        domains=tuple(
            _cues(("domains", label), label, body)
            for label, body in _mapping(data, "domains").items()
        ),
        emergencies=emergencies,
        menu=menu,
        markers=_markers(data.get("markers") or {}),
        scoring=_scoring(data.get("scoring") or {}),
        classes=classes,
        regularisation=float(model.get("C", 8.0)),
        cue_weight=float(model.get("cue_weight", 0.5)),
        default_category=str(data.get("default_category", "consult")),
        default_domain=str(data.get("default_domain", "other")),
        menu_weight=float(data.get("menu_weight", 2.0)),
        line=_line_thresholds(model.get("line") or {}),
    )
    labels = {c.label for c in categories}
    referenced = {*menu.values(), rules.default_category, *(r.category for r in emergencies)}
    if referenced - labels:
        raise Invalid((), f"categories used but not defined: {sorted(referenced - labels)}")
    return rules


def parse_corpus(data: Any, rules: IntakeRules | None, source: str = "") -> tuple[Example, ...]:
    if isinstance(data, dict):
        groups = data.get("groups")
        if data.get("version") != 1 or not isinstance(groups, list):
            raise Invalid((), "expected version: 1 and a list of groups")
        out: list[Example] = []
        for n, group in enumerate(groups):
            if not isinstance(group, dict) or not isinstance(group.get("texts"), list):
                raise Invalid(("groups", n), "a group needs kind, line, category, domain, texts")
            for k, text in enumerate(group["texts"]):
                item = {**group, "text": text}
                out.append(_example(("groups", n, "texts", k), item, rules, source))
        return tuple(out)
    if isinstance(data, list):
        return tuple(_example((n,), item, rules, source) for n, item in enumerate(data))
    raise Invalid((), "expected a list of sentences or {version: 1, groups: [...]}")


def _example(
    keys: tuple[str | int, ...], item: Any, rules: IntakeRules | None, source: str
) -> Example:
    if not isinstance(item, dict) or not isinstance(item.get("text"), str):
        raise Invalid(keys, "expected {text, line, category, domain, kind}")
    line, category, domain = item.get("line"), item.get("category"), item.get("domain")
    if category not in CATEGORIES:
        raise Invalid(keys, f"category {category!r} is not one of {', '.join(CATEGORIES)}")
    if rules is not None and line is not None and line not in {r.line for r in rules.emergencies}:
        raise Invalid(keys, f"line {line!r} is not an emergency line of the rules")
    if domain is not None and not isinstance(domain, str):
        raise Invalid(keys, "domain must be a domain code or null")
    where = f"{source}:{'.'.join(str(k) for k in keys)}"
    kind = str(item.get("kind") or "plain")
    return Example(str(item["text"]).strip(), line, str(category), domain, kind, where)


def _emergency(line: str, body: Any, classes: Mapping[str, tuple[str, ...]]) -> EmergencyRule:
    keys = ("emergencies", line)
    if not isinstance(body, dict):
        raise Invalid(keys, "expected a mapping with words/strong/weak/frames")
    if "together" in body:
        raise Invalid((*keys, "together"), "together is replaced by frames (all_of: [...])")
    frames = tuple(
        _frame((*keys, "frames", n), frame, classes)
        for n, frame in enumerate(body.get("frames") or [])
    )
    return EmergencyRule(
        line=line,
        label=str(body.get("label", line)),
        category=str(body.get("category", "help")),
        words=_words(keys, body, "words"),
        strong=_words(keys, body, "strong"),
        weak=_words(keys, body, "weak"),
        frames=frames,
    )


def _frame(keys: tuple[str | int, ...], body: Any, classes: Mapping[str, tuple[str, ...]]) -> Frame:
    groups = body.get("all_of") if isinstance(body, dict) else None
    if not isinstance(groups, list) or not groups:
        raise Invalid(keys, "a frame needs name and all_of: [class names or word lists]")
    resolved: list[tuple[str, ...]] = []
    for n, group in enumerate(groups):
        if group == PEOPLE:
            resolved.append((PEOPLE,))
        elif isinstance(group, str):
            if group not in classes:
                raise Invalid(
                    (*keys, "all_of", n), f"unknown class {group!r}{near_miss(group, classes)}"
                )
            resolved.append(classes[group])
        else:
            resolved.append(_words((*keys, "all_of"), {n: group}, n))
    unless = body.get("unless") or []
    return Frame(str(body.get("name", "frame")), tuple(resolved), body.get("domain"), tuple(unless))


def _line_thresholds(body: Any) -> LineThresholds:
    keys = ("model", "line")
    if not isinstance(body, dict):
        raise Invalid(keys, "expected a mapping with sure, confirm, unbacked, C")
    refuse_unknown(body, LineThresholds.__dataclass_fields__, keys)
    values: dict[str, float] = {}
    for key, value in body.items():
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise Invalid((*keys, key), f"{key} must be a number")
        values[key] = float(value)
    found = LineThresholds(**values)
    if not 0 < found.confirm <= found.sure <= found.unbacked <= 1:
        raise Invalid((*keys, "confirm"), "need 0 < confirm <= sure <= unbacked <= 1")
    if found.C <= 0:
        raise Invalid((*keys, "C"), "C must be above 0")
    return found


def _markers(body: Mapping[str, Any]) -> Markers:
    names = [n for n in Markers.__dataclass_fields__ if n != "negation_window"]
    refuse_unknown(body, (*names, "negation_window"), ("markers",), "marker list(s)")
    lists = {name: _words(("markers",), body, name) for name in names}
    return Markers(negation_window=int(body.get("negation_window", 2)), **lists)


def _scoring(body: Mapping[str, Any]) -> Scoring:
    refuse_unknown(body, Scoring.__dataclass_fields__, ("scoring",), "scoring key(s)")
    values = {}
    for key, value in body.items():
        if not isinstance(value, int) or isinstance(value, bool):
            raise Invalid(("scoring", key), f"{key} must be an integer")
        values[key] = value
    scoring = Scoring(**values)
    if not 0 < scoring.confirm <= scoring.sure:
        raise Invalid(("scoring", "confirm"), "confirm must be above 0 and at most sure")
    return scoring


def _mapping(data: Mapping[str, Any], key: str) -> Mapping[Any, Any]:
    value = data.get(key)
    if not isinstance(value, dict):
        raise Invalid((key,), f"{key}: expected a mapping")
    return value


def _cues(keys: tuple[str | int, ...], label: Any, body: Any) -> Cues:
    if not isinstance(body, dict):
        raise Invalid(keys, f"{label}: expected a mapping with words/strong")
    return Cues(str(label), _words(keys, body, "words"), _words(keys, body, "strong"))


def _words(keys: tuple[str | int, ...], body: Mapping[Any, Any], key: Any) -> tuple[str, ...]:
    words = body.get(key) or []
    if not isinstance(words, list) or not all(isinstance(w, str) and w.strip() for w in words):
        raise Invalid((*keys, key), f"{key}: expected a list of non-empty words")
    return tuple(w.strip() for w in words)
