"""Errors as RFC 9457 problem details (``application/problem+json``).

Every error the API returns has ``type``, ``title``, ``status`` and ``detail``; validation
errors add ``errors`` (one entry per field: where, what was wrong). Raise :class:`Problem`
(or one of its subclasses) anywhere in a request; the handlers registered by
:func:`install` turn it, FastAPI's own errors and anything unexpected into a problem.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://forewarn.dev/problems/"


class Problem(Exception):
    """An error the client can act on; ``slug`` names its type."""

    status = 400
    slug = "bad-request"
    title = "Bad request"

    def __init__(self, detail: str, *, status: int | None = None, slug: str | None = None,
                 title: str | None = None, headers: dict[str, str] | None = None,
                 **extra: Any):
        super().__init__(detail)
        self.detail = detail
        if status is not None:
            self.status = status
        if slug is not None:
            self.slug = slug
        if title is not None:
            self.title = title
        self.headers = headers or {}
        self.extra = extra


class NotFound(Problem):
    status, slug, title = 404, "not-found", "Not found"


class Conflict(Problem):
    status, slug, title = 409, "conflict", "Conflict"


class PreconditionFailed(Problem):
    status, slug, title = 412, "precondition-failed", "The resource has changed"


def check_version(what: str, current: int, wanted: int | None) -> None:
    """``If-Match`` named version ``wanted``; refuse with 412 if ``what`` has moved on."""
    if wanted is not None and wanted != current:
        raise PreconditionFailed(
            f"{what} is at version {current}, not {wanted}: someone changed it since you "
            "read it; GET it again and reapply your change")


class Unauthorized(Problem):
    status, slug, title = 401, "unauthorized", "Authentication required"

    def __init__(self, detail: str, **kw: Any):
        super().__init__(detail, headers={"WWW-Authenticate": 'Bearer realm="forewarn"'}, **kw)


class Forbidden(Problem):
    status, slug, title = 403, "forbidden", "Not allowed for your role"


class Unprocessable(Problem):
    status, slug, title = 422, "invalid-request", "The request is not valid"


def problem_response(status: int, slug: str, title: str, detail: str,
                     instance: str | None = None, headers: dict[str, str] | None = None,
                     **extra: Any) -> JSONResponse:
    body = {"type": TYPE_BASE + slug, "title": title, "status": status, "detail": detail}
    if instance:
        body["instance"] = instance
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


_TITLES = {400: "Bad request", 401: "Authentication required", 403: "Forbidden",
           404: "Not found", 405: "Method not allowed", 409: "Conflict",
           413: "Request body too large", 415: "Unsupported media type",
           422: "The request is not valid", 429: "Too many requests"}


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    out = []
    for e in exc.errors():
        loc = [str(p) for p in e.get("loc", ())]
        out.append({"location": ".".join(loc), "message": e.get("msg", "invalid"),
                    "type": e.get("type", "")})
    return out


def install(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem):
        return problem_response(exc.status, exc.slug, exc.title, exc.detail,
                                request.url.path, exc.headers, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        errors = _field_errors(exc)
        first = errors[0] if errors else {"location": "", "message": "invalid request"}
        detail = f"{first['location']}: {first['message']}"
        if len(errors) > 1:
            detail += f" (and {len(errors) - 1} more; see errors)"
        return problem_response(422, "invalid-request", _TITLES[422], detail,
                                request.url.path, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        title = _TITLES.get(exc.status_code, "Error")
        detail = exc.detail if isinstance(exc.detail, str) else title
        return problem_response(exc.status_code, title.lower().replace(" ", "-"), title,
                                detail, request.url.path, getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return problem_response(500, "internal-error", "Internal server error",
                                "the server failed on this request; it is logged",
                                request.url.path)
