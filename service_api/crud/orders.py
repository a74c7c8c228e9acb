"""Work orders: creation with deduplication, the transitions, the execution record.

Concurrency: one open order per asset and failure mode is a unique index on
``dedup_key`` (set while the order is open); every update of an order goes through its
``version`` (SQLAlchemy's version counter: ``UPDATE ... WHERE version = :read``), so of
two requests that read the same state only one can change it, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import and_, exists, or_, select
from sqlalchemy import update as sql_update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from .. import attachments, knowledge, schemas, webhooks
from ..access import Principal
from ..paging import PageParams, order_by, paginate
from ..problems import Conflict, Forbidden, NotFound, Unprocessable, check_version
from ..settings import ServiceApiSettings
from ..tables import Asset, Attachment, Code, Labour, PartUsed, WorkOrder, WorkOrderEvent
from ..workflow import (
    NEEDS_REASON,
    OPEN,
    RESPONSE,
    RIGHT_FOR,
    WORK_DONE,
    TransitionError,
    check_transition,
    derived_priority,
    initial_status,
)
from . import assets as asset_crud
from . import dispatch, parts, sla

SORTABLE = {"id": WorkOrder.id, "opened_at": WorkOrder.opened_at,
            "updated_at": WorkOrder.updated_at, "due_at": WorkOrder.due_at,
            "risk": WorkOrder.risk, "priority": WorkOrder.priority,
            "status": WorkOrder.status}


def dedup_key(asset_id: str, failure_mode: str) -> str | None:
    return f"{asset_id}|{failure_mode}" if failure_mode else None


def public(order: WorkOrder, principal: Principal) -> schemas.WorkOrderPublic:
    model = (schemas.WorkOrderCommercial if principal.can("commercial")
             else schemas.WorkOrderPublic)
    return model.model_validate(order)


def check_codes(db: Session, **codes: str | None) -> None:
    for lst, code in codes.items():
        if code and db.get(Code, (lst, code)) is None:
            raise Unprocessable(f"{lst} {code!r} is not in the code list; see GET "
                                f"/api/v1/codes?list={lst} (an admin can add it)")


def _event(db: Session, order: WorkOrder, actor: str, action: str, to: str,
           from_status: str | None = None, note: str = "", detail: dict | None = None,
           ts: datetime | None = None) -> None:
    db.add(WorkOrderEvent(work_order_id=order.id, ts=ts or datetime.now(UTC), action=action,
                          from_status=from_status, to_status=to, actor=actor, note=note,
                          detail=detail or {}))


def open_order_for(db: Session, asset_id: str, failure_mode: str) -> WorkOrder | None:
    key = dedup_key(asset_id, failure_mode)
    return db.scalar(select(WorkOrder).where(WorkOrder.dedup_key == key)) if key else None


def create(db: Session, data: schemas.WorkOrderCreate, principal: Principal,
           settings: ServiceApiSettings, parent: WorkOrder | None = None
           ) -> tuple[WorkOrder, bool]:
    """Create an order, or return the open one for the same asset and failure mode.

    Returns (order, created). Flushes; the caller commits.
    """
    asset = asset_crud.get_asset(db, data.asset_id, principal)
    if data.source == "predictive" and not principal.can("orders.review") \
            and principal.role != "service":
        raise Forbidden("only the ingester's service role and reviewers open predictive "
                        "orders")
    check_codes(db, failure_mode=data.failure_mode, failure_mechanism=data.failure_mechanism,
                failure_cause=data.failure_cause)
    existing = open_order_for(db, data.asset_id, data.failure_mode)
    if existing is not None:
        if data.source == "predictive" and data.risk is not None:
            add_evidence(db, existing, data, asset, principal)
        return existing, False
    now = datetime.now(UTC)
    if data.source == "predictive" and settings.rejection_quiet_hours > 0:
        rejected = recently_rejected(db, data, now - timedelta(
            hours=settings.rejection_quiet_hours))
        if rejected is not None:  # the same alarm was judged false: do not propose again
            _event(db, rejected, principal.name, "suppressed", rejected.status,
                   rejected.status, note="a new prediction while the rejection holds",
                   detail={"risk": data.risk})
            db.flush()
            return rejected, False
    priority = data.priority or derived_priority(
        data.risk if data.source == "predictive" else None, asset.criticality, data.severity)
    status = initial_status(data.source)
    sla_hours, sla_source = sla.hours_for(db, priority, asset.service_contract,
                                          settings.sla_hours)
    order = WorkOrder(
        **data.model_dump(exclude={"priority"}), priority=priority, status=status,
        dedup_key=dedup_key(data.asset_id, data.failure_mode),
        warranty_status=asset_crud.warranty_status(asset.warranty_start, asset.warranty_end,
                                                   now.date()),
        billing_basis=asset_crud.billing_basis(asset, now.date()),
        due_at=now + timedelta(hours=sla_hours),
        opened_at=now, updated_at=now, parent_id=parent.id if parent else None)
    try:
        with db.begin_nested():  # a savepoint: losing the race rolls back only this insert
            db.add(order)
            db.flush()
    except IntegrityError:  # another request opened it first: answer with that one
        existing = open_order_for(db, data.asset_id, data.failure_mode)
        if existing is None:
            raise
        return existing, False
    detail: dict = {"parent_id": parent.id} if parent else {}
    detail.update(sla_hours=sla_hours, sla=sla_source)  # why it is due when it is
    rule = dispatch.match(db, order, asset)
    if rule is not None:  # dispatch rules choose team and assignee
        order.team, order.assignee = rule.team, rule.assignee
        detail.update(dispatch_rule=rule.id, team=rule.team, assignee=rule.assignee)
    _event(db, order, principal.name, "created", status, note=data.source, detail=detail,
           ts=now)
    db.flush()
    parts.on_transition(db, order, status, principal.name)  # a person's order: approved
    webhooks.enqueue(db, "order.created", webhooks.order_payload(order))
    return order, True


PRIORITY_RANK = {"low": 0, "medium": 1, "high": 2, "critical": 3}


def add_evidence(db: Session, order: WorkOrder, data: schemas.WorkOrderCreate, asset: Asset,
                 principal: Principal) -> bool:
    """A prediction for an order already open: if its risk is higher than the order's,
    record it as evidence, and raise the priority when risk x criticality says so.

    One atomic ``UPDATE ... WHERE risk < :new`` (a new version), so concurrent predictions
    never conflict and an equal or lower risk changes nothing.
    """
    before_risk, before_priority = order.risk, order.priority
    derived = derived_priority(data.risk, asset.criticality, data.severity)
    priority = (derived if PRIORITY_RANK[derived] > PRIORITY_RANK.get(order.priority, 0)
                else order.priority)
    now = datetime.now(UTC)
    done = db.execute(
        sql_update(WorkOrder.__table__)
        .where(WorkOrder.id == order.id,
               or_(WorkOrder.risk.is_(None), WorkOrder.risk < data.risk))
        .values(risk=data.risk, priority=priority, updated_at=now,
                version=WorkOrder.version + 1)).rowcount
    if not done:
        return False
    db.refresh(order)
    _event(db, order, principal.name, "evidence", order.status, order.status,
           note=data.description[:2000], ts=now,
           detail={"risk": data.risk, "before_risk": before_risk, "priority": priority,
                   "before_priority": before_priority})
    db.flush()
    return True


def recently_rejected(db: Session, data: schemas.WorkOrderCreate, since: datetime
                      ) -> WorkOrder | None:
    return db.scalar(select(WorkOrder).where(
        WorkOrder.asset_id == data.asset_id, WorkOrder.failure_mode == data.failure_mode,
        WorkOrder.source == "predictive", WorkOrder.status == "rejected",
        WorkOrder.updated_at >= since).order_by(WorkOrder.updated_at.desc()).limit(1))


def list_orders(db: Session, principal: Principal, page: PageParams,
                f: schemas.OrderFilter) -> tuple[list[WorkOrder], int]:
    q = select(WorkOrder)
    if principal.scope or f.site or f.region or f.equipment_class:
        q = q.join(Asset, Asset.id == WorkOrder.asset_id)
        q = asset_crud.in_scope(q, principal)
        for col, value in ((Asset.site, f.site), (Asset.region, f.region),
                           (Asset.equipment_class, f.equipment_class)):
            if value is not None:
                q = q.where(col == value)
    for col, value in ((WorkOrder.status, f.status), (WorkOrder.asset_id, f.asset_id),
                       (WorkOrder.type, f.type), (WorkOrder.source, f.source),
                       (WorkOrder.priority, f.priority), (WorkOrder.assignee, f.assignee)):
        if value is not None:
            q = q.where(col == value)
    if f.open is not None:
        q = q.where(WorkOrder.status.in_(OPEN) if f.open else WorkOrder.status.not_in(OPEN))
    if f.opened_since is not None:
        q = q.where(WorkOrder.opened_at >= f.opened_since)
    if f.opened_until is not None:
        q = q.where(WorkOrder.opened_at < f.opened_until)
    return paginate(db, order_by(q, page.sort, SORTABLE, "id"), page)


def get(db: Session, order_id: int, principal: Principal) -> WorkOrder:
    order = db.get(WorkOrder, order_id)
    if order is None:
        raise NotFound(f"work order {order_id} does not exist")
    asset = db.get(Asset, order.asset_id)
    if asset is not None and not principal.sees_path(asset.path):
        raise NotFound(f"work order {order_id} does not exist")
    return order


def _commit_versioned(db: Session, order: WorkOrder) -> None:
    oid = order.id  # read before the flush: a failed flush expires the object
    try:
        db.flush()
    except StaleDataError as exc:
        raise Conflict(f"work order {oid} was changed by another request at the same "
                       "time; GET it again and retry") from exc


def has_work(db: Session, order_id: int) -> bool:
    return bool(db.scalar(select(or_(
        exists().where(Labour.work_order_id == order_id),
        exists().where(PartUsed.work_order_id == order_id)))))


def transition(db: Session, order_id: int, data: schemas.TransitionCreate,
               principal: Principal, settings: ServiceApiSettings,
               if_match: int | None = None) -> WorkOrder:
    order = get(db, order_id, principal)
    check_version(f"work order {order.id}", order.version, if_match)
    to, now = data.to, datetime.now(UTC)
    right = RIGHT_FOR.get(to)
    if right is not None and not principal.can(right):
        raise Forbidden(f"role {principal.role!r} may not move an order to {to!r} (needs "
                        f"{right!r})")
    check_transition(order.status, to)
    if to in NEEDS_REASON and not data.reason.strip():
        raise Unprocessable(f"a reason is required to move an order to {to!r}")
    if to == "cancelled" and order.status == "on_hold" and has_work(db, order.id):
        raise TransitionError("cannot cancel: work has been recorded on this order; "
                              "complete it with the result 'not_fixed' instead")
    detail: dict = {}
    if to == "merged":
        if data.merge_into is None or data.merge_into == order.id:
            raise Unprocessable("merge_into must name another open order of the same asset")
        target = get(db, data.merge_into, principal)
        if target.asset_id != order.asset_id or target.status not in OPEN:
            raise Unprocessable(f"order {target.id} is not an open order of asset "
                                f"{order.asset_id}; merge into one that is")
        order.merged_into_id, detail["merged_into"] = target.id, target.id
    if to == "completed":
        if data.result is None or data.first_time_fix is None:
            raise Unprocessable("completing needs result and first_time_fix")
        order.result, order.first_time_fix = data.result, data.first_time_fix
        order.downtime_min, order.actions = data.downtime_min, data.actions
        order.completed_at = now
        detail.update(result=data.result, first_time_fix=data.first_time_fix)
        # warranty and contract decided again on the day the work was done
        asset = db.get(Asset, order.asset_id)
        basis = asset_crud.billing_basis(asset, now.date())
        warranty = asset_crud.warranty_status(asset.warranty_start, asset.warranty_end,
                                              now.date())
        # (not in the event's detail: the trail is read by roles without commercial)
        order.billing_basis, order.warranty_status = basis, warranty
    if to == "in_progress" and order.started_at is None:
        order.started_at = now
    if to in RESPONSE and order.responded_at is None:
        order.responded_at = now
    if to == "closed":
        order.closed_at = now
    if to in NEEDS_REASON:
        order.status_reason = data.reason
    elif to != "completed":
        order.status_reason = ""
    from_status = order.status
    order.status, order.updated_at = to, now
    if to not in OPEN:
        order.dedup_key = None
    _commit_versioned(db, order)
    _event(db, order, principal.name, "transition", to, from_status,
           data.reason or data.actions, detail, now)
    parts.on_transition(db, order, to, principal.name)
    if to == "completed":
        knowledge.on_completed(db, order.id, order.first_time_fix)
    webhooks.enqueue(db, "order.status_changed", {**webhooks.order_payload(order),
                                                  "from_status": from_status,
                                                  "actor": principal.name})
    if to == "completed" and (data.follow_up or data.result != "fixed"):
        follow = schemas.FollowUpCreate(title=f"Follow-up of #{order.id}: {order.title}"[:200],
                                        symptom=f"result of #{order.id}: {data.result}")
        create_follow_up(db, order, follow, principal, settings)
    db.flush()
    return order


def update(db: Session, order_id: int, data: schemas.WorkOrderUpdate, principal: Principal,
           if_match: int | None) -> WorkOrder:
    order = get(db, order_id, principal)
    check_version(f"work order {order.id}", order.version, if_match)
    if order.status == "closed":
        raise TransitionError(f"work order {order.id} is closed and cannot change; reopen it "
                              "with POST .../follow-ups")
    fields = data.model_dump(exclude_unset=True)
    check_codes(db, **{k: fields.get(k) for k in
                       ("failure_mode", "failure_mechanism", "failure_cause")})
    changed = {k: v for k, v in fields.items() if getattr(order, k) != v}
    if not changed:
        return order
    right = "orders.plan" if "assignee" in changed or "team" in changed else "orders.review"
    if not principal.can(right):
        raise Forbidden(f"role {principal.role!r} may not change {sorted(changed)}")
    before = {k: _jsonable(getattr(order, k)) for k in changed}
    for k, v in changed.items():
        setattr(order, k, v)
    if "failure_mode" in changed and order.status in OPEN:
        order.dedup_key = dedup_key(order.asset_id, order.failure_mode)
    order.updated_at = datetime.now(UTC)
    try:
        _commit_versioned(db, order)
    except IntegrityError as exc:
        raise Conflict("another open order of this asset has that failure mode; merge "
                       "instead") from exc
    action = "reassigned" if {"assignee", "team"} & set(changed) else "updated"
    _event(db, order, principal.name, action, order.status, order.status,
           detail={"before": before, "after": {k: _jsonable(v) for k, v in changed.items()}})
    db.flush()
    return order


def _jsonable(v):
    return v.isoformat() if isinstance(v, datetime) else v


def create_follow_up(db: Session, parent: WorkOrder, data: schemas.FollowUpCreate,
                     principal: Principal, settings: ServiceApiSettings) -> WorkOrder:
    if parent.status not in WORK_DONE:
        raise TransitionError(f"work order {parent.id} is {parent.status}; a follow-up "
                              "is for a completed or closed order")
    body = schemas.WorkOrderCreate(
        asset_id=parent.asset_id, type="corrective", severity=parent.severity,
        failure_mode="", failure_mechanism=parent.failure_mechanism,
        failure_cause=parent.failure_cause, source="api", source_ref=f"follow-up:{parent.id}",
        title=data.title, symptom=data.symptom or parent.symptom)
    order, _ = create(db, body, principal, settings, parent=parent)
    _event(db, parent, principal.name, "follow_up", parent.status, parent.status,
           detail={"follow_up_id": order.id})
    return order


WORK_RECORDS = {"labour": Labour, "part": PartUsed}


def add_work(db: Session, order_id: int, kind: str,
             data: schemas.LabourCreate | schemas.PartCreate,
             principal: Principal) -> Labour | PartUsed:
    """Record labour or a part used on an order in progress, on hold or completed; the
    order's history gets the same record."""
    order = get(db, order_id, principal)
    if order.status not in ("in_progress", "on_hold", "completed"):
        raise TransitionError(f"work order {order.id} is {order.status}: record labour and "
                              "parts once it is in progress")
    row = WORK_RECORDS[kind](work_order_id=order.id, recorded_by=principal.name,
                             **data.model_dump())
    db.add(row)
    db.flush()
    _event(db, order, principal.name, kind, order.status, order.status,
           detail=data.model_dump(exclude={"note"}))
    return row


