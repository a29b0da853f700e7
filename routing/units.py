"""The organisation tree of the hotline (一级受理，分级办理) and its YAML form.

Tiers: the region call centre (``centre``) → city/league sub-centres (``city``, 二级) →
county/banner sub-centres (``county``, 三级) → responsible units (``unit``: hospitals,
CDCs, health supervision), each with a liaison officer (联络员). Every node has a region
(a ``/``-separated path such as ``内蒙古/呼和浩特/赛罕区``) and the domains it handles.

Pure: ``parse_units`` takes the already-loaded YAML data; ``load_units`` only reads the file
(through ``settings.located``, so every error names ``file:line:col``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from routing.errors import RoutingError
from settings.located import AtPath, Located, describe, raising, read_located, refuse_unknown

TIER_CENTRE = "centre"
TIER_CITY = "city"
TIER_COUNTY = "county"
TIER_UNIT = "unit"
TIERS = (TIER_CENTRE, TIER_CITY, TIER_COUNTY, TIER_UNIT)
SUB_CENTRE_TIERS = (TIER_CITY, TIER_COUNTY)

#: Domains of the seed study's complaint taxonomy plus the public-health report kinds: the one
#: vocabulary of units (``config/units.yaml``), dispatch, the lifecycle and intake
#: classification (``config/intake.yaml``; ``hotline check-config`` checks both files).
DOMAIN_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "medical_service": "医疗服务",
        "hospital_management": "医院管理",
        "medical_fees": "医疗收费",
        "medical_quality": "医疗质量",
        "prevention": "预防保健",
        "infectious_disease": "传染病",
        "food_safety": "食品安全",
        "occupational_poisoning": "职业中毒",
        "health_supervision": "卫生监督",
        "medical_ethics": "医德医风",
        "other": "其它",
    }
)


class UnitsError(RoutingError):
    """``units.yaml`` is invalid, or a unit id is unknown."""


@dataclass(frozen=True, slots=True)
class Unit:
    id: str
    name: str
    tier: str
    parent: str | None
    region: str
    domains: frozenset[str]
    liaison: str | None = None

    @property
    def is_sub_centre(self) -> bool:
        return self.tier in SUB_CENTRE_TIERS


def region_contains(outer: str, inner: str) -> bool:
    """Whether region path ``inner`` lies within ``outer`` (or is it)."""
    return inner == outer or inner.startswith(outer + "/")


def parent_region(region: str) -> str | None:
    head, sep, _ = region.rpartition("/")
    return head if sep else None


@dataclass(frozen=True)
class OrgTree:
    """The units by id, in the order the configuration lists them."""

    units: Mapping[str, Unit]

    @property
    def centre(self) -> Unit:
        return next(unit for unit in self.units.values() if unit.tier == TIER_CENTRE)

    def unit(self, unit_id: str) -> Unit:
        try:
            return self.units[unit_id]
        except KeyError:
            raise UnitsError(f"unknown unit {unit_id!r}") from None

    def __contains__(self, unit_id: object) -> bool:
        return unit_id in self.units

    def __iter__(self) -> Iterator[Unit]:
        return iter(self.units.values())

    def ancestors(self, unit_id: str) -> tuple[Unit, ...]:
        """Parent first, the centre last."""
        chain: list[Unit] = []
        parent = self.unit(unit_id).parent
        while parent is not None:
            unit = self.unit(parent)
            chain.append(unit)
            parent = unit.parent
        return tuple(chain)

    def is_within(self, unit_id: str, ancestor_id: str) -> bool:
        """Whether ``unit_id`` is ``ancestor_id`` or one of its sub-units."""
        if unit_id == ancestor_id:
            return True
        return unit_id in self.units and any(u.id == ancestor_id for u in self.ancestors(unit_id))

    def subtree(self, unit_id: str) -> frozenset[str]:
        self.unit(unit_id)
        return frozenset(u.id for u in self if self.is_within(u.id, unit_id))

    def is_centre(self, unit_id: str | None) -> bool:
        return (
            unit_id is not None
            and unit_id in self.units
            and self.units[unit_id].tier == (TIER_CENTRE)
        )


def parse_units(
    data: object, *, source: str = "units.yaml", located: Located | None = None
) -> OrgTree:
    """Validate ``{"units": [{id, name, tier, parent, region, domains, liaison}, …]}``;
    ``located`` (from ``load_units``) puts file:line:col on the error."""
    try:
        return _parse(data)
    except AtPath as exc:
        raise UnitsError(describe(exc, source, located)) from exc


def load_units(path: Path) -> OrgTree:
    _, located = read_located(path, "units", raising(UnitsError))
    return parse_units(located.document.data, source=str(path), located=located)


def _parse(data: object) -> OrgTree:
    if not isinstance(data, dict) or set(data) != {"units"} or not isinstance(data["units"], list):
        raise AtPath((), "expected a mapping with one key `units:` holding a list")
    units: dict[str, Unit] = {}
    index_of: dict[str, int] = {}
    for index, entry in enumerate(data["units"]):
        unit = _unit(entry, ("units", index))
        if unit.id in units:
            raise AtPath(("units", index, "id"), f"duplicate id {unit.id!r}")
        units[unit.id] = unit
        index_of[unit.id] = index
    centres = [u for u in units.values() if u.tier == TIER_CENTRE]
    if len(centres) != 1:
        raise AtPath(("units",), "exactly one unit must have tier centre")
    for unit in units.values():
        _check_parent(unit, units, ("units", index_of[unit.id]))
    return OrgTree(MappingProxyType(units))


_KEYS = {"id", "name", "tier", "parent", "region", "domains", "liaison"}


def _unit(entry: object, where: tuple[str | int, ...]) -> Unit:
    if not isinstance(entry, dict):
        raise AtPath(where, "expected a mapping")
    refuse_unknown(entry, _KEYS, where)
    for key in ("id", "name", "tier", "region"):
        if not isinstance(entry.get(key), str) or not entry[key]:
            raise AtPath((*where, key), f"`{key}` must be a non-empty string")
    if entry["tier"] not in TIERS:
        raise AtPath((*where, "tier"), f"tier {entry['tier']!r} is not one of {', '.join(TIERS)}")
    domains = entry.get("domains") or []
    if not isinstance(domains, list) or not all(d in DOMAIN_LABELS for d in domains):
        raise AtPath((*where, "domains"), f"domains must be a list of {', '.join(DOMAIN_LABELS)}")
    parent = entry.get("parent")
    liaison = entry.get("liaison")
    if parent is not None and not isinstance(parent, str):
        raise AtPath((*where, "parent"), "parent must be a unit id")
    if liaison is not None and not isinstance(liaison, str):
        raise AtPath((*where, "liaison"), "liaison must be a string")
    return Unit(
        id=entry["id"],
        name=entry["name"],
        tier=entry["tier"],
        parent=parent,
        region=entry["region"],
        domains=frozenset(domains),
        liaison=liaison,
    )


def _check_parent(unit: Unit, units: Mapping[str, Unit], where: tuple[str | int, ...]) -> None:
    at = (*where, "parent")
    if unit.tier == TIER_CENTRE:
        if unit.parent is not None:
            raise AtPath(at, f"{unit.id}: the centre has no parent")
        return
    if unit.parent is None or unit.parent not in units:
        raise AtPath(at, f"{unit.id}: parent {unit.parent!r} is not a unit")
    parent = units[unit.parent]
    if TIERS.index(parent.tier) >= TIERS.index(unit.tier) and unit.tier != TIER_UNIT:
        raise AtPath(at, f"{unit.id}: a {unit.tier} cannot sit under a {parent.tier}")
    if parent.tier == TIER_UNIT:
        raise AtPath(at, f"{unit.id}: units cannot have sub-units")
    if not region_contains(parent.region, unit.region):
        raise AtPath(
            (*where, "region"),
            f"{unit.id}: region {unit.region} is outside its parent's {parent.region}",
        )
