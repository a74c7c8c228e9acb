"""Reading sensor telemetry back from the time-series store the ingester writes to, for
trend plots: the signals an asset has, and each signal downsampled to at most N buckets
(min, max, mean and count per bucket, so a spike survives downsampling).

Two readers, chosen by ``[telemetry] kind`` in the API's config:

- ``embedded``: the ingester's SQLite store file (``ingest.stores.embedded``), opened
  read-only; buckets are computed by one ``GROUP BY`` on its (asset, signal, time) key.
- ``prometheus``: a Prometheus-compatible query API (VictoriaMetrics, which also takes
  the ingester's InfluxDB line protocol). A line ``telemetry,asset=A,gateway=G t=1.5``
  is stored there as the series ``telemetry_t{asset="A",gateway="G"}``; buckets come
  from ``min_over_time``/``max_over_time``/``sum_over_time``/``count_over_time`` over
  one step, summed across gateways (the last bucket may hold values up to one step
  past ``until``; the embedded reader stops exactly at it).

Neither reader writes. Errors: ``TelemetryNotConfigured`` (no store set),
``TelemetryUnavailable`` (the store cannot be read now: missing file, refused
connection, HTTP error), both with a message that says what to check.
"""

from __future__ import annotations

import json
import math
import sqlite3
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, model_validator

NS = 1_000_000_000


class TelemetrySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["none", "embedded", "prometheus"] = Field(default="none", description=(
        "where the ingester's telemetry is read back from for trend plots: 'embedded' "
        "(its SQLite store file, `path`), 'prometheus' (a Prometheus-compatible query API "
        "such as VictoriaMetrics, `url`), or 'none'"))
    path: str = Field(default="var/forewarn-store.sqlite",
                      description="the ingester's embedded store ([store] path)")
    url: str | None = Field(default=None, description="e.g. http://127.0.0.1:8428")
    measurement: str = Field(default="telemetry", pattern=r"^[A-Za-z0-9_]{1,64}$",
                             description="the ingester's [store] measurement")
    timeout_s: float = Field(default=10.0, gt=0)

    @model_validator(mode="after")
    def _prometheus_needs_url(self) -> TelemetrySettings:
        if self.kind == "prometheus" and not self.url:
            raise ValueError("telemetry.kind = 'prometheus' needs telemetry.url "
                             "(e.g. http://127.0.0.1:8428 for VictoriaMetrics)")
        return self


class TelemetryError(RuntimeError):
    """Telemetry cannot be read; the message says why and what to check."""


class TelemetryNotConfigured(TelemetryError):
    pass


class TelemetryUnavailable(TelemetryError):
    pass


@dataclass(frozen=True, slots=True)
class Bucket:
    """Values of one signal in [t_ns, t_ns + step): or one raw value when n == 1 and the
    series was not downsampled (t_ns is then the value's own time)."""

    t_ns: int
    min: float
    max: float
    mean: float
    n: int


class TelemetryReader(Protocol):
    def signals(self, asset: str, start_ns: int, end_ns: int) -> list[str]:
        """Signals of ``asset`` with values in [start_ns, end_ns), sorted."""
        ...

    def series(self, asset: str, signal: str, start_ns: int, end_ns: int,
               max_points: int) -> tuple[list[Bucket], bool]:
        """The signal's values in [start_ns, end_ns), at most ``max_points`` buckets;
        and whether they were downsampled."""
        ...


def from_ns(t_ns: int) -> datetime:
    return datetime.fromtimestamp(t_ns / NS, UTC)


def step_ns(start_ns: int, end_ns: int, max_points: int) -> int:
    """The bucket width: whole seconds, at least one, ``max_points`` of them covering the
    range.

    >>> step_ns(0, 3600 * NS, 60) // NS
    60
    >>> step_ns(0, 10 * NS, 500) // NS
    1
    """
    return max(1, math.ceil((end_ns - start_ns) / max_points / NS)) * NS


class EmbeddedTelemetry:
    """The ingester's SQLite store, read-only."""

    def __init__(self, path: str | Path, timeout_s: float = 10.0):
        self.path = Path(path)
        self.timeout_s = timeout_s

    def _connect(self) -> sqlite3.Connection:
        if not self.path.exists():
            raise TelemetryUnavailable(
                f"the embedded store {self.path} does not exist: set [telemetry] path to "
                "the ingester's [store] path (it is created by the first write)")
        try:
            db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True,
                                 timeout=self.timeout_s, check_same_thread=False)
            db.execute("SELECT 1 FROM points LIMIT 1").fetchall()
        except sqlite3.Error as exc:
            raise TelemetryUnavailable(
                f"cannot read the embedded store {self.path}: {exc}") from exc
        return db

    def signals(self, asset: str, start_ns: int, end_ns: int) -> list[str]:
        # a skip scan over the (asset, signal, ts) key: one probe per signal, not per row
        out: list[str] = []
        db = self._connect()
        try:
            after = ""
            while True:
                row = db.execute(
                    "SELECT signal FROM points WHERE asset=? AND signal>? ORDER BY signal "
                    "LIMIT 1", (asset, after)).fetchone()
                if row is None:
                    return out
                after = row[0]
                if db.execute("SELECT 1 FROM points WHERE asset=? AND signal=? AND ts_ns>=? "
                              "AND ts_ns<? LIMIT 1", (asset, after, start_ns, end_ns)
                              ).fetchone():
                    out.append(after)
        except sqlite3.Error as exc:
            raise TelemetryUnavailable(f"reading {self.path} failed: {exc}") from exc
        finally:
            db.close()

    def series(self, asset: str, signal: str, start_ns: int, end_ns: int,
               max_points: int) -> tuple[list[Bucket], bool]:
        db = self._connect()
        where = "FROM points WHERE asset=? AND signal=? AND ts_ns>=? AND ts_ns<?"
        args = (asset, signal, start_ns, end_ns)
        try:
            raw = db.execute(f"SELECT ts_ns, value {where} ORDER BY ts_ns LIMIT ?",
                             (*args, max_points + 1)).fetchall()
            if len(raw) <= max_points:
                return [Bucket(t, v, v, v, 1) for t, v in raw], False
            step = step_ns(start_ns, end_ns, max_points)
            rows = db.execute(
                f"SELECT (ts_ns - ?) / ? AS b, MIN(value), MAX(value), AVG(value), COUNT(*) "
                f"{where} GROUP BY b ORDER BY b", (start_ns, step, *args)).fetchall()
        except sqlite3.Error as exc:
            raise TelemetryUnavailable(f"reading {self.path} failed: {exc}") from exc
        finally:
            db.close()
        return [Bucket(start_ns + b * step, lo, hi, mean, n)
                for b, lo, hi, mean, n in rows], True


