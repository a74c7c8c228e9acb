"""The FastAPI application factory: settings in, app out; nothing built at import time."""

from __future__ import annotations

import json
import os
from contextlib import asynccontextmanager
from importlib import resources

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from . import problems
from .api.json_body import add_schemas
from .api.routes import (
    assets,
    billing,
    changes,
    codes,
    dispatch,
    intake,
    knowledge,
    kpis,
    parts,
    quality,
    surveys,
    users,
    webhooks,
    work_orders,
)
from .changes import ChangeFeed
from .crud.users import LoginLimiter
from .db import check_migrated, make_engine, session_factory, write_session_factory
from .settings import ServiceApiSettings
from .telemetry import TelemetryNotConfigured, open_reader
from .webhooks import WebhookSender
from .workflow import TransitionError

API_PREFIX = "/api/v1"
ROUTERS = (assets.router, assets.batch_router, work_orders.router, work_orders.files_router,
           dispatch.router, webhooks.router, kpis.router, users.router, codes.router,
           changes.router, parts.router, parts.orders_router, billing.router,
           intake.router, surveys.router, quality.router,
           knowledge.router)


class BodyLimit:
    """Refuses URLs with NUL characters (422; PostgreSQL cannot compare text with them),
    and request bodies over ``max_bytes`` (``max_upload_bytes`` for attachment uploads)
    with 413: by Content-Length before
    reading, or, for a body sent without one (chunked), once it has grown past the limit
    (it is read here, up to the limit, and handed on)."""

    def __init__(self, app, max_bytes: int, max_upload_bytes: int):
        self.app, self.max_bytes, self.max_upload_bytes = app, max_bytes, max_upload_bytes

    async def _refuse(self, send, status: int, detail: str) -> None:
        title = {413: "Request body too large", 422: "The request is not valid"}.get(
            status, "Bad request")
        body = json.dumps({"type": problems.TYPE_BASE + title.lower().replace(" ", "-"),
                           "title": title, "status": status, "detail": detail}).encode()
        await send({"type": "http.response.start", "status": status, "headers": [
            (b"content-type", problems.MEDIA_TYPE.encode()),
            (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if "\x00" in scope["path"] or b"%00" in scope.get("query_string", b""):
            return await self._refuse(send, 422, "NUL characters (%00) are not allowed in "
                                                 "the URL")
        length = dict(scope["headers"]).get(b"content-length")
        limit = (self.max_upload_bytes if scope["method"] == "POST"
                 and scope["path"].endswith("/attachments") else self.max_bytes)
        too_big = f"the request body is larger than {limit} bytes"
        if length is not None:
            if not length.isdigit():
                return await self._refuse(send, 400, "Content-Length is not a number")
            if int(length) > limit:
                return await self._refuse(send, 413, too_big)
            return await self.app(scope, receive, send)
        if scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE"):
            return await self.app(scope, receive, send)
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return None  # the client went away
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                return await self._refuse(send, 413, too_big)
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        return await self.app(scope, replay, send)


SETTINGS_ENV = "FOREWARN_API_SETTINGS"  # how `forewarn api` hands its settings to workers


def app_from_environment() -> FastAPI:
    """The app of one of several worker processes (``workers`` > 1): uvicorn imports this
    factory in each, with the settings the parent put in ``FOREWARN_API_SETTINGS``."""
    return create_app(ServiceApiSettings.model_validate_json(os.environ[SETTINGS_ENV]))


def create_app(settings: ServiceApiSettings) -> FastAPI:
    """The API on ``settings.database_url``; refuses an unmigrated database
    (``db.DatabaseNotMigrated`` names the command that fixes it)."""
    engine = make_engine(settings.database_url)
    try:
        check_migrated(engine)
    except Exception:
        engine.dispose()
        raise

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        sender = None
        if settings.webhooks:
            sender = WebhookSender(write_session_factory(engine), settings.webhook_poll_s,
                                   settings.webhook_timeout_s, settings.webhook_max_attempts)
            sender.start()
        app.state.changes = ChangeFeed(app.state.sessionmaker, settings.push_poll_s)
        yield
        if sender is not None:
            sender.stop()
        app.state.engine.dispose()

    app = FastAPI(title="Forewarn service API", version="1.0.0", lifespan=lifespan,
                  docs_url=None, redoc_url=None, openapi_url="/api/v1/openapi.json",
                  description="Assets, health scores, events and the work-order loop of "
                              "Forewarn. Every call but /api/v1/livez and /api/v1/auth/login "
                              "needs `Authorization: Bearer <token>`. Errors are RFC 9457 "
                              "problem details.")
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = session_factory(engine)
    app.state.write_sessionmaker = write_session_factory(engine)
    try:
        app.state.telemetry = open_reader(settings.telemetry)
    except TelemetryNotConfigured as exc:  # the telemetry routes answer 503 with this
        app.state.telemetry = exc
    app.state.login_limiter = LoginLimiter(settings.login_failures, settings.login_window_s)
    for router in ROUTERS:
        app.include_router(router, prefix=API_PREFIX)
    problems.install(app)
    add_schemas(app)

    @app.exception_handler(TransitionError)
    async def _bad_transition(request, exc: TransitionError):
        return problems.problem_response(409, "transition-not-allowed",
                                         "Transition not allowed", str(exc), request.url.path)

    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes,
                       max_upload_bytes=settings.max_attachment_bytes)
    _local_docs(app)
    app.include_router(surveys.page_router)
    if settings.dashboard:
        web = resources.files("service_api.web")
        page = web.joinpath("index.html").read_text()
        app.mount("/static", StaticFiles(directory=str(web)), name="static")

        @app.get("/", response_class=HTMLResponse, include_in_schema=False)
        def dashboard() -> str:
            return page

    return app


def _local_docs(app: FastAPI) -> None:
    """Swagger UI from the installed swagger-ui-bundle package: no CDN, works offline."""
    import swagger_ui_bundle

    app.mount("/docs-static", StaticFiles(directory=swagger_ui_bundle.swagger_ui_path),
              name="docs-static")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url=app.openapi_url or "",
                                   title=f"{app.title} - docs",
                                   swagger_js_url="/docs-static/swagger-ui-bundle.js",
                                   swagger_css_url="/docs-static/swagger-ui.css",
                                   swagger_favicon_url="/docs-static/favicon-32x32.png")
