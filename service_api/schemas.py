"""Request and response schemas: a Create / Update / Public family per entity.

Request bodies derive from ``contracts.api_bodies.Body`` (strict: unknown fields, NaN,
Infinity, NUL and over-long strings refused); the ones the ingester sends live there.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, computed_field, model_validator

# The request bodies the ingester sends are defined once, in the contracts layer.
from contracts.api_bodies import (  # noqa: F401
    AssetUpsert,
    Body,
    Code,
    EventBatch,
    EventCreate,
    EventRecord,
    HealthBatch,
    HealthCreate,
    HealthRecord,
    Moment,
    Priority,
    Severity,
    Short,
    Text,
    WorkOrderCreate,
)
from contracts.ids import ID_PATTERN

from .workflow import RESULTS, STATUSES

Status = Literal[STATUSES]  # type: ignore[valid-type]
Result = Literal[RESULTS]  # type: ignore[valid-type]
Name = Annotated[str, Field(min_length=1, max_length=64, pattern=ID_PATTERN)]


class _Public(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# -- assets --------------------------------------------------------------------------------
COMMERCIAL_ASSET_FIELDS = frozenset({"customer", "purchase_contract", "service_contract",
                                     "warranty_start", "warranty_end"})


class AssetWrite(AssetUpsert):
    """``PUT /api/v1/assets/{id}``: create the asset or update the fields given."""

    area: Code | None = None
    line: Code | None = None
    region: Code | None = None
    make: Short | None = None
    model: Short | None = None
    criticality: int | None = Field(default=None, ge=1, le=5,
                                    description="1 (low) .. 5 (vital to the plant)")
    customer: Short | None = None
    purchase_contract: Short | None = None
    service_contract: Short | None = None
    warranty_start: date | None = None
    warranty_end: date | None = None


class AssetPublic(_Public):
    id: str
    name: str
    equipment_class: str
    site: str
    area: str
    line: str
    path: str
    region: str
    serial_number: str | None
    make: str
    model: str
    criticality: int
    gateway: str
    created_at: datetime
    version: int
    risk: float | None
    scored_at: datetime | None
    latest_detail: dict | None = Field(description="detail of the latest score (remaining "
                                       "life, top signal)")
    state: str = Field(description="running, stopped or tripped, from the latest "
                       "device_state event ('' = not reported)")
    state_at: datetime | None
    gateway_online: bool | None = Field(description="what the asset's gateway said last "
                                        "(gateway_state events); null: not reported")
    gateway_state_at: datetime | None
    open_work_orders: int = 0


class AssetCommercial(AssetPublic):
    """The asset with its commercial fields, for roles with the ``commercial`` right."""

    customer: str
    purchase_contract: str
    service_contract: str
    warranty_start: date | None
    warranty_end: date | None
    warranty_status: str = "unknown"


Filter = Annotated[str, Field(max_length=300)]


class AssetFilter(BaseModel):
    model_config = ConfigDict(allow_inf_nan=False)
    site: Filter | None = None
    region: Filter | None = None
    equipment_class: Filter | None = None
    gateway: Filter | None = None
    path: Filter | None = None
    min_risk: float | None = Field(default=None, ge=0, le=1)


class ImportError(BaseModel):  # noqa: A001 - a row of an import report
    line: int
    error: str


class ImportReport(BaseModel):
    created: int = 0
    updated: int = 0
    errors: list[ImportError] = Field(default_factory=list)


# -- health and events ---------------------------------------------------------------------
class HealthBucket(BaseModel):
    """One point of a downsampled history: the bucket's start, its highest and mean risk."""

    ts: AwareDatetime
    risk: float
    risk_mean: float
    n: int


class HealthHistory(BaseModel):
    asset_id: str
    since: AwareDatetime | None
    until: AwareDatetime | None
    downsampled: bool
    points: list[HealthBucket]


