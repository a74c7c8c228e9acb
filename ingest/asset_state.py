"""What the ingester keeps per asset between samples.

Its feature windows (``models.features.FeatureState``), the bucket being averaged to the
model's interval, the alarm streak, the latest score, and where its work order stands.
In memory, per ingester process.
"""

from __future__ import annotations

from dataclasses import dataclass

from models.features import FeatureState

from .resample import Resampler


@dataclass
class AssetState:
    features: FeatureState
    resampler: Resampler | None = None
    # the latest score
    risk: float = 0.0
    rul: float = float("nan")
    last_ts: str = ""
    top_signal: str = ""
    top_z: float = 0.0
    scored: int = 0
    # the alarm rule's run of scores at or above the threshold (models.alarm)
    streak: int = 0
    # the service API's side
    last_post: float = 0.0  # monotonic time the last health score was queued
    order_pending: bool = False  # an order request is queued or in flight
    order_id: int | None = None
