"""The FastAPI application factory: settings in, app out; nothing built at import time."""

from __future__ import annotations

from contextlib import asynccontextmanager
from importlib import resources

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse

from .api.routes import assets, kpis, work_orders
from .crud import NotFound
from .db import make_engine, session_factory
from .settings import ServiceApiSettings
from .workflow import TransitionError


def create_app(settings: ServiceApiSettings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        app.state.engine.dispose()

    app = FastAPI(title="Forewarn service API", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    app.state.engine = make_engine(settings.database_url)
    app.state.sessionmaker = session_factory(app.state.engine)
    for router in (assets.router, work_orders.router, kpis.router):
        app.include_router(router, prefix="/api/v1")

    @app.exception_handler(NotFound)
    async def _not_found(request: Request, exc: NotFound):
        return JSONResponse(status_code=404, content={"detail": str(exc)})

    @app.exception_handler(TransitionError)
    async def _bad_transition(request: Request, exc: TransitionError):
        return JSONResponse(status_code=409, content={"detail": str(exc)})

    if settings.dashboard:
        page = resources.files("service_api.web").joinpath("dashboard.html").read_text()

        @app.get("/", response_class=HTMLResponse, include_in_schema=False)
        def dashboard() -> str:
            return page

    return app
