"""The request bodies the ingester sends to the service API, defined once for both sides.

The service API validates requests with these models (``service_api.schemas`` re-exports
them); the ingester builds them, so a body the API would refuse fails where it is made.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

Priority = Literal["low", "medium", "high", "critical"]
OrderType = Literal["preventive", "corrective", "inspection"]
OrderSource = Literal["predictive", "manual", "phone", "email", "chat"]

PREDICTED_FAILURE = "predicted_failure"  # failure_mode of orders the risk models open


class AssetUpsert(BaseModel):
    """``PUT /api/v1/assets/{id}``: create the asset, or update the fields given."""

    model_config = ConfigDict(extra="forbid")
    name: str = ""
    kind: str = ""
    site: str = ""
    serial_number: str = ""


class HealthCreate(BaseModel):
    """``POST /api/v1/assets/{id}/health``: one scored health record of an asset."""

    model_config = ConfigDict(extra="forbid")
    ts: AwareDatetime
    risk: float = Field(ge=0, le=1)
    detail: dict = Field(default_factory=dict)


class WorkOrderCreate(BaseModel):
    """``POST /api/v1/work-orders``."""

    model_config = ConfigDict(extra="forbid")
    asset_id: str
    type: OrderType = "corrective"
    priority: Priority = "medium"
    failure_mode: str = ""
    source: OrderSource = "manual"
    title: str = Field(min_length=1, max_length=200)
    description: str = ""
    risk: float | None = Field(default=None, ge=0, le=1)
