"""Every operation in the OpenAPI document lists the errors it can give, in the error envelope:
401 and 403 where it needs credentials, 404 where the path names an object, 409 for commands (a
conflicting state, or an Idempotency-Key still in use), 422 where it reads anything from the
request. An operation that words one of its errors itself keeps its wording."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic.json_schema import models_json_schema

from backend.core.schemas import ERROR_MEANINGS, ErrorOut

COMMAND_METHODS = frozenset({"post", "put", "patch", "delete"})
_ENVELOPE = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}


def codes_for(path: str, method: str, operation: dict[str, Any]) -> list[int]:
    codes = []
    if operation.get("security"):
        codes += [401, 403]
    if "{" in path:
        codes.append(404)
    if method in COMMAND_METHODS:
        codes.append(409)
    if operation.get("parameters") or operation.get("requestBody"):
        codes.append(422)
    return sorted(codes)


def _with_envelope(schema: dict[str, Any]) -> None:
    _, definitions = models_json_schema(
        [(ErrorOut, "serialization")], ref_template="#/components/schemas/{model}"
    )
    schemas = schema.setdefault("components", {}).setdefault("schemas", {})
    for name, definition in definitions.get("$defs", {}).items():
        schemas.setdefault(name, definition)
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)


def document_errors(app: FastAPI) -> None:
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = generate()
        _with_envelope(schema)
        for path, operations in schema.get("paths", {}).items():
            for method, operation in operations.items():
                responses = operation.setdefault("responses", {})
                for code in codes_for(path, method, operation):
                    given = responses.get(str(code))
                    if given is None or "HTTPValidationError" in str(given):
                        responses[str(code)] = {"description": ERROR_MEANINGS[code], "content": _ENVELOPE}
        # What a receiver answers our webhooks with is its own business: only the 2xx is documented
        # (FastAPI's 422 there would point at the validation schema removed above).
        for operations in schema.get("webhooks", {}).values():
            for operation in operations.values():
                operation.get("responses", {}).pop("422", None)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
