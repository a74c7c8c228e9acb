"""Spare parts: the catalogue, stock per warehouse, reservations that follow the order
workflow, and reorder suggestions that count the demand the models predict.

Stock moves only through ``_move``, which changes ``on_hand``/``reserved`` with SQL
increments (two requests never lose each other's change) and writes a ledger row
(``PartMovement``): receipts, counts, consumption by orders. Reservations follow the
order: made when it is approved (the catalogue's parts for the asset's equipment class
and the order's failure mode, ``per_repair`` each, from the warehouse of the asset's
region with the most available stock; what no warehouse has is a backorder), released
when it is rejected, cancelled or merged, and consumed at completion up to the quantity
the technician recorded as used. Rules and their formulas: docs/parts.md.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from contracts.api_bodies import PREDICTED_FAILURE

from .. import schemas
from ..access import Principal
from ..problems import NotFound, check_version
from ..tables import (
    Asset,
    Part,
    PartMovement,
    PartReservation,
    PartStock,
    PartUsed,
    WorkOrder,
)

ACTIVE = ("reserved", "backorder")  # reservations that still hold or await stock
RELEASE_ON = frozenset({"rejected", "cancelled", "merged"})


# -- catalogue and stock --------------------------------------------------------------------
def get_part(db: Session, part_number: str) -> Part:
    part = db.get(Part, part_number)
    if part is None:
        raise NotFound(f"part {part_number!r} is not in the catalogue; PUT "
                       f"/api/v1/parts/{part_number} first")
    return part


def upsert_part(db: Session, part_number: str, data: schemas.CatalogPartWrite,
                if_match: int | None) -> tuple[Part, bool]:
    part = db.get(Part, part_number)
    created = part is None
    if part is None:
        part = Part(part_number=part_number)
        db.add(part)
    else:
        check_version(f"part {part_number}", part.version, if_match)
    for k, v in data.model_dump(exclude_unset=True).items():
        setattr(part, k, v)
    db.flush()
    return part, created


def part_public(part: Part, principal: Principal) -> dict:
    out = {c: getattr(part, c) for c in schemas.CatalogPart.model_fields}
    out["unit_price"] = part.unit_price if principal.can("commercial") else None
    return out


def list_parts(db: Session) -> list[Part]:
    return list(db.scalars(select(Part).order_by(Part.part_number)))


def stock_rows(db: Session, part_number: str | None = None) -> list[PartStock]:
    q = select(PartStock).order_by(PartStock.part_number, PartStock.warehouse)
    if part_number is not None:
        q = q.where(PartStock.part_number == part_number)
    return list(db.scalars(q))


def set_stock(db: Session, part_number: str, warehouse: str, data: schemas.StockWrite,
              actor: str) -> PartStock:
    """Create or update a stock row's levels; ``on_hand`` given is a stock count: the
    difference is booked as an ``adjust`` movement."""
    get_part(db, part_number)
    row = db.get(PartStock, (part_number, warehouse))
    if row is None:
        row = PartStock(part_number=part_number, warehouse=warehouse, on_hand=0, reserved=0)
        db.add(row)
        db.flush()
    fields = data.model_dump(exclude_unset=True)
    counted = fields.pop("on_hand", None)
    for k, v in fields.items():
        setattr(row, k, v)
    db.flush()
    if counted is not None and counted != row.on_hand:
        _move(db, part_number, warehouse, counted - row.on_hand, 0, "adjust", actor)
    db.refresh(row)
    return row


def receive(db: Session, part_number: str, warehouse: str, quantity: float, actor: str,
            note: str = "") -> PartStock:
    """Goods received: ``on_hand`` grows; waiting backorders of that part in the
    warehouse's region are filled first (oldest first)."""
    row = db.get(PartStock, (part_number, warehouse))
    if row is None:
        raise NotFound(f"no stock row for part {part_number!r} in warehouse {warehouse!r}; "
                       f"PUT /api/v1/parts/{part_number}/stock/{warehouse} first")
    _move(db, part_number, warehouse, quantity, 0, "receipt", actor, note=note)
    waiting = db.scalars(
        select(PartReservation).join(WorkOrder, WorkOrder.id == PartReservation.work_order_id)
        .join(Asset, Asset.id == WorkOrder.asset_id)
        .where(PartReservation.part_number == part_number,
               PartReservation.status == "backorder", Asset.region == row.region)
        .order_by(PartReservation.id)).all()
    for r in waiting:
        db.refresh(row)
        take = min(r.quantity, _available(row))
        if take <= 0:
            break
        _move(db, part_number, warehouse, 0, take, "reserve", actor, r.work_order_id)
        if take < r.quantity:  # split: the rest keeps waiting
            db.add(PartReservation(work_order_id=r.work_order_id, part_number=part_number,
                                   warehouse="", quantity=r.quantity - take,
                                   status="backorder"))
        r.quantity, r.warehouse, r.status = take, warehouse, "reserved"
    db.flush()
    db.refresh(row)
    return row