class TelemetryBucket(BaseModel):
    """Values of one signal in [ts, ts + step_s): lowest, highest, mean and how many (or
    one raw value, at its own time, when the series was not downsampled)."""

    ts: AwareDatetime
    min: float
    max: float
    mean: float
    n: int


class TelemetrySeries(BaseModel):
    signal: str
    downsampled: bool
    points: list[TelemetryBucket]


class TelemetryHistory(BaseModel):
    asset_id: str
    since: AwareDatetime
    until: AwareDatetime
    step_s: int = Field(description="bucket width of downsampled series")
    series: list[TelemetrySeries]


class SignalList(BaseModel):
    asset_id: str
    since: AwareDatetime
    until: AwareDatetime
    signals: list[str]


class RejectedRecord(BaseModel):
    index: int
    reason: str


class BatchReport(BaseModel):
    """What a batch did: every record is stored, a duplicate, or rejected with a reason."""

    stored: int
    duplicates: int
    rejected: list[RejectedRecord]


class EventPublic(_Public):
    id: int
    asset_id: str
    ts: AwareDatetime
    kind: str
    signal: str
    severity: float | None
    message: str
    detail: dict


# -- work orders ---------------------------------------------------------------------------
class WorkOrderPublic(_Public):
    id: int
    asset_id: str
    type: str
    source: str
    source_ref: str
    priority: str
    severity: str
    status: str
    status_reason: str
    failure_mode: str
    failure_mechanism: str
    failure_cause: str
    title: str
    symptom: str
    description: str
    risk: float | None
    assignee: str
    team: str
    parent_id: int | None
    merged_into_id: int | None
    due_at: datetime | None
    opened_at: datetime
    updated_at: datetime
    responded_at: datetime | None
    started_at: datetime | None
    completed_at: datetime | None
    closed_at: datetime | None
    result: str
    first_time_fix: bool | None
    downtime_min: float | None
    actions: str
    version: int


class WorkOrderCommercial(WorkOrderPublic):
    warranty_status: str
    billing_basis: str


class OrderFilter(BaseModel):
    status: Status | None = None
    open: bool | None = None
    asset_id: Filter | None = None
    type: Filter | None = None
    source: Filter | None = None
    priority: Filter | None = None
    assignee: Filter | None = None
    site: Filter | None = None
    region: Filter | None = None
    equipment_class: Filter | None = None
    opened_since: Moment | None = None
    opened_until: Moment | None = None


class WorkOrderUpdate(Body):
    """``PATCH /api/v1/work-orders/{id}`` (with ``If-Match``): fields, not the status."""

    title: str | None = Field(default=None, min_length=1, max_length=200)
    symptom: Text | None = None
    description: Text | None = None
    priority: Priority | None = None
    severity: Severity | None = None
    failure_mode: Code | None = None
    failure_mechanism: Code | None = None
    failure_cause: Code | None = None
    assignee: Annotated[str, Field(max_length=64)] | None = None
    team: Annotated[str, Field(max_length=64)] | None = None
    due_at: Moment | None = None


class TransitionCreate(Body):
    """``POST /api/v1/work-orders/{id}/transitions``: move the order to ``to``.

    ``reason`` is required to reject (it becomes the label the models learn from), to put
    on hold and to cancel; ``merge_into`` to merge; ``result`` and ``first_time_fix`` to
    complete.
    """

    to: Status
    reason: Text = ""
    merge_into: int | None = Field(default=None, ge=1, le=2**31 - 1)
    result: Result | None = None
    first_time_fix: bool | None = None
    downtime_min: float | None = Field(default=None, ge=0, le=10**7)
    actions: Text = ""
    follow_up: bool = Field(default=False, description=(
        "on completion: open a follow-up order (also opened when the result is not "
        "'fixed')"))


class FollowUpCreate(Body):
    title: str = Field(min_length=1, max_length=200)
    symptom: Text = ""


class LabourCreate(Body):
    technician: Name
    minutes: float = Field(gt=0, le=100_000)
    note: Text = ""


