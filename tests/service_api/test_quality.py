"""Quality analytics on a hand-made history (on SQLite and PostgreSQL): Pareto, repeat
failures, MTBF by mode, cost by mode, and a corrective action's effect on repeats."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, update

from service_api.tables import Asset, WorkOrder
from tests.service_api.helpers import order

T0 = datetime(2026, 1, 1, tzinfo=UTC)
HISTORY = [  # asset, failure mode, opened (day), completed (day), result
    ("pump-01", "VIB", 0, 1, "fixed"),  # A
    ("pump-01", "VIB", 10, 11, "fixed"),  # B: 9 days after A was done: a repeat
    ("pump-01", "VIB", 60, 61, "fixed"),  # C: 49 days after B
    ("pump-02", "OHE", 5, 6, "fixed"),  # D
    ("motor-01", "OHE", 20, 21, "fixed"),  # E
    ("motor-01", "", 30, 31, "fixed"),  # F: nobody classified it
    ("pump-02", "VIB", 40, 41, "no_fault_found"),  # not a failure
]


@pytest.fixture
def history(api):
    admin = api.as_("admin")
    for asset, cls in (("pump-01", "pump"), ("pump-02", "pump"), ("motor-01", "motor")):
        admin.put(f"/api/v1/assets/{asset}", json={"equipment_class": cls})
    ids = []
    for asset, mode, _, _, result in HISTORY:
        oid = admin.post("/api/v1/work-orders", json=order(
            asset_id=asset, type="corrective", source="phone", failure_mode=mode,
            risk=None)).json()["id"]
        admin.post(f"/api/v1/work-orders/{oid}/transitions", json={"to": "in_progress"})
        if len(ids) == 0:  # A took an hour
            api.as_("technician").post(f"/api/v1/work-orders/{oid}/labour",
                                       json={"technician": "tom", "minutes": 60})
        r = admin.post(f"/api/v1/work-orders/{oid}/transitions", json={
            "to": "completed", "result": result, "first_time_fix": True})
        assert r.status_code == 200, r.text
        ids.append(oid)
    engine = create_engine(api.url)
    with engine.begin() as c:
        c.execute(update(Asset).values(created_at=T0))
        for oid, (_, _, opened, done, _) in zip(ids, HISTORY, strict=True):
            c.execute(update(WorkOrder).where(WorkOrder.id == oid).values(
                opened_at=T0 + timedelta(days=opened), completed_at=T0 + timedelta(days=done)))
    engine.dispose()
    return api, ids


def test_pareto_by_mode_and_class(history):
    api, _ = history
    rows = api.as_("viewer").get("/api/v1/quality/pareto").json()
    # 6 failures (the no-fault-found is none): VIB 3, OHE 2, unclassified 1
    assert [(r["key"], r["count"], r["share"], r["cumulative_share"]) for r in rows] == [
        ("VIB", 3, 0.5, 0.5), ("OHE", 2, 0.3333, 0.8333), ("(unclassified)", 1, 0.1667, 1.0)]
    rows = api.as_("viewer").get("/api/v1/quality/pareto?by=equipment_class").json()
    assert [(r["key"], r["count"]) for r in rows] == [("pump", 4), ("motor", 2)]
    since = (T0 + timedelta(days=15)).isoformat()
    rows = api.as_("viewer").get("/api/v1/quality/pareto", params={"since": since}).json()
    assert [(r["key"], r["count"]) for r in rows] == [
        ("(unclassified)", 1), ("OHE", 1), ("VIB", 1)]  # E, F, C; ties by name


def test_repeats_within_the_window(history):
    api, ids = history
    r = api.as_("viewer").get("/api/v1/quality/repeats?window_days=30").json()
    # 5 failures with a mode; B came 9 days after A -> 1 repeat, rate 0.2
    assert (r["failures"], r["repeats"], r["repeat_rate"]) == (5, 1, 0.2)
    assert r["items"] == [{"asset_id": "pump-01", "failure_mode": "VIB",
                           "previous_order": ids[0], "order": ids[1], "days_after": 9.0}]
    r = api.as_("viewer").get("/api/v1/quality/repeats?window_days=60").json()
    assert (r["repeats"], r["repeat_rate"]) == (2, 0.4)  # C, 49 days after B, too


def test_mtbf_by_mode(history):
    api, _ = history
    rows = api.as_("viewer").get("/api/v1/quality/mtbf", params={
        "since": T0.isoformat(), "until": (T0 + timedelta(days=100)).isoformat()}).json()
    # 100 days = 2400 h per asset. VIB: pumps (2 x 2400) / 3 = 1600 h; unclassified:
    # the motor 2400 / 1; OHE: pumps and the motor 7200 / 2 = 3600 h
    assert [(r["failure_mode"], r["failures"], r["operating_hours"], r["mtbf_hours"])
            for r in rows] == [("VIB", 3, 4800, 1600), ("(unclassified)", 1, 2400, 2400),
                               ("OHE", 2, 7200, 3600)]


def test_cost_by_mode_is_commercial(history):
    api, _ = history
    rows = api.as_("planner").get("/api/v1/quality/cost").json()
    # A's hour at the default 90/h; nothing else was recorded
    assert rows[0] == {"failure_mode": "VIB", "failures": 3, "labour_hours": 1.0,
                       "labour_cost": "90.00", "parts_cost": "0.00", "total_cost": "90.00"}
    assert api.as_("engineer").get("/api/v1/quality/cost").status_code == 403


def test_a_corrective_action_shows_its_effect_on_repeats(history):
    api, ids = history
    r = api.as_("engineer").post("/api/v1/quality/actions", json={
        "failure_mode": "VIB", "equipment_class": "pump",
        "root_cause": "coupling misaligned after overhauls",
        "action": "laser alignment added to the overhaul checklist",
        "effective_from": (T0 + timedelta(days=30)).isoformat(),
        "orders": ids[:2]})  # the failure and its repeat that led to it
    assert r.status_code == 201, r.text
    a = api.as_("viewer").get("/api/v1/quality/actions").json()[0]
    assert a["orders"] == ids[:2]
    # before day 30: A and B, one repeat -> 0.5; after: C alone, none -> 0.0
    assert (a["failures_before"], a["repeat_rate_before"]) == (2, 0.5)
    assert (a["failures_after"], a["repeat_rate_after"]) == (1, 0.0)
    assert r.json() == a  # the answer to the POST already carries the effect
    r = api.as_("technician").post("/api/v1/quality/actions", json={})
    assert r.status_code == 403
    r = api.as_("engineer").post("/api/v1/quality/actions", json={
        "failure_mode": "NOPE", "root_cause": "x", "action": "y",
        "effective_from": T0.isoformat()})
    assert r.status_code == 422 and "code list" in r.json()["detail"]
    r = api.as_("engineer").post("/api/v1/quality/actions", json={
        "failure_mode": "VIB", "root_cause": "x", "action": "y",
        "effective_from": T0.isoformat(), "orders": [99999]})
    assert r.status_code == 404
