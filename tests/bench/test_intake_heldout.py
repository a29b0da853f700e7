"""The held-out intake evaluation set is frozen: its files match the hashes committed with it.

Not an accuracy test (the held-out figures are a benchmark, ``bench/README.md``): this only
guards against the set being edited to suit the classifier."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.unit

HELDOUT = Path(__file__).resolve().parents[2] / "bench" / "intake_eval" / "heldout"
LINES = {None, "medical_120", "police_110", "fire_119", "traffic_122", "public_health_duty"}


def _sums() -> dict[str, str]:
    pairs = (line.split() for line in (HELDOUT / "SHA256SUMS").read_text().splitlines())
    return {name: digest for digest, name in pairs}


def test_the_heldout_files_match_their_committed_hashes() -> None:
    sums = _sums()
    assert sorted(sums) == [f"{v}-{part}.yaml" for v in ("set", "v2", "v3") for part in "ab"]
    for name, digest in sums.items():
        assert hashlib.sha256((HELDOUT / name).read_bytes()).hexdigest() == digest, name


def test_the_heldout_sets_are_well_formed() -> None:
    for name in _sums():
        cases = yaml.safe_load((HELDOUT / name).read_text(encoding="utf-8"))
        assert all(set(c) == {"text", "line", "category", "domain", "kind"} for c in cases)
        assert all(c["line"] in LINES for c in cases)
        assert len({c["text"] for c in cases}) == len(cases)
