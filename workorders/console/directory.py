"""What the console knows of each agent from ``config/agents.yaml``: name, extension, groups.

The ACD owns that file and its full loader; the console only needs three fields per agent,
so ``AgentDirectory.from_entries`` takes anything with ``login``, ``name``, ``extension`` and
``groups`` attributes (the ACD loader's agents) and ``read_agents_file`` reads them straight
from the YAML. A login missing from the file has no groups: it gets no group pops.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import yaml

from workorders.errors import StoreConfigError

log = logging.getLogger(__name__)


class AgentLike(Protocol):
    @property
    def login(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def extension(self) -> str: ...
    @property
    def groups(self) -> Iterable[str]: ...


@dataclass(frozen=True, slots=True)
class AgentInfo:
    login: str
    name: str
    extension: str
    groups: frozenset[str]


class AgentDirectory:
    def __init__(self, agents: Mapping[str, AgentInfo] | None = None) -> None:
        self._agents = dict(agents or {})

    @classmethod
    def from_entries(cls, entries: Iterable[AgentLike]) -> AgentDirectory:
        return cls(
            {
                agent.login: AgentInfo(
                    agent.login, agent.name, str(agent.extension), frozenset(agent.groups)
                )
                for agent in entries
            }
        )

    def get(self, login: str) -> AgentInfo | None:
        return self._agents.get(login)

    def groups_of(self, login: str) -> frozenset[str]:
        agent = self._agents.get(login)
        return frozenset() if agent is None else agent.groups

    def __len__(self) -> int:
        return len(self._agents)


def read_agents_file(path: Path) -> AgentDirectory:
    """The agents of ``path``; an empty directory when the file does not exist."""
    if not path.exists():
        log.warning("no agents file %s: console users get no group pops", path)
        return AgentDirectory()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise StoreConfigError(f"{path}: {exc}") from exc
    agents: dict[str, AgentInfo] = {}
    for index, entry in enumerate(_agent_list(data, path)):
        login, name, extension, groups = _fields(entry, path, index)
        agents[login] = AgentInfo(login, name, extension, groups)
    return AgentDirectory(agents)


def _agent_list(data: Any, path: Path) -> list[Any]:
    agents = data.get("agents", []) if isinstance(data, dict) else None
    if not isinstance(agents, list):
        raise StoreConfigError(f"{path}: agents must be a list")
    return agents


def _fields(entry: Any, path: Path, index: int) -> tuple[str, str, str, frozenset[str]]:
    where = f"{path}: agents[{index}]"
    if not isinstance(entry, dict) or not isinstance(entry.get("login"), str):
        raise StoreConfigError(f"{where}: an agent needs a login")
    groups = entry.get("groups", [])
    if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
        raise StoreConfigError(f"{where}.groups: a list of group names")
    login = entry["login"]
    return login, str(entry.get("name", login)), str(entry.get("extension", "")), frozenset(groups)
