"""The request bodies the ingester sends to the service API, defined once for both sides.

The service API validates requests with these models (``service_api.schemas`` re-exports
them); the ingester builds them, so a body the API would refuse fails where it is made.

Every body is strict (:class:`Body`): unknown fields, NaN and Infinity, NUL characters and
over-long strings are refused with a message naming the field, so neither SQLite nor
PostgreSQL ever sees them.

>>> HealthCreate(ts="2026-11-25T00:00:00Z", risk=float("nan"))
Traceback (most recent call last):
...
pydantic_core._pydantic_core.ValidationError: 1 validation error for HealthCreate
risk
  Input should be a finite number [type=finite_number, input_value=nan, input_type=float]
...
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from .ids import FastId, Id

Priority = Literal["low", "medium", "high", "critical"]
OrderType = Literal["predictive", "preventive", "corrective", "inspection"]
OrderSource = Literal["predictive", "phone", "sms", "chat", "email", "portal", "api"]
Severity = Literal["minor", "major", "critical"]

PREDICTED_FAILURE = "predicted_failure"  # failure_mode of orders the risk models open

MAX_TEXT = 10_000  # characters of a description, symptom or note
MAX_BATCH = 5_000  # records in one batched POST


class BodyError(ValueError):
    """A request body holds a value no store can keep (NUL characters)."""


# Checked inside pydantic-core, not in Python: batches of thousands of records stay fast.
NO_NUL = r"^[^\x00]*$"
DetailKey = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=NO_NUL)]
DetailText = Annotated[str, StringConstraints(max_length=1000, pattern=NO_NUL)]
DetailScalar = DetailText | bool | int | float | None
# A health record's or event's free-form detail: up to 64 keys, each value a scalar or a
# list of up to 100 scalars; NaN, Infinity and NUL refused like everywhere else.
Detail = Annotated[dict[DetailKey, DetailScalar | Annotated[list[DetailScalar],
                                                             Field(max_length=100)]],
                   Field(max_length=64)]
# A point in time the stores can hold: with an offset, 1970 (Unix epoch) .. 2262 (the end
# of nanosecond timestamps), checked inside pydantic-core.
Moment = Annotated[AwareDatetime, Field(ge=datetime(1970, 1, 2, tzinfo=UTC),
                                        lt=datetime(2262, 1, 1, tzinfo=UTC))]
Text = Annotated[str, Field(max_length=MAX_TEXT)]
Short = Annotated[str, Field(max_length=200)]
Code = Annotated[str, Field(max_length=64, pattern=r"^[A-Za-z0-9_.\-]*$")]


class Body(BaseModel):
    """A request body: unknown fields, NaN/Infinity, NUL characters refused."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, str_max_length=MAX_TEXT)

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for k, v in data.items():
                if isinstance(v, str) and "\x00" in v:
                    raise BodyError(f"{k}: NUL characters (\\u0000) are not allowed in text")
        return data


class AssetUpsert(Body):
    """``PUT /api/v1/assets/{id}``: register the asset, or update the fields given.

    The ingester sends an empty body for an asset it sees for the first time.
    """

    name: Short | None = None
    equipment_class: Code | None = None
    site: Code | None = None
    serial_number: Short | None = None
    gateway: Code | None = None


class Lean(BaseModel):
    """A body checked entirely inside pydantic-core (no Python validators): its text
    fields carry the NUL-free pattern themselves."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, str_max_length=MAX_TEXT)


class HealthCreate(Lean):
    """``POST /api/v1/assets/{id}/health``: one scored health record of an asset."""

    ts: Moment
    risk: float = Field(ge=0, le=1)
    detail: Detail = Field(default_factory=dict)


class HealthRecord(HealthCreate):
    """One record of ``POST /api/v1/health/batch``."""

    asset_id: FastId


class HealthBatch(Lean):
    """``POST /api/v1/health/batch``: scores of many assets; a record already stored
    (same asset and time) is skipped, so a retried batch stores nothing twice."""

    records: list[HealthRecord] = Field(min_length=1, max_length=MAX_BATCH)


EventKind = Literal["anomaly", "device_state", "gateway_state", "alarm", "note"]


class EventCreate(Lean):
    """One asset event: an edge anomaly, a device or gateway state change, an alarm."""

    ts: Moment
    kind: EventKind
    signal: Annotated[str, StringConstraints(max_length=64, pattern=NO_NUL)] = ""
    severity: float | None = Field(default=None, ge=0, le=1e6)
    message: Annotated[str, StringConstraints(max_length=200, pattern=NO_NUL)] = ""
    detail: Detail = Field(default_factory=dict)


class EventRecord(EventCreate):
    asset_id: FastId


class EventBatch(Lean):
    """``POST /api/v1/events/batch``; an event already stored (same asset, time, kind and
    signal) is skipped."""

    records: list[EventRecord] = Field(min_length=1, max_length=MAX_BATCH)


class WorkOrderCreate(Body):
    """``POST /api/v1/work-orders``."""

    asset_id: Id
    type: OrderType = "corrective"
    priority: Priority | None = None  # derived from risk x criticality when not given
    severity: Severity = "major"
    failure_mode: Code = ""
    failure_mechanism: Code = ""
    failure_cause: Code = ""
    source: OrderSource = "api"
    source_ref: Short = ""
    title: str = Field(min_length=1, max_length=200)
    symptom: Text = ""
    description: Text = ""
    risk: float | None = Field(default=None, ge=0, le=1)