def _move(db: Session, part_number: str, warehouse: str, on_hand: float, reserved: float,
          kind: str, actor: str, work_order_id: int | None = None, note: str = "") -> None:
    """The one way stock changes: SQL increments plus a ledger row."""
    if warehouse:
        db.execute(update(PartStock)
                   .where(PartStock.part_number == part_number,
                          PartStock.warehouse == warehouse)
                   .values(on_hand=PartStock.on_hand + on_hand,
                           reserved=PartStock.reserved + reserved,
                           version=PartStock.version + 1))
    db.add(PartMovement(part_number=part_number, warehouse=warehouse, kind=kind,
                        on_hand_delta=on_hand, reserved_delta=reserved,
                        work_order_id=work_order_id, actor=actor, note=note[:200]))


def movements(db: Session, part_number: str, limit: int) -> list[PartMovement]:
    get_part(db, part_number)
    return list(db.scalars(select(PartMovement).where(PartMovement.part_number == part_number)
                           .order_by(PartMovement.id.desc()).limit(limit)))


# -- reservations following the order ------------------------------------------------------
def _matches(part: Part, equipment_class: str, failure_mode: str) -> bool:
    classes = part.equipment_classes or []
    return (not classes or equipment_class in classes) and failure_mode in (
        part.failure_modes or [])


def _best_warehouse(db: Session, part_number: str, region: str) -> PartStock | None:
    """The warehouse of ``region`` with the most available stock; else any warehouse's."""
    rows = db.scalars(select(PartStock).where(PartStock.part_number == part_number)
                      .order_by(PartStock.warehouse).with_for_update()).all()
    if not rows:
        return None
    local = [r for r in rows if r.region == region] or rows
    return max(local, key=_available)  # the first by name among equals


def _available(row: PartStock) -> float:
    return row.on_hand - row.reserved


def reserve(db: Session, order: WorkOrder, part_number: str, quantity: float,
            actor: str, warehouse: str | None = None) -> list[PartReservation]:
    """Reserve ``quantity`` of a part for an order: from ``warehouse`` or the best one;
    what is not available becomes a backorder."""
    get_part(db, part_number)
    asset = db.get(Asset, order.asset_id)
    if warehouse:
        row = db.get(PartStock, (part_number, warehouse), with_for_update=True)
        if row is None:
            raise NotFound(f"no stock row for part {part_number!r} in warehouse "
                           f"{warehouse!r}")
    else:
        row = _best_warehouse(db, part_number, asset.region if asset else "")
    out = []
    take = 0.0 if row is None else max(0.0, min(quantity, _available(row)))
    if take > 0:
        _move(db, part_number, row.warehouse, 0, take, "reserve", actor, order.id)
        out.append(PartReservation(work_order_id=order.id, part_number=part_number,
                                   warehouse=row.warehouse, quantity=take, status="reserved"))
    if quantity - take > 1e-9:
        out.append(PartReservation(work_order_id=order.id, part_number=part_number,
                                   warehouse="", quantity=quantity - take, status="backorder"))
    db.add_all(out)
    db.flush()
    return out


def reservations(db: Session, order_id: int) -> list[PartReservation]:
    return list(db.scalars(select(PartReservation)
                           .where(PartReservation.work_order_id == order_id)
                           .order_by(PartReservation.id)))


def on_transition(db: Session, order: WorkOrder, to: str, actor: str) -> None:
    """Called by the workflow after an order moved to ``to``."""
    if to == "approved" and not reservations(db, order.id):
        asset = db.get(Asset, order.asset_id)
        for part in db.scalars(select(Part).order_by(Part.part_number)):
            if _matches(part, asset.equipment_class if asset else "", order.failure_mode):
                reserve(db, order, part.part_number, part.per_repair, actor)
    elif to in RELEASE_ON:
        _release(db, order, actor)
    elif to == "completed":
        _consume(db, order, actor)


def _release(db: Session, order: WorkOrder, actor: str,
             only: list[PartReservation] | None = None) -> None:
    for r in only if only is not None else reservations(db, order.id):
        if r.status == "reserved":
            _move(db, r.part_number, r.warehouse, 0, -r.quantity, "release", actor, order.id)
        if r.status in ACTIVE:
            r.status, r.closed_at = "released", datetime.now(UTC)
    db.flush()