class LabourPublic(_Public):
    id: int
    technician: str
    minutes: float
    note: str
    recorded_by: str
    ts: AwareDatetime


class PartCreate(Body):
    part_number: Code = Field(min_length=1)
    quantity: float = Field(gt=0, le=1_000_000)


class PartPublic(_Public):
    id: int
    part_number: str
    quantity: float
    recorded_by: str
    ts: AwareDatetime


class AttachmentPublic(_Public):
    id: int
    work_order_id: int
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_by: str
    ts: AwareDatetime


class WorkOrderEventPublic(_Public):
    id: int
    ts: AwareDatetime
    action: str
    from_status: str | None
    to_status: str
    actor: str
    note: str
    detail: dict


class RejectionLabel(BaseModel):
    """One reviewed automatic order: the label a model can be retrained on."""

    order_id: int
    asset_id: str
    opened_at: datetime
    risk: float | None
    failure_mode: str
    label: Literal["approved", "rejected"]
    reason: str
    reviewed_by: str
    reviewed_at: datetime


class DispatchRuleCreate(Body):
    """Match on any of equipment class, severity, region ("" = any); the first active rule
    by ``position`` wins."""

    position: int = Field(default=100, ge=0, le=1_000_000)
    equipment_class: Code = ""
    severity: Literal["", "minor", "major", "critical"] = ""
    region: Code = ""
    team: Annotated[str, Field(max_length=64)] = ""
    assignee: Annotated[str, Field(max_length=64)] = ""
    active: bool = True


class DispatchRulePublic(_Public):
    id: int
    position: int
    equipment_class: str
    severity: str
    region: str
    team: str
    assignee: str
    active: bool


class SlaRulePut(Body):
    """``PUT /api/v1/sla-rules``: the due-date hours of new orders of ``priority`` on
    assets under ``service_contract`` ("" = any contract)."""

    priority: Priority
    service_contract: Code = ""
    hours: float = Field(gt=0, le=24 * 366)


class SlaRulePublic(_Public):
    id: int
    priority: str
    service_contract: str
    hours: float
    updated_by: str
    updated_at: AwareDatetime


class SlaPolicy(BaseModel):
    rules: list[SlaRulePublic]
    defaults: dict[str, float] = Field(description="the sla_hours setting, for priorities "
                                       "and contracts no rule names")


class DispatchPreview(BaseModel):
    order_id: int
    equipment_class: str
    severity: str
    region: str
    rule_id: int | None
    team: str | None
    assignee: str | None
    current_team: str
    current_assignee: str


WebhookEvent = Literal["order.created", "order.status_changed", "order.overdue", "*"]


class WebhookCreate(Body):
    url: Annotated[str, Field(max_length=500, pattern=r"^https?://[^\s\x00]+$")]
    events: list[WebhookEvent] = Field(default_factory=lambda: ["*"], min_length=1,
                                       max_length=4)
    secret: Annotated[str, Field(min_length=16, max_length=200)] | None = None


class WebhookPublic(_Public):
    id: int
    url: str
    events: list[str]
    active: bool
    created_at: datetime


class WebhookCreated(WebhookPublic):
    secret: str = Field(description="shown once: verify X-Forewarn-Signature with it")


class DeliveryPublic(_Public):
    id: int
    webhook_id: int
    event: str
    payload: dict
    status: str
    attempts: int
    next_attempt_at: datetime
    last_status_code: int | None
    last_error: str
    created_at: datetime
    delivered_at: datetime | None


class CodeCreate(Body):
    list: Literal["failure_mode", "failure_mechanism", "failure_cause"]
    code: Code = Field(min_length=1)
    label: Short = ""


class CodePublic(_Public):
    list: str
    code: str
    label: str


# -- users and tokens ----------------------------------------------------------------------
class LoginBody(Body):
    name: Name
    password: str = Field(min_length=1, max_length=200)


class TokenIssued(BaseModel):
    token: str = Field(description="shown once; only its hash is stored")
    token_id: int
    name: str
    role: str
    expires_at: datetime | None


