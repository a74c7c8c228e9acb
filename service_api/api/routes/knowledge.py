from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Query, Response
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from ... import knowledge, schemas
from ...crud import get_or_404
from ...crud import orders as order_crud
from ...problems import Conflict, Forbidden, NotFound, Unprocessable, check_version
from ...tables import Asset, Attachment, FaultCase, FaultCaseUse, PartUsed
from ...workflow import WORK_DONE
from ..deps import Allowed, IfMatchDep, RowId, SessionDep, etag

router = APIRouter(tags=["knowledge"])


def _public(db, cases: list[FaultCase]) -> list[schemas.FaultCasePublic]:
    recs = knowledge.records(db, [c.id for c in cases])
    out = []
    for c in cases:
        p = schemas.FaultCasePublic.model_validate(c)
        p.uses, p.first_time_fixes = recs[c.id].uses, recs[c.id].first_time_fixes
        out.append(p)
    return out


@router.get("/knowledge/cases", response_model=list[schemas.FaultCasePublic])
def search(db: SessionDep, who: Allowed("read"),
           q: str = Query(default="", max_length=500, description="full text: every word"),
           failure_mode: str | None = Query(default=None, max_length=64),
           equipment_class: str | None = Query(default=None, max_length=64),
           include_retired: bool = False,
           limit: int = Query(default=50, ge=1, le=500)):
    """Fault cases: matching every word of ``q`` (most relevant first; a word also finds
    longer ones it begins on SQLite, stems on PostgreSQL), or the newest. Retired cases
    only with ``include_retired``."""
    stmt = select(FaultCase)
    if not include_retired:
        stmt = stmt.where(FaultCase.retired_at.is_(None))
    if failure_mode is not None:
        stmt = stmt.where(FaultCase.failure_mode == failure_mode)
    if equipment_class is not None:
        stmt = stmt.where(FaultCase.equipment_class == equipment_class)
    if q.strip():
        ranked = knowledge.search_ids(db, q, limit=500)
        order = {i: n for n, (i, _) in enumerate(ranked)}
        cases = db.scalars(stmt.where(FaultCase.id.in_(order))).all() if order else []
        cases = sorted(cases, key=lambda c: order[c.id])[:limit]
    else:
        cases = db.scalars(stmt.order_by(FaultCase.id.desc()).limit(limit)).all()
    return _public(db, list(cases))


@router.post("/knowledge/cases", response_model=schemas.FaultCasePublic, status_code=201)
def add_case(db: SessionDep, who: Allowed("knowledge.write"), data: schemas.FaultCaseWrite):
    order_crud.check_codes(db, failure_mode=data.failure_mode)
    case = FaultCase(**data.model_dump(), created_by=who.name)
    db.add(case)
    db.commit()
    return _public(db, [case])[0]


@router.get("/knowledge/cases/{case_id}", response_model=schemas.FaultCasePublic)
def get_case(db: SessionDep, who: Allowed("read"), case_id: RowId, response: Response):
    case = _get(db, case_id)
    response.headers["ETag"] = etag(case.version)
    return _public(db, [case])[0]


def _get(db, case_id: int) -> FaultCase:
    return get_or_404(db, FaultCase, case_id, f"fault case {case_id}")


@router.patch("/knowledge/cases/{case_id}", response_model=schemas.FaultCasePublic)
def update_case(db: SessionDep, who: Allowed("knowledge.write"), case_id: RowId,
                data: schemas.FaultCaseUpdate, version: IfMatchDep, response: Response):
    """Correct a case (send ``If-Match`` with the ETag you read: a change made meanwhile
    gives 412), or retire it (``retired``: true, with a reason; roles with
    ``quality.write``) so it is no longer suggested; its record of uses stays."""
    case = _get(db, case_id)
    check_version(f"fault case {case.id}", case.version, version)
    fields = data.model_dump(exclude_unset=True)
    if nulls := sorted(k for k, v in fields.items() if v is None):
        raise Unprocessable(f"{', '.join(nulls)} cannot be null: leave a field out to keep "
                            "it, send an empty string to clear text")
    retire = fields.pop("retired", None)
    reason = fields.pop("retired_reason", None)
    if retire is not None or reason is not None:
        if not who.can("quality.write"):
            raise Forbidden(f"role {who.role!r} may not retire or restore fault cases")
        if retire and not (reason or case.retired_reason or "").strip():
            raise Unprocessable("say why the case is retired: send retired_reason")
    if "failure_mode" in fields:
        order_crud.check_codes(db, failure_mode=fields["failure_mode"] or None)
    changed = {k: v for k, v in fields.items() if getattr(case, k) != v}
    if retire is True and case.retired_at is None:
        changed["retired_at"] = datetime.now(UTC)
    elif retire is False and case.retired_at is not None:
        changed["retired_at"], reason = None, ""
    if reason is not None and reason != case.retired_reason:
        changed["retired_reason"] = reason
    if changed:
        for k, v in changed.items():
            setattr(case, k, v)
        case.updated_by, case.updated_at = who.name, datetime.now(UTC)
        try:
            db.flush()
        except StaleDataError:
            raise Conflict(f"fault case {case_id} was changed by another request at the "
                           "same time; GET it again and retry") from None
        db.commit()
    response.headers["ETag"] = etag(case.version)
    return _public(db, [case])[0]


