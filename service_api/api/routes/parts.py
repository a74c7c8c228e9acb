from __future__ import annotations

from fastapi import APIRouter, Query, Response
from sqlalchemy import select

from ... import schemas
from ...crud import assets as asset_crud
from ...crud import orders as order_crud
from ...crud import parts as crud
from ...problems import Conflict
from ...tables import Asset
from ...workflow import OPEN
from ..deps import Allowed, IfMatchDep, Key, RowId, SessionDep, SettingsDep, etag

router = APIRouter(prefix="/parts", tags=["parts"])
orders_router = APIRouter(prefix="/work-orders", tags=["parts"])
RESERVABLE = OPEN - {"proposed"}  # approved until the work is done


@router.get("", response_model=list[schemas.CatalogPart])
def list_parts(db: SessionDep, who: Allowed("parts.read")):
    """The catalogue (unit prices only for roles with the commercial right)."""
    return [crud.part_public(p, who) for p in crud.list_parts(db)]


@router.get("/reorder-suggestions", response_model=list[schemas.ReorderSuggestion])
def reorder_suggestions(db: SessionDep, who: Allowed("parts.read"), settings: SettingsDep,
                        min_risk: float | None = Query(default=None, ge=0, le=1)):
    """Stock rows whose projected stock (available minus the demand expected within the
    part's lead time: proposed orders, assets at risk × parts per repair, backorders and
    recent usage) is below the reorder point, with the quantity that brings it back to
    reorder point + safety stock; critical parts first. Formula: docs/parts.md."""
    return crud.reorder_suggestions(
        db, settings.parts_demand_min_risk if min_risk is None else min_risk,
        settings.parts_usage_days, visible=_visible(db, who))


@router.get("/coverage", response_model=list[schemas.CoverageGap])
def coverage(db: SessionDep, who: Allowed("parts.read"), settings: SettingsDep):
    """Critical parts that a region's assets may need, none available in the region, and a
    supplier lead time longer than the delivery its service contracts promise."""
    return crud.coverage(db, settings.contract_delivery_days, settings.default_delivery_days,
                         visible=_visible(db, who))


def _visible(db, who) -> set[str] | None:
    """The asset ids a scoped caller sees (None: no scope, every asset)."""
    if not who.scope:
        return None
    return set(db.scalars(asset_crud.in_scope(select(Asset.id), who)))


@router.get("/turnover", response_model=schemas.PartTurnover)
def turnover(db: SessionDep, who: Allowed("commercial"),
             days: float = Query(default=365, gt=0, le=3650)):
    """Inventory turns per year: value consumed in the last ``days``, annualised, over
    the value on hand now."""
    return crud.turnover(db, days)


@router.get("/{part_number}", response_model=schemas.CatalogPart)
def get_part(db: SessionDep, who: Allowed("parts.read"), part_number: Key,
             response: Response):
    part = crud.get_part(db, part_number)
    response.headers["ETag"] = etag(part.version)
    return crud.part_public(part, who)


@router.put("/{part_number}", response_model=schemas.CatalogPart,
            responses={201: {"description": "the part was added to the catalogue"}})
def upsert_part(db: SessionDep, who: Allowed("parts.write"), part_number: Key,
                data: schemas.CatalogPartWrite, response: Response, version: IfMatchDep):
    """Add the part, or update the fields given (``If-Match`` guards the update)."""
    if data.unit_price is not None and not who.can("commercial"):
        raise Conflict(f"role {who.role!r} may not set unit_price (commercial)")
    part, created = crud.upsert_part(db, part_number, data, version)
    db.commit()
    response.status_code = 201 if created else 200
    response.headers["ETag"] = etag(part.version)
    return crud.part_public(part, who)


@router.get("/{part_number}/stock", response_model=list[schemas.StockPublic])
def stock(db: SessionDep, who: Allowed("parts.read"), part_number: Key):
    crud.get_part(db, part_number)
    return crud.stock_rows(db, part_number)


@router.put("/{part_number}/stock/{warehouse}", response_model=schemas.StockPublic)
def set_stock(db: SessionDep, who: Allowed("parts.write"), part_number: Key,
              warehouse: Key, data: schemas.StockWrite):
    """Create or update the part's stock row in a warehouse: region, safety stock,
    reorder point, and a counted ``on_hand`` (booked as an adjustment)."""
    row = crud.set_stock(db, part_number, warehouse, data, who.name)
    db.commit()
    return row


@router.post("/{part_number}/stock/{warehouse}/receipts", response_model=schemas.StockPublic,
             status_code=201)
def receive(db: SessionDep, who: Allowed("parts.write"), part_number: Key,
            warehouse: Key, data: schemas.ReceiptCreate):
    """Goods received; backorders of the part in the warehouse's region are filled first."""
    row = crud.receive(db, part_number, warehouse, data.quantity, who.name, data.note)
    db.commit()
    return row


@router.get("/{part_number}/movements", response_model=list[schemas.MovementPublic])
def movements(db: SessionDep, who: Allowed("parts.read"), part_number: Key,
              limit: int = Query(default=200, ge=1, le=10_000)):
    """The part's stock ledger, newest first."""
    return crud.movements(db, part_number, limit)


@orders_router.get("/{order_id}/reservations", response_model=list[schemas.ReservationPublic])
def reservations(db: SessionDep, who: Allowed("read"), order_id: RowId):
    order_crud.get(db, order_id, who)
    return crud.reservations(db, order_id)


@orders_router.post("/{order_id}/reservations",
                    response_model=list[schemas.ReservationPublic], status_code=201)
def reserve(db: SessionDep, who: Allowed("parts.write"), order_id: RowId,
            data: schemas.ReservationCreate):
    """Reserve more parts for an approved order (from ``warehouse``, or the best one of
    the asset's region); what is not available is a backorder."""
    order = order_crud.get(db, order_id, who)
    if order.status not in RESERVABLE:
        raise Conflict(f"work order {order.id} is {order.status}: parts are reserved for "
                       "approved orders until they are completed")
    made = crud.reserve(db, order, data.part_number, data.quantity, who.name, data.warehouse)
    db.commit()
    return made