def add_attachment(db: Session, order_id: int, filename: str, content_type: str, data: bytes,
                   principal: Principal, settings: ServiceApiSettings) -> Attachment:
    order = get(db, order_id, principal)
    if order.status == "closed":
        raise TransitionError(f"work order {order.id} is closed; attach to its follow-up")
    media = attachments.check(content_type, data, settings.attachment_types)
    folder = Path(settings.attachments_dir)
    stored, digest = attachments.store(folder, order.id, data)
    row = Attachment(work_order_id=order.id, filename=attachments.clean_filename(filename),
                     content_type=media, size=len(data), sha256=digest, stored_name=stored,
                     uploaded_by=principal.name)
    try:
        db.add(row)
        db.flush()
        _event(db, order, principal.name, "attachment", order.status, order.status,
               detail={"attachment_id": row.id, "filename": row.filename, "size": row.size})
        db.commit()
    except Exception:
        attachments.path_of(folder, order.id, stored).unlink(missing_ok=True)
        raise
    return row


def list_attachments(db: Session, order_id: int, principal: Principal) -> list[Attachment]:
    get(db, order_id, principal)
    return list(db.scalars(select(Attachment).where(Attachment.work_order_id == order_id)
                           .order_by(Attachment.id)))


def get_attachment(db: Session, attachment_id: int, principal: Principal) -> Attachment:
    row = db.get(Attachment, attachment_id)
    if row is None:
        raise NotFound(f"attachment {attachment_id} does not exist")
    get(db, row.work_order_id, principal)  # the order's scope applies
    return row


