from __future__ import annotations

from datetime import timedelta
from pathlib import Path as PathlibPath
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse

from ... import attachments, idempotency, schemas
from ...crud import orders as crud
from ...paging import Page, PageParams, page_params
from ...problems import NotFound
from ..deps import Allowed, IfMatchDep, RowId, SessionDep, SettingsDep, etag

router = APIRouter(prefix="/work-orders", tags=["work-orders"])
OrderOut = schemas.WorkOrderCommercial | schemas.WorkOrderPublic
Paging = Annotated[PageParams, Depends(page_params)]
Filter = Annotated[schemas.OrderFilter, Query()]
KeyDep = Annotated[str | None, idempotency.KeyHeader]


def _retain(settings) -> timedelta:
    return timedelta(hours=settings.idempotency_hours)


def _etag_of(content: dict) -> dict[str, str]:
    return {"ETag": etag(content["version"])} if "version" in content else {}


@router.get("", response_model=Page[OrderOut])
def list_work_orders(db: SessionDep, who: Allowed("read"), page: Paging, f: Filter):
    rows, total = crud.list_orders(db, who, page, f)
    return Page[OrderOut](items=[crud.public(o, who) for o in rows], total=total,
                          limit=page.limit, offset=page.offset)


@router.post("", response_model=OrderOut, status_code=201, responses={
    200: {"description": "an open order for this asset and failure mode already exists; "
                         "it is returned", "model": OrderOut}})
def create_work_order(db: SessionDep, who: Allowed("orders.create"), settings: SettingsDep,
                      data: schemas.WorkOrderCreate, key: KeyDep = None):
    """Open an order. At most one order per asset and failure mode is open: asking again
    returns the open one (200). Priority, when not given, is derived from risk x asset
    criticality (automatic orders) or severity; the due date from the SLA hours by
    priority; warranty status and billing basis from the asset's contract today."""

    def act():
        order, created = crud.create(db, data, who, settings)
        return (201 if created else 200), crud.public(order, who)

    return idempotency.run(db, key, who, "POST /work-orders", data, act, _retain(settings),
                           _etag_of)


@router.get("/labels", response_model=list[schemas.RejectionLabel])
def review_labels(db: SessionDep, who: Allowed("labels.export")):
    """Every reviewed automatic order and its verdict (approved, or rejected with the
    reason): the labels to retrain the risk models on."""
    return crud.review_labels(db, who)


@router.get("/{order_id}", response_model=OrderOut)
def get_work_order(db: SessionDep, who: Allowed("read"), order_id: RowId,
                   response: Response):
    order = crud.get(db, order_id, who)
    response.headers["ETag"] = etag(order.version)
    return crud.public(order, who)


@router.patch("/{order_id}", response_model=OrderOut)
def update_work_order(db: SessionDep, who: Allowed("read"), order_id: RowId,
                      data: schemas.WorkOrderUpdate, version: IfMatchDep, response: Response):
    """Change fields of an order (not its status: see transitions). Send ``If-Match`` with
    the ETag you read; a change made meanwhile gives 412."""
    order = crud.update(db, order_id, data, who, version)
    db.commit()
    response.headers["ETag"] = etag(order.version)
    return crud.public(order, who)


@router.post("/{order_id}/transitions", response_model=OrderOut)
def transition(db: SessionDep, who: Allowed("read"), settings: SettingsDep,
               order_id: RowId, data: schemas.TransitionCreate, version: IfMatchDep,
               response: Response):
    """Move the order through the workflow. Of concurrent requests from the same state
    exactly one succeeds; the others get 409. Who may make which move: docs/api.md."""
    order = crud.transition(db, order_id, data, who, settings, version)
    db.commit()
    response.headers["ETag"] = etag(order.version)
    return crud.public(order, who)


@router.post("/{order_id}/follow-ups", response_model=OrderOut, status_code=201)
def follow_up(db: SessionDep, who: Allowed("orders.create"), settings: SettingsDep,
              order_id: RowId, data: schemas.FollowUpCreate, key: KeyDep = None):
    """Reopen a completed or closed order: a new order linked to it as its parent."""

    def act():
        parent = crud.get(db, order_id, who)
        return 201, crud.public(crud.create_follow_up(db, parent, data, who, settings), who)

    return idempotency.run(db, key, who, f"POST /work-orders/{order_id}/follow-ups", data,
                           act, _retain(settings), _etag_of)


