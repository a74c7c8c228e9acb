from __future__ import annotations

import secrets

from fastapi import APIRouter, Query
from sqlalchemy import select

from ... import schemas
from ...problems import NotFound
from ...tables import Webhook, WebhookDelivery
from ..deps import Allowed, RowId, SessionDep

router = APIRouter(prefix="/webhooks", tags=["webhooks"])


@router.post("", response_model=schemas.WebhookCreated, status_code=201)
def add_webhook(db: SessionDep, who: Allowed("webhooks.manage"), data: schemas.WebhookCreate):
    """Subscribe a URL to order events; deliveries are signed with the secret (generated
    when not given, shown once). How to verify: docs/api.md."""
    hook = Webhook(url=data.url, events=list(data.events),
                   secret=data.secret or secrets.token_urlsafe(32))
    db.add(hook)
    db.commit()
    return schemas.WebhookCreated(**schemas.WebhookPublic.model_validate(hook).model_dump(),
                                  secret=hook.secret)


@router.get("", response_model=list[schemas.WebhookPublic])
def list_webhooks(db: SessionDep, who: Allowed("webhooks.manage")):
    return db.scalars(select(Webhook).order_by(Webhook.id)).all()


@router.delete("/{webhook_id}", status_code=204)
def deactivate(db: SessionDep, who: Allowed("webhooks.manage"), webhook_id: RowId):
    """Stop sending to this webhook (its delivery log stays)."""
    hook = db.get(Webhook, webhook_id)
    if hook is None:
        raise NotFound(f"webhook {webhook_id} does not exist")
    hook.active = False
    db.commit()


@router.get("/{webhook_id}/deliveries", response_model=list[schemas.DeliveryPublic])
def deliveries(db: SessionDep, who: Allowed("webhooks.manage"), webhook_id: RowId,
               status: str | None = Query(default=None, max_length=16),
               limit: int = Query(default=100, ge=1, le=1000)):
    """The delivery log, newest first: attempts, last HTTP status or error."""
    if db.get(Webhook, webhook_id) is None:
        raise NotFound(f"webhook {webhook_id} does not exist")
    q = select(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook_id)
    if status:
        q = q.where(WebhookDelivery.status == status)
    return db.scalars(q.order_by(WebhookDelivery.id.desc()).limit(limit)).all()