class UserCreate(Body):
    name: Name
    role: Literal["admin", "planner", "engineer", "technician", "viewer", "service"]
    scope: Annotated[str, Field(max_length=300)] = ""
    password: Annotated[str, Field(min_length=8, max_length=200)] | None = None


class UserPublic(_Public):
    id: int
    name: str
    role: str
    scope: str
    active: bool
    created_at: datetime


class UserCreated(UserPublic):
    password: str = Field(description="shown once")


class TokenCreate(Body):
    label: Short = ""
    expires_in_days: float | None = Field(default=None, gt=0, le=3650)


class Me(BaseModel):
    name: str
    role: str
    scope: str
    rights: list[str]


class Meta(BaseModel):
    transitions: dict[str, list[str]]
    right_for: dict[str, str]
    needs_reason: list[str]
    results: list[str]
    at_risk_default: float
    stale_after_s: float


# -- KPIs ----------------------------------------------------------------------------------
class Kpis(BaseModel):
    """Each figure is defined in docs/kpis.md."""

    period_start: datetime | None
    period_end: datetime | None
    assets: int
    assets_at_risk: int
    work_orders_by_status: dict[str, int]
    open_work_orders: int
    backlog_by_priority: dict[str, int]
    backlog_age_hours: dict[str, float]
    predictive_share: float | None
    automatic_order_precision: float | None
    mean_response_hours: float | None
    mean_resolution_hours: float | None
    mttr_hours: float | None
    mtbf_hours: float | None
    first_time_fix_rate: float | None
    sla_compliance: float | None
    warning_lead_time_hours: float | None
    failures_warned: float | None


# -- spare parts ---------------------------------------------------------------------------
PartClass = Literal["critical", "common", "consumable"]
Quantity = Annotated[float, Field(ge=0, le=1_000_000_000)]


class CatalogPartWrite(Body):
    """``PUT /api/v1/parts/{part_number}``: create the part or update the fields given."""

    name: Short | None = None
    part_class: PartClass | None = None
    unit_price: float | None = Field(default=None, ge=0, le=1e9, description="commercial")
    lead_time_days: float | None = Field(default=None, ge=0, le=3650,
                                         description="supplier lead time")
    equipment_classes: list[Annotated[Code, Field(min_length=1)]] | None = Field(
        default=None, max_length=100, description="fits these classes ([] = any)")
    failure_modes: list[Annotated[Code, Field(min_length=1)]] | None = Field(
        default=None, max_length=100, description="needed to repair these failure modes "
        "(predicted_failure: on a predicted failure of a fitting asset)")
    per_repair: float | None = Field(default=None, gt=0, le=1_000_000,
                                     description="quantity one repair uses")


class CatalogPart(_Public):
    part_number: str
    name: str
    part_class: str
    lead_time_days: float
    equipment_classes: list[str]
    failure_modes: list[str]
    per_repair: float
    version: int
    unit_price: float | None = Field(default=None, description="only for roles with the "
                                     "commercial right")


class StockWrite(Body):
    """``PUT /api/v1/parts/{part_number}/stock/{warehouse}``; ``on_hand`` is a stock count
    (the difference is booked as an adjustment)."""

    region: Code | None = None
    on_hand: Quantity | None = None
    safety_stock: Quantity | None = None
    reorder_point: Quantity | None = None


class StockPublic(_Public):
    part_number: str
    warehouse: str
    region: str
    on_hand: float
    reserved: float
    safety_stock: float
    reorder_point: float
    version: int

    @computed_field
    @property
    def available(self) -> float:
        return self.on_hand - self.reserved


class ReceiptCreate(Body):
    quantity: float = Field(gt=0, le=1_000_000_000)
    note: Short = ""


class ReservationCreate(Body):
    part_number: Code = Field(min_length=1)
    quantity: float = Field(gt=0, le=1_000_000)
    warehouse: Code | None = Field(default=None, description="default: the warehouse of "
                                   "the asset's region with the most available stock")


