from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from contracts.api_bodies import Moment

from ... import schemas
from ...crud import kpis as crud
from ...workflow import NEEDS_REASON, RESULTS, RIGHT_FOR, TRANSITIONS
from ..deps import Allowed, SessionDep, SettingsDep

router = APIRouter(tags=["kpis"])


@router.get("/kpis", response_model=schemas.Kpis)
def kpis(db: SessionDep, who: Allowed("read"), settings: SettingsDep,
         f: Annotated[schemas.AssetFilter, Query()],
         since: Moment | None = None, until: Moment | None = None,
         risk_threshold: float | None = Query(default=None, ge=0, le=1)):
    """Maintenance KPIs for orders in [since, until) on the assets the filters select;
    each figure is defined in docs/kpis.md."""
    return crud.kpis(db, who, f, since, until,
                     settings.at_risk_default if risk_threshold is None else risk_threshold)


@router.get("/meta", response_model=schemas.Meta)
def meta(who: Allowed("read"), settings: SettingsDep):
    """What a client needs to know once: the workflow, the default "at risk" line, when
    data counts as stale."""
    return schemas.Meta(transitions={k: sorted(v) for k, v in TRANSITIONS.items()},
                        right_for=RIGHT_FOR, needs_reason=sorted(NEEDS_REASON),
                        results=list(RESULTS), at_risk_default=settings.at_risk_default,
                        stale_after_s=settings.stale_after_s)


@router.get("/livez", tags=["health"])
def liveness():
    """Answers while the process runs; needs no token."""
    return {"status": "ok"}
