"""Who sees which orders, and how much of the caller's identity (pure).

* Centre roles (no unit, or the centre's unit) see every order with the full identity; each
  such read of an order's identity is audited by the caller of ``identity_view``.
* Sub-centre and unit roles see only orders whose handling unit lies within their own unit,
  with the identity masked (``138****8000``).
* A 保密 (confidential) order hides the identity from everyone outside the centre, and the
  unit a complaint is about (or any of its sub-units) never sees the complainant's identity.

``order_view`` is the one policy function; every read path goes through it or a rule derived
from it: the order's JSON (``present``: identity fields, the repeat-caller link, the SIP call
id, and the transcript with the complainant's name, numbers and address and any phone-number
run redacted), ledger entries (``present_entry``: repeat links), searches on identity
(``may_search_identity``: only where every match would be shown in full), recordings (only a
``FULL`` view plays them) and 督办 lists (``visible_units``). The callers audit every read
whose view is ``FULL``.
"""

from __future__ import annotations

import enum
import re
from typing import Any, Protocol

from routing.units import OrgTree
from workorders.fields import mask_phone
from workorders.tokens import UNIT_ROLES, Principal


class IdentityView(enum.StrEnum):
    FULL = "full"
    MASKED = "masked"
    HIDDEN = "hidden"


#: The fields of an order's JSON that identify the caller. ``repeat_of`` links the order to
#: the caller's earlier one (the same number), ``call_id`` is a SIP Call-ID (often the caller's
#: host); both are identity as much as the number itself.
IDENTITY_FIELDS = (
    "caller_number",
    "caller_name",
    "callback_number",
    "address",
    "recording",
    "repeat_of",
    "call_id",
)
REDACTED = "＊＊＊"
#: Digits as a transcript spells them (Vosk writes Chinese numerals; 幺 is "one" in numbers).
_DIGIT = "0-9０-９〇零一二三四五六七八九幺"
#: Seven or more digits, spaces or dashes between them allowed: a phone or ID number.
_NUMBER_RUN = re.compile(rf"[{_DIGIT}](?:[\s\-－]*[{_DIGIT}]){{6,}}")


class ReadableOrder(Protocol):
    """What the policy needs of an order (``workorders.model.WorkOrder`` has it)."""

    @property
    def confidential(self) -> bool: ...

    @property
    def about_unit(self) -> str | None: ...


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


def order_view(principal: Principal, tree: OrgTree, order: ReadableOrder) -> IdentityView:
    """How much of ``order``'s complainant ``principal`` may see: the one policy function."""
    return identity_view(
        principal, tree, confidential=order.confidential, about_unit=order.about_unit
    )


def may_search_identity(principal: Principal, tree: OrgTree) -> bool:
    """Whether ``principal`` may filter orders by the caller's number (``?caller=``): only if
    even the least protected order would be shown to them in full — otherwise a search would
    tell a unit who complained, masking or not."""
    view = identity_view(principal, tree, confidential=False, about_unit=None)
    return view is IdentityView.FULL


def may_play_recording(view: IdentityView) -> bool:
    """The caller's voice is their identity: only a ``FULL`` view plays the recording."""
    return view is IdentityView.FULL


def redact_transcript(text: str, identity: list[str | None]) -> str:
    """``text`` without the complainant's ``identity`` strings (name, numbers, address) and
    without any run of seven or more digits (a phone or ID number, also in Chinese numerals)."""
    for value in sorted((v for v in identity if v and len(v.strip()) >= 2), key=len, reverse=True):
        text = text.replace(value, REDACTED)
    return _NUMBER_RUN.sub(REDACTED, text)


def present_entry(entry: dict[str, Any], view: IdentityView) -> dict[str, Any]:
    """A ledger entry's JSON as ``view`` allows: a repeat-caller link names the caller's other
    order, so only a ``FULL`` view keeps it."""
    data = entry.get("data")
    if view is IdentityView.FULL or not isinstance(data, dict) or "repeat_of" not in data:
        return entry
    return {**entry, "data": {**data, "repeat_of": None}}


def mask_name(name: str) -> str:
    """``张三丰`` → ``张**``."""
    return name[:1] + "*" * (len(name) - 1) if name else name


def present(order: dict[str, Any], view: IdentityView) -> dict[str, Any]:
    """``order`` (an order's JSON) with the identity fields as ``view`` allows."""
    shown = dict(order)
    shown["identity"] = view.value
    if view is IdentityView.FULL:
        return shown
    description = shown.get("description")
    if isinstance(description, str):
        identity = [shown.get(name) for name in IDENTITY_FIELDS if name != "recording"]
        shown["description"] = redact_transcript(description, identity)
    for name in IDENTITY_FIELDS:
        value = shown.get(name)
        if view is IdentityView.HIDDEN or value is None:
            shown[name] = None
        elif name in ("caller_number", "callback_number"):
            shown[name] = mask_phone(value)
        elif name == "caller_name":
            shown[name] = mask_name(value)
        elif name == "address":
            shown[name] = "***"
        else:
            shown[name] = None  # recording, repeat_of, call_id
    return shown
