"""SQL tables (SQLAlchemy 2 ORM). Named tables.py so it is not confused with models/.

The schema is owned by the Alembic migrations in ``service_api/migrations``; a test checks
that migrating an empty database to head gives exactly these tables.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

INT_MAX = 2**31 - 1  # ids are SQL INTEGER on every database


def now() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator):
    """Stores UTC; always returns timezone-aware UTC datetimes (SQLite drops the offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else _utc(value)

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value

    def bind_processor(self, dialect):
        """On SQLite, the text SQLAlchemy's DATETIME stores, made by one C method
        (``isoformat``) instead of ``process_bind_param`` and a format string per value:
        batches of thousands of scores spend their time here otherwise."""
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)
        return sqlite_text


def sqlite_text(value: datetime | None) -> str | None:
    """The text :class:`UtcDateTime` stores on SQLite: UTC, to the microsecond, in
    SQLAlchemy's DATETIME format (so text order is time order).

    >>> from datetime import timedelta, timezone
    >>> sqlite_text(datetime(999, 1, 1, 1, 2, 3, 4, tzinfo=timezone(timedelta(hours=2))))
    '0998-12-31 23:02:03.000004'
    >>> sqlite_text(datetime(2026, 1, 1))
    Traceback (most recent call last):
    ...
    ValueError: naive datetime: Forewarn stores UTC times with an offset
    """
    if value is None:
        return None
    # "YYYY-MM-DD HH:MM:SS.ffffff+00:00" (years are four digits): the offset cut off
    return _utc(value).isoformat(" ", "microseconds")[:26]


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("naive datetime: Forewarn stores UTC times with an offset")
    return value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


class Asset(Base):
    """An asset in the ISA-95 style hierarchy site / area / line / asset."""

    __tablename__ = "assets"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    equipment_class: Mapped[str] = mapped_column(String(64), default="", index=True)
    site: Mapped[str] = mapped_column(String(64), default="")
    area: Mapped[str] = mapped_column(String(64), default="")
    line: Mapped[str] = mapped_column(String(64), default="")
    path: Mapped[str] = mapped_column(String(300), default="", index=True)
    region: Mapped[str] = mapped_column(String(64), default="", index=True)
    serial_number: Mapped[str | None] = mapped_column(String(200), unique=True, nullable=True)
    make: Mapped[str] = mapped_column(String(200), default="")
    model: Mapped[str] = mapped_column(String(200), default="")
    criticality: Mapped[int] = mapped_column(Integer, default=3)  # 1 (low) .. 5 (vital)
    gateway: Mapped[str] = mapped_column(String(64), default="")
    # commercial fields: only roles with the "commercial" right see them
    customer: Mapped[str] = mapped_column(String(200), default="")
    purchase_contract: Mapped[str] = mapped_column(String(200), default="")
    service_contract: Mapped[str] = mapped_column(String(200), default="")
    warranty_start: Mapped[date | None] = mapped_column(Date, nullable=True)
    warranty_end: Mapped[date | None] = mapped_column(Date, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=now)
    version: Mapped[int] = mapped_column(Integer, default=1)
    risk: Mapped[float | None] = mapped_column(Float, nullable=True)
    scored_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    latest_detail: Mapped[dict | None] = mapped_column(JSON, nullable=True)  # of that score
    # running / stopped / tripped, from the latest device_state event
    state: Mapped[str] = mapped_column(String(16), default="")
    state_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    # whether the asset's gateway said online or offline last (None: not reported)
    gateway_online: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    gateway_state_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    __mapper_args__ = {"version_id_col": version}


