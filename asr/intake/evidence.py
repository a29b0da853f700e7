"""What a classification keeps: its labels and the evidence behind each of them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Evidence:
    kind: str
    """``emergency`` (a cue word), ``frame``, ``acute``, ``suppressor`` (calm, complaint,
    story, not_urgent: subtracted from every line), ``negated``, ``suppressed`` (a cue that
    a past, mild, hypothetical or resolved marker cancelled), ``time``, ``category`` and
    ``domain`` (the model's top features; weight = contribution × 100), ``menu``."""
    label: str
    word: str
    weight: int

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "label": self.label, "word": self.word, "weight": self.weight}


@dataclass(frozen=True)
class IntakeResult:
    category: str
    domain: str
    emergency_line: str | None
    """Sure: the IVR transfers the caller to this line at once."""
    evidence: tuple[Evidence, ...]
    scores: Mapping[str, float] = field(default_factory=dict)
    confirm_line: str | None = None
    """Real but not sure: the IVR asks once ("是否需要立即转接120？按1转接"). Never set
    together with ``emergency_line``."""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form with the scores (``hotline classify --json``)."""
        return {**self.for_order(), "scores": dict(self.scores)}

    def for_order(self) -> dict[str, Any]:
        """What the order keeps (``PUT …/transcript``'s ``classification``)."""
        return {
            "category": self.category,
            "domain": self.domain,
            "emergency_line": self.emergency_line,
            "confirm_line": self.confirm_line,
            "evidence": [e.as_dict() for e in self.evidence],
        }
