"""Sensor trends read back from the ingester's store: written by the ingester's own store
classes (the embedded SQLite file, and InfluxDB line protocol into a real
VictoriaMetrics), read through ``/api/v1/assets/{id}/telemetry`` and ``/signals``, with
buckets checked against hand-computed figures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from contracts.wire import Sample
from ingest.settings import StoreSettings
from ingest.stores.embedded import EmbeddedStore
from ingest.stores.influx import InfluxStore
from service_api.app import create_app
from service_api.db import migrate
from service_api.settings import ServiceApiSettings
from tests.service_api.conftest import Api, tokens_for_roles

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def _samples() -> list[Sample]:
    """pump-01: temp every 10 s for 10 minutes (60 values: 0, 1, ..., 59), vib at
    minutes 0 and 5 only; pump-02: temp 1000 (must never leak into pump-01)."""
    out = [Sample(asset="pump-01", ts=T0 + timedelta(seconds=10 * i),
                  values={"temp": float(i)} | ({"vib": 2.5} if i % 30 == 0 else {}))
           for i in range(60)]
    out.append(Sample(asset="pump-02", ts=T0, values={"temp": 1000.0}))
    return out


def _app(tmp_path, telemetry: dict) -> Api:
    url = f"sqlite:///{tmp_path / 'api.sqlite'}"
    migrate(url)
    app = create_app(ServiceApiSettings(database_url=url, telemetry=telemetry,
                                        attachments_dir=str(tmp_path / "att")))
    return Api(TestClient(app, raise_server_exceptions=False), tokens_for_roles(url), url)


@pytest.fixture
def embedded_api(tmp_path):
    store = EmbeddedStore(tmp_path / "store.sqlite")
    store.write("gw-1", _samples())
    store.close()
    api = _app(tmp_path, {"kind": "embedded", "path": str(tmp_path / "store.sqlite")})
    with api.client:
        for asset in ("pump-01", "pump-02"):
            api.as_("admin").put(f"/api/v1/assets/{asset}", json={"site": "plant"})
        yield api


def _range(minutes: float = 10) -> dict:
    return {"since": T0.isoformat(), "until": (T0 + timedelta(minutes=minutes)).isoformat()}


def test_raw_values_come_back_exactly_when_they_fit(embedded_api):
    r = embedded_api.as_("viewer").get("/api/v1/assets/pump-01/telemetry",
                                       params={"signal": ["vib", "temp"], **_range()})
    assert r.status_code == 200, r.text
    body = r.json()
    assert [s["signal"] for s in body["series"]] == ["vib", "temp"]
    vib, temp = body["series"]
    assert not vib["downsampled"] and [(p["ts"][:19], p["mean"], p["n"]) for p in
                                       vib["points"]] == [("2026-11-30T12:00:00", 2.5, 1),
                                                          ("2026-11-30T12:05:00", 2.5, 1)]
    assert [p["mean"] for p in temp["points"]] == [float(i) for i in range(60)]


def test_downsampled_buckets_keep_min_max_mean_and_count(embedded_api):
    # 60 values in 10 minutes, at most 10 points: 60 s buckets of 6 values each
    r = embedded_api.as_("viewer").get("/api/v1/assets/pump-01/telemetry", params={
        "signal": "temp", "max_points": 10, **_range()})
    body = r.json()
    assert body["step_s"] == 60
    temp = body["series"][0]
    assert temp["downsampled"]
    first, last = temp["points"][0], temp["points"][-1]
    assert len(temp["points"]) == 10
    assert (first["min"], first["max"], first["mean"], first["n"]) == (0, 5, 2.5, 6)
    assert (last["min"], last["max"], last["mean"], last["n"]) == (54, 59, 56.5, 6)
    assert last["ts"].startswith("2026-11-30T12:09:00")


def test_range_is_half_open_and_other_assets_never_leak(embedded_api):
    caller = embedded_api.as_("viewer")
    r = caller.get("/api/v1/assets/pump-01/telemetry", params={
        "signal": "temp", "since": (T0 + timedelta(seconds=100)).isoformat(),
        "until": (T0 + timedelta(seconds=150)).isoformat()})
    assert [p["mean"] for p in r.json()["series"][0]["points"]] == [10, 11, 12, 13, 14]
    r = caller.get("/api/v1/assets/pump-02/telemetry", params={"signal": "temp", **_range()})
    assert [p["mean"] for p in r.json()["series"][0]["points"]] == [1000]


def test_signals_lists_what_the_asset_has_in_the_range(embedded_api):
    caller = embedded_api.as_("viewer")
    r = caller.get("/api/v1/assets/pump-01/signals", params=_range())
    assert r.json()["signals"] == ["temp", "vib"]
    # vib was read at minutes 0 and 5 only
    r = caller.get("/api/v1/assets/pump-01/signals", params={
        "since": (T0 + timedelta(minutes=6)).isoformat(),
        "until": (T0 + timedelta(minutes=9)).isoformat()})
    assert r.json()["signals"] == ["temp"]


def test_bad_requests_are_problems(embedded_api):
    caller = embedded_api.as_("viewer")
    r = caller.get("/api/v1/assets/pump-01/telemetry", params={"signal": "te mp", **_range()})
    assert r.status_code == 422 and "te mp" in r.json()["detail"]
    r = caller.get("/api/v1/assets/pump-01/telemetry", params={
        "signal": "temp", "since": T0.isoformat(), "until": T0.isoformat()})
    assert r.status_code == 422 and "must be before" in r.json()["detail"]
    r = caller.get("/api/v1/assets/ghost/telemetry", params={"signal": "temp"})
    assert r.status_code == 404
    r = caller.get("/api/v1/assets/pump-01/telemetry", params={"signal": ["s"] * 17})
    assert r.status_code == 422
    assert embedded_api.anonymous().get("/api/v1/assets/pump-01/signals").status_code == 401


def test_no_store_configured_or_missing_file_says_what_to_set(tmp_path):
    api = _app(tmp_path, {})
    with api.client:
        api.as_("admin").put("/api/v1/assets/p1", json={})
        r = api.as_("viewer").get("/api/v1/assets/p1/signals")
        assert r.status_code == 503
        assert "[telemetry] kind" in r.json()["detail"]
    api = _app(tmp_path / "b", {"kind": "embedded", "path": str(tmp_path / "nope.sqlite")})
    with api.client:
        api.as_("admin").put("/api/v1/assets/p1", json={})
        r = api.as_("viewer").get("/api/v1/assets/p1/telemetry", params={"signal": "t"})
        assert r.status_code == 502 and "nope.sqlite does not exist" in r.json()["detail"]


def test_prometheus_needs_a_url():
    with pytest.raises(ValueError, match="needs telemetry.url"):
        ServiceApiSettings(telemetry={"kind": "prometheus"})


def test_victoria_metrics_written_by_the_ingester_reads_back(victoria, tmp_path):
    store = InfluxStore(StoreSettings(kind="influx", url=victoria.url))
    store.write("gw-1", _samples())
    store.close()
    victoria.export('{__name__=~"telemetry_.*"}', expect_values=63)
    api = _app(tmp_path, {"kind": "prometheus", "url": victoria.url})
    with api.client:
        for asset in ("pump-01", "pump-02"):
            api.as_("admin").put(f"/api/v1/assets/{asset}", json={})
        caller = api.as_("viewer")
        r = caller.get("/api/v1/assets/pump-01/signals", params=_range())
        assert r.status_code == 200, r.text
        assert r.json()["signals"] == ["temp", "vib"]
        r = caller.get("/api/v1/assets/pump-01/telemetry", params={
            "signal": ["temp", "vib"], "max_points": 10, **_range()})
        assert r.status_code == 200, r.text
        temp, vib = r.json()["series"]
        # the same buckets as the embedded reader's (see above): [t, t + 60 s), 6 values
        assert [(p["ts"][11:19], p["min"], p["max"], p["mean"], p["n"])
                for p in temp["points"]] == [
            (f"12:0{i}:00", 6 * i, 6 * i + 5, 6 * i + 2.5, 6) for i in range(10)]
        assert [(p["ts"][11:19], p["mean"], p["n"]) for p in vib["points"]] == [
            ("12:00:00", 2.5, 1), ("12:05:00", 2.5, 1)]
        # a step that does not divide the range: the last, partial bucket is there too
        r = caller.get("/api/v1/assets/pump-01/telemetry", params={
            "signal": "temp", "max_points": 10, "since": T0.isoformat(),
            "until": (T0 + timedelta(seconds=595)).isoformat()})
        assert r.json()["step_s"] == 60
        assert r.json()["series"][0]["points"][-1]["ts"][11:19] == "12:09:00"
    bad = _app(tmp_path / "b", {"kind": "prometheus", "url": "http://127.0.0.1:9"})
    with bad.client:
        bad.as_("admin").put("/api/v1/assets/p1", json={})
        r = bad.as_("viewer").get("/api/v1/assets/p1/signals")
        assert r.status_code == 502 and "did not answer" in r.json()["detail"]
