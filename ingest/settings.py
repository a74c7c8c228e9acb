"""Ingester settings: one TOML file (see docs/configuration.md)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from contracts.mqtt import MqttConnection
from contracts.signals import RUN_SIGNAL
from contracts.wire import TOPIC_ROOT


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MqttIn(MqttConnection):
    """The ingester's broker (``contracts.mqtt``) and its session (MQTT 5)."""

    # None: forewarn-ingest-<host>-<slot>, distinct per running ingester (ingest/instance.py)
    client_id: str | None = None
    protocol: Literal["5", "3.1.1"] = Field(
        default="5", description="MQTT 5 bounds the messages in flight to the ingester "
        "(receive maximum); 3.1.1 for brokers without it, which must bound them themselves")
    # A persistent session: the broker keeps QoS 1 messages while the ingester is down.
    persistent_session: bool = True
    session_expiry_s: int = Field(default=7 * 86_400, ge=0, le=0xFFFFFFFE,
                                  description="how long the broker keeps the session")
    queue_max: int = Field(default=2_000, ge=10, le=65_535,
                           description="messages in flight to this ingester (MQTT 5 receive "
                           "maximum): the broker holds the rest until acks free room")
    share_group: str | None = Field(
        default=None, pattern=r"^[A-Za-z0-9_.-]{1,64}$",
        description="subscribe as $share/<group>/...: ingesters of one group split the stream")


class StoreSettings(_Strict):
    kind: Literal["embedded", "influx"] = "embedded"
    path: str = "var/forewarn-store.sqlite"
    url: str | None = None
    token: str = ""
    org: str = "forewarn"
    bucket: str = "forewarn"
    measurement: str = "telemetry"
    score_measurement: str = "risk"
    event_measurement: str = "events"
    timeout_s: float = 10.0

    @model_validator(mode="after")
    def _influx_needs_url(self) -> StoreSettings:
        if self.kind == "influx" and not self.url:
            raise ValueError("store.kind = 'influx' needs store.url (e.g. http://127.0.0.1:8086)")
        return self


class RiskSettings(_Strict):
    enabled: bool = True
    model_dir: str | None = None
    threshold: float | None = Field(default=None, gt=0, lt=1,
                                    description="defaults to the model's own")
    consecutive: int | None = Field(default=None, ge=1)
    order_k: int | None = Field(default=None, ge=1, description="scores at the threshold "
                                "among the last order_n that open an order (default: the "
                                "model's consecutive, at least 3)")
    order_n: int | None = Field(default=None, ge=1, description="default: order_k + 2")
    hysteresis: float = Field(default=0.05, ge=0, lt=1, description="the order trigger goes "
                              "off when the last order_n scores are below threshold - this")
    health_post_interval_s: float = Field(default=2.0, ge=0)
    single_sensor_orders: bool = Field(default=True, description=(
        "open a predictive order also when the alarm rests on one sensor alone (the risk "
        "re-scored without the most deviating sensor is below the threshold; the order "
        "says so). false: such an alarm is posted as an 'alarm' event asking for the "
        "sensor to be checked, and the order waits until another sensor corroborates — "
        "no order from a drifting sensor, but a failure seen by one sensor alone may get "
        "its order late or never (bench/single_sensor_guard.py)"))
    resample: bool = Field(default=True, description="average samples to the model's "
                           "sample interval before scoring")
    time_scale: float = Field(default=1.0, gt=0, description="simulated seconds per wall "
                              "second, when the data comes from a compressed-time simulator")


class ApiClientSettings(_Strict):
    url: str | None = "http://127.0.0.1:8000"
    timeout_s: float = 5.0
    token_env: str = Field(default="FOREWARN_API_TOKEN", description="environment variable "
                           "holding the service API token (read first)")
    token_file: str | None = Field(default=None, description="file holding the token "
                                   "(`forewarn api token ingest --service --out FILE`)")

    def token(self) -> str | None:
        """The API token: from ``token_env``, else ``token_file``; never logged."""
        import os
        from pathlib import Path

        if os.environ.get(self.token_env):
            return os.environ[self.token_env].strip()
        if self.token_file:
            try:
                return Path(self.token_file).read_text().strip() or None
            except OSError as exc:
                raise ValueError(f"api.token_file {self.token_file}: {exc.strerror}; create "
                                 "it with `forewarn api token ingest --service --out "
                                 f"{self.token_file}`") from exc
        return None


_LEVEL = r"(\+|[A-Za-z0-9_.-]{1,64})"


class IngestSettings(_Strict):
    """One ingester. See docs/architecture.md, "Scaling out", for the roles."""

    role: Literal["all", "store", "score"] = Field(
        default="all", description="all: store and score what it receives; store: only "
        "store (may share a subscription); score: only score, sequence accounting, orders")
    partitions: list[Annotated[str, StringConstraints(pattern=f"^{_LEVEL}/{_LEVEL}$")]] = Field(
        default=["+/+"], min_length=1, description="the <site>/<gateway> streams this "
        "ingester owns ('+' = any), subscribed as forewarn/v1/<site>/<gateway>/+")
    mqtt: MqttIn = MqttIn()
    store: StoreSettings = StoreSettings()
    state_dir: str = "var/ingest"
    metrics_host: str = "127.0.0.1"
    metrics_port: int | None = Field(
        default=9310, ge=0, le=65535, description="/metrics and /healthz; plus the slot when "
        "the client id is the default one; 0: any free port; none: off")
    persist_state: bool = Field(default=True, description="keep sequence trackers and "
                                "per-asset scoring state in <state_dir>/<client id>.state.sqlite")
    dead_letter_path: str = "var/dead-letters.sqlite"
    max_future_skew_s: float = Field(default=300.0, ge=0, description="samples dated further "
                                     "ahead of this ingester's clock are dead-lettered")
    max_sample_age_s: float = Field(default=30 * 86_400.0, gt=0, description="older samples "
                                    "are dead-lettered (keep it within the store's retention)")
    batch_max_messages: int = Field(default=200, ge=1)
    batch_max_wait_s: float = Field(default=0.2, ge=0)
    risk: RiskSettings = RiskSettings()
    api: ApiClientSettings = ApiClientSettings()
    run_signal: str = Field(default=RUN_SIGNAL, description="1 = running, 0 = stopped; its "
                            "changes are posted to the service API as device_state events")
    trip_signal: str = Field(default="tripped", description="1 = tripped (protection "
                             "relay); reported like run_signal")

    @model_validator(mode="after")
    def _shared_only_stores(self) -> IngestSettings:
        if self.mqtt.share_group and self.role != "store":
            raise ValueError(
                f"mqtt.share_group needs role = 'store' (got {self.role!r}): a shared "
                "subscription hands each message to one member, so one gateway's stream is "
                "split across ingesters and no single one could score an asset or count its "
                "gateway's sequence; run the scoring with role = 'score' (one per partition)")
        return self

    def topic_filters(self) -> list[str]:
        """What this ingester subscribes to."""
        share = f"$share/{self.mqtt.share_group}/" if self.mqtt.share_group else ""
        return [f"{share}{TOPIC_ROOT}/{p}/+" for p in self.partitions]
