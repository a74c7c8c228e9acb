from __future__ import annotations

from fastapi import APIRouter, Response

from ... import schemas
from ...crud import dispatch as crud
from ...crud import orders as order_crud
from ...crud import sla as sla_crud
from ...tables import Asset
from ..deps import Allowed, IfMatchDep, RowId, SessionDep, SettingsDep, etag

router = APIRouter(tags=["dispatch"])


@router.get("/dispatch-rules", response_model=list[schemas.DispatchRulePublic])
def list_rules(db: SessionDep, who: Allowed("read")):
    """The rules in the order they are tried."""
    return crud.rules(db)


@router.post("/dispatch-rules", response_model=schemas.DispatchRulePublic, status_code=201)
def add_rule(db: SessionDep, who: Allowed("dispatch.manage"),
             data: schemas.DispatchRuleCreate):
    rule = crud.add_rule(db, data)
    db.commit()
    return rule


@router.delete("/dispatch-rules/{rule_id}", status_code=204)
def delete_rule(db: SessionDep, who: Allowed("dispatch.manage"), rule_id: RowId):
    crud.delete_rule(db, rule_id)
    db.commit()


@router.get("/work-orders/{order_id}/dispatch", response_model=schemas.DispatchPreview)
def preview(db: SessionDep, who: Allowed("read"), order_id: RowId):
    """Which rule would dispatch this order now, and to whom (nothing changes)."""
    order = order_crud.get(db, order_id, who)
    return crud.preview(db, order, db.get(Asset, order.asset_id))


@router.post("/work-orders/{order_id}/dispatch",
             response_model=schemas.WorkOrderCommercial | schemas.WorkOrderPublic)
def dispatch(db: SessionDep, who: Allowed("orders.plan"), order_id: RowId, version: IfMatchDep,
             response: Response):
    """Apply the matching rule: the reassignment is recorded in the order's history."""
    order = order_crud.get(db, order_id, who)
    change = crud.rule_change(db, order, db.get(Asset, order.asset_id))
    if change is not None:
        order = order_crud.update(db, order_id, change, who, version)
    db.commit()
    response.headers["ETag"] = etag(order.version)
    return order_crud.public(order, who)


@router.get("/sla-rules", response_model=schemas.SlaPolicy)
def sla_policy(db: SessionDep, who: Allowed("read"), settings: SettingsDep):
    """Due-date hours of new orders by priority: the rules (a rule for the asset's service
    contract beats one for any contract) and the configured defaults under them."""
    return schemas.SlaPolicy(rules=sla_crud.rules(db), defaults=settings.sla_hours)


@router.put("/sla-rules", response_model=schemas.SlaRulePublic)
def put_sla_rule(db: SessionDep, who: Allowed("dispatch.manage"), data: schemas.SlaRulePut):
    """Set the hours for (priority, service contract), taking effect on orders created
    from now on; the due dates of existing orders do not move."""
    rule = sla_crud.put_rule(db, data, who.name)
    db.commit()
    return rule


@router.delete("/sla-rules/{rule_id}", status_code=204)
def delete_sla_rule(db: SessionDep, who: Allowed("dispatch.manage"), rule_id: RowId):
    sla_crud.delete_rule(db, rule_id)
    db.commit()