@router.post("/{order_id}/labour", response_model=schemas.LabourPublic, status_code=201)
def add_labour(db: SessionDep, who: Allowed("orders.execute"), settings: SettingsDep,
               order_id: RowId, data: schemas.LabourCreate, key: KeyDep = None):
    """Record labour on an order in progress, on hold or completed."""
    return _add_work(db, who, settings, order_id, "labour", data, schemas.LabourPublic, key)


@router.get("/{order_id}/labour", response_model=list[schemas.LabourPublic])
def labour(db: SessionDep, who: Allowed("read"), order_id: RowId):
    return crud.work_records(db, order_id, "labour", who)


@router.post("/{order_id}/parts", response_model=schemas.PartPublic, status_code=201)
def add_part(db: SessionDep, who: Allowed("orders.execute"), settings: SettingsDep,
             order_id: RowId, data: schemas.PartCreate, key: KeyDep = None):
    """Record a part used on an order in progress, on hold or completed."""
    return _add_work(db, who, settings, order_id, "part", data, schemas.PartPublic, key)


@router.get("/{order_id}/parts", response_model=list[schemas.PartPublic])
def parts(db: SessionDep, who: Allowed("read"), order_id: RowId):
    return crud.work_records(db, order_id, "part", who)


def _add_work(db, who, settings, order_id: int, kind: str, data, public, key: str | None):
    def act():
        return 201, public.model_validate(crud.add_work(db, order_id, kind, data, who))

    path = "labour" if kind == "labour" else "parts"
    return idempotency.run(db, key, who, f"POST /work-orders/{order_id}/{path}", data, act,
                           _retain(settings))


UPLOAD_TYPES = {t: {"schema": {"type": "string", "format": "binary"}}
                for t in ("image/jpeg", "image/png", "image/webp", "application/pdf",
                          "text/plain")}


@router.post("/{order_id}/attachments", response_model=schemas.AttachmentPublic,
             status_code=201, openapi_extra={
                 "requestBody": {"required": True, "content": UPLOAD_TYPES}})
async def add_attachment(request: Request, db: SessionDep, who: Allowed("orders.execute"),
                         settings: SettingsDep, order_id: RowId,
                         filename: str = Query(min_length=1, max_length=200,
                                               pattern=r"^[^\x00]*$")):
    """Attach a photo or file: the raw bytes as the body, its type as Content-Type, its
    name in ``filename``. Size up to ``max_attachment_bytes``; types in
    ``attachment_types`` (images and PDFs checked against their first bytes)."""
    data = await request.body()
    row = await run_in_threadpool(crud.add_attachment, db, order_id, filename,
                                  request.headers.get("content-type", ""), data, who,
                                  settings)
    return schemas.AttachmentPublic.model_validate(row)


@router.get("/{order_id}/attachments", response_model=list[schemas.AttachmentPublic])
def list_attachments(db: SessionDep, who: Allowed("read"), order_id: RowId):
    return crud.list_attachments(db, order_id, who)


files_router = APIRouter(prefix="/attachments", tags=["work-orders"])


@files_router.get("/{attachment_id}", response_class=FileResponse,
                  responses={200: {"content": UPLOAD_TYPES}})
def download_attachment(db: SessionDep, who: Allowed("read"), settings: SettingsDep,
                        attachment_id: RowId):
    row = crud.get_attachment(db, attachment_id, who)
    path = attachments.path_of(PathlibPath(settings.attachments_dir), row.work_order_id,
                               row.stored_name)
    if not path.is_file():
        raise NotFound(f"the file of attachment {attachment_id} is missing from the server's "
                       "attachment folder; restore it from backup")
    return FileResponse(path, media_type=row.content_type, filename=row.filename,
                        headers={"X-Content-Type-Options": "nosniff"})


@router.get("/{order_id}/events", response_model=list[schemas.WorkOrderEventPublic])
def events(db: SessionDep, who: Allowed("read"), order_id: RowId):
    """The order's append-only history: who changed what, when and why."""
    return crud.events(db, order_id, who)
