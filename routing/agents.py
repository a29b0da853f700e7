"""``config/agents.yaml``: the agent groups the ACD queues calls to, and the agents in them.

```yaml
groups:
  intake: {label: 受理组, skills_required: [], overflow_to: complaints, overflow_after: 120,
           max_wait: 300, ring_seconds: 20}
agents:
  - {login: a1001, name: 张敏, extension: "1001", groups: [intake], skills: [mandarin]}
```
``overflow_after``: seconds a call waits in the group before it may also be taken by the
agents of ``overflow_to``; ``max_wait``: seconds since the call was first queued after which
the ACD gives up (the menu's ``on_failure`` takes over); ``ring_seconds``: how long an offered
agent's phone rings. Admins write this file by hand, so every error names file:line:column
and the YAML path; unknown keys are refused.

Pure: ``parse_agents`` takes the YAML text; ``load_agents`` only reads the file.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from routing.errors import RoutingError

_GROUP_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
#: Logins end up in MQTT topics (``hotline/agents/{login}/pops``) and token names.
_LOGIN = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_EXTENSION = re.compile(r"[A-Za-z0-9_.+-]{1,32}")
_SKILL = re.compile(r"[a-z][a-z0-9_-]{0,31}")
MAX_SECONDS = 86_400.0
DEFAULT_RING_SECONDS = 20.0

_GROUP_KEYS = (
    "label",
    "skills_required",
    "overflow_to",
    "overflow_after",
    "max_wait",
    "ring_seconds",
)
_AGENT_KEYS = ("login", "name", "extension", "groups", "skills")

YamlPath = tuple[str | int, ...]


class AgentsError(RoutingError):
    """``agents.yaml`` is invalid; ``problems`` lists every ``file:line:col path: message``."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = tuple(problems)


@dataclass(frozen=True, slots=True)
class GroupConfig:
    name: str
    label: str
    skills_required: frozenset[str] = frozenset()
    overflow_to: str | None = None
    overflow_after: float | None = None
    max_wait: float | None = None
    ring_seconds: float = DEFAULT_RING_SECONDS


@dataclass(frozen=True, slots=True)
class AgentConfig:
    login: str
    name: str
    extension: str
    groups: tuple[str, ...]
    skills: frozenset[str] = frozenset()


@dataclass(frozen=True)
class AgentsConfig:
    """Groups by name and agents by login, in the order the file lists them."""

    groups: Mapping[str, GroupConfig] = field(default_factory=dict)
    agents: Mapping[str, AgentConfig] = field(default_factory=dict)
    source: Path | None = None

    def members(self, group: str) -> tuple[AgentConfig, ...]:
        return tuple(agent for agent in self.agents.values() if group in agent.groups)

    def unknown_groups(self, names: Iterable[str]) -> list[str]:
        """Those of ``names`` that are not groups here (for ``hotline check-config``)."""
        return sorted({name for name in names if name not in self.groups})


NO_AGENTS = AgentsConfig()


def load_agents(path: Path) -> AgentsConfig:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise AgentsError([f"{path}:1:1 cannot read agents file: {exc}"]) from exc
    return parse_agents(text, source=path)


def parse_agents(text: str, *, source: Path | str = "agents.yaml") -> AgentsConfig:
    """Validate the file's text; raise ``AgentsError`` listing every problem found."""
    checker = _Checker(str(source))
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise AgentsError([f"{source}:{line}:{column} YAML syntax error: {exc.problem}"]) from exc
    if not isinstance(root, MappingNode):
        raise AgentsError([f"{source}:1:1 expected a mapping with `groups:` and `agents:`"])
    top = checker.mapping(root, (), required=("groups", "agents"), known=("groups", "agents"))
    groups = checker.groups(top.get("groups"))
    agents = checker.agents(top.get("agents"), groups)
    checker.cross_check(groups, agents)
    if checker.problems:
        raise AgentsError(checker.problems)
    return AgentsConfig(MappingProxyType(groups), MappingProxyType(agents), Path(source))


