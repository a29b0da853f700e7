"""Loading a menu file into a validated, immutable ``Flow``.

Everything that can be checked before a caller hears the menu is checked
here: YAML syntax, the schema of every verb, flow and variable references,
work-order categories, and that every prompt has a text in the prompt-texts
file of the menu's language (by default ``<menus>/../prompts/<language>.yaml``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from pydantic import ValidationError

from ivr.engine.errors import FlowError, Problem
from ivr.engine.schema import Located, MenuDocument, ParsedVerb, parse_verb
from ivr.engine.state import BUILTIN_VARIABLES
from ivr.engine.verbs import ORDER_CATEGORIES, VerbModel
from ivr.engine.yamlsource import MarkedYamlError, format_path, load_marked
from ivr.prompts.errors import PromptError
from ivr.prompts.texts import PromptTexts, load_prompt_texts


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

    def prompt_keys(self) -> frozenset[str]:
        """Every prompt the menu can play, including ``digits/*``, hold and beep prompts."""
        return self.prompts


def default_prompt_texts(menu: Path, language: str) -> Path:
    return menu.parent.parent / "prompts" / f"{language}.yaml"


def load_flow(path: Path, *, prompt_texts: Path | None = None) -> Flow:
    """Parse and validate a menu file; raise ``FlowError`` listing every problem."""
    try:
        raw = path.read_bytes()
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise FlowError([Problem(path, 1, 1, "", f"cannot read menu: {error}")]) from error
    try:
        document = load_marked(text)
    except MarkedYamlError as error:
        position = error.position
        problem = Problem(
            path, position.line, position.column, format_path(error.path), error.message
        )
        raise FlowError([problem]) from error
    located = Located(path, document)
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
        problems.extend(error.problems)
    if top.start not in top.flows:
        problems.append(located.problem(("start",), f"unknown flow {top.start!r}"))
    prompts = _check_references(parsed, top.flows.keys(), texts, located, problems)
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
    )


def _check_references(
    parsed: Mapping[str, list[ParsedVerb]],
    flow_names: Collection[str],
    texts: PromptTexts | None,
    located: Located,
    problems: list[Problem],
) -> set[str]:
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
            elif ref.kind == "variable" and ref.name not in defined:
                problems.append(located.problem(where, f"unknown variable '${ref.name}'"))
            elif ref.kind == "category" and ref.name not in ORDER_CATEGORIES:
                choices = ", ".join(ORDER_CATEGORIES)
                message = f"unknown category {ref.name!r} (one of: {choices})"
                problems.append(located.problem(where, message))
            elif ref.kind == "prompt":
                prompts.add(ref.name)
                if texts is not None and ref.name not in texts:
                    message = f"no text for prompt {ref.name!r} in {texts.source}"
                    problems.append(located.problem(where, message))
    return prompts
