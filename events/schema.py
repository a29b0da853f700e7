"""The JSON Schema of every event on MQTT, generated from ``events.payloads``. Pure.

``docs/events.schema.json`` is this document (a test keeps the two equal)::

    hotline events schema > docs/events.schema.json

One document, ``oneOf`` by type; each type's definition also names its topic pattern
(``x-topic``), QoS (``x-qos``) and producer (``x-producer``): annotations that validators
ignore and readers need. Every field is required (no model field has a default; ``None`` goes
out as ``null``), and nested models are written inline: a reader finds a type's whole
shape under ``$defs/<type>``.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import CoreSchema

from events.payloads import EVENT_KINDS, EventKind

#: Where the generated document is kept, relative to the repository root.
SCHEMA_PATH = "docs/events.schema.json"
DIALECT = "https://json-schema.org/draft/2020-12/schema"


class _WireSchema(GenerateJsonSchema):
    """Pydantic's schema without the field titles it makes up from the names."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False

    def generate(self, schema: CoreSchema, mode: Any = "validation") -> JsonSchemaValue:
        document = super().generate(schema, mode)
        document.pop("$schema", None)
        return document


def _inline(node: Any, definitions: dict[str, Any]) -> Any:
    """``node`` with every ``$ref`` to ``definitions`` replaced by the definition itself."""
    if isinstance(node, dict):
        reference = node.get("$ref")
        if isinstance(reference, str):
            return _inline(definitions[reference.rsplit("/", 1)[-1]], definitions)
        return {key: _inline(value, definitions) for key, value in node.items()}
    if isinstance(node, list):
        return [_inline(item, definitions) for item in node]
    return node


_CODE_ONLY = ("title", "description")


def _untitled(model_schema: dict[str, Any]) -> dict[str, Any]:
    """A model's schema without its class name and docstring (code, not contract)."""
    return {key: value for key, value in model_schema.items() if key not in _CODE_ONLY}


def model_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The JSON Schema (2020-12) of ``model`` on the wire, nested models inline."""
    generated = model.model_json_schema(schema_generator=_WireSchema, mode="serialization")
    definitions = {name: _untitled(body) for name, body in generated.pop("$defs", {}).items()}
    return _inline(_untitled(generated), definitions)  # type: ignore[no-any-return]


def payload_schema(kind: EventKind) -> dict[str, Any]:
    """The JSON Schema of the payload of ``kind`` (the OpenAPI document repeats some)."""
    schema = model_schema(kind.model)["properties"]["payload"]
    assert isinstance(schema, dict)
    return schema


def _definition(kind: EventKind) -> dict[str, Any]:
    return {
        "description": kind.description,
        "x-topic": kind.topic,
        "x-qos": kind.qos,
        "x-producer": kind.producer,
        **model_schema(kind.model),
    }


def events_schema() -> dict[str, Any]:
    """JSON Schema (2020-12) of any hotline event; ``$defs`` holds one definition per type."""
    return {
        "$schema": DIALECT,
        "title": "12320 hotline events on MQTT",
        "description": (
            "UTF-8 JSON published under hotline/. Delivery is at least once: consumers drop "
            "duplicates by id. See docs/events.md."
        ),
        "oneOf": [{"$ref": f"#/$defs/{kind.type}"} for kind in EVENT_KINDS],
        "$defs": {kind.type: _definition(kind) for kind in EVENT_KINDS},
    }


def events_schema_text() -> str:
    return json.dumps(events_schema(), ensure_ascii=False, indent=2) + "\n"


def main() -> int:
    sys.stdout.write(events_schema_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