class ReservationPublic(_Public):
    id: int
    work_order_id: int
    part_number: str
    warehouse: str
    quantity: float
    status: str
    created_at: AwareDatetime
    closed_at: AwareDatetime | None


class MovementPublic(_Public):
    id: int
    part_number: str
    warehouse: str
    kind: str
    on_hand_delta: float
    reserved_delta: float
    work_order_id: int | None
    actor: str
    note: str
    ts: AwareDatetime


class ReorderSuggestion(BaseModel):
    part_number: str
    warehouse: str
    region: str
    part_class: str
    on_hand: float
    reserved: float
    available: float
    demand: dict[str, float] = Field(description="expected within the lead time: "
                                     "proposed_orders, at_risk_assets, backorders, usage")
    projected: float = Field(description="available - demand")
    reorder_point: float
    safety_stock: float
    lead_time_days: float
    quantity: int = Field(description="brings projected stock to reorder point + safety")
    because: list[str]


class CoverageGap(BaseModel):
    region: str
    part_number: str
    available: float
    lead_time_days: float
    promised_days: float
    assets: list[str] = Field(description="the assets that may need it, in the caller's "
                              "scope (at most 100)")
    assets_outside_scope: int = 0


class PartTurnover(BaseModel):
    days: float
    consumed_value: float
    stock_value: float
    turns_per_year: float | None


# -- intake --------------------------------------------------------------------------------
class IntakeCreate(Body):
    """``POST /api/v1/intake``: an order reported by a person on any channel."""

    channel: Literal["phone", "sms", "chat", "email", "portal"]
    serial_number: Short | None = Field(default=None, description="as read off the plate; "
                                        "typos are matched (docs/intake.md)")
    asset_id: Code | None = None
    title: str = Field(min_length=1, max_length=200)
    symptom: Text = ""
    failure_mode: Code = Field(default="OTH", min_length=1, description=(
        "default OTH (other) until someone classifies it: repeated reports of one machine "
        "join one open order"))
    severity: Severity = "major"
    reporter: Short = ""
    contact: Short = ""
    reference: Short = Field(default="", description="the channel's own id (ticket, "
                             "message id)")

    @model_validator(mode="after")
    def _names_a_machine(self) -> IntakeCreate:
        if not (self.serial_number or "").strip() and not self.asset_id:
            raise ValueError("give serial_number (as on the machine's plate) or asset_id")
        return self


class IntakeMatch(BaseModel):
    given: str
    asset_id: str
    serial_number: str | None
    method: Literal["asset_id", "exact", "normalized", "fuzzy"]
    distance: int


class IntakeResult(BaseModel):
    created: bool = Field(description="false: the asset's open order for this failure "
                          "mode was returned (deduplicated)")
    match: IntakeMatch
    order: WorkOrderCommercial | WorkOrderPublic


# -- customer feedback ---------------------------------------------------------------------
class SurveyIssued(BaseModel):
    survey_id: int
    work_order_id: int
    url: str = Field(description="the page the customer opens, without an account")
    token: str
    expires_at: AwareDatetime


class SurveyView(BaseModel):
    """What the customer sees: the order, no commercial or internal fields."""

    work_order_id: int
    title: str
    asset_name: str
    completed_at: AwareDatetime | None
    expires_at: AwareDatetime


class SurveyAnswer(Body):
    score: int = Field(ge=1, le=5, description="1 (very dissatisfied) .. 5 (very satisfied)")
    comment: Text = ""


class SatisfactionRow(BaseModel):
    key: str
    responses: int
    mean_score: float
    satisfied_share: float = Field(description="share of scores 4 or 5")


class Satisfaction(BaseModel):
    by: str
    surveys_sent: int
    responses: int
    response_rate: float | None
    rows: list[SatisfactionRow]


# -- quality analytics ---------------------------------------------------------------------
class ParetoRow(BaseModel):
    key: str
    count: int
    share: float
    cumulative_share: float


