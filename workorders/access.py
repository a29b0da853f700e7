"""Who sees which orders, and how much of the caller's identity (pure).

* Centre roles (no unit, or the centre's unit) see every order with the full identity; each
  such read of an order's identity is audited by the caller of ``identity_view``.
* Sub-centre and unit roles see only orders whose handling unit lies within their own unit,
  with the identity masked (``138****8000``).
* A 保密 (confidential) order hides the identity from everyone outside the centre, and the
  unit a complaint is about (or any of its sub-units) never sees the complainant's identity.
"""

from __future__ import annotations

import enum
from typing import Any

from routing.units import OrgTree
from workorders.model import mask_phone
from workorders.tokens import UNIT_ROLES, Principal


class IdentityView(enum.StrEnum):
    FULL = "full"
    MASKED = "masked"
    HIDDEN = "hidden"


#: The fields of an order's JSON that identify the caller.
IDENTITY_FIELDS = ("caller_number", "caller_name", "callback_number", "address", "recording")


def is_centre(principal: Principal, tree: OrgTree) -> bool:
    if principal.role in UNIT_ROLES:
        return False
    return principal.unit is None or tree.is_centre(principal.unit)


def visible_units(principal: Principal, tree: OrgTree) -> frozenset[str] | None:
    """The handling units whose orders ``principal`` may read; ``None`` means all orders."""
    if is_centre(principal, tree):
        return None
    if principal.unit is None or principal.unit not in tree:
        return frozenset()
    return tree.subtree(principal.unit)


def can_read(principal: Principal, tree: OrgTree, handling_unit: str | None) -> bool:
    units = visible_units(principal, tree)
    return units is None or (handling_unit is not None and handling_unit in units)


def identity_view(
    principal: Principal, tree: OrgTree, *, confidential: bool, about_unit: str | None
) -> IdentityView:
    if is_centre(principal, tree):
        return IdentityView.FULL
    own = principal.unit
    if confidential or (
        about_unit is not None and own is not None and tree.is_within(own, about_unit)
    ):
        return IdentityView.HIDDEN
    return IdentityView.MASKED


def mask_name(name: str) -> str:
    """``张三丰`` → ``张**``."""
    return name[:1] + "*" * (len(name) - 1) if name else name


def present(order: dict[str, Any], view: IdentityView) -> dict[str, Any]:
    """``order`` (an order's JSON) with the identity fields as ``view`` allows."""
    shown = dict(order)
    shown["identity"] = view.value
    if view is IdentityView.FULL:
        return shown
    for name in IDENTITY_FIELDS:
        value = shown.get(name)
        if view is IdentityView.HIDDEN or value is None:
            shown[name] = None
        elif name in ("caller_number", "callback_number"):
            shown[name] = mask_phone(value)
        elif name == "caller_name":
            shown[name] = mask_name(value)
        else:
            shown[name] = None if name == "recording" else "***"
    return shown
