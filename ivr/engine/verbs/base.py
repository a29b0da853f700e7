"""What every verb provides: a pydantic schema, its references, and a runner.

A verb is written in YAML as a one-key mapping (``- play: welcome``) or, when it
takes no arguments, a bare string (``- hangup``). The argument is validated by
the verb's model (``extra="forbid"``); references to flows, prompts and
variables are reported by ``references()`` and checked by the loader, which
knows the whole file; ``runner()`` makes the per-call state machine.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Strict, model_validator

from ivr.engine.state import Runner

_PROMPT_KEY = re.compile(r"[a-z0-9_]+(/[a-z0-9_]+)*")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
DTMF_KEYS = frozenset("0123456789*#ABCD")


def _prompt_key(value: str) -> str:
    if not _PROMPT_KEY.fullmatch(value):
        raise ValueError(
            f"bad prompt key {value!r}: use lowercase words joined by '_' or '/', e.g. 'digits/0'"
        )
    return value


def check_name(value: str) -> str:
    if not _NAME.fullmatch(value):
        raise ValueError(f"bad name {value!r}: use letters, digits and '_'")
    return value


def _variable_or_literal(value: str) -> str:
    if value.startswith("$"):
        check_name(value[1:])
    return value


def _dtmf_key(value: str) -> str:
    if value not in DTMF_KEYS:
        raise ValueError(f"bad key {value!r}: one of 0-9, *, #, A-D")
    return value


PromptKey = Annotated[str, AfterValidator(_prompt_key)]
FlowName = Annotated[str, AfterValidator(check_name)]
VariableName = Annotated[str, AfterValidator(check_name)]
#: ``"$name"`` reads a variable; anything else is a literal.
ValueOrVariable = Annotated[str, AfterValidator(_variable_or_literal)]
DtmfKey = Annotated[str, AfterValidator(_dtmf_key)]
Seconds = Annotated[float, Strict()]
Flag = Annotated[bool, Strict()]


@dataclass(frozen=True, slots=True)
class Reference:
    """A name a verb uses (or defines) that the loader checks against the whole file.

    ``at`` is the location inside the verb's argument (pydantic style); the
    loader turns it into a YAML position.
    """

    kind: Literal["flow", "prompt", "variable", "defines", "category", "line", "group", "language"]
    name: str
    at: tuple[str | int, ...] = ()


class VerbModel(BaseModel):
    """Base of every verb's argument schema."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: The YAML name of the verb.
    verb: ClassVar[str]
    #: Field that receives a non-mapping argument (``play: welcome`` → ``prompt``).
    shorthand: ClassVar[str | None] = None

    @classmethod
    def wraps(cls, argument: object) -> bool:
        """True if ``argument`` is moved into the ``shorthand`` field before validation."""
        return cls.shorthand is not None and argument is not None and not isinstance(argument, dict)

    @model_validator(mode="before")
    @classmethod
    def _expand_shorthand(cls, data: Any) -> Any:
        if cls.wraps(data):
            return {cls.shorthand: data}
        return {} if data is None else data

    def references(self) -> Iterator[Reference]:
        return iter(())

    def runner(self) -> Runner:
        raise NotImplementedError(f"verb {self.verb!r} has no runner")


def as_tuple(value: Any) -> Any:
    """Field helper: a single string stands for a one-element list."""
    return (value,) if isinstance(value, str) else value


def single_or_list(schema: dict[str, Any]) -> None:
    """``json_schema_extra`` of an ``as_tuple`` field: the JSON Schema allows one item too."""
    array = {key: value for key, value in schema.items() if key not in ("title", "default")}
    for key in list(schema):
        if key not in ("title", "default"):
            del schema[key]
    schema["anyOf"] = [array["items"], array]


def string_or_object(schema: dict[str, Any]) -> None:
    """``json_schema_extra`` of a model also written as a bare name (``9: emergency``)."""
    whole = dict(schema)
    schema.clear()
    schema["anyOf"] = [{"type": "string"}, whole]


def values_single_or_list(schema: dict[str, Any]) -> None:
    """``json_schema_extra`` of a mapping whose values are ``as_tuple`` lists."""
    single_or_list(schema["additionalProperties"])