class RepeatRow(BaseModel):
    asset_id: str
    failure_mode: str
    previous_order: int
    order: int
    days_after: float


class Repeats(BaseModel):
    window_days: float
    failures: int = Field(description="failures with a failure mode")
    repeats: int
    repeat_rate: float | None
    items: list[RepeatRow]


class MtbfRow(BaseModel):
    failure_mode: str
    failures: int
    equipment_classes: list[str]
    operating_hours: float
    mtbf_hours: float


class CostRow(BaseModel):
    failure_mode: str
    failures: int
    labour_hours: float
    labour_cost: str
    parts_cost: str
    total_cost: str = Field(description="at list prices, whoever paid")


class CorrectiveActionCreate(Body):
    failure_mode: Code = Field(min_length=1)
    equipment_class: Code = ""
    root_cause: Text = Field(min_length=1)
    action: Text = Field(min_length=1)
    effective_from: Moment
    orders: list[Annotated[int, Field(ge=1, le=2**31 - 1)]] = Field(
        default_factory=list, max_length=200, description="the work orders (failures) that "
        "led to it")


class CorrectiveActionPublic(_Public):
    id: int
    failure_mode: str
    equipment_class: str
    root_cause: str
    action: str
    effective_from: AwareDatetime
    created_by: str
    created_at: AwareDatetime
    orders: list[int]
    failures_before: int = 0
    repeat_rate_before: float | None = None
    failures_after: int = 0
    repeat_rate_after: float | None = None


# -- knowledge base ------------------------------------------------------------------------
class FaultCaseWrite(Body):
    equipment_class: Code = ""
    failure_mode: Code = ""
    title: Short = Field(min_length=1)
    symptoms: Text = ""
    root_cause: Text = ""
    fix: Text = Field(min_length=1)
    guide: Text = Field(default="", description="maintenance steps")
    parts: list[Annotated[Code, Field(min_length=1)]] = Field(default_factory=list,
                                                              max_length=100)


class FaultCaseFromOrder(Body):
    """``POST /work-orders/{id}/knowledge-case``: what the order does not say itself."""

    title: Short | None = None
    root_cause: Text = ""
    fix: Text = Field(default="", description="default: the order's actions")
    guide: Text = ""


class FaultCaseUpdate(Body):
    """``PATCH /knowledge/cases/{id}`` (with ``If-Match``): the fields sent change.
    ``retired`` true takes the case out of suggestions and searches (``retired_reason``
    says why); false brings it back."""

    equipment_class: Code | None = None
    failure_mode: Code | None = None
    title: Short | None = Field(default=None, min_length=1)
    symptoms: Text | None = None
    root_cause: Text | None = None
    fix: Text | None = Field(default=None, min_length=1)
    guide: Text | None = None
    parts: list[Annotated[Code, Field(min_length=1)]] | None = Field(default=None,
                                                                     max_length=100)
    retired: bool | None = None
    retired_reason: Text | None = None


class FaultCasePublic(_Public):
    id: int
    equipment_class: str
    failure_mode: str
    title: str
    symptoms: str
    root_cause: str
    fix: str
    guide: str
    parts: list[str]
    attachments: list[int] = Field(description="attachment ids of the source order")
    source_order_id: int | None
    created_by: str
    created_at: AwareDatetime
    updated_by: str
    updated_at: AwareDatetime | None
    retired_at: AwareDatetime | None = Field(description="set: no longer suggested nor "
                                             "found unless include_retired")
    retired_reason: str
    version: int
    uses: int = Field(default=0, description="orders it was applied on, with a known "
                      "outcome")
    first_time_fixes: int = 0


class CaseSuggestion(BaseModel):
    case: FaultCasePublic
    first_time_fix_rate: float = Field(description="(first-time fixes + 1) / (uses + 2)")
    mode_match: bool
    relevance: float


class CaseApply(Body):
    case_id: int = Field(ge=1, le=2**31 - 1)
