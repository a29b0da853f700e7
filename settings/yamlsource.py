"""YAML loading that remembers where every value came from.

Admins edit the menus and prompt texts by hand, so every error must point at a
line and column. PyYAML's composer keeps a mark on every node; this module walks
the node tree, builds plain Python data and records, for each YAML path, where
the value (and, in mappings, the key) starts. Duplicate keys are rejected instead
of silently keeping the last one.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from settings.errors import ConfigError

PathItem = str | int
YamlPath = tuple[PathItem, ...]


@dataclass(frozen=True, slots=True)
class Position:
    """1-based line and column."""

    line: int
    column: int


class MarkedYamlError(ConfigError):
    """The text is not valid YAML (or uses something this loader refuses)."""

    def __init__(self, message: str, position: Position, path: YamlPath = ()) -> None:
        super().__init__(message)
        self.message = message
        self.position = position
        self.path = path


@dataclass(frozen=True)
class MarkedYaml:
    """Plain data (dicts, lists, scalars) plus where each part of it was written."""

    data: object
    values: Mapping[YamlPath, Position] = field(default_factory=dict)
    keys: Mapping[YamlPath, Position] = field(default_factory=dict)

    def locate(self, path: Sequence[object], *, key: bool = False) -> tuple[YamlPath, Position]:
        """Return the longest existing prefix of ``path`` and its position.

        ``path`` may come from a validator (pydantic locations use ``str`` keys
        where YAML had ``int`` keys), so each element is tried as given and as
        ``str``. With ``key=True`` the position of the mapping key is preferred.
        """
        found: YamlPath = ()
        for element in path:
            for candidate in _spellings(element):
                if (*found, candidate) in self.values:
                    found = (*found, candidate)
                    break
            else:
                break
        exact = len(found) == len(path)
        if key and exact and found in self.keys:
            return found, self.keys[found]
        return found, self.values.get(found, Position(1, 1))


def _spellings(element: object) -> Iterator[PathItem]:
    if isinstance(element, int) and not isinstance(element, bool):
        yield element
        yield str(element)
    elif isinstance(element, str):
        yield element


def format_path(path: Sequence[PathItem]) -> str:
    """``("flows", "main", 1, "menu")`` → ``flows.main[1].menu``."""
    text = ""
    for element in path:
        if isinstance(element, int):
            text += f"[{element}]"
        else:
            text += f".{element}" if text else element
    return text


def _position(node: Node) -> Position:
    return Position(node.start_mark.line + 1, node.start_mark.column + 1)


def load_marked(text: str, *, date_keys: bool = False) -> MarkedYaml:
    """Parse one YAML document; raise ``MarkedYamlError`` with a position on failure.

    Mapping keys must be strings or numbers; ``date_keys`` also allows dates (``2031-01-01:``
    in ``calendar.yaml``), whose path element is their ISO text.
    """
    loader = yaml.SafeLoader(text)
    try:
        try:
            root = loader.get_single_node()
        except yaml.MarkedYAMLError as error:
            raise _syntax_error(error) from error
        if root is None:
            return MarkedYaml(data=None)
        walker = _Walker(loader, date_keys=date_keys)
        data = walker.convert(root, ())
        return MarkedYaml(data=data, values=walker.values, keys=walker.keys)
    finally:
        loader.dispose()


def _syntax_error(error: yaml.MarkedYAMLError) -> MarkedYamlError:
    mark = error.problem_mark or error.context_mark
    position = Position(mark.line + 1, mark.column + 1) if mark else Position(1, 1)
    problem = error.problem or error.context or "invalid YAML"
    hint = " (check the indentation)" if "block" in problem else ""
    return MarkedYamlError(f"YAML syntax error: {problem}{hint}", position)


class _Walker:
    def __init__(self, loader: yaml.SafeLoader, *, date_keys: bool = False) -> None:
        self.loader = loader
        self.date_keys = date_keys
        self.values: dict[YamlPath, Position] = {}
        self.keys: dict[YamlPath, Position] = {}
        self.active: set[int] = set()

    def convert(self, node: Node, path: YamlPath) -> object:
        self.values[path] = _position(node)
        if id(node) in self.active:
            raise MarkedYamlError("recursive YAML alias", _position(node), path)
        self.active.add(id(node))
        try:
            if isinstance(node, MappingNode):
                return self._mapping(node, path)
            if isinstance(node, SequenceNode):
                return [self.convert(item, (*path, index)) for index, item in enumerate(node.value)]
            return self._scalar(node, path)
        finally:
            self.active.discard(id(node))

    def _scalar(self, node: Node, path: YamlPath) -> object:
        assert isinstance(node, ScalarNode)
        try:
            return self.loader.construct_object(node, deep=True)
        except yaml.MarkedYAMLError as error:
            raise MarkedYamlError(
                f"cannot read value: {error.problem}", _position(node), path
            ) from error

    def _mapping(self, node: MappingNode, path: YamlPath) -> dict[object, object]:
        try:
            self.loader.flatten_mapping(node)  # resolves "<<" merge keys
        except yaml.MarkedYAMLError as error:
            raise MarkedYamlError(
                f"bad merge key: {error.problem}", _position(node), path
            ) from error
        result: dict[object, object] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                raise MarkedYamlError(
                    "mapping keys must be plain values", _position(key_node), path
                )
            key = self._scalar(key_node, path)
            allowed = isinstance(key, str | int) or (self.date_keys and isinstance(key, date))
            if not allowed or isinstance(key, bool):
                raise MarkedYamlError(
                    f"mapping key {key_node.value!r} must be a string or a number; quote it",
                    _position(key_node),
                    path,
                )
            child = (*path, str(key))
            if key in result or str(key) in result:
                raise MarkedYamlError(f"duplicate key {str(key)!r}", _position(key_node), child)
            self.keys[child] = _position(key_node)
            result[key] = self.convert(value_node, child)
        return result
