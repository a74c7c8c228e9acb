"""KPIs over a period and a slice of the fleet; every figure is defined in docs/kpis.md."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from statistics import fmean

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from .. import schemas
from ..access import Principal
from ..tables import Asset, AssetEvent, WorkOrder, WorkOrderEvent
from ..workflow import OPEN
from . import assets as asset_crud

FAILURE_TYPES = ("corrective", "predictive")


def _hours(a: datetime | None, b: datetime | None) -> float | None:
    return (b - a).total_seconds() / 3600 if a is not None and b is not None else None


def _mean(values) -> float | None:
    values = [v for v in values if v is not None]
    return fmean(values) if values else None


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


LEAD_WINDOW = timedelta(days=30)  # a trip later than this is not what the order foresaw


def warning(db: Session, asset_ids: list[str], orders: list[WorkOrder], in_period) -> dict:
    """Failures are ``device_state`` events saying ``tripped`` in the period. A failure
    is warned if an automatic order for its asset was opened in the LEAD_WINDOW before it;
    the lead time runs from the first such order to the failure."""
    predictive = [o for o in orders if o.source == "predictive"]
    leads, failures = [], 0
    if asset_ids:
        for asset, trip, detail in db.execute(
                select(AssetEvent.asset_id, AssetEvent.ts, AssetEvent.detail)
                .where(AssetEvent.asset_id.in_(asset_ids), AssetEvent.kind == "device_state")):
            if (detail or {}).get("state") != "tripped" or not in_period(trip):
                continue
            failures += 1
            before = [o.opened_at for o in predictive if o.asset_id == asset
                      and trip - LEAD_WINDOW <= o.opened_at <= trip]
            if before:
                leads.append(_hours(min(before), trip))
    return {"warning_lead_time_hours": _mean(leads),
            "failures_warned": _ratio(len(leads), failures)}


def at_risk(asset: Asset, default_threshold: float) -> bool:
    """The one definition of "at risk": the latest risk at or above the threshold that
    opens orders for this asset (sent by the ingester with each score), else the
    default."""
    if asset.risk is None:
        return False
    threshold = (asset.latest_detail or {}).get("threshold")
    if not isinstance(threshold, int | float):
        threshold = default_threshold
    return asset.risk >= threshold


def kpis(db: Session, principal: Principal, f: schemas.AssetFilter,
         start: datetime | None, end: datetime | None,
         risk_threshold: float = 0.5) -> schemas.Kpis:
    now = datetime.now(UTC)
    aq = asset_crud.in_scope(select(Asset), principal)
    for col, value in ((Asset.site, f.site), (Asset.region, f.region),
                       (Asset.equipment_class, f.equipment_class)):
        if value is not None:
            aq = aq.where(col == value)
    assets = list(db.scalars(aq))
    ids = [a.id for a in assets]
    orders = list(db.scalars(select(WorkOrder).where(WorkOrder.asset_id.in_(ids)))) \
        if ids else []

    def in_period(t: datetime | None) -> bool:
        return t is not None and (start is None or t >= start) and (end is None or t < end)

    opened = [o for o in orders if in_period(o.opened_at)]
    completed = [o for o in orders if in_period(o.completed_at)]
    backlog = [o for o in orders if o.status in OPEN]
    by_status: dict[str, int] = {}
    for o in opened:
        by_status[o.status] = by_status.get(o.status, 0) + 1
    by_priority: dict[str, list[float]] = {}
    for o in backlog:
        by_priority.setdefault(o.priority, []).append(_hours(o.opened_at, now) or 0.0)

    # first review of each automatic order: approved (true alarm) or rejected (false)
    reviewed = dict(db.execute(
        select(WorkOrderEvent.work_order_id, WorkOrderEvent.to_status)
        .join(WorkOrder, WorkOrder.id == WorkOrderEvent.work_order_id)
        .where(and_(WorkOrder.source == "predictive", WorkOrderEvent.from_status == "proposed",
                    WorkOrderEvent.to_status.in_(("approved", "rejected")),
                    WorkOrder.id.in_([o.id for o in opened] or [-1])))).all())
    failures = [o for o in completed if o.type in FAILURE_TYPES]
    p0 = start or min((a.created_at for a in assets), default=now)
    p1 = min(end or now, now)
    asset_hours = sum(max(0.0, _hours(max(p0, a.created_at), p1) or 0.0) for a in assets)
    with_ftf = [o for o in completed if o.first_time_fix is not None]
    with_due = [o for o in completed if o.due_at is not None]
    return schemas.Kpis(
        period_start=start, period_end=end,
        assets=len(assets),
        assets_at_risk=sum(1 for a in assets if at_risk(a, risk_threshold)),
        work_orders_by_status=by_status,
        open_work_orders=len(backlog),
        backlog_by_priority={p: len(v) for p, v in sorted(by_priority.items())},
        backlog_age_hours={p: round(fmean(v), 3) for p, v in sorted(by_priority.items())},
        predictive_share=_ratio(sum(o.source == "predictive" for o in opened), len(opened)),
        automatic_order_precision=_ratio(sum(v == "approved" for v in reviewed.values()),
                                         len(reviewed)),
        mean_response_hours=_mean(_hours(o.opened_at, o.responded_at) for o in opened),
        mean_resolution_hours=_mean(_hours(o.opened_at, o.completed_at) for o in completed),
        mttr_hours=_mean(_hours(o.started_at, o.completed_at) for o in failures),
        mtbf_hours=asset_hours / len(failures) if failures else None,
        first_time_fix_rate=_ratio(sum(bool(o.first_time_fix) for o in with_ftf),
                                   len(with_ftf)),
        **warning(db, ids, orders, in_period),
        sla_compliance=_ratio(sum(o.completed_at <= o.due_at for o in with_due),
                              len(with_due)),
    )

