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


DETECTORS = ("ewma_zscore", "robust_z", "drift", "rate_of_change", "stuck", "out_of_range",
             "multivariate_t2")


class DetectorSettings(_Strict):
    """The agent's local detectors (edge_agent/detectors.py; docs/models.md)."""

    enabled: bool = True
    detectors: list[Literal[DETECTORS]] = Field(  # type: ignore[valid-type]
        default_factory=lambda: list(DETECTORS), description="which detectors run")
    warmup: int = Field(default=30, ge=2, description="values learnt before a detector scores")
    alpha: float = Field(default=0.05, gt=0, lt=1, description="ewma_zscore: EWMA weight")
    threshold: float = Field(default=6.0, gt=0, description="ewma_zscore: |z| that flags")
    robust_window: int = Field(default=60, ge=5, le=10_000,
                               description="robust_z: values in the median/MAD window")
    robust_threshold: float = Field(default=12.0, gt=0, description="robust_z: flags at")
    drift_alpha: float = Field(default=0.1, gt=0, lt=1, description=(
        "drift: how fast its baseline follows (slower than a fault drifts, faster than wear)"))
    drift_k: float = Field(default=3.0, ge=0, description="drift: CUSUM slack, in sigmas")
    drift_threshold: float = Field(default=15.0, gt=0, description="drift: CUSUM that flags")
    rate_threshold: float = Field(default=20.0, gt=0, description=(
        "rate_of_change: a change this many times the typical change flags"))
    stuck_samples: int = Field(default=6, ge=2, description=(
        "stuck: the shortest exact repeat that flags (longer if the signal was seen to "
        "repeat longer)"))
    ranges: dict[str, tuple[float, float]] = Field(default_factory=dict, description=(
        "out_of_range: signal -> [low, high]; outside flags"))
    multivariate_threshold: float = Field(default=10.0, gt=0, description=(
        "multivariate_t2: the T² of the asset's signals, as a z, that flags"))
    multivariate_max_signals: int = Field(default=16, ge=2, le=64)
    adapt_after: int = Field(default=360, ge=1, description=(
        "a signal flagged this many values in a row is learnt again (a new normal level)"))
    realert_s: float = Field(default=60.0, ge=0, description="repeat an ongoing alarm after")
    run_signal: str | None = Field(default=RUN_SIGNAL,
                                   description="0 = machine stopped: its samples are not scored")
    restart_settle_s: float = Field(default=3600.0, ge=0,
                                    description="warm-up after a start, not scored")
    skip_signals: list[str] = Field(
        default_factory=lambda: ["run_hours", "starts", "energy_kwh", RUN_SIGNAL, "run_command",
                                 "tripped"],
        description="counters and states, never scored")

    @model_validator(mode="after")
    def _ranges_ordered(self) -> DetectorSettings:
        for name, (low, high) in self.ranges.items():
            if not low < high:
                raise ValueError(f"detector.ranges.{name}: low {low} must be below high {high}")
        return self


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
    spread_polls: bool = Field(default=False, description=(
        "start the devices' schedules spread evenly over one poll interval, so their "
        "reads (and the agent's work on them) do not all fall in the same instant: for "
        "gateways of many hundred devices (docs/benchmarks.md); false: every device "
        "polls at the start of each interval"))
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
