"""Fleet configuration: which assets to simulate, how they fail, where they are served."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from contracts.errors import ConfigError
from contracts.ids import ID_PATTERN

from .clock import SimClock
from .faults import FaultConfig
from .physics import Asset, FailureMode, Kind
from .register_map import register_map


class AssetConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=ID_PATTERN)
    kind: Kind = "pump"
    failure_mode: FailureMode = "none"
    onset_h: float | None = None
    failure_h: float | None = None
    maintenance_h: list[float] = Field(default_factory=list,
                                       description="times of maintenance that renews wear")
    port: int | None = Field(default=None, ge=1, le=65535)
    faults: list[FaultConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _fault_signals(self) -> AssetConfig:
        specs = {s.name: s for s in register_map(self.kind)}
        for f in self.faults:
            if f.signal is None:
                continue
            if f.signal not in specs:
                raise ValueError(f"asset {self.id}: {f.kind} fault on unknown signal "
                                 f"{f.signal!r}; a {self.kind} has {sorted(specs)}")
            if f.kind == "dropout" and not specs[f.signal].dtype.startswith("float"):
                raise ValueError(f"asset {self.id}: dropout (NaN) needs a float-encoded "
                                 f"signal; {f.signal} is {specs[f.signal].dtype}")
        return self


class RtuConfig(BaseModel):
    """Serve the whole fleet on one Modbus RTU line instead of TCP (units 1, 2, ...)."""

    model_config = ConfigDict(extra="forbid")

    port: str = Field(min_length=1, description="the serial port the agent opens")
    device: str | None = Field(
        default=None, description="the serial port the simulator opens (e.g. the other end "
        "of a socat pair); unset: the simulator makes a virtual cable and links its far "
        "end at `port`")
    baudrate: int = Field(default=115200, ge=300, le=921600)
    parity: Literal["N", "E", "O"] = "N"
    stopbits: Literal[1, 2] = 1
    paced: bool = Field(default=False, description=(
        "the virtual cable delivers bytes no faster than a real line at this baud rate"))

    @property
    def char_s(self) -> float:
        """Seconds per character on the line: start bit, 8 data bits, parity, stop bits."""
        return (1 + 8 + (self.parity != "N") + self.stopbits) / self.baudrate


class FleetConfig(BaseModel):
    """``forewarn simulate`` config (TOML). Ports default to ``base_port + index``."""

    model_config = ConfigDict(extra="forbid")

    seed: int = 0
    time_scale: float = Field(default=3600.0, ge=0, description="simulated s per wall s")
    start_h: float = 0.0
    host: str = "127.0.0.1"
    base_port: int = Field(default=5020, ge=1, le=65535)
    unit: int = Field(default=1, ge=1, le=247, description="unit id of every TCP device")
    stops_per_week: float = Field(default=1.0, ge=0, le=7,
                                  description="planned stops (2-8 h) per asset and week")
    rtu: RtuConfig | None = None
    assets: list[AssetConfig] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> FleetConfig:
        ids = [a.id for a in self.assets]
        dupes = {i for i in ids if ids.count(i) > 1}
        if dupes:
            raise ValueError(f"asset ids must be unique; repeated: {sorted(dupes)}")
        if self.rtu is not None and len(self.assets) > 247:
            raise ValueError(f"one RTU line holds at most 247 units; got {len(self.assets)}")
        ports = [self.port_of(i) for i in range(len(self.assets))]
        if len(set(ports)) != len(ports):
            raise ValueError(f"two assets share a port: {ports}")
        return self

    def port_of(self, index: int) -> int:
        return self.assets[index].port or self.base_port + index

    def unit_of(self, index: int) -> int:
        return index + 1 if self.rtu is not None else self.unit

    def build_assets(self) -> list[Asset]:
        try:
            return [
                Asset(id=a.id, kind=a.kind, failure_mode=a.failure_mode, onset_h=a.onset_h,
                      failure_h=a.failure_h, seed=self.seed,
                      maintenance_h=tuple(a.maintenance_h), stops_per_week=self.stops_per_week)
                for a in self.assets
            ]
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc

    def clock(self) -> SimClock:
        return SimClock(time_scale=self.time_scale, start_h=self.start_h)


def demo_fleet(seed: int = 7, time_scale: float = 3600.0, base_port: int = 5020) -> FleetConfig:
    """The demo plant: one pump wearing its bearing out, three healthy machines."""
    return FleetConfig(
        seed=seed, time_scale=time_scale, base_port=base_port,
        assets=[
            AssetConfig(id="pump-01", kind="pump", failure_mode="bearing_wear",
                        onset_h=50.0, failure_h=170.0),
            AssetConfig(id="pump-02", kind="pump"),
            AssetConfig(id="motor-01", kind="motor"),
            AssetConfig(id="compressor-01", kind="compressor"),
        ],
    )
