"""A small OpenAPI generator: component schemas from pydantic models, and operations from a
few facts (body model, responses, errors) instead of hand-written nested dicts.

Not a framework: routes stay in ``app.ROUTES``; this only writes their description.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

REF = "#/components/schemas/{model}"


def ref(name: str | type[BaseModel]) -> dict[str, str]:
    return {"$ref": REF.format(model=name if isinstance(name, str) else name.__name__)}


def component_schemas(models: tuple[type[BaseModel], ...]) -> dict[str, Any]:
    """JSON Schemas of ``models`` and of the models they use, by class name, without
    pydantic's ``title`` keywords (the names say it)."""
    _, top = models_json_schema([(model, "validation") for model in models], ref_template=REF)
    return {name: _untitled(schema) for name, schema in top.get("$defs", {}).items()}


def _untitled(schema: Any) -> Any:
    """``schema`` without ``title`` keywords, and ``allOf: [{$ref}]`` written as the ``$ref``
    (OpenAPI 3.1 allows siblings of ``$ref``)."""
    if isinstance(schema, list):
        return [_untitled(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    wrapped = schema.get("allOf")
    if isinstance(wrapped, list) and len(wrapped) == 1 and set(wrapped[0]) == {"$ref"}:
        schema = {**{k: v for k, v in schema.items() if k != "allOf"}, **wrapped[0]}
    out = {}
    for key, value in schema.items():
        if key == "title":
            continue
        if key in ("properties", "$defs"):
            out[key] = {name: _untitled(sub) for name, sub in value.items()}
        else:
            out[key] = _untitled(value)
    return out


def json_content(schema: dict[str, Any] | type[BaseModel], description: str) -> dict[str, Any]:
    body = ref(schema) if isinstance(schema, type) else schema
    return {"description": description, "content": {"application/json": {"schema": body}}}


def error(description: str) -> dict[str, Any]:
    return {"$ref": "#/components/responses/Error", "description": description}


def operation(
    operation_id: str,
    summary: str,
    *,
    responses: dict[str, tuple[dict[str, Any] | type[BaseModel], str]],
    errors: dict[str, str],
    body: type[BaseModel] | str | None = None,
    parameters: list[dict[str, Any]] | None = None,
    description: str | None = None,
    public: bool = False,
) -> dict[str, Any]:
    """One operation object: ``body`` the request body's model (or component name),
    ``responses`` maps a status to (schema or model, description), ``errors`` a status to the
    description of its ``Error`` response."""
    result: dict[str, Any] = {"operationId": operation_id, "summary": summary}
    if description is not None:
        result["description"] = description
    if public:
        result["security"] = []
    if parameters:
        result["parameters"] = parameters
    if body is not None:
        result["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": ref(body)}},
        }
    result["responses"] = {
        **{status: json_content(schema, text) for status, (schema, text) in responses.items()},
        **{status: error(text) for status, text in errors.items()},
    }
    return result
