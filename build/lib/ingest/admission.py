"""What the ingester admits beyond the wire contract: samples dated within a time window.

A sample from a clock far in the future would stall the asset's resampler (scoring waits
for time to reach it) and, past 2262, cannot be held as nanoseconds since 1970 by any
store; one older than the store's retention would be dropped silently by the store.
Both are refused with a reason, so they end up in the dead letters instead.

>>> from datetime import UTC, datetime, timedelta
>>> w = TimeWindow(max_future_s=300, max_age_s=86_400)
>>> now = datetime(2026, 1, 2, tzinfo=UTC)
>>> w.refuse(now + timedelta(seconds=10), now) is None
True
>>> print(w.refuse(now + timedelta(days=2), now))
timestamp 2026-01-04T00:00:00+00:00 is 172800 s in the future (limit 300 s: check the \
gateway clock)
>>> w.refuse(now - timedelta(days=3), now)
'timestamp 2025-12-30T00:00:00+00:00 is 259200 s old (limit 86400 s: ingest.max_sample_age_s)'
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from contracts.wire import ReadingBatch, RefusedSample, Sample


@dataclass(frozen=True)
class TimeWindow:
    max_future_s: float
    max_age_s: float

    def refuse(self, ts: datetime, now: datetime) -> str | None:
        """None if ``ts`` is admitted, else the reason it is not."""
        ahead = (ts - now).total_seconds()
        if ahead > self.max_future_s:
            return (f"timestamp {ts.isoformat()} is {ahead:.0f} s in the future "
                    f"(limit {self.max_future_s:.0f} s: check the gateway clock)")
        if -ahead > self.max_age_s:
            return (f"timestamp {ts.isoformat()} is {-ahead:.0f} s old "
                    f"(limit {self.max_age_s:.0f} s: ingest.max_sample_age_s)")
        return None


@dataclass(frozen=True)
class Admitted:
    """A valid sample and where it came from, to dead-letter it alone if the store refuses."""

    sample: Sample
    topic: str
    envelope: dict[str, object]

    def refused(self, reason: str) -> RefusedSample:
        return RefusedSample(self.envelope, self.sample.model_dump(mode="json"), reason)


def admit(batch: ReadingBatch, topic: str, window: TimeWindow, now: datetime
          ) -> tuple[list[Admitted], list[RefusedSample]]:
    """Split a decoded batch into samples within the time window and those refused."""
    envelope = batch.model_dump(mode="json", exclude={"samples"})
    stamps = [s.ts for s in batch.samples]
    if window.refuse(min(stamps), now) is None and window.refuse(max(stamps), now) is None:
        return [Admitted(s, topic, envelope) for s in batch.samples], []  # the common case
    good: list[Admitted] = []
    refused: list[RefusedSample] = []
    for sample in batch.samples:
        item = Admitted(sample, topic, envelope)
        reason = window.refuse(sample.ts, now)
        if reason is None:
            good.append(item)
        else:
            refused.append(item.refused(f"sample of {sample.asset} refused: {reason}"))
    return good, refused
