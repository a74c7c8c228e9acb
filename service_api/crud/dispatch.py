"""Dispatch: rules choose the team and assignee of an order by equipment class, severity
and region; a preview says what a rule would do; applying it is a recorded reassignment."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import schemas
from ..tables import Asset, DispatchRule, WorkOrder
from . import get_or_404


def rules(db: Session) -> list[DispatchRule]:
    return list(db.scalars(select(DispatchRule).order_by(DispatchRule.position,
                                                         DispatchRule.id)))


def add_rule(db: Session, data: schemas.DispatchRuleCreate) -> DispatchRule:
    rule = DispatchRule(**data.model_dump())
    db.add(rule)
    db.flush()
    return rule


def delete_rule(db: Session, rule_id: int) -> None:
    db.delete(get_or_404(db, DispatchRule, rule_id, f"dispatch rule {rule_id}"))


def match(db: Session, order: WorkOrder, asset: Asset) -> DispatchRule | None:
    """The first active rule whose set fields all equal the order's."""
    for rule in rules(db):
        if rule.active and all(
                not want or want == have for want, have in (
                    (rule.equipment_class, asset.equipment_class),
                    (rule.severity, order.severity), (rule.region, asset.region))):
            return rule
    return None


def preview(db: Session, order: WorkOrder, asset: Asset) -> schemas.DispatchPreview:
    rule = match(db, order, asset)
    return schemas.DispatchPreview(
        order_id=order.id, equipment_class=asset.equipment_class, severity=order.severity,
        region=asset.region, rule_id=rule.id if rule else None,
        team=rule.team if rule else None, assignee=rule.assignee if rule else None,
        current_team=order.team, current_assignee=order.assignee)


def rule_change(db: Session, order: WorkOrder, asset: Asset) -> schemas.WorkOrderUpdate | None:
    """The change the matching rule makes (None when no rule matches)."""
    rule = match(db, order, asset)
    if rule is None:
        return None
    return schemas.WorkOrderUpdate(team=rule.team, assignee=rule.assignee)
