from __future__ import annotations

from fastapi import APIRouter, Response

from ... import crud, schemas
from ..deps import SessionDep

router = APIRouter(prefix="/work-orders", tags=["work-orders"])


@router.get("", response_model=list[schemas.WorkOrderPublic])
def list_work_orders(db: SessionDep, status: schemas.Status | None = None,
                     asset_id: str | None = None):
    return crud.list_work_orders(db, status, asset_id)


@router.post("", response_model=schemas.WorkOrderPublic, status_code=201,
             responses={200: {"description": "an open order for this asset and failure mode "
                                             "already exists; it is returned"}})
def create_work_order(db: SessionDep, data: schemas.WorkOrderCreate, response: Response):
    order, created = crud.create_work_order(db, data)
    if not created:
        response.status_code = 200
    return order


@router.get("/{order_id}", response_model=schemas.WorkOrderPublic)
def get_work_order(db: SessionDep, order_id: int):
    return crud.get_work_order(db, order_id)


@router.post("/{order_id}/transitions", response_model=schemas.WorkOrderPublic)
def transition(db: SessionDep, order_id: int, data: schemas.TransitionCreate):
    return crud.transition(db, order_id, data)


@router.get("/{order_id}/events", response_model=list[schemas.WorkOrderEventPublic])
def events(db: SessionDep, order_id: int):
    return crud.events(db, order_id)
