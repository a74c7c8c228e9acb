"""Records the ingester derives from telemetry and keeps next to it in the store."""

from __future__ import annotations

from typing import NamedTuple


class Score(NamedTuple):
    """One failure-risk score of one asset, at the time of the (last) sample it covers."""

    asset: str
    ts: str  # ISO 8601 with offset
    risk: float
    rul: float  # nan when the model has no RUL estimate
