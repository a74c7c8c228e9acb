"""Service API settings: one TOML file; built in main() and passed to create_app()."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from .billing import BillingSettings
from .telemetry import TelemetrySettings


class ServiceApiSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    workers: int = Field(default=1, ge=1, le=64, description=(
        "API processes sharing the port (uvicorn workers, e.g. one per core): every piece "
        "of state they share lives in the database"))
    database_url: str = "sqlite:///var/forewarn-api.sqlite"
    dashboard: bool = True
    at_risk_default: float = Field(default=0.5, ge=0, le=1, description=(
        "'at risk' for an asset whose scores do not carry the threshold that opens its "
        "orders (the ingester sends it with each score)"))
    stale_after_s: float = Field(default=300.0, gt=0, description=(
        "an asset whose latest score is older is shown as stale, without a remaining life"))
    max_body_bytes: int = Field(default=1_048_576, ge=1024, description=(
        "larger request bodies are refused with 413 before they are read"))
    max_future_s: float = Field(default=300.0, ge=0, description=(
        "a health score or event dated more than this ahead of the server's clock is "
        "refused: it would freeze the asset's latest risk"))
    login_failures: int = Field(default=5, ge=1, description=(
        "failed logins per user name (and per client address) within login_window_s "
        "before further attempts get 429"))
    login_window_s: float = Field(default=300.0, gt=0)
    session_token_hours: float = Field(default=12.0, gt=0, description=(
        "lifetime of the token a password login returns"))
    idempotency_hours: float = Field(default=24.0, gt=0, description=(
        "how long a response is kept for replay under its Idempotency-Key"))
    attachments_dir: str = Field(default="var/attachments", description=(
        "where order photos and files are stored, under names the server makes"))
    max_attachment_bytes: int = Field(default=10 * 1024 * 1024, ge=1024, description=(
        "largest photo or file accepted"))
    attachment_types: list[str] = Field(
        default_factory=lambda: ["image/jpeg", "image/png", "image/webp", "application/pdf",
                                 "text/plain"],
        description="content types accepted as attachments (images and PDFs are checked "
                    "against their first bytes)")
    webhooks: bool = Field(default=True, description="send webhook deliveries from this "
                           "process (turn off on all but some processes if you like)")
    webhook_poll_s: float = Field(default=1.0, gt=0)
    webhook_timeout_s: float = Field(default=5.0, gt=0)
    webhook_max_attempts: int = Field(default=8, ge=1, le=30)
    rejection_quiet_hours: float = Field(default=24.0, ge=0, description=(
        "after an automatic order is rejected, new predictions for the same asset and "
        "failure mode within this time are recorded on it instead of proposing again "
        "(0: propose again at once)"))
    sla_hours: dict[str, float] = Field(
        default_factory=lambda: {"critical": 8, "high": 24, "medium": 72, "low": 168},
        description="due date of a new order: hours after creation, by priority")
    telemetry: TelemetrySettings = Field(default_factory=TelemetrySettings, description=(
        "the time-series store sensor trends are read from (the ingester's store)"))
    push_poll_s: float = Field(default=1.0, gt=0, description=(
        "how often GET /api/v1/changes checks the database for changes (once per process, "
        "while a stream is open)"))
    push_heartbeat_s: float = Field(default=15.0, gt=0)
    push_max_s: float = Field(default=300.0, gt=0, description=(
        "a change stream ends after this; the client reconnects"))
    parts_demand_min_risk: float = Field(default=0.2, ge=0, le=1, description=(
        "assets at this risk or above count as expected parts demand (risk x parts per "
        "repair) in reorder suggestions"))
    parts_usage_days: float = Field(default=90.0, gt=0, le=3650, description=(
        "the window of past consumption that gives the usage rate in reorder suggestions"))
    contract_delivery_days: dict[str, float] = Field(default_factory=dict, description=(
        "days a service contract promises for parts delivery, by contract name"))
    default_delivery_days: float = Field(default=2.0, ge=0, description=(
        "the promise for assets whose contract is not in contract_delivery_days"))
    billing: BillingSettings = Field(default_factory=BillingSettings, description=(
        "price list and service packages of order statements"))
    survey_days: float = Field(default=14.0, gt=0, le=365, description=(
        "how long a customer's survey link stays valid"))
    public_url: str = Field(default="", max_length=300, description=(
        "the API's address as customers reach it, for survey links (e.g. "
        "https://service.example.com); empty: links are relative"))
