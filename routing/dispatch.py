"""Where an order goes: 属地管理、分级负责、谁主管谁负责.

Pure. The rules, in order:

1. An order *about* a responsible unit (a complaint about a hospital) goes to that unit when
   it handles the order's domain (谁主管谁负责; region-level hospitals hang under the centre,
   so orders about them go straight there).
2. Otherwise the first unit (in ``units.yaml`` order) of the order's region that handles the
   domain; failing that, the same search one region up (a district CDC missing → the city's).
3. Otherwise the sub-centre of the most specific region that has one, which dispatches on.
"""

from __future__ import annotations

from dataclasses import dataclass

from routing.units import TIER_UNIT, OrgTree, Unit, UnitsError, parent_region


class DispatchError(UnitsError):
    """No unit of the tree can take the order."""


@dataclass(frozen=True, slots=True)
class Dispatch:
    unit: str
    #: The sub-centres the order passes (二级 first), for the ledger and the dispatchers.
    via: tuple[str, ...]
    rule: str  # "about_unit" | "region_domain" | "sub_centre"


def choose_unit(
    tree: OrgTree, *, region: str, domain: str, about_unit: str | None = None
) -> Dispatch:
    if about_unit is not None:
        target = tree.unit(about_unit)
        if target.tier == TIER_UNIT and domain in target.domains:
            return _dispatch(tree, target, "about_unit")
    current: str | None = region
    while current is not None:
        for unit in tree:
            if unit.tier == TIER_UNIT and unit.region == current and domain in unit.domains:
                return _dispatch(tree, unit, "region_domain")
        current = parent_region(current)
    current = region
    while current is not None:
        for unit in tree:
            if unit.is_sub_centre and unit.region == current:
                return _dispatch(tree, unit, "sub_centre")
        current = parent_region(current)
    raise DispatchError(f"no unit handles {domain} in {region}")


def _dispatch(tree: OrgTree, unit: Unit, rule: str) -> Dispatch:
    via = tuple(a.id for a in reversed(tree.ancestors(unit.id)) if a.is_sub_centre)
    return Dispatch(unit=unit.id, via=via, rule=rule)
