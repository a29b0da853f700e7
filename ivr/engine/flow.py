"""Loading a menu file into a validated, immutable ``Flow``.

Everything that can be checked before a caller hears the menu is checked
here: YAML syntax, the schema of every verb, flow and variable references,
work-order categories, that every prompt has a text in the prompt-texts
file of the menu's language (by default ``<menus>/../prompts/<language>.yaml``),
that every language switched to has a texts file next to it, and that every
line and agent group exists in ``routing.yaml`` (by default ``<menus>/../routing.yaml``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from pydantic import ValidationError

from ivr.engine.errors import FlowError, Problem
from ivr.engine.schema import EmergencyConfirm, InvalidCalls, MenuDocument, ParsedVerb, parse_verb
from ivr.engine.state import BUILTIN_VARIABLES
from ivr.engine.targets import NO_TARGETS, Targets, load_targets
from ivr.engine.verbs import ORDER_CATEGORIES, VerbModel
from ivr.prompts.errors import PromptError
from ivr.prompts.texts import PromptTexts, load_prompt_texts
from settings.located import Located, read_located


@dataclass(frozen=True)
class Flow:
    """A validated menu. Immutable, so live calls can keep the version they started on."""

    version: str  # first 12 hex digits of the SHA-256 of the file's bytes
    source: Path
    language: str
    start: str
    flows: Mapping[str, tuple[VerbModel, ...]]
    prompts: frozenset[str] = field(default=frozenset())
    prompt_texts: Path | None = None
    #: Prompt texts by language: the menu's language and every one it switches to.
    texts: Mapping[str, PromptTexts] = field(default_factory=dict)
    targets: Targets = NO_TARGETS
    #: The menu file's text as loaded (what ``hotline diff`` compares against).
    text: str = ""
    #: Dedicated line → flow run when an emergency for it is raised outside the keys.
    emergency: Mapping[str, str] = field(default_factory=dict)
    #: When a call is a 无效来电 rather than a work order.
    invalid_calls: InvalidCalls = field(default_factory=InvalidCalls)
    #: The question asked when the intake classifier is unsure (``None``: never asked).
    emergency_confirm: EmergencyConfirm | None = None

    def prompt_keys(self) -> frozenset[str]:
        """Every prompt the menu can play, including ``digits/*``, hold and beep prompts."""
        return self.prompts

    @property
    def languages(self) -> tuple[str, ...]:
        """The menu's language first, then the others it can switch to."""
        return (self.language, *sorted(set(self.texts) - {self.language}))

    def prompt_language(self, key: str, language: str) -> str:
        """The language ``key`` is played in when the call is in ``language`` (fallback)."""
        texts = self.texts.get(language)
        return language if texts is not None and key in texts else self.language

    def prompt_text(self, key: str, language: str = "") -> str:
        """What the caller hears for ``key`` (for the simulator); ``""`` if unknown."""
        texts = self.texts.get(self.prompt_language(key, language or self.language))
        entry = texts.entries.get(key) if texts is not None else None
        return entry if isinstance(entry, str) else ("" if entry is None else "(tone)")


def default_prompt_texts(menu: Path, language: str) -> Path:
    return menu.parent.parent / "prompts" / f"{language}.yaml"


def default_routing(menu: Path) -> Path:
    return menu.parent.parent / "routing.yaml"


def load_flow(path: Path, *, prompt_texts: Path | None = None, routing: Path | None = None) -> Flow:
    """Parse and validate a menu file; raise ``FlowError`` listing every problem.

    ``prompt_texts`` is the texts file of the menu's language; other languages'
    files are looked for in the same directory (``en.yaml``).
    """
    raw, located = read_located(path, "menu", FlowError)
    text = raw.decode("utf-8")
    document = located.document
    try:
        top = MenuDocument.model_validate(document.data)
    except ValidationError as error:
        raise FlowError(
            located.validation_problems(error, fields=list(MenuDocument.model_fields))
        ) from error

    problems: list[Problem] = []
    parsed: dict[str, list[ParsedVerb]] = {}
    for name, items in top.flows.items():
        parsed[name] = []
        for index, item in enumerate(items):
            result = parse_verb(item, ("flows", name, index), located)
            if isinstance(result, ParsedVerb):
                parsed[name].append(result)
            else:
                problems.extend(result)

    texts_path = prompt_texts or default_prompt_texts(path, top.language)
    texts: PromptTexts | None = None
    try:
        texts = load_prompt_texts(texts_path)
    except PromptError as error:
        problems.extend(_prompt_problems(error, texts_path))
    targets = _load_targets(routing or default_routing(path), parsed, problems)
    if top.start not in top.flows:
        problems.append(located.problem(("start",), f"unknown flow {top.start!r}"))
    for line, flow_name in top.emergency.items():
        if targets is not None and line not in targets.lines:
            problems.append(
                located.problem(("emergency", line), f"unknown line {line!r}", key=True)
            )
        if flow_name not in top.flows:
            problems.append(located.problem(("emergency", line), f"unknown flow {flow_name!r}"))
    on_invalid = top.invalid_calls.on_invalid
    if on_invalid is not None and on_invalid not in top.flows:
        where = ("invalid_calls", "on_invalid")
        problems.append(located.problem(where, f"unknown flow {on_invalid!r}"))
    # A verb that failed validation defines nothing we know of: do not follow
    # its problem with "unknown variable" for every use of what it would define.
    variables_known = not problems
    context = _Context(top.flows.keys(), texts, targets, located, problems, variables_known)
    prompts = _check_references(parsed, context)
    prompts |= _check_confirm(top, context)
    all_texts = {top.language: texts} if texts is not None else {}
    all_texts.update(_other_languages(parsed, top.language, texts_path, context))
    if problems:
        raise FlowError(
            sorted(set(problems), key=lambda p: (str(p.source), p.line, p.column, p.message))
        )
    return Flow(
        version=hashlib.sha256(raw).hexdigest()[:12],
        source=path,
        language=top.language,
        start=top.start,
        flows=MappingProxyType(
            {name: tuple(verb.model for verb in verbs) for name, verbs in parsed.items()}
        ),
        prompts=frozenset(prompts),
        prompt_texts=texts_path,
        texts=MappingProxyType(all_texts),
        targets=targets or NO_TARGETS,
        text=text,
        emergency=MappingProxyType(dict(top.emergency)),
        invalid_calls=top.invalid_calls,
        emergency_confirm=top.emergency_confirm,
    )


@dataclass(frozen=True)
class _Context:
    flow_names: Collection[str]
    texts: PromptTexts | None
    targets: Targets | None  # None: routing.yaml is broken, names cannot be checked
    located: Located
    problems: list[Problem]
    variables_known: bool = True


def _prompt_problems(error: PromptError, source: Path) -> list[Problem]:
    return list(error.problems) or [Problem(source, 1, 1, "", str(error))]


def _uses(parsed: Mapping[str, list[ParsedVerb]], kind: str) -> bool:
    return any(
        ref.kind == kind for flow in parsed.values() for verb in flow
        for ref in verb.model.references()
    )  # fmt: skip


def _load_targets(
    path: Path, parsed: Mapping[str, list[ParsedVerb]], problems: list[Problem]
) -> Targets | None:
    """The routing names (``None``: the file is broken, its problems are reported).

    A missing file is only a problem for a menu that transfers or queues.
    """
    if not path.exists() and not (_uses(parsed, "line") or _uses(parsed, "group")):
        return NO_TARGETS
    try:
        return load_targets(path)
    except FlowError as error:
        problems.extend(error.problems)
        return None


def _other_languages(
    parsed: Mapping[str, list[ParsedVerb]], default: str, texts_path: Path, context: _Context
) -> dict[str, PromptTexts]:
    found: dict[str, PromptTexts] = {}
    for verb in (verb for flow in parsed.values() for verb in flow):
        for ref in verb.model.references():
            if ref.kind != "language" or ref.name == default or ref.name in found:
                continue
            path = texts_path.with_name(f"{ref.name}.yaml")
            where = verb.yaml_location(ref.at)
            if not path.exists():
                message = f"no prompt texts for language {ref.name!r} ({path} is missing)"
                context.problems.append(context.located.problem(where, message))
                continue
            try:
                found[ref.name] = load_prompt_texts(path)
            except PromptError as error:
                context.problems.extend(_prompt_problems(error, path))
    return found


def _check_references(parsed: Mapping[str, list[ParsedVerb]], context: _Context) -> set[str]:
    flow_names, texts, located, problems = (
        context.flow_names, context.texts, context.located, context.problems
    )  # fmt: skip
    targets = context.targets
    verbs = [verb for flow in parsed.values() for verb in flow]
    defined = set(BUILTIN_VARIABLES)
    for verb in verbs:
        defined.update(ref.name for ref in verb.model.references() if ref.kind == "defines")
    prompts: set[str] = set()
    for verb in verbs:
        for ref in verb.model.references():
            where = verb.yaml_location(ref.at)
            if ref.kind == "flow" and ref.name not in flow_names:
                problems.append(located.problem(where, f"unknown flow {ref.name!r}"))
            elif ref.kind == "variable" and ref.name not in defined and context.variables_known:
                problems.append(located.problem(where, f"unknown variable '${ref.name}'"))
            elif ref.kind == "category" and ref.name not in ORDER_CATEGORIES:
                choices = ", ".join(ORDER_CATEGORIES)
                message = f"unknown category {ref.name!r} (one of: {choices})"
                problems.append(located.problem(where, message))
            elif ref.kind == "line" and targets is not None and ref.name not in targets.lines:
                problems.append(located.problem(where, _unknown("line", ref.name, targets)))
            elif ref.kind == "group" and targets is not None and ref.name not in targets.groups:
                problems.append(located.problem(where, _unknown("group", ref.name, targets)))
            elif ref.kind == "prompt":
                prompts.add(ref.name)
                if texts is not None and ref.name not in texts:
                    message = f"no text for prompt {ref.name!r} in {texts.source}"
                    problems.append(located.problem(where, message))
    return prompts


def _check_confirm(top: MenuDocument, context: _Context) -> set[str]:
    """``emergency_confirm``: every line has an emergency flow, every prompt a text."""
    confirm = top.emergency_confirm
    if confirm is None:
        return set()
    located, texts = context.located, context.texts
    for line, prompt in confirm.prompts.items():
        where = ("emergency_confirm", "prompts", line)
        if line not in top.emergency:
            listed = ", ".join(top.emergency) or "none"
            message = f"line {line!r} has no flow in the 'emergency' map (lines: {listed})"
            context.problems.append(located.problem(where, message, key=True))
        if texts is not None and prompt not in texts:
            message = f"no text for prompt {prompt!r} in {texts.source}"
            context.problems.append(located.problem(where, message))
    return set(confirm.prompts.values())


def _unknown(kind: str, name: str, targets: Targets) -> str:
    known = targets.lines if kind == "line" else targets.groups
    if targets.source is None:
        return f"unknown {kind} {name!r} (no routing.yaml)"
    where = f"{kind}s of {targets.source}"
    listed = ", ".join(sorted(known)) or "none"
    return f"unknown {kind} {name!r} ({where}: {listed})"