def _consume(db: Session, order: WorkOrder, actor: str) -> None:
    """At completion: the parts recorded as used leave stock, from the order's own
    reservations first; reservations not used are released; a part used without a
    reservation leaves the best warehouse of the asset's region (if it is stocked)."""
    used: dict[str, float] = defaultdict(float)
    for part_number, qty in db.execute(
            select(PartUsed.part_number, func.sum(PartUsed.quantity))
            .where(PartUsed.work_order_id == order.id).group_by(PartUsed.part_number)):
        used[part_number] += float(qty)
    now, leftover = datetime.now(UTC), []
    for r in reservations(db, order.id):
        if r.status not in ACTIVE:
            continue
        take = min(r.quantity, used.get(r.part_number, 0.0))
        if r.status == "reserved" and take > 0:
            used[r.part_number] -= take
            _move(db, r.part_number, r.warehouse, -take, -r.quantity, "consume", actor,
                  order.id)
            # what was reserved but not used goes back to free stock
            r.quantity, r.status, r.closed_at = take, "consumed", now
        else:
            leftover.append(r)
    _release(db, order, actor, leftover)
    asset = db.get(Asset, order.asset_id)
    for part_number, qty in used.items():
        if qty <= 1e-9 or db.get(Part, part_number) is None:
            continue  # a part outside the catalogue is recorded on the order only
        row = _best_warehouse(db, part_number, asset.region if asset else "")
        _move(db, part_number, row.warehouse if row else "", -qty, 0, "consume", actor,
              order.id)
    db.flush()


# -- reorder suggestions, coverage, turnover -----------------------------------------------
def _usage_per_day(db: Session, now: datetime, days: float) -> dict[tuple[str, str], float]:
    """Consumption per (part, region) per day over the last ``days``."""
    since = now - timedelta(days=days)
    regions = {s.warehouse: s.region for s in db.scalars(select(PartStock))}
    out: dict[tuple[str, str], float] = defaultdict(float)
    for part_number, warehouse, delta in db.execute(
            select(PartMovement.part_number, PartMovement.warehouse,
                   PartMovement.on_hand_delta)
            .where(PartMovement.kind == "consume", PartMovement.ts >= since)):
        out[(part_number, regions.get(warehouse, ""))] += -delta / days
    return out


def reorder_suggestions(db: Session, min_risk: float, usage_days: float,
                        now: datetime | None = None, visible: set[str] | None = None
                        ) -> list[schemas.ReorderSuggestion]:
    """Every stock row whose projected stock falls below its reorder point within the
    part's lead time; docs/parts.md gives the formula. Demand is counted fleet-wide (a
    warehouse serves its whole region); ``because`` names only the assets and orders in
    ``visible`` (None: all) and counts the others."""
    now = now or datetime.now(UTC)
    parts = {p.part_number: p for p in db.scalars(select(Part))}
    rows = stock_rows(db)
    # each region's demand goes to the region's warehouse with the most available stock
    serving: dict[tuple[str, str], PartStock] = {}
    for r in rows:  # ordered by warehouse: the first by name among equals
        key = (r.part_number, r.region)
        if key not in serving or _available(r) > _available(serving[key]):
            serving[key] = r
    demand: dict[tuple[str, str], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    why: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)  # (asset, why)
    for order, asset in db.execute(
            select(WorkOrder, Asset).join(Asset, Asset.id == WorkOrder.asset_id)
            .where(WorkOrder.status == "proposed")):
        for p in parts.values():
            if _matches(p, asset.equipment_class, order.failure_mode):
                demand[(p.part_number, asset.region)]["proposed_orders"] += p.per_repair
                why[(p.part_number, asset.region)].append((asset.id, f"order #{order.id}"))
    open_assets = {a for (a,) in db.execute(
        select(WorkOrder.asset_id).where(WorkOrder.dedup_key.is_not(None)))}
    for asset in db.scalars(select(Asset).where(Asset.risk >= min_risk)):
        if asset.id in open_assets:
            continue  # its order is counted above, or holds a reservation already
        for p in parts.values():
            if _matches(p, asset.equipment_class, PREDICTED_FAILURE):
                demand[(p.part_number, asset.region)]["at_risk_assets"] += (
                    asset.risk * p.per_repair)
                why[(p.part_number, asset.region)].append(
                    (asset.id, f"asset {asset.id} at risk {asset.risk:.2f}"))
    for order, asset, r in db.execute(
            select(WorkOrder, Asset, PartReservation)
            .join(Asset, Asset.id == WorkOrder.asset_id)
            .join(PartReservation, PartReservation.work_order_id == WorkOrder.id)
            .where(PartReservation.status == "backorder")):
        demand[(r.part_number, asset.region)]["backorders"] += r.quantity
        why[(r.part_number, asset.region)].append(
            (asset.id, f"backorder of order #{order.id}"))
    usage = _usage_per_day(db, now, usage_days)
    out = []
    for r in rows:
        part = parts[r.part_number]
        key = (r.part_number, r.region)
        serves = serving[key] is r
        d = dict(demand[key]) if serves else {}
        d["usage"] = usage.get(key, 0.0) * part.lead_time_days if serves else 0.0
        available = _available(r)
        projected = available - sum(d.values())
        if projected >= r.reorder_point:
            continue
        quantity = math.ceil(r.reorder_point + r.safety_stock - projected - 1e-9)
        out.append(schemas.ReorderSuggestion(
            part_number=r.part_number, warehouse=r.warehouse, region=r.region,
            part_class=part.part_class, on_hand=r.on_hand, reserved=r.reserved,
            available=available,
            demand={k: round(v, 4) for k, v in d.items()}, projected=round(projected, 4),
            reorder_point=r.reorder_point, safety_stock=r.safety_stock,
            lead_time_days=part.lead_time_days, quantity=quantity,
            because=_shown(why[key], visible) if serves else []))
    return sorted(out, key=lambda s: (s.part_class != "critical", s.projected))


