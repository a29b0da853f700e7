"""From marked YAML to validated verbs, with every error located in the file."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import ErrorDetails

from ivr.engine.errors import Problem
from ivr.engine.state import MAX_SILENCE_SECONDS
from ivr.engine.verbs import VERBS, VerbModel
from ivr.engine.verbs.base import DtmfKey, FlowName, PromptKey, Seconds
from ivr.engine.yamlsource import MarkedYaml, MarkedYamlError, YamlPath, format_path, load_marked

#: Version of the menu language; bumped when a file must be changed to keep working.
LANGUAGE_VERSION = 1
_SCALARS = (str, int, float, bool, type(None))


class InvalidCalls(BaseModel):
    """``invalid_calls: {min_call_seconds: 3, min_speech_seconds: 0.5, on_invalid: goodbye}``.

    A call that reaches ``create_order`` with no caller input (no key pressed, no speech),
    with an intake of less than ``min_speech_seconds`` of speech, or sooner than
    ``min_call_seconds`` after it was answered is a 无效来电: no order is opened, the
    worker counts it with its reason, and the call goes on at ``on_invalid`` (default:
    it ends). Emergencies are never invalid. To ask a silent caller again first, give the
    ``record`` verb an ``on_no_speech`` flow.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_call_seconds: Annotated[float, Field(ge=0, le=60)] = 0.0
    min_speech_seconds: Annotated[float, Field(ge=0, le=10)] = 0.5
    on_invalid: FlowName | None = None


class EmergencyConfirm(BaseModel):
    """``emergency_confirm: {key: "1", timeout: 5, prompts: {medical_120: confirm_120}}``.

    When the intake classifier finds real evidence of an emergency for a line but is not
    sure (its ``confirm_line``), the call asks once, right after the recording: the line's
    prompt plays (a key may barge in), then the caller has ``timeout`` seconds for one key.
    ``key`` goes to the line's flow of the ``emergency`` map, exactly as a raised emergency
    does; any other key, no key or the timeout lets the flow go on where it would have.
    Lines without a prompt here are never asked about. Asked at most once per call, and
    never while an emergency is being handled.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: DtmfKey = "1"
    timeout: Seconds = Field(5.0, gt=0, le=MAX_SILENCE_SECONDS)
    #: Dedicated line (a key of the ``emergency`` map) → the prompt that asks about it.
    prompts: dict[FlowName, PromptKey] = Field(min_length=1)


class MenuDocument(BaseModel):
    """The top level of a menu file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1]
    language: Annotated[str, Field(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]+)*$")] = "zh"
    start: FlowName
    flows: dict[FlowName, Annotated[list[Any], Field(min_length=1)]] = Field(min_length=1)
    #: Dedicated line → the flow that handles an emergency for it. Emergencies raised
    #: outside the menu's keys (a spoken keyword, an agent through the API) jump there
    #: from wherever the call is.
    emergency: dict[FlowName, FlowName] = Field(default_factory=dict)
    #: When a call is a 无效来电 instead of a work order (``InvalidCalls``).
    invalid_calls: InvalidCalls = Field(default_factory=InvalidCalls)
    #: The question asked when the intake classifier is unsure (``EmergencyConfirm``).
    emergency_confirm: EmergencyConfirm | None = None


@dataclass(frozen=True, slots=True)
class ParsedVerb:
    """A validated verb and where its argument was written."""

    model: VerbModel
    path: YamlPath  # YAML path of the verb's argument (or of the bare verb name)
    wrapped: bool  # the argument was a shorthand moved into ``model.shorthand``

    def yaml_location(self, loc: Sequence[str | int]) -> tuple[str | int, ...]:
        """A location inside the model → a location in the YAML file."""
        return _yaml_location(type(self.model), self.path, self.wrapped, loc)


def _yaml_location(
    verb: type[VerbModel], path: YamlPath, wrapped: bool, loc: Sequence[str | int]
) -> tuple[str | int, ...]:
    if wrapped and loc and loc[0] == verb.shorthand:
        loc = loc[1:]
    return (*path, *loc)


