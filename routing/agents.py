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
and the YAML path; unknown keys are refused (with the near miss when there is one).

Pure: ``parse_agents`` takes the YAML text; ``load_agents`` only reads the file. Both go
through ``settings.located``, the one positioned YAML reader.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from routing.errors import RoutingError
from settings.located import Located, Problem, near_miss, parse_located, read_located
from settings.yamlsource import format_path

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
    _, located = read_located(path, "agents file", _error)
    return _check(located)


def parse_agents(text: str, *, source: Path | str = "agents.yaml") -> AgentsConfig:
    """Validate the file's text; raise ``AgentsError`` listing every problem found."""
    return _check(parse_located(text, Path(source), _error))


def _error(problems: list[Problem]) -> AgentsError:
    return AgentsError([str(problem) for problem in problems])


def _check(located: Located) -> AgentsConfig:
    checker = _Checker(located)
    root = located.document.data
    if not isinstance(root, dict):
        raise _error([located.problem((), "expected a mapping with `groups:` and `agents:`")])
    top = checker.mapping(root, (), required=("groups", "agents"), known=("groups", "agents"))
    groups = checker.groups(top.get("groups", _ABSENT))
    agents = checker.agents(top.get("agents", _ABSENT), groups)
    checker.cross_check(groups, agents)
    if checker.problems:
        raise AgentsError(checker.problems)
    return AgentsConfig(MappingProxyType(groups), MappingProxyType(agents), located.source)


