"""Ingester settings: one TOML file (see docs/configuration.md)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from contracts.mqtt import MqttConnection


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MqttIn(MqttConnection):
    """The ingester's broker (``contracts.mqtt``) and its session."""

    client_id: str | None = "forewarn-ingest"
    # A persistent session: the broker keeps QoS 1 messages while the ingester is down.
    persistent_session: bool = True
    queue_max: int = Field(default=10_000, ge=10, description="messages held before acking")


class StoreSettings(_Strict):
    kind: Literal["embedded", "influx"] = "embedded"
    path: str = "var/forewarn-store.sqlite"
    url: str | None = None
    token: str = ""
    org: str = "forewarn"
    bucket: str = "forewarn"
    measurement: str = "telemetry"
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
    health_post_interval_s: float = Field(default=2.0, ge=0)
    resample: bool = Field(default=True, description="average samples to the model's "
                           "sample interval before scoring")
    time_scale: float = Field(default=1.0, gt=0, description="simulated seconds per wall "
                              "second, when the data comes from a compressed-time simulator")


class ApiClientSettings(_Strict):
    url: str | None = "http://127.0.0.1:8000"
    timeout_s: float = 5.0


class IngestSettings(_Strict):
    mqtt: MqttIn = MqttIn()
    store: StoreSettings = StoreSettings()
    dead_letter_path: str = "var/dead-letters.sqlite"
    batch_max_messages: int = Field(default=200, ge=1)
    batch_max_wait_s: float = Field(default=0.2, ge=0)
    risk: RiskSettings = RiskSettings()
    api: ApiClientSettings = ApiClientSettings()