def work_records(db: Session, order_id: int, kind: str, principal: Principal) -> list:
    get(db, order_id, principal)
    table = WORK_RECORDS[kind]
    return list(db.scalars(select(table).where(table.work_order_id == order_id)
                           .order_by(table.id)))


def events(db: Session, order_id: int, principal: Principal) -> list[WorkOrderEvent]:
    get(db, order_id, principal)
    return list(db.scalars(select(WorkOrderEvent).where(
        WorkOrderEvent.work_order_id == order_id).order_by(WorkOrderEvent.id)))


def review_labels(db: Session, principal: Principal) -> list[schemas.RejectionLabel]:
    """Every reviewed automatic order with its verdict: approved, or rejected and why."""
    q = (select(WorkOrder, WorkOrderEvent)
         .join(WorkOrderEvent, and_(WorkOrderEvent.work_order_id == WorkOrder.id,
                                    WorkOrderEvent.action == "transition",
                                    WorkOrderEvent.from_status == "proposed",
                                    WorkOrderEvent.to_status.in_(("approved", "rejected"))))
         .where(WorkOrder.source == "predictive").order_by(WorkOrder.id))
    if principal.scope:
        q = asset_crud.in_scope(q.join(Asset, Asset.id == WorkOrder.asset_id), principal)
    return [schemas.RejectionLabel(
        order_id=o.id, asset_id=o.asset_id, opened_at=o.opened_at, risk=o.risk,
        failure_mode=o.failure_mode, label=e.to_status, reason=e.note, reviewed_by=e.actor,
        reviewed_at=e.ts) for o, e in db.execute(q)]