class PrometheusTelemetry:
    """A Prometheus-compatible HTTP query API (``/api/v1/query_range``, ``/api/v1/series``)."""

    def __init__(self, url: str, measurement: str = "telemetry", timeout_s: float = 10.0):
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"telemetry.url {url!r} must be http(s)://host[:port]")
        self.url = url.rstrip("/")
        self.prefix = measurement + "_"
        self.timeout_s = timeout_s

    def _get(self, path: str, params: list[tuple[str, str]]) -> list:
        url = f"{self.url}{path}?{urllib.parse.urlencode(params)}"
        try:
            with urllib.request.urlopen(url, timeout=self.timeout_s) as resp:
                body = json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            detail = exc.read()[:300].decode(errors="replace")
            raise TelemetryUnavailable(
                f"the telemetry store {self.url} answered HTTP {exc.code}: {detail}") from exc
        except (OSError, ValueError) as exc:
            raise TelemetryUnavailable(
                f"the telemetry store {self.url} did not answer: {exc}") from exc
        if body.get("status") != "success":
            raise TelemetryUnavailable(f"the telemetry store {self.url} refused the query: "
                                       f"{body.get('error', body)}")
        return body["data"]

    @staticmethod
    def _quote(value: str) -> str:
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'

    def signals(self, asset: str, start_ns: int, end_ns: int) -> list[str]:
        match = (f'{{__name__=~{self._quote(self.prefix + ".+")},'
                 f'asset={self._quote(asset)}}}')
        data = self._get("/api/v1/series", [("match[]", match), ("start", _secs(start_ns)),
                                            ("end", _secs(end_ns))])
        return sorted({s["__name__"][len(self.prefix):] for s in data
                       if s.get("__name__", "").startswith(self.prefix)})

    def series(self, asset: str, signal: str, start_ns: int, end_ns: int,
               max_points: int) -> tuple[list[Bucket], bool]:
        step = step_ns(start_ns, end_ns, max_points)
        selector = (f'{{__name__={self._quote(self.prefix + signal)},'
                    f'asset={self._quote(asset)}}}')
        window = f"[{step // NS}s]"
        # A range query's window at time e is (e - step, e]: evaluated 1 ms before each
        # bucket's end, it holds [e - step + 1 ms, e], which is the bucket [t, t + step)
        # at the store's millisecond precision.
        ms = NS // 1000
        buckets = math.ceil((end_ns - start_ns) / step)
        params = [("start", _secs(start_ns + step - ms)),
                  ("end", _secs(start_ns + buckets * step - ms)), ("step", f"{step // NS}s")]
        columns = {}
        for name, query in (("min", f"min(min_over_time({selector}{window}))"),
                            ("max", f"max(max_over_time({selector}{window}))"),
                            ("sum", f"sum(sum_over_time({selector}{window}))"),
                            ("n", f"sum(count_over_time({selector}{window}))")):
            data = self._get("/api/v1/query_range", [("query", query), *params])
            result = data.get("result", [])
            columns[name] = {round(float(t) * 1000) * ms + ms - step: float(v)
                             for t, v in (result[0]["values"] if result else [])}
        out = []
        for t in sorted(columns["n"]):
            n = int(columns["n"][t])
            if n and t in columns["min"] and t in columns["max"] and t in columns["sum"]:
                out.append(Bucket(t, columns["min"][t], columns["max"][t],
                                  columns["sum"][t] / n, n))
        return out, True


def _secs(ns: int) -> str:
    return f"{ns / NS:.3f}"


def open_reader(settings: TelemetrySettings) -> TelemetryReader:
    if settings.kind == "embedded":
        return EmbeddedTelemetry(settings.path, settings.timeout_s)
    if settings.kind == "prometheus" and settings.url:
        return PrometheusTelemetry(settings.url, settings.measurement, settings.timeout_s)
    raise TelemetryNotConfigured(
        "this API reads no telemetry: set [telemetry] kind = 'embedded' with path = the "
        "ingester's store file, or kind = 'prometheus' with url = a Prometheus-compatible "
        "query API (VictoriaMetrics), in the API's config")
