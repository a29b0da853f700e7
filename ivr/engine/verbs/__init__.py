"""The verbs of the menu language, one module per verb family.

Adding a verb: write its ``VerbModel`` (schema, ``references``, ``runner``) in
a module here and list it in ``VERBS``. The loader and the engine need no
change. Planned next (issue #5): ``transfer`` (``verbs/transfer.py``: emit
``actions.Transfer(line)``, wait for ``events.TransferResult``, check the line
name against ``config/routing.yaml`` at load); issue #3 adds ``gather``,
``queue``, ``hours``, ``language``, ``if`` and ``say_number``.
"""

from __future__ import annotations

from collections.abc import Mapping

from ivr.engine.verbs.base import Reference, VerbModel
from ivr.engine.verbs.control import GotoVerb, HangupVerb, SetVerb
from ivr.engine.verbs.menu import MenuVerb
from ivr.engine.verbs.orders import ORDER_CATEGORIES, CreateOrderVerb
from ivr.engine.verbs.play import PlayVerb, SayDigitsVerb
from ivr.engine.verbs.record import RecordVerb

VERBS: Mapping[str, type[VerbModel]] = {
    verb.verb: verb
    for verb in (
        PlayVerb,
        SayDigitsVerb,
        MenuVerb,
        RecordVerb,
        CreateOrderVerb,
        SetVerb,
        GotoVerb,
        HangupVerb,
    )
}

__all__ = ["ORDER_CATEGORIES", "VERBS", "Reference", "VerbModel"]