def read_located(
    path: Path, what: str, error: Callable[[list[Problem]], Exception]
) -> tuple[bytes, Located]:
    """Read and parse a YAML file keeping positions; ``error(problems)`` names file:line:col."""
    try:
        raw = path.read_bytes()
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise error([Problem(path, 1, 1, "", f"cannot read {what}: {exc}")]) from exc
    try:
        document = load_marked(text)
    except MarkedYamlError as exc:
        at = exc.position
        raise error(
            [Problem(path, at.line, at.column, format_path(exc.path), exc.message)]
        ) from exc
    return raw, Located(path, document)


class Located:
    """Turns YAML paths and pydantic errors into ``Problem``s of one file."""

    def __init__(self, source: Path, document: MarkedYaml) -> None:
        self.source = source
        self.document = document

    def problem(self, path: Sequence[object], message: str, *, key: bool = False) -> Problem:
        found, position = self.document.locate(path, key=key)
        return Problem(self.source, position.line, position.column, format_path(found), message)

    def validation_problems(
        self,
        error: ValidationError,
        to_yaml: Callable[[tuple[str | int, ...]], Sequence[object]] | None = None,
        fields: Sequence[str] = (),
    ) -> list[Problem]:
        """One problem per pydantic error, in file order.

        ``to_yaml`` maps a location inside the validated value to a YAML path;
        ``fields`` are offered as suggestions for a misspelt key.
        """
        problems = []
        for detail in error.errors(include_url=False):
            loc = tuple(detail["loc"])
            is_key = bool(loc) and loc[-1] == "[key]"
            if is_key:
                loc = loc[:-1]
            extra = detail["type"] == "extra_forbidden"
            message = _message(detail, loc, fields if len(loc) == 1 else ())
            where = to_yaml(loc) if to_yaml else loc
            problems.append(self.problem(where, message, key=is_key or extra))
        return sorted(problems, key=lambda problem: (problem.line, problem.column))


def _message(detail: ErrorDetails, loc: tuple[Any, ...], fields: Sequence[str]) -> str:
    kind = detail["type"]
    name = loc[-1] if loc else ""
    if kind == "extra_forbidden":
        close = difflib.get_close_matches(str(name), fields, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return f"unknown key {name!r}{hint}"
    if kind == "missing":
        return f"missing required key {name!r}"
    if kind == "value_error" and "ctx" in detail:
        return str(detail["ctx"]["error"])
    message = detail["msg"][0].lower() + detail["msg"][1:]
    value = detail.get("input")
    if isinstance(value, _SCALARS) and kind not in ("literal_error",):
        message += f", got {value!r}"
    return message


def parse_verb(item: object, path: YamlPath, located: Located) -> ParsedVerb | list[Problem]:
    """Validate one element of a flow's verb list."""
    if isinstance(item, str):
        name: object = item
        argument: object = None
        argument_path = path
    elif isinstance(item, dict) and len(item) == 1:
        ((name, argument),) = item.items()
        argument_path = (*path, str(name))
    elif isinstance(item, dict):
        keys = ", ".join(str(key) for key in item) or "none"
        return [
            located.problem(
                path,
                f"a verb is a mapping with exactly one key (its name); found keys: {keys}",
            )
        ]
    else:
        return [located.problem(path, "expected a verb such as '- play: welcome' or '- hangup'")]
    verb = VERBS.get(str(name))
    if verb is None:
        close = difflib.get_close_matches(str(name), list(VERBS), n=1)
        hint = (
            f" (did you mean {close[0]!r}?)" if close else f" (verbs: {', '.join(sorted(VERBS))})"
        )
        return [located.problem(argument_path, f"unknown verb {name!r}{hint}", key=True)]
    wrapped = verb.wraps(argument)
    try:
        model = verb.model_validate(argument)
    except ValidationError as error:
        fields = [field.alias or key for key, field in verb.model_fields.items()]
        return located.validation_problems(
            error, lambda loc: _yaml_location(verb, argument_path, wrapped, loc), fields
        )
    return ParsedVerb(model, argument_path, wrapped)
