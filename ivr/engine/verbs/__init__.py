"""The verbs of the menu language, one module per verb family.

Adding a verb: write its ``VerbModel`` (schema, ``references``, ``runner``) in
a module here and list it in ``VERBS``. The loader, the JSON Schema
(``ivr.engine.jsonschema``) and the engine need no change.
"""

from __future__ import annotations

from collections.abc import Mapping

from ivr.engine.verbs.base import Reference, VerbModel
from ivr.engine.verbs.conditions import HoursVerb, IfVerb
from ivr.engine.verbs.connect import QueueVerb, TransferVerb
from ivr.engine.verbs.control import GotoVerb, HangupVerb, SetVerb
from ivr.engine.verbs.gather import GatherVerb
from ivr.engine.verbs.language import LanguageVerb
from ivr.engine.verbs.menu import MenuVerb
from ivr.engine.verbs.numbers import SayNumberVerb
from ivr.engine.verbs.orders import ORDER_CATEGORIES, CreateOrderVerb
from ivr.engine.verbs.play import PlayVerb, SayDigitsVerb
from ivr.engine.verbs.record import RecordVerb

VERBS: Mapping[str, type[VerbModel]] = {
    verb.verb: verb
    for verb in (
        PlayVerb,
        SayDigitsVerb,
        SayNumberVerb,
        MenuVerb,
        GatherVerb,
        RecordVerb,
        CreateOrderVerb,
        TransferVerb,
        QueueVerb,
        HoursVerb,
        IfVerb,
        LanguageVerb,
        SetVerb,
        GotoVerb,
        HangupVerb,
    )
}

__all__ = ["ORDER_CATEGORIES", "VERBS", "Reference", "VerbModel"]
