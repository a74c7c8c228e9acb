"""Request and response schemas: a Create / Update / Public family per entity."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

# The request bodies the ingester sends are defined once, in the contracts layer.
from contracts.api_bodies import AssetUpsert, HealthCreate, WorkOrderCreate  # noqa: F401

from .workflow import STATUSES

Status = Literal[STATUSES]  # type: ignore[valid-type]


class _Public(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class AssetPublic(_Public):
    id: str
    name: str
    kind: str
    site: str
    serial_number: str
    created_at: datetime
    risk: float | None
    scored_at: datetime | None
    open_work_orders: int = 0


class HealthPublic(_Public):
    ts: AwareDatetime
    risk: float
    detail: dict


class WorkOrderPublic(_Public):
    id: int
    asset_id: str
    type: str
    priority: str
    status: str
    failure_mode: str
    source: str
    title: str
    description: str
    risk: float | None
    opened_at: datetime
    updated_at: datetime
    closed_at: datetime | None


class TransitionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    to: Status
    actor: str = Field(min_length=1, max_length=64)
    note: str = ""


class WorkOrderEventPublic(_Public):
    ts: AwareDatetime
    from_status: str | None
    to_status: str
    actor: str
    note: str


class Kpis(BaseModel):
    assets: int
    assets_at_risk: int
    work_orders_by_status: dict[str, int]
    open_work_orders: int
    predictive_share: float | None
    mean_hours_to_close: float | None
