"""Hostile and malformed input gets a 4xx problem detail, never a 500 (SQLite and
PostgreSQL): NaN and Infinity, ids past the integer range, over-long strings, NUL bytes,
oversize bodies, timestamps from the future, broken JSON, bad headers."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.service_api.helpers import order


def _raw(c, method: str, path: str, text: str, **kw):
    return c.request(method, path, content=text.encode(),
                     headers={"Content-Type": "application/json", **kw.pop("headers", {})},
                     **kw)


def _is_problem(r, *statuses):
    assert r.status_code in statuses, (r.status_code, r.text[:300])
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["status"] == r.status_code and body["detail"] and body["title"]
    return body


@pytest.fixture
def c(api):
    api.as_("admin").put("/api/v1/assets/pump-01", json={})
    return api.as_("admin")


NOW = datetime.now(UTC).isoformat()


@pytest.mark.parametrize("text", [
    f'{{"ts": "{NOW}", "risk": NaN}}',
    f'{{"ts": "{NOW}", "risk": Infinity}}',
    f'{{"ts": "{NOW}", "risk": 0.5, "detail": {{"x": -Infinity}}}}',
    f'{{"ts": "{NOW}", "risk": 0.5, "detail": {{"note": "a\\u0000b"}}}}',
    f'{{"ts": "{NOW}", "risk": 1e400}}',
    '{"ts": "not a time", "risk": 0.5}',
    '{"ts": "2026-11-25T00:00:00", "risk": 0.5}',  # no offset
    '[1, 2, 3]',
    '{"ts": ',
    '',
])
def test_bad_health_bodies(c, text):
    _is_problem(_raw(c, "POST", "/api/v1/assets/pump-01/health", text), 422)


@pytest.mark.parametrize(("text", "location"), [
    (f'{{"records": [{{"asset_id": "pump-01", "ts": "{NOW}", "risk": NaN}}]}}',
     "body.records.0.risk"),
    (f'{{"records": [{{"asset_id": "pump-01", "ts": "{NOW}", "risk": 0.1}}, '
     f'{{"asset_id": "pump-01", "ts": "{NOW}", "risk": 2}}]}}', "body.records.1.risk"),
    (f'{{"records": [{{"asset_id": "pump-01", "ts": "{NOW}", "risk": 0.1, '
     f'"detail": {{"a": "x\\u0000"}}}}]}}', "body.records.0.detail.a"),
    ('{"records": []}', "body.records"),
    ('{"records": [', "body"),
    ('', "body"),
])
def test_bad_batch_bodies_name_the_record(c, text, location):
    """Batches are read from their bytes by pydantic-core (``api/json_body.py``): the
    problem still names the record and field, and nothing of the batch is stored."""
    body = _is_problem(_raw(c, "POST", "/api/v1/health/batch", text), 422)
    assert body["errors"][0]["location"].startswith(location), body
    assert c.get("/api/v1/assets/pump-01").json()["risk"] is None


def test_bad_work_order_bodies(c):
    for body in (order(title="x" * 201), order(description="d" * 10_001),
                 order(title="nul\x00byte"), order(symptom="a\x00"), order(risk=float("nan")),
                 order(asset_id="a" * 65), order(asset_id="bad id"), order(source="fax"),
                 order(extra_field=1), order(failure_mode="x" * 65)):
        text = json.dumps(body, allow_nan=True)
        _is_problem(_raw(c, "POST", "/api/v1/work-orders", text), 422)
    assert c.get("/api/v1/work-orders").json()["total"] == 0


def test_ids_beyond_the_integer_range(c):
    for oid in ("2147483648", "9223372036854775808", "0", "-1", "1e3", "abc"):
        _is_problem(c.get(f"/api/v1/work-orders/{oid}"), 422)
        _is_problem(c.post(f"/api/v1/work-orders/{oid}/transitions", json={"to": "approved"}),
                    422)
    r = c.post("/api/v1/work-orders/1/transitions",
               json={"to": "merged", "merge_into": 2**31})
    _is_problem(r, 422)
    for q in ("limit=0", "limit=10001", "offset=-1", "offset=99999999999", "sort=id;drop",
              "min_risk=nan", "min_risk=inf"):
        _is_problem(c.get(f"/api/v1/assets?{q}"), 422)
    _is_problem(c.get("/api/v1/kpis?risk_threshold=nan"), 422)


def test_paths_with_nul_and_odd_characters(c):
    for path in ("/api/v1/assets/a%00b", "/api/v1/assets/" + "a" * 65, "/api/v1/assets/%F0%9F",
                 "/api/v1/assets/..%2F..%2Fetc"):
        r = c.get(path)
        assert r.status_code in (404, 422), (path, r.status_code)
    _is_problem(c.put("/api/v1/assets/a%00b", json={}), 422)


def test_oversize_bodies_are_refused_before_they_are_read(c):
    big = json.dumps(order(description="x" * 5_000_000))
    _is_problem(_raw(c, "POST", "/api/v1/work-orders", big), 413)

    def chunks():
        for _ in range(40):
            yield b"x" * 65_536

    r = c.post("/api/v1/work-orders", content=chunks(),
               headers={"Content-Type": "application/json"})
    _is_problem(r, 413)
    _is_problem(_raw(c, "POST", "/api/v1/work-orders", "{}",
                     headers={"Content-Length": "abc"}), 400)
    big_batch = {"records": [{"asset_id": "pump-01", "ts": NOW, "risk": 0.1}] * 5001}
    _is_problem(c.post("/api/v1/health/batch", json=big_batch), 413, 422)


def test_timestamps_far_in_the_future_are_refused(c):
    future = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    r = c.post("/api/v1/assets/pump-01/health", json={"ts": future, "risk": 0.1})
    assert "ahead of the server's clock" in _is_problem(r, 422)["detail"]
    r = c.post("/api/v1/assets/pump-01/events", json={"ts": future, "kind": "anomaly"})
    _is_problem(r, 422)
    for ts in ("9999-12-31T23:59:59Z", "0001-01-01T00:00:00+00:01", "1969-12-31T23:59:59Z"):
        _is_problem(c.post("/api/v1/assets/pump-01/health", json={"ts": ts, "risk": 0.1}), 422)
        _is_problem(c.get("/api/v1/kpis", params={"since": ts}), 422)
    assert c.get("/api/v1/assets/pump-01").json()["risk"] is None


def test_bad_headers(c):
    _is_problem(c.get("/api/v1/work-orders/1", headers={"Authorization": "Bearer " + "x" * 300}),
                401)
    _is_problem(c.patch("/api/v1/work-orders/1", json={}, headers={"If-Match": "garbage"}),
                412)
    r = c.post("/api/v1/work-orders", json=order(), headers={"Idempotency-Key": "a b"})
    _is_problem(r, 422)
    _is_problem(c.post("/api/v1/assets/import", content=b"\xff\xfe\x00bad"), 422)