class HealthScore(Base):
    __tablename__ = "health_scores"
    __table_args__ = (UniqueConstraint("asset_id", "ts", name="uq_health_asset_ts"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True, autoincrement=True)
    asset_id: Mapped[str] = mapped_column(ForeignKey("assets.id"))
    ts: Mapped[datetime] = mapped_column(UtcDateTime())
    risk: Mapped[float] = mapped_column(Float)
    detail: Mapped[dict] = mapped_column(JSON, default=dict)


class AssetEvent(Base):
    """Edge anomalies, device and gateway state changes, alarms: evidence for orders."""

    __tablename__ = "asset_events"
    __table_args__ = (UniqueConstraint("asset_id", "ts", "kind", "signal",
                                       name="uq_event_asset_ts_kind_signal"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True, autoincrement=True)
    asset_id: Mapped[str] = mapped_column(ForeignKey("assets.id"))
    ts: Mapped[datetime] = mapped_column(UtcDateTime())
    kind: Mapped[str] = mapped_column(String(32))
    signal: Mapped[str] = mapped_column(String(64), default="")
    severity: Mapped[float | None] = mapped_column(Float, nullable=True)
    message: Mapped[str] = mapped_column(String(200), default="")
    detail: Mapped[dict] = mapped_column(JSON, default=dict)


class WorkOrder(Base):
    __tablename__ = "work_orders"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    asset_id: Mapped[str] = mapped_column(ForeignKey("assets.id"), index=True)
    type: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(32), default="api")
    source_ref: Mapped[str] = mapped_column(String(200), default="")
    priority: Mapped[str] = mapped_column(String(16))
    severity: Mapped[str] = mapped_column(String(16), default="major")
    status: Mapped[str] = mapped_column(String(16), index=True)
    failure_mode: Mapped[str] = mapped_column(String(64), default="")
    failure_mechanism: Mapped[str] = mapped_column(String(64), default="")
    failure_cause: Mapped[str] = mapped_column(String(64), default="")
    # "<asset>|<failure mode>" while the order is open, NULL after: the unique index lets
    # only one open order per asset and failure mode exist, whoever races to create it.
    dedup_key: Mapped[str | None] = mapped_column(String(140), unique=True, nullable=True)
    title: Mapped[str] = mapped_column(String(200))
    symptom: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    risk: Mapped[float | None] = mapped_column(Float, nullable=True)
    warranty_status: Mapped[str] = mapped_column(String(16), default="unknown")
    billing_basis: Mapped[str] = mapped_column(String(32), default="billable")
    assignee: Mapped[str] = mapped_column(String(64), default="")
    team: Mapped[str] = mapped_column(String(64), default="")
    status_reason: Mapped[str] = mapped_column(Text, default="")
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("work_orders.id"), nullable=True)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("work_orders.id"),
                                                       nullable=True)
    due_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=now)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=now)
    responded_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    # execution record
    result: Mapped[str] = mapped_column(String(32), default="")
    first_time_fix: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    downtime_min: Mapped[float | None] = mapped_column(Float, nullable=True)
    actions: Mapped[str] = mapped_column(Text, default="")
    overdue_notified_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": version}


class Labour(Base):
    __tablename__ = "work_order_labour"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"), index=True)
    technician: Mapped[str] = mapped_column(String(64))
    minutes: Mapped[float] = mapped_column(Float)
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[str] = mapped_column(String(64))
    ts: Mapped[datetime] = mapped_column(UtcDateTime(), default=now)


class PartUsed(Base):
    __tablename__ = "work_order_parts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"), index=True)
    part_number: Mapped[str] = mapped_column(String(64))
    quantity: Mapped[float] = mapped_column(Float)
    recorded_by: Mapped[str] = mapped_column(String(64))
    ts: Mapped[datetime] = mapped_column(UtcDateTime(), default=now)


class Part(Base):
    """A spare part of the catalogue."""

    __tablename__ = "parts"
    part_number: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    part_class: Mapped[str] = mapped_column(String(16), default="common")
    unit_price: Mapped[float] = mapped_column(Float, default=0.0)
    lead_time_days: Mapped[float] = mapped_column(Float, default=0.0)
    equipment_classes: Mapped[list] = mapped_column(JSON, default=list)
    failure_modes: Mapped[list] = mapped_column(JSON, default=list)
    per_repair: Mapped[float] = mapped_column(Float, default=1.0)
    version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": version}


