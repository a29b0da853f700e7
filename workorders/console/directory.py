"""What the console knows of each agent from ``config/agents.yaml``: name, extension, groups.

The ACD owns that file and its loader (``routing.agents``); ``AgentDirectory.from_entries``
takes anything with ``login``, ``name``, ``extension`` and ``groups`` (the loader's
``AgentConfig``s). A login missing from the file has no groups: it gets no group pops.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol


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
