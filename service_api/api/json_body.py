"""Large JSON request bodies read in one pass of pydantic-core.

FastAPI parses a body with ``json.loads`` and then validates the Python objects; for a
batch of thousands of records that is two walks over the data and a dict per record in
between. :func:`json_body` reads the bytes straight into the model
(``model_validate_json``), with the same errors (422 problem details whose locations start
at ``body``) and the same OpenAPI request body (:func:`add_schemas` puts the model in the
document's components).
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

_MODELS: dict[str, type[BaseModel]] = {}  # models read by json_body, by schema name
_REF = "#/components/schemas/{model}"
M = TypeVar("M", bound=BaseModel)


def json_body(model: type[M]) -> Any:
    """``data: json_body(Model)`` in an endpoint's signature: the request body as
    ``Model``, read from its bytes by pydantic-core."""

    async def read(request: Request) -> M:
        raw = await request.body()
        try:
            return model.model_validate_json(raw)
        except ValidationError as exc:
            raise RequestValidationError(
                [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
            ) from None

    read.__name__ = f"read_{model.__name__}"
    _MODELS[model.__name__] = model
    return Annotated[model, Depends(read)]


def request_body(model: type[BaseModel]) -> dict[str, Any]:
    """The ``openapi_extra`` of a route that reads ``model`` with :func:`json_body`."""
    return {"requestBody": {"required": True, "content": {"application/json": {
        "schema": {"$ref": _REF.format(model=model.__name__)}}}}}


def add_schemas(app: FastAPI) -> None:
    """Make the app's OpenAPI document name the models read by :func:`json_body` among its
    components (FastAPI only lists the bodies it reads itself)."""

    build = app.openapi  # FastAPI's own: generates once, then serves app.openapi_schema

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = build()
            schemas = doc.setdefault("components", {}).setdefault("schemas", {})
            for name, model in _MODELS.items():
                schema = model.model_json_schema(ref_template=_REF)
                for sub, sub_schema in schema.pop("$defs", {}).items():
                    schemas.setdefault(sub, sub_schema)
                schemas.setdefault(name, schema)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
