from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from sqlalchemy import select

from ... import schemas
from ...problems import Conflict
from ...tables import Code
from ..deps import Allowed, SessionDep

router = APIRouter(prefix="/codes", tags=["codes"])


@router.get("", response_model=list[schemas.CodePublic])
def list_codes(db: SessionDep, who: Allowed("read"),
               list: Literal["failure_mode", "failure_mechanism", "failure_cause"] | None = None):
    """The failure mode, mechanism and cause codes orders may use (ISO 14224 style)."""
    q = select(Code).order_by(Code.list, Code.code)
    return db.scalars(q.where(Code.list == list) if list else q).all()


@router.post("", response_model=schemas.CodePublic, status_code=201)
def add_code(db: SessionDep, who: Allowed("codes.write"), data: schemas.CodeCreate):
    if db.get(Code, (data.list, data.code)) is not None:
        raise Conflict(f"{data.list} {data.code!r} already exists")
    code = Code(**data.model_dump())
    db.add(code)
    db.commit()
    return code
