"""OpenAPI plumbing for bodies parsed by JsonBody, and the app-wide schema customisation."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import TypeAdapter

_REF = "#/components/schemas/{model}"
_components: dict[str, Any] = {}


def register_body_schema(name: str, adapter: TypeAdapter[Any], *, required: bool = True) -> dict[str, Any]:
    schema = adapter.json_schema(ref_template=_REF, mode="validation")
    defs = schema.pop("$defs", {})
    _components.update(defs)
    if schema.get("type") == "object" or "$ref" not in schema:
        _components[name] = schema
        schema = {"$ref": _REF.format(model=name)}
    return {
        "requestBody": {
            "required": required,
            "content": {"application/json": {"schema": schema}},
        }
    }


def install_openapi(app: FastAPI) -> None:
    def custom_openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        spec = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes,
            tags=app.openapi_tags,
        )
        schemas = spec.setdefault("components", {}).setdefault("schemas", {})
        for key, value in _components.items():
            schemas.setdefault(key, value)
        # FastAPI documents a 422 HTTPValidationError that this service never sends.
        for path_item in spec.get("paths", {}).values():
            for op in path_item.values():
                resp = op.get("responses", {}).get("422")
                if resp and "HTTPValidationError" in str(resp):
                    del op["responses"]["422"]
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
        app.openapi_schema = spec
        return spec

    app.openapi = custom_openapi  # type: ignore[method-assign]
