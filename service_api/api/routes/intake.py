from __future__ import annotations

from fastapi import APIRouter, Response
from sqlalchemy import select

from ... import intake, schemas
from ...crud import assets as asset_crud
from ...crud import orders as order_crud
from ...problems import NotFound, Unprocessable
from ...tables import Asset
from ..deps import Allowed, SessionDep, SettingsDep

router = APIRouter(tags=["intake"])


@router.post("/intake", response_model=schemas.IntakeResult, status_code=201, responses={
    200: {"description": "the asset already has an open order for this failure mode: it "
                         "is returned", "model": schemas.IntakeResult},
    422: {"description": "no asset matches the serial number; the problem lists the "
                         "closest `candidates`"}})
def intake_order(db: SessionDep, who: Allowed("orders.create"), settings: SettingsDep,
                 data: schemas.IntakeCreate, response: Response):
    """An order from a phone call, SMS, chat, e-mail or the portal. The machine is found
    by asset id or by its serial number (typos tolerated, docs/intake.md); the order joins
    the same deduplication as automatic orders, and the match made is returned."""
    if data.asset_id:
        asset = db.get(Asset, data.asset_id)
        if asset is None or not who.sees_path(asset.path):
            raise NotFound(f"asset {data.asset_id!r} is not registered")
        found = intake.Match(asset.id, asset.serial_number, "asset_id")
    else:
        serials = db.execute(asset_crud.in_scope(
            select(Asset.id, Asset.serial_number).where(Asset.serial_number.is_not(None)),
            who)).all()
        found = intake.match_serial(data.serial_number.strip(), [(a, s) for a, s in serials])
        if isinstance(found, intake.NoMatch):
            raise Unprocessable(found.reason, candidates=[
                {"asset_id": a, "serial_number": s, "distance": d}
                for a, s, d in found.candidates])
    note = f"Reported via {data.channel}" + (f" by {data.reporter}" if data.reporter else "") \
        + (f" ({data.contact})" if data.contact else "")
    if found.method == "fuzzy":
        note += f"; serial given as {data.serial_number!r}, matched {found.serial_number!r}"
    order, created = order_crud.create(db, schemas.WorkOrderCreate(
        asset_id=found.asset_id, type="corrective", severity=data.severity,
        failure_mode=data.failure_mode, source=data.channel,
        source_ref=data.reference or data.reporter, title=data.title, symptom=data.symptom,
        description=note + "."), who, settings)
    db.commit()
    response.status_code = 201 if created else 200
    return schemas.IntakeResult(
        created=created, order=order_crud.public(order, who),
        match=schemas.IntakeMatch(given=data.asset_id or data.serial_number or "",
                                  asset_id=found.asset_id, serial_number=found.serial_number,
                                  method=found.method, distance=found.distance))
