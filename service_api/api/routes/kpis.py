from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from contracts.api_bodies import Moment

from ... import schemas
from ...crud import kpis as crud
from ..deps import Allowed, SessionDep

router = APIRouter(tags=["kpis"])


@router.get("/kpis", response_model=schemas.Kpis)
def kpis(db: SessionDep, who: Allowed("read"), f: Annotated[schemas.AssetFilter, Query()],
         since: Moment | None = None, until: Moment | None = None,
         risk_threshold: float = Query(default=0.5, ge=0, le=1)):
    """Maintenance KPIs for orders in [since, until) on the assets the filters select;
    each figure is defined in docs/kpis.md."""
    return crud.kpis(db, who, f, since, until, risk_threshold)


@router.get("/livez", tags=["health"])
def liveness():
    """Answers while the process runs; needs no token."""
    return {"status": "ok"}