@router.post("/work-orders/{order_id}/knowledge-case", response_model=schemas.FaultCasePublic,
             status_code=201)
def case_from_order(db: SessionDep, who: Allowed("knowledge.write"), order_id: RowId,
                    data: schemas.FaultCaseFromOrder):
    """A fault case made from a completed order in one step: its asset's class, failure
    mode, symptom, the parts used, its photos and files, its actions as the fix (unless
    ``fix`` says better); the order counts as the case's first use."""
    order = order_crud.get(db, order_id, who)
    if order.status not in WORK_DONE:
        raise Conflict(f"work order {order.id} is {order.status}: a case is made from "
                       "completed work")
    fix = data.fix or order.actions
    if not fix.strip():
        raise Unprocessable("say what fixed it: the order records no actions; send fix")
    asset = db.get(Asset, order.asset_id)
    parts = sorted(set(db.scalars(select(PartUsed.part_number)
                                  .where(PartUsed.work_order_id == order.id))))
    files = list(db.scalars(select(Attachment.id).where(Attachment.work_order_id == order.id)
                            .order_by(Attachment.id)))
    case = FaultCase(equipment_class=asset.equipment_class if asset else "",
                     failure_mode=order.failure_mode, title=data.title or order.title,
                     symptoms=order.symptom, root_cause=data.root_cause or order.failure_cause,
                     fix=fix, guide=data.guide, parts=parts, attachments=files,
                     source_order_id=order.id, created_by=who.name)
    try:
        with db.begin_nested():
            db.add(case)
            db.flush()
    except IntegrityError:
        raise Conflict(f"a fault case was already made from work order {order.id}") from None
    db.add(FaultCaseUse(case_id=case.id, work_order_id=order.id, recorded_by=who.name,
                        first_time_fix=order.first_time_fix))
    db.commit()
    return _public(db, [case])[0]


@router.get("/work-orders/{order_id}/suggestions", response_model=list[schemas.CaseSuggestion])
def suggestions(db: SessionDep, who: Allowed("read"), order_id: RowId):
    """Known fixes for this order: cases of its failure mode and cases whose text
    matches its symptom and title, best first by how often their fix worked the first
    time (docs/knowledge.md)."""
    order = order_crud.get(db, order_id, who)
    asset = db.get(Asset, order.asset_id)
    found = knowledge.suggest(db, order.failure_mode, asset.equipment_class if asset else "",
                              f"{order.title} {order.symptom}")
    publics = _public(db, [c for c, _, _, _ in found])
    return [schemas.CaseSuggestion(case=p, first_time_fix_rate=round(rec.rate, 4),
                                   mode_match=mode, relevance=round(rel, 4))
            for p, (_, rec, mode, rel) in zip(publics, found, strict=True)]


@router.post("/work-orders/{order_id}/applied-cases", status_code=201)
def apply_case(db: SessionDep, who: Allowed("orders.execute"), order_id: RowId,
               data: schemas.CaseApply) -> dict:
    """The technician follows this case on this order; when the order is completed, its
    first-time-fix answer becomes the case's record."""
    order = order_crud.get(db, order_id, who)
    if db.get(FaultCase, data.case_id) is None:
        raise NotFound(f"fault case {data.case_id} does not exist")
    if db.get(FaultCaseUse, (data.case_id, order.id)) is None:
        done = order.status in WORK_DONE
        db.add(FaultCaseUse(case_id=data.case_id, work_order_id=order.id,
                            recorded_by=who.name,
                            first_time_fix=order.first_time_fix if done else None))
        db.commit()
    return {"case_id": data.case_id, "work_order_id": order.id}
