from __future__ import annotations

from fastapi import APIRouter

from ... import crud, schemas
from ..deps import SessionDep

router = APIRouter(tags=["kpis"])


@router.get("/kpis", response_model=schemas.Kpis)
def kpis(db: SessionDep):
    return crud.kpis(db)


@router.get("/livez")
def liveness():
    return {"status": "ok"}
