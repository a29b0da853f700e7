"""From a YAML file to located problems: ``file:line:col path: message``, near misses named.

``read_located`` is the one way a configuration file is read: it keeps the position of
every value (``settings.yamlsource``) so that whatever checks the data afterwards, a
pydantic model (``Located.validation_problems``) or a hand-written validator raising
``AtPath`` (``Located.at``), can say where the mistake is.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from settings.yamlsource import MarkedYaml, MarkedYamlError, format_path, load_marked

_SCALARS = (str, int, float, bool, type(None))


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a configuration file, located for the admin who wrote it.

    ``line`` and ``column`` are 1-based; ``path`` is the YAML path such as
    ``flows.main[1].menu.options.9`` (empty for the document itself).
    """

    source: Path
    line: int
    column: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}:{self.column}"
        return f"{where} {self.path}: {self.message}" if self.path else f"{where} {self.message}"


class AtPath(ValueError):
    """Raised by a validator of plain data: ``message`` about the value at YAML ``path``."""

    def __init__(self, path: Sequence[str | int], message: str, *, key: bool = False) -> None:
        super().__init__(message)
        self.path: tuple[str | int, ...] = tuple(path)
        self.message = message
        self.key = key  # the problem is the last key of ``path`` itself, not its value


def raising(error: Callable[[str], Exception]) -> Callable[[list[Problem]], Exception]:
    """For ``read_located``: an error type taking a message, given the problems one a line."""
    return lambda problems: error("\n".join(str(problem) for problem in problems))


def describe(error: AtPath, source: str, located: Located | None) -> str:
    """``file:line:col path: message`` when the data came from ``read_located``; else (data
    handed in directly, as tests do) ``source: path: message``."""
    if located is not None:
        return str(located.at(error))
    where = format_path(error.path)
    return f"{source}: {where}: {error.message}" if where else f"{source}: {error.message}"


