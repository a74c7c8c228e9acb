"""Records the ingester derives from telemetry and keeps next to it in the store."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from contracts.times import epoch_ns
from contracts.wire import AnomalyEvent, DeviceEvent, GatewayState


class Score(NamedTuple):
    """One failure-risk score of one asset, at the time of the (last) sample it covers."""

    asset: str
    ts: str  # ISO 8601 with offset
    risk: float
    rul: float  # nan when the model has no RUL estimate

    @property
    def ts_ns(self) -> int:
        """The score's time in nanoseconds since 1970 (the stores' unit)."""
        return epoch_ns(datetime.fromisoformat(self.ts))


class EventRecord(NamedTuple):
    """An edge anomaly event or a gateway state change, kept as evidence next to telemetry."""

    ts_ns: int
    gateway: str
    asset: str  # "" for gateway events
    kind: str  # "anomaly" | "gateway_state"
    fields: dict[str, float | str]

    @classmethod
    def of(cls, message: AnomalyEvent | DeviceEvent | GatewayState) -> EventRecord:
        if isinstance(message, DeviceEvent):
            return cls(epoch_ns(message.ts), message.gateway,
                       message.asset, "device",
                       {"status": message.status, "reason": message.reason,
                        "online": 1.0 if message.status == "online" else 0.0})
        if isinstance(message, AnomalyEvent):
            return cls(epoch_ns(message.ts), message.gateway,
                       message.asset, "anomaly",
                       {"signal": message.signal, "value": message.value,
                        "score": message.score, "threshold": message.threshold,
                        "detector": message.detector,
                        **({"signals": ",".join(message.signals)} if message.signals else {}),
                        **({"window_start": message.window_start.isoformat()}
                           if message.window_start else {})})
        return cls(epoch_ns(message.sent_at),
                   message.gateway, "", "gateway_state",
                   {"status": message.status,  # numeric too: VictoriaMetrics drops strings
                    "online": 1.0 if message.status == "online" else 0.0,
                    "seq": float(message.seq)})


