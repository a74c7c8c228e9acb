"""InfluxDB v2 write API store through influxdb-client, with line protocol formatted in bulk.

One line per sample: ``telemetry,asset=A,gateway=G sig1=v1,sig2=v2 <ns>``. Tag and
field names are restricted by the wire contract to ``[A-Za-z0-9_.-]``, so they need
no escaping. Same series and timestamp overwrite, so writes are idempotent.
"""

from __future__ import annotations

import math

from influxdb_client import InfluxDBClient, WritePrecision
from influxdb_client.client.write_api import SYNCHRONOUS
from influxdb_client.rest import ApiException

from contracts.wire import Sample

from ..records import Score
from ..settings import StoreSettings
from .base import StoreError, StoreRejected, iso_ns, ts_ns


def to_lines(measurement: str, gateway: str, samples: list[Sample]) -> list[str]:
    """
    >>> from contracts.wire import Sample
    >>> to_lines("telemetry", "gw", [Sample(asset="p1", ts="2026-01-01T00:00:00Z",
    ...                                      values={"t": 1.5})])
    ['telemetry,asset=p1,gateway=gw t=1.5 1767225600000000000']
    """
    return [
        f"{measurement},asset={s.asset},gateway={gateway} "
        + ",".join(f"{k}={v!r}" for k, v in s.values.items())
        + f" {ts_ns(s)}"
        for s in samples
    ]


_RETRY_4XX = {408, 425, 429}  # timeout, too early, too many requests: transient
_PER_POINT = {400, 413, 422}  # bad points or too many: splitting the write isolates them


class InfluxStore:
    def __init__(self, settings: StoreSettings):
        self.settings = settings
        self._client = InfluxDBClient(url=settings.url, token=settings.token, org=settings.org,
                                      timeout=int(settings.timeout_s * 1000))
        self._write = self._client.write_api(write_options=SYNCHRONOUS)

    def _post(self, lines: list[str]) -> None:
        try:
            self._write.write(bucket=self.settings.bucket, org=self.settings.org, record=lines,
                              write_precision=WritePrecision.NS)
        except ApiException as exc:
            where = f"InfluxDB write to {self.settings.url}"
            status = exc.status or 0
            if 400 <= status < 500 and status not in _RETRY_4XX:
                body = (exc.body or exc.reason or "").strip()[:300]
                raise StoreRejected(f"{where} refused with HTTP {status}: {body}",
                                    per_point=status in _PER_POINT) from exc
            raise StoreError(f"{where} failed with HTTP {status}: {exc.reason}") from exc
        except Exception as exc:  # urllib3: connection refused, timeout
            raise StoreError(f"InfluxDB write to {self.settings.url} failed: {exc}") from exc

    def write(self, gateway: str, samples: list[Sample]) -> int:
        self._post(to_lines(self.settings.measurement, gateway, samples))
        return sum(len(s.values) for s in samples)

    def write_scores(self, scores: list[Score]) -> int:
        m = self.settings.score_measurement
        lines = [f"{m},asset={s.asset} risk={s.risk!r}"
                 + (f",rul={s.rul!r}" if math.isfinite(s.rul) else "") + f" {iso_ns(s.ts)}"
                 for s in scores]
        self._post(lines)
        return sum(2 if math.isfinite(s.rul) else 1 for s in scores)

    def close(self) -> None:
        self._client.close()
