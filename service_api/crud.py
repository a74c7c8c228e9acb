"""All queries live here; routes stay thin."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import schemas
from .tables import Asset, HealthScore, WorkOrder, WorkOrderEvent
from .workflow import OPEN, TERMINAL, check_transition, initial_status


class NotFound(LookupError):
    pass


def open_orders_by_asset(db: Session) -> dict[str, int]:
    rows = db.execute(select(WorkOrder.asset_id, func.count()).where(
        WorkOrder.status.in_(OPEN)).group_by(WorkOrder.asset_id)).all()
    return dict(rows)  # type: ignore[arg-type]


def list_assets(db: Session) -> list[schemas.AssetPublic]:
    counts = open_orders_by_asset(db)
    assets = db.scalars(select(Asset)).all()
    out = [schemas.AssetPublic.model_validate(a).model_copy(
        update={"open_work_orders": counts.get(a.id, 0)}) for a in assets]
    return sorted(out, key=lambda a: (-(a.risk or 0.0), a.id))


def get_asset(db: Session, asset_id: str) -> Asset:
    asset = db.get(Asset, asset_id)
    if asset is None:
        raise NotFound(f"asset {asset_id!r} is not registered; PUT /api/v1/assets/{asset_id} first")
    return asset


def upsert_asset(db: Session, asset_id: str, data: schemas.AssetUpsert) -> Asset:
    asset = db.get(Asset, asset_id)
    if asset is None:
        asset = Asset(id=asset_id)
        db.add(asset)
    for k, v in data.model_dump().items():
        if v or not getattr(asset, k, None):
            setattr(asset, k, v)
    db.commit()
    return asset


def add_health(db: Session, asset_id: str, data: schemas.HealthCreate) -> HealthScore:
    asset = get_asset(db, asset_id)
    score = HealthScore(asset_id=asset_id, ts=data.ts, risk=data.risk, detail=data.detail)
    db.add(score)
    if asset.scored_at is None or data.ts >= asset.scored_at:
        asset.risk, asset.scored_at = data.risk, data.ts
    db.commit()
    return score


def health_history(db: Session, asset_id: str, limit: int) -> list[HealthScore]:
    get_asset(db, asset_id)
    rows = db.scalars(select(HealthScore).where(HealthScore.asset_id == asset_id)
                      .order_by(HealthScore.ts.desc()).limit(limit)).all()
    return list(reversed(rows))


def create_work_order(db: Session, data: schemas.WorkOrderCreate) -> tuple[WorkOrder, bool]:
    """Create an order, or return the open one for the same asset and failure mode.

    Returns (order, created).
    """
    get_asset(db, data.asset_id)
    if data.failure_mode:
        existing = db.scalars(select(WorkOrder).where(
            WorkOrder.asset_id == data.asset_id, WorkOrder.failure_mode == data.failure_mode,
            WorkOrder.status.in_(OPEN))).first()
        if existing is not None:
            return existing, False
    status = initial_status(data.source)
    order = WorkOrder(**data.model_dump(), status=status)
    db.add(order)
    db.flush()
    db.add(WorkOrderEvent(work_order_id=order.id, from_status=None, to_status=status,
                          actor=data.source, note="created"))
    db.commit()
    return order, True


def list_work_orders(db: Session, status: str | None, asset_id: str | None) -> list[WorkOrder]:
    q = select(WorkOrder).order_by(WorkOrder.id)
    if status:
        q = q.where(WorkOrder.status == status)
    if asset_id:
        q = q.where(WorkOrder.asset_id == asset_id)
    return list(db.scalars(q).all())


def get_work_order(db: Session, order_id: int) -> WorkOrder:
    order = db.get(WorkOrder, order_id)
    if order is None:
        raise NotFound(f"work order {order_id} does not exist")
    return order


def transition(db: Session, order_id: int, data: schemas.TransitionCreate) -> WorkOrder:
    order = get_work_order(db, order_id)
    check_transition(order.status, data.to)
    now = datetime.now(UTC)
    db.add(WorkOrderEvent(work_order_id=order.id, from_status=order.status, to_status=data.to,
                          actor=data.actor, note=data.note, ts=now))
    order.status, order.updated_at = data.to, now
    if data.to in TERMINAL and order.closed_at is None:
        order.closed_at = now
    db.commit()
    return order


def events(db: Session, order_id: int) -> list[WorkOrderEvent]:
    get_work_order(db, order_id)
    return list(db.scalars(select(WorkOrderEvent).where(
        WorkOrderEvent.work_order_id == order_id).order_by(WorkOrderEvent.id)).all())


def kpis(db: Session, risk_threshold: float = 0.5) -> schemas.Kpis:
    by_status = dict(db.execute(select(WorkOrder.status, func.count())
                                .group_by(WorkOrder.status)).all())
    total = sum(by_status.values())
    predictive = db.scalar(select(func.count()).select_from(WorkOrder)
                           .where(WorkOrder.source == "predictive")) or 0
    closed = db.execute(select(WorkOrder.opened_at, WorkOrder.closed_at)
                        .where(WorkOrder.closed_at.is_not(None))).all()
    hours = [(c - o).total_seconds() / 3600 for o, c in closed]
    return schemas.Kpis(
        assets=db.scalar(select(func.count()).select_from(Asset)) or 0,
        assets_at_risk=db.scalar(select(func.count()).select_from(Asset)
                                 .where(Asset.risk >= risk_threshold)) or 0,
        work_orders_by_status=by_status,  # type: ignore[arg-type]
        open_work_orders=sum(n for s, n in by_status.items() if s in OPEN),
        predictive_share=predictive / total if total else None,
        mean_hours_to_close=sum(hours) / len(hours) if hours else None,
    )
