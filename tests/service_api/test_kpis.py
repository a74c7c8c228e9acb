"""KPIs on a fixture with hand-computed answers (docs/kpis.md), SQLite and PostgreSQL."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, text

from tests.service_api.helpers import order


def T(day: int, hour: int = 0) -> datetime:
    return datetime(2026, 1, day, hour, tzinfo=UTC)


def test_kpis_by_hand(api):
    adm = api.as_("admin")
    adm.put("/api/v1/assets/p1", json={"site": "A"})
    adm.put("/api/v1/assets/p2", json={"site": "B"})
    now = datetime.now(UTC).isoformat()
    adm.post("/api/v1/assets/p1/health", json={"ts": now, "risk": 0.8})

    def move(oid, *steps, **extra):
        for to in steps:
            r = adm.post(f"/api/v1/work-orders/{oid}/transitions",
                         json={"to": to, "reason": "r", **(extra if to == "completed" else {})})
            assert r.status_code == 200, r.text

    o1 = adm.post("/api/v1/work-orders", json=order(asset_id="p1")).json()["id"]
    move(o1, "approved", "in_progress", "completed", "closed", result="fixed",
         first_time_fix=True)
    o2 = adm.post("/api/v1/work-orders", json=order(asset_id="p2")).json()["id"]
    move(o2, "rejected")
    o3 = adm.post("/api/v1/work-orders", json=order(
        asset_id="p1", source="phone", type="corrective", failure_mode="VIB")).json()["id"]
    move(o3, "in_progress", "completed", result="fixed", first_time_fix=False)
    o4 = adm.post("/api/v1/work-orders", json=order(
        asset_id="p2", source="api", type="preventive", failure_mode="", severity="minor",
        title="Grease")).json()["id"]
    times = {  # opened, responded, started, completed, due
        o1: (T(10), T(10, 2), T(10, 4), T(10, 10), T(11)),
        o2: (T(12), T(12, 1), None, None, T(13)),
        o3: (T(20), T(20, 4), T(20, 4), T(21, 4), T(20, 12)),
        o4: (T(25), None, None, None, T(30)),
    }
    engine = create_engine(api.url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE assets SET created_at = :t"), {"t": T(1)})
        for oid, (op, resp, st, comp, due) in times.items():
            conn.execute(text(
                "UPDATE work_orders SET opened_at=:op, responded_at=:resp, started_at=:st, "
                "completed_at=:comp, due_at=:due WHERE id=:id"),
                {"op": op, "resp": resp, "st": st, "comp": comp, "due": due, "id": oid})
    engine.dispose()

    # failures: p1 trips on Jan 12 (o1, predictive, opened Jan 10: 48 h of warning) and
    # p2 on Jan 28 (its only predictive order, o2, opened Jan 12: 16 days, within 30)
    # and again on Mar 3 (outside the period)
    trips = [{"asset_id": a, "ts": t.isoformat(), "kind": "device_state",
              "detail": {"state": "tripped"}} for a, t in (
        ("p1", T(12)), ("p2", T(28)), ("p2", datetime(2026, 3, 3, tzinfo=UTC)))]
    trips.append({"asset_id": "p1", "ts": T(11).isoformat(), "kind": "device_state",
                  "detail": {"state": "stopped"}})  # not a failure
    assert adm.post("/api/v1/events/batch", json={"records": trips}).json()["stored"] == 4
    period = {"since": "2026-01-01T00:00:00Z", "until": "2026-02-01T00:00:00Z"}
    k = api.as_("viewer").get("/api/v1/kpis", params=period).json()
    assert k["assets"] == 2 and k["assets_at_risk"] == 1
    assert k["work_orders_by_status"] == {"closed": 1, "rejected": 1, "completed": 1,
                                          "approved": 1}
    assert k["open_work_orders"] == 1 and k["backlog_by_priority"] == {"low": 1}
    assert k["predictive_share"] == 0.5
    assert k["automatic_order_precision"] == 0.5  # o1 approved, o2 rejected
    assert k["mean_response_hours"] == pytest.approx((2 + 1 + 4) / 3)
    assert k["mean_resolution_hours"] == pytest.approx((10 + 28) / 2)
    assert k["mttr_hours"] == pytest.approx((6 + 24) / 2)
    assert k["mtbf_hours"] == pytest.approx(2 * 31 * 24 / 2)  # asset-hours / failures
    assert k["first_time_fix_rate"] == 0.5 and k["sla_compliance"] == 0.5
    assert k["failures_warned"] == 1.0
    assert k["warning_lead_time_hours"] == pytest.approx((48 + 16 * 24) / 2)

    a = api.as_("viewer").get("/api/v1/kpis", params={**period, "site": "A"}).json()
    assert a["assets"] == 1 and a["predictive_share"] == 0.5  # o1 and o3
    assert a["mtbf_hours"] == pytest.approx(31 * 24 / 2)
    assert a["automatic_order_precision"] == 1.0 and a["open_work_orders"] == 0
    assert a["warning_lead_time_hours"] == 48 and a["failures_warned"] == 1.0
    jan10 = api.as_("viewer").get("/api/v1/kpis", params={
        "since": "2026-01-10T00:00:00Z", "until": "2026-01-11T00:00:00Z"}).json()
    assert jan10["work_orders_by_status"] == {"closed": 1} and jan10["mttr_hours"] == 6
