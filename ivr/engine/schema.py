"""From marked YAML to validated verbs, with every error located in the file."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ivr.engine.state import MAX_SILENCE_SECONDS
from ivr.engine.verbs import VERBS, VerbModel
from ivr.engine.verbs.base import DtmfKey, FlowName, PromptKey, Seconds
from settings.located import Located, Problem, near_miss
from settings.yamlsource import YamlPath

#: Version of the menu language; bumped when a file must be changed to keep working.
LANGUAGE_VERSION = 1


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
        hint = near_miss(name, VERBS) or f" (verbs: {', '.join(sorted(VERBS))})"
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