def _shown(why: list[tuple[str, str]], visible: set[str] | None, limit: int = 50
           ) -> list[str]:
    """The reasons a caller may read: those of assets in its scope, the rest counted."""
    shown = [text for asset_id, text in why if visible is None or asset_id in visible]
    hidden = len(why) - len(shown)
    return shown[:limit] + ([f"{hidden} more outside your scope"] if hidden else [])


def coverage(db: Session, delivery_days: dict[str, float], default_days: float,
             visible: set[str] | None = None) -> list[schemas.CoverageGap]:
    """Critical parts a region's assets may need that no warehouse of the region has
    available, when the supplier's lead time is longer than the delivery the region's
    contracts promise (the shortest promise of the assets there). ``assets`` lists only
    those in ``visible`` (None: all); ``assets_outside_scope`` counts the others."""
    parts = [p for p in db.scalars(select(Part).where(Part.part_class == "critical"))]
    by_region: dict[str, list[Asset]] = defaultdict(list)
    for a in db.scalars(select(Asset)):
        by_region[a.region].append(a)
    stock: dict[tuple[str, str], float] = defaultdict(float)
    for s in db.scalars(select(PartStock)):
        stock[(s.part_number, s.region)] += _available(s)
    out = []
    for region, assets in sorted(by_region.items()):
        promise = min(delivery_days.get(a.service_contract, default_days) for a in assets)
        classes = {a.equipment_class for a in assets}
        for p in parts:
            if p.equipment_classes and not classes & set(p.equipment_classes):
                continue
            if stock[(p.part_number, region)] <= 0 and p.lead_time_days > promise:
                needing = sorted(a.id for a in assets if not p.equipment_classes
                                 or a.equipment_class in p.equipment_classes)
                mine = [a for a in needing if visible is None or a in visible]
                if not mine:
                    continue  # a region of which the caller sees nothing
                out.append(schemas.CoverageGap(
                    region=region, part_number=p.part_number, available=stock[
                        (p.part_number, region)], lead_time_days=p.lead_time_days,
                    promised_days=promise, assets=mine[:100],
                    assets_outside_scope=len(needing) - len(mine)))
    return out


def turnover(db: Session, days: float, now: datetime | None = None) -> schemas.PartTurnover:
    """Annualised inventory turns: the value consumed in the last ``days``, scaled to a
    year, over the value on hand now (unit price × quantity)."""
    now = now or datetime.now(UTC)
    price = {p.part_number: p.unit_price for p in db.scalars(select(Part))}
    consumed = sum(-delta * price.get(pn, 0.0) for pn, delta in db.execute(
        select(PartMovement.part_number, PartMovement.on_hand_delta)
        .where(PartMovement.kind == "consume", PartMovement.ts >= now - timedelta(days=days))))
    on_hand = sum(s.on_hand * price.get(s.part_number, 0.0)
                  for s in db.scalars(select(PartStock)))
    turns = None if on_hand <= 0 else consumed * (365.0 / days) / on_hand
    return schemas.PartTurnover(days=days, consumed_value=round(consumed, 2),
                                stock_value=round(on_hand, 2),
                                turns_per_year=None if turns is None else round(turns, 3))
