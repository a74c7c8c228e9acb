from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from typing import Literal

from fastapi import APIRouter, Query
from sqlalchemy import select

from contracts.api_bodies import Moment

from ... import quality, schemas
from ...crud import assets as asset_crud
from ...crud import billing as billing_crud
from ...crud import orders as order_crud
from ...tables import Asset, CorrectiveAction, WorkOrder
from ...workflow import WORK_DONE
from ..deps import Allowed, SessionDep, SettingsDep

router = APIRouter(prefix="/quality", tags=["quality"])
Window = Query(default=30.0, gt=0, le=3650, description="days after a completion within "
               "which the same failure again counts as a repeat")


def _failures(db, who, since: datetime | None, until: datetime | None,
              ) -> list[tuple[quality.Failure, WorkOrder]]:
    q = asset_crud.in_scope(
        select(WorkOrder, Asset).join(Asset, Asset.id == WorkOrder.asset_id)
        .where(WorkOrder.status.in_(WORK_DONE),
               WorkOrder.result != "no_fault_found", WorkOrder.completed_at.is_not(None)),
        who)
    if since is not None:
        q = q.where(WorkOrder.completed_at >= since)
    if until is not None:
        q = q.where(WorkOrder.completed_at < until)
    return [(quality.Failure(o.id, o.asset_id, a.equipment_class, o.failure_mode,
                             o.failure_cause, o.opened_at, o.completed_at), o)
            for o, a in db.execute(q.order_by(WorkOrder.id))]


@router.get("/pareto", response_model=list[schemas.ParetoRow])
def pareto(db: SessionDep, who: Allowed("read"),
           by: Literal["failure_mode", "failure_cause", "equipment_class"] = "failure_mode",
           since: Moment | None = None, until: Moment | None = None):
    """Failures (completed orders, not 'no fault found') completed in [since, until),
    counted by failure mode, cause or equipment class, most first, with cumulative share."""
    return quality.pareto([f for f, _ in _failures(db, who, since, until)], by)


@router.get("/repeats", response_model=schemas.Repeats)
def repeats(db: SessionDep, who: Allowed("read"), window_days: float = Window,
            since: Moment | None = None, until: Moment | None = None):
    """Failures of the same asset and mode opened within ``window_days`` of the previous
    one's completion."""
    fs = [f for f, _ in _failures(db, who, since, until)]
    items = quality.repeats(fs, window_days)
    n = quality.with_mode(fs)
    return schemas.Repeats(window_days=window_days, failures=n, repeats=len(items),
                           repeat_rate=quality.rate(len(items), n), items=items)


@router.get("/mtbf", response_model=list[schemas.MtbfRow])
def mtbf(db: SessionDep, who: Allowed("read"), since: Moment | None = None,
         until: Moment | None = None):
    """Mean time between failures by mode: the operating hours in the window of the
    equipment classes that saw the mode (each asset counted from its registration), over
    the mode's failures. Shortest first."""
    end = until or datetime.now(UTC)
    exposure: dict[str, float] = defaultdict(float)
    for a in db.scalars(asset_crud.in_scope(select(Asset), who)):
        start = max(a.created_at, since) if since is not None else a.created_at
        exposure[a.equipment_class] += max(0.0, (end - start).total_seconds() / 3600)
    return quality.mtbf_by_mode([f for f, _ in _failures(db, who, since, until)], exposure)


@router.get("/cost", response_model=list[schemas.CostRow])
def cost(db: SessionDep, who: Allowed("commercial"), settings: SettingsDep,
         since: Moment | None = None, until: Moment | None = None):
    """What each failure mode cost at list prices (labour at the billing rate, parts at
    catalogue prices, call-outs), costliest first."""
    zero = Decimal("0.00")
    rows: dict[str, dict] = defaultdict(lambda: {"failures": 0, "hours": Decimal(0),
                                                 "labour": zero, "parts": zero,
                                                 "total": zero})
    for f, order in _failures(db, who, since, until):
        st = billing_crud.statement(db, order, settings.billing)
        r = rows[f.failure_mode or quality.UNCLASSIFIED]
        r["failures"] += 1
        r["total"] += st.list_total
        for line in st.lines:
            if line.kind == "labour":
                r["hours"] += line.quantity
                r["labour"] += line.list_amount
            elif line.kind == "part":
                r["parts"] += line.list_amount
    return sorted((schemas.CostRow(failure_mode=m, failures=r["failures"],
                                   labour_hours=float(round(r["hours"], 2)),
                                   labour_cost=str(r["labour"]), parts_cost=str(r["parts"]),
                                   total_cost=str(r["total"]))
                   for m, r in rows.items()), key=lambda c: -Decimal(c.total_cost))


def _with_effect(action: CorrectiveAction, fs: list[quality.Failure], window_days: float
                 ) -> schemas.CorrectiveActionPublic:
    mine = [f for f in fs if f.failure_mode == action.failure_mode and (
        not action.equipment_class or f.equipment_class == action.equipment_class)]
    before = [f for f in mine if f.opened_at < action.effective_from]
    after = [f for f in mine if f.opened_at >= action.effective_from]
    out = schemas.CorrectiveActionPublic.model_validate(action)
    out.failures_before, out.failures_after = len(before), len(after)
    out.repeat_rate_before = quality.repeat_rate(before, window_days)
    out.repeat_rate_after = quality.repeat_rate(after, window_days)
    return out


@router.post("/actions", response_model=schemas.CorrectiveActionPublic, status_code=201)
def add_action(db: SessionDep, who: Allowed("quality.write"),
               data: schemas.CorrectiveActionCreate, window_days: float = Window):
    """Record a root cause and the corrective action taken against a failure mode (for
    one equipment class, or all), with the work orders that led to it."""
    order_crud.check_codes(db, failure_mode=data.failure_mode)
    for order_id in data.orders:  # 404 for an order that does not exist (or is not yours)
        order_crud.get(db, order_id, who)
    action = CorrectiveAction(**data.model_dump(), created_by=who.name)
    db.add(action)
    db.commit()
    return _with_effect(action, [f for f, _ in _failures(db, who, None, None)], window_days)


@router.get("/actions", response_model=list[schemas.CorrectiveActionPublic])
def actions(db: SessionDep, who: Allowed("read"), window_days: float = Window):
    """Corrective actions with their effect: the repeat rate of their mode (and class)
    among failures opened before ``effective_from`` and after."""
    fs = [f for f, _ in _failures(db, who, None, None)]
    return [_with_effect(a, fs, window_days) for a in db.scalars(
        select(CorrectiveAction).order_by(CorrectiveAction.id))]