def near_miss(name: object, known: Iterable[object]) -> str:
    """`` (did you mean 'tier'?)`` when ``name`` looks like a misspelling of a known name."""
    close = difflib.get_close_matches(str(name), [str(k) for k in known], n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def refuse_unknown(
    found: Collection[object],
    known: Collection[object],
    where: Sequence[str | int],
    what: str = "key(s)",
) -> None:
    """Raise ``AtPath`` at the first key of ``found`` not in ``known``: ``unknown key(s)
    tierr (did you mean 'tier'?)``, every unknown key listed with its near miss."""
    unknown = sorted(str(key) for key in found if key not in known)
    if unknown:
        listed = ", ".join(f"{key}{near_miss(key, known)}" for key in unknown)
        first = next(key for key in found if str(key) == unknown[0])
        raise AtPath((*where, _path_item(first)), f"unknown {what} {listed}", key=True)


def _path_item(key: object) -> str | int:
    return key if isinstance(key, int) and not isinstance(key, bool) else str(key)


def read_located(
    path: Path,
    what: str,
    error: Callable[[list[Problem]], Exception],
    *,
    date_keys: bool = False,
) -> tuple[bytes, Located]:
    """Read and parse a YAML file keeping positions; ``error(problems)`` names file:line:col."""
    try:
        raw = path.read_bytes()
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise error([Problem(path, 1, 1, "", f"cannot read {what}: {exc}")]) from exc
    return raw, parse_located(text, path, error, date_keys=date_keys)


def parse_located(
    text: str,
    source: Path,
    error: Callable[[list[Problem]], Exception],
    *,
    date_keys: bool = False,
) -> Located:
    """``read_located`` for text already in hand (``source`` names it in the problems)."""
    try:
        document = load_marked(text, date_keys=date_keys)
    except MarkedYamlError as exc:
        at = exc.position
        raise error(
            [Problem(source, at.line, at.column, format_path(exc.path), exc.message)]
        ) from exc
    return Located(source, document)


class Located:
    """Turns YAML paths and pydantic errors into ``Problem``s of one file."""

    def __init__(self, source: Path, document: MarkedYaml) -> None:
        self.source = source
        self.document = document

    def problem(self, path: Sequence[object], message: str, *, key: bool = False) -> Problem:
        found, position = self.document.locate(path, key=key)
        return Problem(self.source, position.line, position.column, format_path(found), message)

    def at(self, error: AtPath) -> Problem:
        """The problem a validator of plain data raised, located."""
        return self.problem(error.path, error.message, key=error.key)

    def validation_problems(
        self,
        error: ValidationError,
        to_yaml: Callable[[tuple[str | int, ...]], Sequence[object]] | None = None,
        fields: Sequence[str] = (),
        *,
        model: type[BaseModel] | None = None,
    ) -> list[Problem]:
        """One problem per pydantic error, in file order.

        ``to_yaml`` maps a location inside the validated value to a YAML path. A misspelt
        key is offered a near miss: among ``fields`` at the top level, or, given the
        validated ``model``, among the fields of the (nested) model the key was found in.
        """
        problems = []
        for detail in error.errors(include_url=False):
            loc = tuple(detail["loc"])
            is_key = bool(loc) and loc[-1] == "[key]"
            if is_key:
                loc = loc[:-1]
            extra = detail["type"] == "extra_forbidden"
            known: Sequence[str] = fields if len(loc) == 1 else ()
            if extra and model is not None:
                known = _fields_at(model, loc[:-1])
            message = _message(detail, loc, known)
            where = to_yaml(loc) if to_yaml else loc
            problems.append(self.problem(where, message, key=is_key or extra))
        return sorted(problems, key=lambda problem: (problem.line, problem.column))


def _fields_at(model: type[BaseModel], loc: Sequence[str | int]) -> list[str]:
    """The keys the model found at ``loc`` of ``model`` accepts ([] when none is there)."""
    annotation: Any = model
    steps = list(loc)
    while True:
        annotation = _unwrap(annotation, steps)
        if annotation is None:
            return []
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if not steps:
                return [field.alias or name for name, field in annotation.model_fields.items()]
            field = annotation.model_fields.get(str(steps.pop(0)))
            if field is None:
                return []
            annotation = field.annotation
            continue
        return []


def _unwrap(annotation: Any, steps: list[str | int]) -> Any:
    """Through ``X | None``, ``Annotated``, ``dict[K, V]`` and ``list[V]`` / ``tuple[V, ...]``
    (consuming the key or index of ``steps`` each container takes) to a model or ``None``."""
    while True:
        origin = typing.get_origin(annotation)
        args = typing.get_args(annotation)
        if origin is typing.Annotated:
            annotation = args[0]
        elif origin in (typing.Union, types.UnionType):
            models = [a for a in args if typing.get_origin(a) or isinstance(a, type)]
            models = [a for a in models if a is not type(None)]
            if len(models) != 1:
                return None
            annotation = models[0]
        elif origin is dict and len(args) == 2 and steps:
            steps.pop(0)
            annotation = args[1]
        elif origin in (list, tuple) and args and steps:
            steps.pop(0)
            annotation = args[0]
        elif origin is None:
            return annotation
        else:
            return None


def _message(detail: ErrorDetails, loc: tuple[Any, ...], fields: Sequence[str]) -> str:
    kind = detail["type"]
    name = loc[-1] if loc else ""
    if kind == "extra_forbidden":
        return f"unknown key {name!r}{near_miss(name, fields)}"
    if kind == "missing":
        return f"missing required key {name!r}"
    if kind == "value_error" and "ctx" in detail:
        return str(detail["ctx"]["error"])
    message = detail["msg"][0].lower() + detail["msg"][1:]
    value = detail.get("input")
    if isinstance(value, _SCALARS) and kind not in ("literal_error",):
        message += f", got {value!r}"
    return message