class _Checker:
    """Walks the data read by ``settings.located``, so every problem has its line and column."""

    def __init__(self, located: Located) -> None:
        self.located = located
        self.problems: list[str] = []

    def problem(self, path: YamlPath, message: str, *, key: str | None = None) -> None:
        """``message`` about ``path`` (at its mapping key ``key`` when given)."""
        at = path if key is None else (*path, key)
        _, position = self.located.document.locate(at, key=key is not None)
        found = Problem(
            self.located.source, position.line, position.column, format_path(path), message
        )
        self.problems.append(str(found))

    def mapping(
        self,
        value: object,
        path: YamlPath,
        *,
        required: Iterable[str] = (),
        known: Iterable[str] | None,
    ) -> dict[str, object]:
        """The entries of a mapping by key; ``known=None``: any key (names)."""
        if not isinstance(value, dict):
            self.problem(path, "expected a mapping")
            return {}
        out: dict[str, object] = {}
        allowed = None if known is None else tuple(known)
        for raw_key, entry in value.items():
            key = str(raw_key)
            if allowed is not None and key not in allowed:
                hint = near_miss(key, allowed) or f" (known: {', '.join(allowed)})"
                self.problem(path, f"unknown key {key!r}{hint}", key=key)
            else:
                out[key] = entry
        for key in required:
            if key not in out:
                self.problem(path, f"missing `{key}`")
        return out

    def scalar(self, value: object, path: YamlPath) -> object:
        if value is _ABSENT:
            return None
        if isinstance(value, dict | list):
            self.problem(path, "expected a single value")
            return _INVALID
        return value

    def text(
        self,
        value: object,
        path: YamlPath,
        pattern: re.Pattern[str] | None = None,
        *,
        what: str = "a string",
    ) -> str | None:
        value = self.scalar(value, path)
        if value is None or value is _INVALID:
            return None
        if not isinstance(value, str) or not value.strip():
            hint = " (quote it)" if isinstance(value, int | float) else ""
            self.problem(path, f"expected {what}{hint}, got {value!r}")
            return None
        if pattern is not None and not pattern.fullmatch(value):
            self.problem(path, f"{value!r} is not {what}")
            return None
        return value

    def seconds(self, value: object, path: YamlPath) -> float | None:
        value = self.scalar(value, path)
        if value is None or value is _INVALID:
            return None
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not (0 < value <= MAX_SECONDS)
        ):
            self.problem(path, f"expected seconds between 0 and {MAX_SECONDS:.0f}")
            return None
        return float(value)

    def names(
        self, value: object, path: YamlPath, pattern: re.Pattern[str], what: str
    ) -> tuple[str, ...]:
        if value is _ABSENT:
            return ()
        if not isinstance(value, list):
            self.problem(path, f"expected a list of {what}")
            return ()
        out: list[str] = []
        for index, item in enumerate(value):
            name = self.text(item, (*path, index), pattern, what=what)
            if name is not None and name in out:
                self.problem((*path, index), f"{name!r} is listed twice")
            elif name is not None:
                out.append(name)
        return tuple(out)

    def groups(self, value: object) -> dict[str, GroupConfig]:
        if value is _ABSENT:
            return {}
        entries = self.mapping(value, ("groups",), known=None)
        groups: dict[str, GroupConfig] = {}
        for name, entry in entries.items():
            path: YamlPath = ("groups", name)
            if not _GROUP_NAME.fullmatch(name):
                self.problem(path, "bad group name: use letters, digits and '_'")
                continue
            fields = self.mapping(entry, path, required=("label",), known=_GROUP_KEYS)

            def field(key: str, fields: dict[str, object] = fields) -> object:
                return fields.get(key, _ABSENT)

            groups[name] = GroupConfig(
                name=name,
                label=self.text(field("label"), (*path, "label")) or name,
                skills_required=frozenset(
                    self.names(
                        field("skills_required"),
                        (*path, "skills_required"),
                        _SKILL,
                        "skill names",
                    )
                ),
                overflow_to=self.text(
                    field("overflow_to"),
                    (*path, "overflow_to"),
                    _GROUP_NAME,
                    what="a group name",
                ),
                overflow_after=self.seconds(field("overflow_after"), (*path, "overflow_after")),
                max_wait=self.seconds(field("max_wait"), (*path, "max_wait")),
                ring_seconds=self.seconds(field("ring_seconds"), (*path, "ring_seconds"))
                or DEFAULT_RING_SECONDS,
            )
        return groups

    def agents(self, value: object, groups: Mapping[str, GroupConfig]) -> dict[str, AgentConfig]:
        if value is _ABSENT:
            return {}
        if not isinstance(value, list):
            self.problem(("agents",), "expected a list of agents")
            return {}
        agents: dict[str, AgentConfig] = {}
        extensions: dict[str, str] = {}
        for index, item in enumerate(value):
            path: YamlPath = ("agents", index)
            fields = self.mapping(
                item, path, required=("login", "name", "extension", "groups"), known=_AGENT_KEYS
            )

            def field(key: str, fields: dict[str, object] = fields) -> object:
                return fields.get(key, _ABSENT)

            login = self.text(field("login"), (*path, "login"), _LOGIN, what="a login")
            name = self.text(field("name"), (*path, "name"))
            extension = self.text(
                field("extension"),
                (*path, "extension"),
                _EXTENSION,
                what="an extension (SIP user)",
            )
            member_of = self.names(field("groups"), (*path, "groups"), _GROUP_NAME, "groups")
            skills = self.names(field("skills"), (*path, "skills"), _SKILL, "skill names")
            for position, group in enumerate(member_of):
                if group not in groups:
                    self.problem((*path, "groups", position), _unknown_group(group, groups))
            if login is not None and login in agents:
                self.problem((*path, "login"), f"duplicate login {login!r}")
                continue
            if extension is not None and extension in extensions:
                self.problem(
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
            overflow = (*path, "overflow_to")
            if group.overflow_to is not None and group.overflow_to not in groups:
                self.problem(overflow, _unknown_group(group.overflow_to, groups))
            if group.overflow_to == name:
                self.problem(overflow, "a group cannot overflow to itself")
            if (group.overflow_to is None) != (group.overflow_after is None):
                self.problem(path, "overflow_to and overflow_after go together")
            if (
                group.max_wait is not None
                and group.overflow_after is not None
                and group.max_wait <= group.overflow_after
            ):
                self.problem(
                    (*path, "max_wait"),
                    "max_wait must be longer than overflow_after (no overflow otherwise)",
                )
            members = [agent for agent in agents.values() if name in agent.groups]
            if not members:
                self.problem(path, "no agent is in this group")
            elif group.skills_required and not any(
                group.skills_required <= agent.skills for agent in members
            ):
                needed = ", ".join(sorted(group.skills_required))
                self.problem(
                    (*path, "skills_required"), f"no agent of the group has all of: {needed}"
                )


_INVALID = object()
_ABSENT = object()


def _unknown_group(name: str, groups: Mapping[str, GroupConfig]) -> str:
    return f"unknown group {name!r} (groups: {', '.join(groups) or 'none'})"