class _Checker:
    """Walks the YAML node tree, so that every problem has the line of the node at fault."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[str] = []
        self.nodes: dict[YamlPath, Node] = {}
        self._constructor = yaml.SafeLoader("")

    def problem(self, node: Node, path: YamlPath, message: str) -> None:
        where = f"{self.source}:{node.start_mark.line + 1}:{node.start_mark.column + 1}"
        self.problems.append(
            f"{where} {_format(path)}: {message}" if path else f"{where} {message}"
        )

    def mapping(
        self,
        node: Node,
        path: YamlPath,
        *,
        required: Iterable[str] = (),
        known: Iterable[str] | None,
    ) -> dict[str, Node]:
        """The entries of a mapping node by key; ``known=None``: any key (names)."""
        if not isinstance(node, MappingNode):
            self.problem(node, path, "expected a mapping")
            return {}
        out: dict[str, Node] = {}
        allowed = None if known is None else tuple(known)
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, ScalarNode) else None
            if key is None:
                self.problem(key_node, path, "mapping keys must be plain names")
            elif allowed is not None and key not in allowed:
                self.problem(key_node, path, f"unknown key {key!r} (known: {', '.join(allowed)})")
            elif key in out:
                self.problem(key_node, path, f"duplicate key {key!r}")
            else:
                out[key] = value_node
        for key in required:
            if key not in out:
                self.problem(node, path, f"missing `{key}`")
        return out

    def scalar(self, node: Node | None, path: YamlPath) -> object:
        if node is None:
            return None
        if not isinstance(node, ScalarNode):
            self.problem(node, path, "expected a single value")
            return _INVALID
        return self._constructor.construct_object(node)

    def text(
        self,
        node: Node | None,
        path: YamlPath,
        pattern: re.Pattern[str] | None = None,
        *,
        what: str = "a string",
    ) -> str | None:
        value = self.scalar(node, path)
        if value is None or value is _INVALID:
            return None
        assert node is not None
        if not isinstance(value, str) or not value.strip():
            hint = " (quote it)" if isinstance(value, int | float) else ""
            self.problem(node, path, f"expected {what}{hint}, got {value!r}")
            return None
        if pattern is not None and not pattern.fullmatch(value):
            self.problem(node, path, f"{value!r} is not {what}")
            return None
        return value

    def seconds(self, node: Node | None, path: YamlPath) -> float | None:
        value = self.scalar(node, path)
        if value is None or value is _INVALID:
            return None
        assert node is not None
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not (0 < value <= MAX_SECONDS)
        ):
            self.problem(node, path, f"expected seconds between 0 and {MAX_SECONDS:.0f}")
            return None
        return float(value)

    def names(
        self, node: Node | None, path: YamlPath, pattern: re.Pattern[str], what: str
    ) -> tuple[str, ...]:
        if node is None:
            return ()
        if not isinstance(node, SequenceNode):
            self.problem(node, path, f"expected a list of {what}")
            return ()
        out: list[str] = []
        for index, item in enumerate(node.value):
            name = self.text(item, (*path, index), pattern, what=what)
            if name is not None and name in out:
                self.problem(item, (*path, index), f"{name!r} is listed twice")
            elif name is not None:
                out.append(name)
        return tuple(out)

    def groups(self, node: Node | None) -> dict[str, GroupConfig]:
        if node is None:
            return {}
        entries = self.mapping(node, ("groups",), known=None)
        groups: dict[str, GroupConfig] = {}
        for name, value in entries.items():
            path: YamlPath = ("groups", name)
            self.nodes[path] = value
            if not _GROUP_NAME.fullmatch(name):
                self.problem(value, path, "bad group name: use letters, digits and '_'")
                continue
            fields = self.mapping(value, path, required=("label",), known=_GROUP_KEYS)
            self.nodes.update({(*path, key): field_node for key, field_node in fields.items()})
            groups[name] = GroupConfig(
                name=name,
                label=self.text(fields.get("label"), (*path, "label")) or name,
                skills_required=frozenset(
                    self.names(
                        fields.get("skills_required"),
                        (*path, "skills_required"),
                        _SKILL,
                        "skill names",
                    )
                ),
                overflow_to=self.text(
                    fields.get("overflow_to"),
                    (*path, "overflow_to"),
                    _GROUP_NAME,
                    what="a group name",
                ),
                overflow_after=self.seconds(
                    fields.get("overflow_after"), (*path, "overflow_after")
                ),
                max_wait=self.seconds(fields.get("max_wait"), (*path, "max_wait")),
                ring_seconds=self.seconds(fields.get("ring_seconds"), (*path, "ring_seconds"))
                or DEFAULT_RING_SECONDS,
            )
        return groups

    def agents(
        self, node: Node | None, groups: Mapping[str, GroupConfig]
    ) -> dict[str, AgentConfig]:
        if node is None:
            return {}
        if not isinstance(node, SequenceNode):
            self.problem(node, ("agents",), "expected a list of agents")
            return {}
        agents: dict[str, AgentConfig] = {}
        extensions: dict[str, str] = {}
        for index, item in enumerate(node.value):
            path: YamlPath = ("agents", index)
            fields = self.mapping(
                item, path, required=("login", "name", "extension", "groups"), known=_AGENT_KEYS
            )
            login = self.text(fields.get("login"), (*path, "login"), _LOGIN, what="a login")
            name = self.text(fields.get("name"), (*path, "name"))
            extension = self.text(
                fields.get("extension"),
                (*path, "extension"),
                _EXTENSION,
                what="an extension (SIP user)",
            )
            member_of = self.names(fields.get("groups"), (*path, "groups"), _GROUP_NAME, "groups")
            skills = self.names(fields.get("skills"), (*path, "skills"), _SKILL, "skill names")
            for position, group in enumerate(member_of):
                if group not in groups:
                    self.problem(
                        fields["groups"].value[position],
                        (*path, "groups", position),
                        _unknown_group(group, groups),
                    )
            if login is not None and login in agents:
                self.problem(fields["login"], (*path, "login"), f"duplicate login {login!r}")
                continue
            if extension is not None and extension in extensions:
                self.problem(
                    fields["extension"],
                    (*path, "extension"),
                    f"extension {extension} is already {extensions[extension]}'s",
                )
                continue
            if login is None or name is None or extension is None:
                continue
            extensions[extension] = login
            agents[login] = AgentConfig(login, name, extension, member_of, frozenset(skills))
        return agents

    def cross_check(
        self, groups: Mapping[str, GroupConfig], agents: Mapping[str, AgentConfig]
    ) -> None:
        for name, group in groups.items():
            path: YamlPath = ("groups", name)
            node = self.nodes[path]
            overflow = self.nodes.get((*path, "overflow_to"), node)
            if group.overflow_to is not None and group.overflow_to not in groups:
                self.problem(
                    overflow, (*path, "overflow_to"), _unknown_group(group.overflow_to, groups)
                )
            if group.overflow_to == name:
                self.problem(overflow, (*path, "overflow_to"), "a group cannot overflow to itself")
            if (group.overflow_to is None) != (group.overflow_after is None):
                self.problem(node, path, "overflow_to and overflow_after go together")
            if (
                group.max_wait is not None
                and group.overflow_after is not None
                and group.max_wait <= group.overflow_after
            ):
                self.problem(
                    self.nodes.get((*path, "max_wait"), node),
                    (*path, "max_wait"),
                    "max_wait must be longer than overflow_after (no overflow otherwise)",
                )
            members = [agent for agent in agents.values() if name in agent.groups]
            if not members:
                self.problem(node, path, "no agent is in this group")
            elif group.skills_required and not any(
                group.skills_required <= agent.skills for agent in members
            ):
                needed = ", ".join(sorted(group.skills_required))
                self.problem(
                    node, (*path, "skills_required"), f"no agent of the group has all of: {needed}"
                )


_INVALID = object()


def _unknown_group(name: str, groups: Mapping[str, GroupConfig]) -> str:
    return f"unknown group {name!r} (groups: {', '.join(groups) or 'none'})"


def _format(path: YamlPath) -> str:
    text = ""
    for element in path:
        text += f"[{element}]" if isinstance(element, int) else (f".{element}" if text else element)
    return text
