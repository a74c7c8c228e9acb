"""Service API on SQLite and on a real PostgreSQL: assets, health, the work-order state
machine, dedup, KPIs."""

import pytest
from fastapi.testclient import TestClient

from service_api.app import create_app
from service_api.settings import ServiceApiSettings


@pytest.fixture(params=["sqlite", "postgresql"])
def client(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'api.sqlite'}"
    else:  # a fresh database per test in the session's cluster
        import psycopg

        pg = request.getfixturevalue("postgres")
        name = f"t{abs(hash(request.node.nodeid)) % 10**9}"
        with psycopg.connect(f"host=127.0.0.1 port={pg.port} user=forewarn dbname=postgres",
                             autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        url = pg.url.rsplit("/", 1)[0] + f"/{name}"
    app = create_app(ServiceApiSettings(database_url=url))
    with TestClient(app) as c:
        if request.param == "postgresql":  # the tables really are in PostgreSQL
            with psycopg.connect(f"host=127.0.0.1 port={pg.port} user=forewarn dbname={name}"
                                 ) as conn:
                tables = {r[0] for r in conn.execute(
                    "SELECT table_name FROM information_schema.tables "
                    "WHERE table_schema = 'public'")}
            assert {"assets", "work_orders"} <= tables, tables
        yield c


def order(**kw):
    body = {"asset_id": "pump-01", "type": "preventive", "priority": "high",
            "failure_mode": "predicted_failure", "source": "predictive",
            "title": "Predicted failure", "risk": 0.9}
    body.update(kw)
    return body


def test_unknown_asset_is_404_with_a_hint(client):
    r = client.post("/api/v1/assets/nope/health", json={"ts": "2026-11-25T00:00:00Z", "risk": 0.1})
    assert r.status_code == 404
    assert "PUT /api/v1/assets/nope first" in r.json()["detail"]
    assert client.post("/api/v1/work-orders", json=order(asset_id="nope")).status_code == 404


def test_assets_ranked_by_risk_with_history(client):
    for a in ("a1", "a2", "a3"):
        assert client.put(f"/api/v1/assets/{a}", json={}).status_code == 200
    for a, risk in (("a1", 0.2), ("a2", 0.8), ("a3", 0.5)):
        r = client.post(f"/api/v1/assets/{a}/health",
                        json={"ts": "2026-11-25T00:00:00Z", "risk": risk})
        assert r.status_code == 201
    client.post("/api/v1/assets/a2/health", json={"ts": "2026-11-25T00:00:01Z", "risk": 0.9})
    assert [a["id"] for a in client.get("/api/v1/assets").json()] == ["a2", "a3", "a1"]
    hist = client.get("/api/v1/assets/a2/health").json()
    assert [h["risk"] for h in hist] == [0.8, 0.9]
    assert client.get("/api/v1/assets/a2").json()["risk"] == 0.9


def test_predictive_orders_start_proposed_and_are_deduplicated(client):
    client.put("/api/v1/assets/pump-01", json={})
    r1 = client.post("/api/v1/work-orders", json=order())
    assert r1.status_code == 201 and r1.json()["status"] == "proposed"
    r2 = client.post("/api/v1/work-orders", json=order(risk=0.95))
    assert r2.status_code == 200 and r2.json()["id"] == r1.json()["id"]
    assert len(client.get("/api/v1/work-orders").json()) == 1
    manual = client.post("/api/v1/work-orders", json=order(source="manual", failure_mode=""))
    assert manual.json()["status"] == "approved"


def test_state_machine_and_audit_trail(client):
    client.put("/api/v1/assets/pump-01", json={})
    oid = client.post("/api/v1/work-orders", json=order()).json()["id"]
    bad = client.post(f"/api/v1/work-orders/{oid}/transitions",
                      json={"to": "completed", "actor": "eng"})
    assert bad.status_code == 409
    assert "cannot go from 'proposed' to 'completed'" in bad.json()["detail"]
    for to in ("approved", "in_progress", "completed"):
        r = client.post(f"/api/v1/work-orders/{oid}/transitions", json={"to": to, "actor": "eng"})
        assert r.status_code == 200 and r.json()["status"] == to
    assert client.get(f"/api/v1/work-orders/{oid}").json()["closed_at"] is not None
    trail = client.get(f"/api/v1/work-orders/{oid}/events").json()
    assert [(e["from_status"], e["to_status"]) for e in trail] == [
        (None, "proposed"), ("proposed", "approved"), ("approved", "in_progress"),
        ("in_progress", "completed")]
    # once completed, a new prediction may open a new order
    assert client.post("/api/v1/work-orders", json=order()).status_code == 201
    k = client.get("/api/v1/kpis").json()
    assert k["work_orders_by_status"] == {"completed": 1, "proposed": 1}
    assert k["open_work_orders"] == 1 and k["predictive_share"] == 1.0


def test_invalid_input_is_422(client):
    client.put("/api/v1/assets/pump-01", json={})
    assert client.post("/api/v1/work-orders", json=order(priority="urgent!")).status_code == 422
    assert client.post("/api/v1/assets/pump-01/health",
                       json={"ts": "2026-11-25T00:00:00Z", "risk": 1.5}).status_code == 422
    assert client.put("/api/v1/assets/bad%20id", json={}).status_code == 422


def test_dashboard_is_served(client):
    r = client.get("/")
    assert r.status_code == 200 and "Forewarn — fleet health" in r.text
