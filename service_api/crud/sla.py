"""Service levels: hours from a new order's creation to its due date, by priority and
service contract. A rule for the asset's contract beats a rule for any contract ("");
without either, the ``sla_hours`` setting decides (docs/api.md#service-levels)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .. import schemas
from ..tables import SlaRule
from . import get_or_404

FALLBACK_HOURS = 72.0  # a priority the settings do not name


def rules(db: Session) -> list[SlaRule]:
    return list(db.scalars(select(SlaRule).order_by(SlaRule.priority,
                                                    SlaRule.service_contract)))


def hours_for(db: Session, priority: str, service_contract: str | None,
              defaults: dict[str, float]) -> tuple[float, str]:
    """(hours, where they came from) for a new order of this priority on an asset with
    this service contract."""
    contracts = [service_contract, ""] if service_contract else [""]
    found = {r.service_contract: r for r in db.scalars(select(SlaRule).where(
        SlaRule.priority == priority, SlaRule.service_contract.in_(contracts)))}
    for c in contracts:
        if c in found:
            return found[c].hours, f"sla rule {found[c].id}"
    if priority in defaults:
        return defaults[priority], "setting sla_hours"
    return FALLBACK_HOURS, "default"


def put_rule(db: Session, data: schemas.SlaRulePut, actor: str) -> SlaRule:
    """Create or change the rule for (priority, service contract)."""
    key = (SlaRule.priority == data.priority,
           SlaRule.service_contract == data.service_contract)
    rule = db.scalars(select(SlaRule).where(*key)).first()
    if rule is None:
        try:
            with db.begin_nested():
                rule = SlaRule(**data.model_dump(), updated_by=actor)
                db.add(rule)
                db.flush()
            return rule
        except IntegrityError:  # created meanwhile by another request: change that one
            rule = db.scalars(select(SlaRule).where(*key)).one()
    rule.hours, rule.updated_by, rule.updated_at = data.hours, actor, datetime.now(UTC)
    db.flush()
    return rule


def delete_rule(db: Session, rule_id: int) -> None:
    db.delete(get_or_404(db, SlaRule, rule_id, f"sla rule {rule_id}"))
