"""Webhooks: order created, status changed, overdue — signed, retried, logged.

A change writes one delivery row per subscribed webhook in its own transaction (an
outbox: a notification is never lost by a crash between the change and the send, and
never sent for a change that rolled back). :class:`WebhookSender`, a thread of the API
process, sends due deliveries: ``POST`` of the JSON payload with

- ``X-Forewarn-Event``, ``X-Forewarn-Delivery`` (the delivery id: receivers deduplicate on it),
- ``X-Forewarn-Timestamp`` (Unix seconds) and
- ``X-Forewarn-Signature: sha256=<hex>``, the HMAC-SHA256 of ``"<timestamp>.<body>"`` with
  the webhook's secret (receivers recompute it and refuse old timestamps).

A 2xx answer marks it delivered; anything else (or no answer in ``webhook_timeout_s``) is
retried after 2, 4, 8 ... seconds (at most an hour, with jitter) until
``webhook_max_attempts``, then marked failed. Each delivery is claimed before it is sent
(``UPDATE ... WHERE next_attempt_at = :seen``), so several API processes never send one
twice. The same loop finds open orders past their due date and reports each once.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import random
import threading
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta

import orjson
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from .tables import Webhook, WebhookDelivery, WorkOrder
from .workflow import OPEN

log = logging.getLogger(__name__)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def order_payload(order: WorkOrder) -> dict:
    return {"id": order.id, "asset_id": order.asset_id, "type": order.type,
            "source": order.source, "priority": order.priority, "severity": order.severity,
            "status": order.status, "title": order.title, "failure_mode": order.failure_mode,
            "risk": order.risk, "assignee": order.assignee, "team": order.team,
            "due_at": order.due_at.isoformat() if order.due_at else None,
            "version": order.version}


def enqueue(db: Session, event: str, payload: dict) -> int:
    """Add a delivery for each active webhook subscribed to ``event``; the caller commits."""
    hooks = db.scalars(select(Webhook).where(Webhook.active.is_(True))).all()
    n = 0
    for hook in hooks:
        if event in hook.events or "*" in hook.events:
            db.add(WebhookDelivery(webhook_id=hook.id, event=event,
                                   payload={"event": event, "data": payload}))
            n += 1
    return n


class WebhookSender:
    def __init__(self, sessions: sessionmaker[Session], poll_s: float = 1.0,
                 timeout_s: float = 5.0, max_attempts: int = 8):
        self.sessions, self.poll_s = sessions, poll_s
        self.timeout_s, self.max_attempts = timeout_s, max_attempts
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="webhooks", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(self.timeout_s + 5)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.report_overdue()
                while self.send_due() and not self._stop.is_set():
                    pass
            except Exception:  # the database may be away for a moment: try again later
                log.exception("webhook loop failed; retrying in %.0f s", self.poll_s)
            self._stop.wait(self.poll_s)

    def report_overdue(self) -> int:
        now = datetime.now(UTC)
        with self.sessions() as db:
            late = db.scalars(select(WorkOrder).where(
                WorkOrder.status.in_(OPEN), WorkOrder.due_at < now,
                WorkOrder.overdue_notified_at.is_(None)).limit(100)).all()
            n = 0
            for order in late:
                # a plain UPDATE: reporting is not a change of the order (no new version)
                claimed = db.execute(update(WorkOrder.__table__).where(
                    WorkOrder.id == order.id, WorkOrder.overdue_notified_at.is_(None))
                    .values(overdue_notified_at=now)).rowcount
                if claimed:
                    enqueue(db, "order.overdue", order_payload(order))
                    n += 1
            db.commit()
            return n

    def send_due(self, batch: int = 20) -> int:
        """Send the deliveries that are due; return how many were tried."""
        now = datetime.now(UTC)
        with self.sessions() as db:
            due = db.execute(
                select(WebhookDelivery, Webhook)
                .join(Webhook, Webhook.id == WebhookDelivery.webhook_id)
                .where(WebhookDelivery.status == "pending",
                       WebhookDelivery.next_attempt_at <= now)
                .order_by(WebhookDelivery.id).limit(batch)).all()
            work = []
            for delivery, hook in due:
                lease = now + timedelta(seconds=self.timeout_s * 4)
                claimed = db.execute(update(WebhookDelivery.__table__).where(
                    WebhookDelivery.id == delivery.id,
                    WebhookDelivery.next_attempt_at == delivery.next_attempt_at)
                    .values(next_attempt_at=lease)).rowcount
                if claimed:
                    work.append((delivery.id, delivery.event, delivery.payload,
                                 delivery.attempts, hook.url, hook.secret))
            db.commit()
        for item in work:
            self._deliver(*item)
        return len(work)

    def _deliver(self, delivery_id: int, event: str, payload: dict, attempts: int,
                 url: str, secret: str) -> None:
        body = orjson.dumps({**payload, "delivery_id": delivery_id})
        ts = str(int(time.time()))
        req = urllib.request.Request(url, data=body, method="POST", headers={
            "Content-Type": "application/json", "User-Agent": "forewarn-webhooks/1",
            "X-Forewarn-Event": event, "X-Forewarn-Delivery": str(delivery_id),
            "X-Forewarn-Timestamp": ts, "X-Forewarn-Signature": sign(secret, ts, body)})
        code, error = None, ""
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                code = resp.status
        except urllib.error.HTTPError as exc:
            code, error = exc.code, f"HTTP {exc.code}"
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
        attempts += 1
        now = datetime.now(UTC)
        values: dict = {"attempts": attempts, "last_status_code": code, "last_error": error}
        if code is not None and 200 <= code < 300:
            values.update(status="delivered", delivered_at=now)
        elif attempts >= self.max_attempts:
            values.update(status="failed")
            log.warning("webhook delivery %d to %s failed for good after %d attempts: %s",
                        delivery_id, url, attempts, error)
        else:
            delay = min(3600.0, 2.0 ** attempts) * random.uniform(1.0, 1.1)
            values.update(next_attempt_at=now + timedelta(seconds=delay))
        with self.sessions() as db:
            db.execute(update(WebhookDelivery.__table__)
                       .where(WebhookDelivery.id == delivery_id).values(**values))
            db.commit()
