"""Edge agent settings: one TOML file (see docs/configuration.md)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from contracts.mqtt import MqttConnection
from contracts.signals import RUN_SIGNAL
from contracts.wire import TopicLevel

from .registers import RegisterSpec


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MqttSettings(MqttConnection):
    """The agent's broker (``contracts.mqtt``) and how many publishes may be in flight."""

    max_inflight: int = Field(default=100, ge=1, le=1000)


class SpoolSettings(_Strict):
    path: str = "var/agent-spool.sqlite"
    max_messages: int = Field(default=100_000, ge=10, description="oldest dropped beyond")
    publish_batch: int = Field(default=100, ge=1, le=1000)


class DetectorSettings(_Strict):
    enabled: bool = True
    alpha: float = Field(default=0.05, gt=0, lt=1)
    warmup: int = Field(default=30, ge=2)
    threshold: float = Field(default=6.0, gt=0, description="|z| that raises an anomaly")
    realert_s: float = Field(default=60.0, ge=0, description="repeat an ongoing alarm after")
    run_signal: str | None = Field(default=RUN_SIGNAL,
                                   description="0 = machine stopped: its samples are not scored")
    restart_settle_s: float = Field(default=3600.0, ge=0,
                                    description="warm-up after a start, not scored")
    skip_signals: list[str] = Field(
        default_factory=lambda: ["run_hours", "starts", "energy_kwh", RUN_SIGNAL, "run_command",
                                 "tripped"],
        description="counters and states, never scored")


class WireSettings(_Strict):
    """How telemetry is encoded (docs/wire-format.md); the ingester reads both."""

    encoding: Literal["compact", "json"] = Field(default="compact", description=(
        "compact: columnar binary, names once per message (a few bytes per value); json: "
        "schema 1, readable, ~30-50 bytes per value"))
    compress: bool = Field(default=True, description="deflate compact messages")


class SerialSettings(_Strict):
    """A Modbus RTU line: the serial port and its framing (every device on it agrees)."""

    port: str = Field(min_length=1, description="e.g. /dev/ttyUSB0")
    baudrate: int = Field(default=19200, ge=300, le=921600)
    bytesize: Literal[7, 8] = 8
    parity: Literal["N", "E", "O"] = "N"
    stopbits: Literal[1, 2] = 1


class DeviceSettings(_Strict):
    """One device: over TCP (``host``/``port``), or over RTU when ``serial`` is set."""

    asset: TopicLevel
    host: str = "127.0.0.1"
    port: int = Field(default=502, ge=1, le=65535)
    serial: SerialSettings | None = None
    unit: int = Field(default=1, ge=0, le=247)
    timeout_s: float = Field(default=2.0, gt=0)
    max_gap: int = Field(default=0, ge=0, le=100, description=(
        "merge reads across gaps of up to this many unlisted registers (or bits); a read "
        "the device refuses (exception 2) is split and the refused registers are learnt"))
    poll_interval_s: float | None = Field(default=None, gt=0, description=(
        "this device's own poll interval (default: the agent's poll_interval_s); a slow or "
        "dead device never delays another"))
    registers: list[RegisterSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _no_overlap(self) -> DeviceSettings:
        names = [r.name for r in self.registers]
        if len(set(names)) != len(names):
            raise ValueError(f"device {self.asset}: register names repeat: {names}")
        taken: dict[tuple[str, int], str] = {}
        for r in self.registers:
            for a in range(r.address, r.address + r.count):
                if (r.table, a) in taken:
                    raise ValueError(
                        f"device {self.asset}: {r.name} overlaps {taken[(r.table, a)]} at {a}")
                taken[(r.table, a)] = r.name
        return self


class AgentSettings(_Strict):
    gateway_id: TopicLevel = "gw-01"
    site: TopicLevel = "site-01"
    poll_interval_s: float = Field(default=1.0, gt=0)
    reconnect_max_s: float = Field(default=60.0, gt=0, description=(
        "an unreachable device is retried after 1, 2, 4 ... poll intervals (with jitter), "
        "at most this often"))
    batch_max_samples: int = Field(default=50, ge=1)
    batch_max_age_s: float = Field(default=1.0, ge=0)
    metrics_host: str = "127.0.0.1"
    metrics_port: int | None = Field(default=9320, ge=0, le=65535, description=(
        "/metrics (Prometheus) and /healthz; 0: any free port; none: off"))
    mqtt: MqttSettings = MqttSettings()
    spool: SpoolSettings = SpoolSettings()
    detector: DetectorSettings = DetectorSettings()
    wire: WireSettings = WireSettings()
    devices: list[DeviceSettings] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_assets(self) -> AgentSettings:
        assets = [d.asset for d in self.devices]
        if len(set(assets)) != len(assets):
            raise ValueError(f"each asset must appear once; got {assets}")
        lines: dict[str, tuple[SerialSettings, set[int]]] = {}
        for d in self.devices:
            if d.serial is None:
                continue
            line, units = lines.setdefault(d.serial.port, (d.serial, set()))
            if line != d.serial:
                raise ValueError(f"device {d.asset}: serial port {d.serial.port} is set up "
                                 f"differently from another device on it ({line})")
            if d.unit in units:
                raise ValueError(f"device {d.asset}: unit {d.unit} is taken on "
                                 f"{d.serial.port}; units on one RTU line must differ")
            units.add(d.unit)
        return self
