"""The records a statement is priced from (``service_api/billing.py`` prices them)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import billing
from ..tables import Asset, Labour, Part, PartUsed, WorkOrder


def statement(db: Session, order: WorkOrder, settings: billing.BillingSettings
              ) -> billing.Statement:
    asset = db.get(Asset, order.asset_id)
    labour = [billing.LabourItem(x.id, x.technician, x.minutes) for x in db.scalars(
        select(Labour).where(Labour.work_order_id == order.id).order_by(Labour.id))]
    parts = [billing.PartItem(x.id, x.part_number, x.quantity) for x in db.scalars(
        select(PartUsed).where(PartUsed.work_order_id == order.id).order_by(PartUsed.id))]
    numbers = {p.part_number for p in parts}
    prices = {p.part_number: p.unit_price for p in db.scalars(
        select(Part).where(Part.part_number.in_(numbers)))} if numbers else {}
    return billing.statement(order.id, order.asset_id, order.billing_basis,
                             order.warranty_status, asset.service_contract if asset else "",
                             labour, parts, prices, settings)