class PartStock(Base):
    """A part's stock in one warehouse; changed only by ledger moves (crud/parts.py)."""

    __tablename__ = "part_stock"
    part_number: Mapped[str] = mapped_column(ForeignKey("parts.part_number"),
                                             primary_key=True)
    warehouse: Mapped[str] = mapped_column(String(64), primary_key=True)
    region: Mapped[str] = mapped_column(String(64), default="", index=True)
    on_hand: Mapped[float] = mapped_column(Float, default=0.0)
    reserved: Mapped[float] = mapped_column(Float, default=0.0)
    safety_stock: Mapped[float] = mapped_column(Float, default=0.0)
    reorder_point: Mapped[float] = mapped_column(Float, default=0.0)
    version: Mapped[int] = mapped_column(Integer, default=1)


class PartReservation(Base):
    """Parts held for an order: reserved (from a warehouse), backorder (none available),
    then consumed or released."""

    __tablename__ = "part_reservations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"), index=True)
    part_number: Mapped[str] = mapped_column(ForeignKey("parts.part_number"), index=True)
    warehouse: Mapped[str] = mapped_column(String(64), default="")
    quantity: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=now)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class PartMovement(Base):
    """The stock ledger: every change of on-hand or reserved quantity, and why."""

    __tablename__ = "part_movements"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    part_number: Mapped[str] = mapped_column(String(64), index=True)
    warehouse: Mapped[str] = mapped_column(String(64), default="")
    kind: Mapped[str] = mapped_column(String(16))  # receipt adjust reserve release consume
    on_hand_delta: Mapped[float] = mapped_column(Float, default=0.0)
    reserved_delta: Mapped[float] = mapped_column(Float, default=0.0)
    work_order_id: Mapped[int | None] = mapped_column(ForeignKey("work_orders.id"),
                                                      nullable=True, index=True)
    actor: Mapped[str] = mapped_column(String(64), default="")
    note: Mapped[str] = mapped_column(String(200), default="")
    ts: Mapped[datetime] = mapped_column(UtcDateTime(), default=now, index=True)

class Survey(Base):
    """A satisfaction survey of one completed order, answered through a signed,
    expiring link (``service_api/surveys.py``); one per order."""

    __tablename__ = "surveys"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"), unique=True)
    nonce: Mapped[str] = mapped_column(String(32))  # a new link invalidates the old
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=now)
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    score: Mapped[int | None] = mapped_column(Integer, nullable=True)
    comment: Mapped[str] = mapped_column(Text, default="")


class AppSecret(Base):
    """Secrets every API process shares (the survey links' signing key)."""

    __tablename__ = "app_secrets"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))

class CorrectiveAction(Base):
    """A root cause found for a failure mode and the action taken against it; its effect
    is the repeat rate of that mode after ``effective_from`` against before."""

    __tablename__ = "corrective_actions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    failure_mode: Mapped[str] = mapped_column(String(64), index=True)
    equipment_class: Mapped[str] = mapped_column(String(64), default="")
    root_cause: Mapped[str] = mapped_column(Text, default="")
    action: Mapped[str] = mapped_column(Text, default="")
    effective_from: Mapped[datetime] = mapped_column(UtcDateTime())
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=now)
    # the work orders (failures) that led to it
    orders: Mapped[list] = mapped_column(JSON, default=list, server_default=text("'[]'"))

class FaultCase(Base):
    """A known fault and its fix, searchable by full text (``service_api/knowledge.py``)."""

    __tablename__ = "fault_cases"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    equipment_class: Mapped[str] = mapped_column(String(64), default="", index=True)
    failure_mode: Mapped[str] = mapped_column(String(64), default="", index=True)
    title: Mapped[str] = mapped_column(String(200))
    symptoms: Mapped[str] = mapped_column(Text, default="")
    root_cause: Mapped[str] = mapped_column(Text, default="")
    fix: Mapped[str] = mapped_column(Text, default="")
    guide: Mapped[str] = mapped_column(Text, default="")  # maintenance steps
    parts: Mapped[list] = mapped_column(JSON, default=list)
    attachments: Mapped[list] = mapped_column(JSON, default=list)  # attachment ids
    source_order_id: Mapped[int | None] = mapped_column(ForeignKey("work_orders.id"),
                                                        nullable=True, unique=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=now)
    updated_by: Mapped[str] = mapped_column(String(64), default="", server_default="")
    updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    # a retired case (wrong, superseded, for withdrawn equipment) is kept for the record
    # but no longer suggested nor found unless asked for
    retired_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    retired_reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    __mapper_args__ = {"version_id_col": version}


