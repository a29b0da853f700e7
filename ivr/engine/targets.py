"""``config/routing.yaml``: the named lines and agent groups ``transfer``/``queue`` may use.

Only names, SIP targets and ring timeouts, as data: the menu loader checks
references against the names; the emergency (#5) and agent (#6) issues add
the behaviour.

```yaml
lines:
  public_health_duty: {targets: ["sip:8001", "sip:8002"], ring_seconds: 30,
                       fallback_group: emergency_agents, label: 公共卫生值班}
groups:
  emergency_agents: {members: ["sip:1001@10.0.0.6"], ring_seconds: 20, label: 应急坐席}
```
A target without a host (``sip:8001``) is that user at the node's edge proxy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    ValidationError,
    field_validator,
)

from ivr.engine.errors import FlowError
from ivr.engine.verbs.base import check_name
from settings.located import read_located

Name = Annotated[str, AfterValidator(check_name)]
SipUri = Annotated[str, Field(pattern=r"^sips?:[^\s]+$")]
RingSeconds = Annotated[float, Strict()]


class Line(BaseModel):
    """A dedicated line (e.g. 120 or the public-health duty officer).

    ``targets`` are tried in order, each for ``ring_seconds``; when none answers, the
    call is queued for the agent group ``fallback_group`` at the ACD (``ivr/queueing.py``),
    and only when that cannot be done are the group's ``members`` here tried in order.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    targets: tuple[SipUri, ...]
    ring_seconds: RingSeconds = Field(30.0, gt=0, le=300)
    fallback_group: Name | None = None
    label: str = ""

    @field_validator("targets")
    @classmethod
    def _some_target(cls, targets: tuple[str, ...]) -> tuple[str, ...]:
        if not targets:  # after the items (a bad URI is reported as itself, not as "empty")
            raise ValueError("a line needs at least one target")
        return targets


class AgentGroup(BaseModel):
    """Phones rung directly when the ACD (``config/agents.yaml``) cannot take a line's call."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    members: tuple[SipUri, ...] = Field(min_length=1)
    ring_seconds: RingSeconds = Field(20.0, gt=0, le=300)
    label: str = ""


class RoutingFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    lines: dict[Name, Line] = Field(default_factory=dict)
    groups: dict[Name, AgentGroup] = Field(default_factory=dict)


@dataclass(frozen=True)
class Targets:
    source: Path | None
    lines: Mapping[str, Line]
    groups: Mapping[str, AgentGroup]


NO_TARGETS = Targets(None, {}, {})


def load_targets(path: Path) -> Targets:
    """Read and validate ``routing.yaml``; ``FlowError`` with file:line:col on failure."""
    _, located = read_located(path, "routing", FlowError)
    document = located.document
    try:
        parsed = RoutingFile.model_validate(document.data if document.data is not None else {})
    except ValidationError as error:
        fields = [*RoutingFile.model_fields, *Line.model_fields, *AgentGroup.model_fields]
        raise FlowError(located.validation_problems(error, fields=fields)) from error
    for name, line in parsed.lines.items():
        if line.fallback_group is not None and line.fallback_group not in parsed.groups:
            problem = located.problem(
                ("lines", name, "fallback_group"), f"unknown group {line.fallback_group!r}"
            )
            raise FlowError([problem])
    return Targets(path, parsed.lines, parsed.groups)
