"""InfluxDB v2 write API store: line protocol formatted in bulk, POSTed on a kept-alive
connection (``http.client``; no client library between us and the server).

One line per sample: ``telemetry,asset=A,gateway=G sig1=v1,sig2=v2 <ns>``. Tag and
field names are restricted by the wire contract to ``[A-Za-z0-9_.-]``, so they need
no escaping. Same series and timestamp overwrite, so writes are idempotent.

Answers: 2xx stored; 408, 425, 429 and 5xx, a refused connection or a timeout are
transient (``StoreError``, retried by the ingester); any other 4xx is ``StoreRejected``
(400, 413, 422 point at the data, 401, 403, 404 at the configuration).
"""

from __future__ import annotations

import http.client
import math
import threading
from urllib.parse import urlencode, urlsplit

from contracts.times import epoch_ns
from contracts.wire import Sample

from ..records import EventRecord, Score
from ..settings import StoreSettings
from .base import StoreError, StoreRejected

_RETRY_4XX = {408, 425, 429}  # timeout, too early, too many requests: transient
_PER_POINT = {400, 413, 422}  # bad points or too many: splitting the write isolates them


def to_lines(measurement: str, gateway: str, samples: list[Sample]) -> list[str]:
    """
    >>> from contracts.wire import Sample
    >>> to_lines("telemetry", "gw", [Sample(asset="p1", ts="2026-01-01T00:00:00Z",
    ...                                      values={"t": 1.5})])
    ['telemetry,asset=p1,gateway=gw t=1.5 1767225600000000000']
    """
    prefixes: dict[str, str] = {}
    out = []
    for s in samples:
        head = prefixes.get(s.asset)
        if head is None:
            head = prefixes[s.asset] = f"{measurement},asset={s.asset},gateway={gateway} "
        fields = [f"{k}={v!r}" for k, v in s.values.items()]
        if s.texts:  # string registers as string fields
            fields += [f"{k}={_field(v)}" for k, v in s.texts.items()]
        out.append(head + ",".join(fields) + f" {epoch_ns(s.ts)}")
    return out


def _field(value: float | str) -> str:
    """A line-protocol field value: a float, or a quoted string.

    >>> print(_field(1.5), _field('say "hi"'))
    1.5 "say \\"hi\\""
    """
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(float(value))


class InfluxStore:
    def __init__(self, settings: StoreSettings):
        self.settings = settings
        parts = urlsplit(settings.url or "")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"store.url {settings.url!r} must be http(s)://host[:port]")
        self._https = parts.scheme == "https"
        self._host, self._port = parts.hostname, parts.port
        query = urlencode({"org": settings.org, "bucket": settings.bucket, "precision": "ns"})
        self._path = f"{parts.path.rstrip('/')}/api/v2/write?{query}"
        self._headers = {"Content-Type": "text/plain; charset=utf-8"}
        if settings.token:
            self._headers["Authorization"] = f"Token {settings.token}"
        self._conn: http.client.HTTPConnection | None = None
        self._lock = threading.Lock()  # one request at a time on the kept-alive connection

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
            self._conn = cls(self._host, self._port, timeout=self.settings.timeout_s)
        return self._conn

    def _post(self, lines: list[str]) -> None:
        where = f"InfluxDB write to {self.settings.url}"
        body = "\n".join(lines).encode()
        with self._lock:
            try:
                conn = self._connection()
                conn.request("POST", self._path, body=body, headers=self._headers)
                resp = conn.getresponse()
                detail = resp.read()[:300].decode(errors="replace").strip()
            except (OSError, http.client.HTTPException) as exc:
                self.close()  # a fresh connection next time
                raise StoreError(f"{where} failed: {exc or type(exc).__name__}") from exc
        status = resp.status
        if status < 300:
            return
        if 400 <= status < 500 and status not in _RETRY_4XX:
            raise StoreRejected(f"{where} refused with HTTP {status}: {detail}",
                                per_point=status in _PER_POINT)
        raise StoreError(f"{where} failed with HTTP {status}: {detail}")

    def write(self, gateway: str, samples: list[Sample]) -> int:
        self._post(to_lines(self.settings.measurement, gateway, samples))
        return sum(len(s.values) + len(s.texts) for s in samples)

    def write_scores(self, scores: list[Score]) -> int:
        m = self.settings.score_measurement
        lines = [f"{m},asset={s.asset} risk={s.risk!r}"
                 + (f",rul={s.rul!r}" if math.isfinite(s.rul) else "")
                 + f" {s.ts_ns}"
                 for s in scores]
        self._post(lines)
        return sum(2 if math.isfinite(s.rul) else 1 for s in scores)

    def write_events(self, events: list[EventRecord]) -> int:
        m = self.settings.event_measurement
        self._post([f"{m},gateway={e.gateway}," + (f"asset={e.asset}," if e.asset else "")
                    + f"kind={e.kind} " + ",".join(
                        f"{k}={_field(v)}" for k, v in e.fields.items()) + f" {e.ts_ns}"
                    for e in events])
        return len(events)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