class FaultCaseUse(Base):
    """A case applied on an order; ``first_time_fix`` is the order's, at completion."""

    __tablename__ = "fault_case_uses"
    case_id: Mapped[int] = mapped_column(ForeignKey("fault_cases.id"), primary_key=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"),
                                               primary_key=True)
    first_time_fix: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    recorded_by: Mapped[str] = mapped_column(String(64))
    ts: Mapped[datetime] = mapped_column(UtcDateTime(), default=now)

class Attachment(Base):
    """A photo or file of an order, stored on disk under a name the server made."""

    __tablename__ = "work_order_attachments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"), index=True)
    filename: Mapped[str] = mapped_column(String(200))  # as given; shown, never a path
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)
    uploaded_by: Mapped[str] = mapped_column(String(64))
    ts: Mapped[datetime] = mapped_column(UtcDateTime(), default=now)


class WorkOrderEvent(Base):
    """Append-only audit trail: every change of a work order, who made it, and why."""

    __tablename__ = "work_order_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"), index=True)
    ts: Mapped[datetime] = mapped_column(UtcDateTime(), default=now)
    action: Mapped[str] = mapped_column(String(32), default="transition")
    from_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    to_status: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[dict] = mapped_column(JSON, default=dict)


class DispatchRule(Base):
    """Who takes an order: the first active rule (by position) whose set fields all match
    the order's equipment class, severity and region names the team and assignee."""

    __tablename__ = "dispatch_rules"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    position: Mapped[int] = mapped_column(Integer, default=100)
    equipment_class: Mapped[str] = mapped_column(String(64), default="")  # "" = any
    severity: Mapped[str] = mapped_column(String(16), default="")
    region: Mapped[str] = mapped_column(String(64), default="")
    team: Mapped[str] = mapped_column(String(64), default="")
    assignee: Mapped[str] = mapped_column(String(64), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class SlaRule(Base):
    """Hours from creation to a new order's due date, by priority, for one service
    contract or ("") any; overrides the ``sla_hours`` setting (``crud/sla.py``)."""

    __tablename__ = "sla_rules"
    __table_args__ = (UniqueConstraint("priority", "service_contract"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    priority: Mapped[str] = mapped_column(String(16))
    service_contract: Mapped[str] = mapped_column(String(64), default="")
    hours: Mapped[float] = mapped_column(Float)
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=now)


class Webhook(Base):
    """A subscriber notified of order events (HMAC-SHA256 signed with its secret)."""

    __tablename__ = "webhooks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    url: Mapped[str] = mapped_column(String(500))
    secret: Mapped[str] = mapped_column(String(200))  # needed to sign: kept, never sent back
    events: Mapped[list] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=now)


class WebhookDelivery(Base):
    """The outbox and delivery log: written in the transaction of the change it reports."""

    __tablename__ = "webhook_deliveries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhooks.id"), index=True)
    event: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=now)
    last_status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=now)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class Code(Base):
    """ISO 14224 style code lists (failure mode, mechanism, cause) the admin can extend."""

    __tablename__ = "codes"
    list: Mapped[str] = mapped_column(String(32), primary_key=True)
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    label: Mapped[str] = mapped_column(String(200), default="")


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    scope: Mapped[str] = mapped_column(String(300), default="")  # asset path prefix; "" = all
    password_hash: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=now)


class ApiToken(Base):
    """An API token; only its SHA-256 is stored, the token itself is shown once."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=now)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class LoginFailure(Base):
    """A failed login, per key (user name, client address): the rate limit holds across
    every API process on the database."""

    __tablename__ = "login_failures"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(200), index=True)
    ts: Mapped[datetime] = mapped_column(UtcDateTime(), default=now)


class IdempotencyRecord(Base):
    """The response a creating POST gave for an ``Idempotency-Key``, to replay on retry."""

    __tablename__ = "idempotency_keys"
    principal: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    method_path: Mapped[str] = mapped_column(String(300))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=now, index=True)

