"""The organisation tree of config/units.yaml and dispatch by 属地管理 + domain."""

from __future__ import annotations

from pathlib import Path

import pytest

from routing.dispatch import Dispatch, DispatchError, choose_unit
from routing.units import OrgTree, UnitsError, load_units, parse_units

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def tree() -> OrgTree:
    return load_units(REPO / "config/units.yaml")


def test_the_sample_has_every_tier_and_liaisons(tree: OrgTree) -> None:
    tiers = {unit.tier for unit in tree}
    assert tiers == {"centre", "city", "county", "unit"}
    assert tree.centre.id == "nm-centre"
    assert all(unit.liaison for unit in tree if unit.tier == "unit")
    assert [u.id for u in tree.ancestors("saihan-cdc")] == ["saihan", "hhht", "nm-centre"]


def test_subtree_and_within(tree: OrgTree) -> None:
    assert tree.subtree("saihan") == {
        "saihan",
        "saihan-hospital",
        "saihan-cdc",
        "saihan-supervision",
    }
    assert tree.is_within("saihan-cdc", "hhht")
    assert not tree.is_within("baotou-cdc", "hhht")
    assert not tree.is_within("hhht", "saihan")


@pytest.mark.parametrize(
    ("region", "domain", "about", "expected"),
    [
        # A district CDC exists: it gets the district's infectious-disease reports.
        ("内蒙古/呼和浩特/赛罕区", "infectious_disease", None,
         Dispatch("saihan-cdc", ("hhht", "saihan"), "region_domain")),
        # No district unit for food safety in 新城区: one region up, the city's enforcement.
        ("内蒙古/呼和浩特/新城区", "food_safety", None,
         Dispatch("hhht-supervision", ("hhht",), "region_domain")),
        # A complaint about the region-level hospital goes straight to it.
        ("内蒙古/包头/昆都仑区", "medical_service", "nm-people-hospital",
         Dispatch("nm-people-hospital", (), "about_unit")),
        # About a CDC, but the matter is fees: the CDC does not handle fees → by region.
        ("内蒙古/包头", "medical_fees", "baotou-cdc",
         Dispatch("baotou-central-hospital", ("baotou",), "region_domain")),
        # Nobody in 锡林浩特 handles occupational poisoning, nor the league: the region CDC.
        ("内蒙古/锡林郭勒盟/锡林浩特市", "occupational_poisoning", None,
         Dispatch("nm-cdc", (), "region_domain")),
        # Only the centre-level "other": the most specific sub-centre coordinates.
        ("内蒙古/包头/昆都仑区", "other", None, Dispatch("kundulun", ("baotou",), "sub_centre")),
    ],
)  # fmt: skip
def test_dispatch_rules(
    tree: OrgTree, region: str, domain: str, about: str | None, expected: Dispatch
) -> None:
    assert choose_unit(tree, region=region, domain=domain, about_unit=about) == expected


def test_dispatch_outside_the_tree_fails(tree: OrgTree) -> None:
    with pytest.raises(DispatchError):
        choose_unit(tree, region="广东/广州", domain="other")


@pytest.mark.parametrize(
    ("units", "message"),
    [
        ([], "exactly one unit must have tier centre"),
        ([{"id": "c", "name": "C", "tier": "centre", "region": "r"},
          {"id": "u", "name": "U", "tier": "unit", "region": "r", "parent": "x"}],
         "parent 'x' is not a unit"),
        ([{"id": "c", "name": "C", "tier": "centre", "region": "r"},
          {"id": "u", "name": "U", "tier": "unit", "region": "elsewhere", "parent": "c"}],
         "outside its parent"),
        ([{"id": "c", "name": "C", "tier": "centre", "region": "r"},
          {"id": "u", "name": "U", "tier": "unit", "region": "r", "parent": "c",
           "domains": ["astrology"]}],
         "domains must be"),
        ([{"id": "c", "name": "C", "tier": "centre", "region": "r"},
          {"id": "c", "name": "C", "tier": "city", "region": "r", "parent": "c"}],
         "duplicate id"),
    ],
)  # fmt: skip
def test_bad_units_are_refused(units: list[dict[str, object]], message: str) -> None:
    with pytest.raises(UnitsError, match=message):
        parse_units({"units": units})


def test_a_broken_units_file_names_file_line_column(tmp_path: Path) -> None:
    broken = tmp_path / "units.yaml"
    text = (REPO / "config/units.yaml").read_text(encoding="utf-8")
    broken.write_text(text.replace("tier: city", "tierr: city", 1), encoding="utf-8")
    with pytest.raises(UnitsError) as caught:
        load_units(broken)
    assert str(caught.value) == (
        f"{broken}:32:37 units[4].tierr: unknown key(s) tierr (did you mean 'tier'?)"
    )
    broken.write_text(text.replace("parent: nm-centre", "parent: nm-center", 1), encoding="utf-8")
    with pytest.raises(UnitsError, match=r"units\.yaml:20:\d+ units\[1\]\.parent: nm-people"):
        load_units(broken)
