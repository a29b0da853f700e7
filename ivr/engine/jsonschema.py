"""A JSON Schema of the menu language, generated from the verbs' pydantic models.

``hotline schema`` prints it; ``config/menus/menu.schema.json`` is the shipped
copy (a test keeps it equal to the generated one) that YAML editors use via
``# yaml-language-server: $schema=menu.schema.json``. The loader stays the
authority (it also checks references); the schema is for completion and
early feedback in the editor.
"""

from __future__ import annotations

import json
from typing import Any

from ivr.engine.schema import MenuDocument
from ivr.engine.verbs import VERBS, VerbModel

SCHEMA_ID = "https://12320.example.invalid/schemas/menu.schema.json"
_REF = "#/$defs/{model}"


def _required(verb: type[VerbModel]) -> bool:
    return any(field.is_required() for field in verb.model_fields.values())


def _verb_schema(verb: type[VerbModel], defs: dict[str, Any]) -> dict[str, Any]:
    schema = verb.model_json_schema(ref_template=_REF)
    defs.update(schema.pop("$defs", {}))
    schema.setdefault("description", (verb.__doc__ or "").strip())
    name = verb.__name__
    defs[name] = schema
    options: list[dict[str, Any]] = [{"$ref": _REF.format(model=name)}]
    if verb.shorthand is not None:
        field = schema["properties"][verb.shorthand]
        if verb.verb == "set":
            options = [field]
        else:
            shorthand = {key: value for key, value in field.items() if key != "default"}
            options.append(shorthand)
    if not _required(verb):
        options.append({"type": "null"})
    argument = options[0] if len(options) == 1 else {"anyOf": options}
    return {
        "type": "object",
        "title": verb.verb,
        "properties": {verb.verb: argument},
        "required": [verb.verb],
        "additionalProperties": False,
    }


def menu_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a menu file."""
    defs: dict[str, Any] = {}
    verbs: list[dict[str, Any]] = [_verb_schema(verb, defs) for verb in VERBS.values()]
    bare = sorted(name for name, verb in VERBS.items() if not _required(verb))
    verbs.append({"type": "string", "enum": bare, "description": "a verb without arguments"})
    top = MenuDocument.model_json_schema(ref_template=_REF)
    defs.update(top.pop("$defs", {}))
    top["properties"]["flows"]["additionalProperties"]["items"] = {"$ref": "#/$defs/Verb"}
    defs["Verb"] = {"oneOf": verbs}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **top,
        "title": "12320 hotline menu",
        "$defs": dict(sorted(defs.items())),
    }


def menu_schema_text() -> str:
    """The schema as the shipped file holds it (stable key order, trailing newline)."""
    return json.dumps(menu_schema(), ensure_ascii=False, indent=2) + "\n"
