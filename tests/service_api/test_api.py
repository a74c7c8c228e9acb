"""Service API on SQLite and on a real PostgreSQL: assets, health, events, the work-order
loop, problem details, idempotency, optimistic locking."""

from datetime import UTC, datetime, timedelta

from tests.service_api.helpers import order


def _iso(dt: datetime) -> str:
    return dt.isoformat().replace("+00:00", "Z")


def test_unknown_asset_is_a_problem_with_a_hint(api):
    c = api.as_("admin")
    r = c.post("/api/v1/assets/nope/health", json={"ts": "2026-11-25T00:00:00Z", "risk": 0.1})
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"
    p = r.json()
    assert p["status"] == 404 and p["title"] == "Not found"
    assert p["type"].endswith("/not-found") and "PUT /api/v1/assets/nope first" in p["detail"]
    assert c.post("/api/v1/work-orders", json=order(asset_id="nope")).status_code == 404


def test_fleet_view_ranked_by_risk_paginated_with_history(api):
    c = api.as_("admin")
    for a in ("a1", "a2", "a3"):
        assert c.put(f"/api/v1/assets/{a}", json={}).status_code == 201
    assert c.put("/api/v1/assets/a1", json={"name": "Pump one"}).status_code == 200
    t0 = datetime.now(UTC) - timedelta(hours=1)
    for a, risk in (("a1", 0.2), ("a2", 0.8), ("a3", 0.5)):
        r = c.post(f"/api/v1/assets/{a}/health", json={"ts": _iso(t0), "risk": risk})
        assert r.status_code == 201 and r.json()["stored"] == 1
    c.post("/api/v1/assets/a2/health", json={"ts": _iso(t0 + timedelta(seconds=1)),
                                            "risk": 0.9})
    # an older score does not move the latest
    c.post("/api/v1/assets/a2/health", json={"ts": _iso(t0 - timedelta(seconds=1)),
                                            "risk": 0.1})
    page = c.get("/api/v1/assets").json()
    assert [a["id"] for a in page["items"]] == ["a2", "a3", "a1"] and page["total"] == 3
    page = c.get("/api/v1/assets?limit=1&offset=1&sort=id").json()
    assert [a["id"] for a in page["items"]] == ["a2"] and page["total"] == 3
    assert c.get("/api/v1/assets?sort=secret").status_code == 422
    hist = c.get("/api/v1/assets/a2/health").json()
    assert [p["risk"] for p in hist["points"]] == [0.1, 0.8, 0.9]
    assert c.get("/api/v1/assets/a2").json()["risk"] == 0.9


def test_health_batch_is_idempotent_and_judges_each_record(api):
    c = api.as_("service")
    c.put("/api/v1/assets/p1", json={})
    now = datetime.now(UTC)
    recs = [{"asset_id": "p1", "ts": _iso(now - timedelta(seconds=i)), "risk": 0.1 * i}
            for i in range(5)]
    bad = [{"asset_id": "ghost", "ts": _iso(now), "risk": 0.5},
           {"asset_id": "p1", "ts": _iso(now + timedelta(days=2)), "risk": 0.5}]
    r = c.post("/api/v1/health/batch", json={"records": recs + bad})
    assert r.status_code == 200, r.text
    rep = r.json()
    assert rep["stored"] == 5 and rep["duplicates"] == 0
    assert [x["index"] for x in rep["rejected"]] == [5, 6]
    assert "not registered" in rep["rejected"][0]["reason"]
    assert "ahead of the server's clock" in rep["rejected"][1]["reason"]
    again = c.post("/api/v1/health/batch", json={"records": recs}).json()
    assert again["stored"] == 0 and again["duplicates"] == 5
    assert c.get("/api/v1/assets/p1").json()["risk"] == 0.0  # the newest record's risk
    # the future score did not freeze the latest risk
    c.post("/api/v1/assets/p1/health", json={"ts": _iso(now + timedelta(seconds=1)),
                                            "risk": 0.7})
    assert c.get("/api/v1/assets/p1").json()["risk"] == 0.7


def test_history_is_downsampled_keeping_the_peak(api):
    c = api.as_("service")
    c.put("/api/v1/assets/p1", json={})
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    recs = [{"asset_id": "p1", "ts": _iso(t0 + timedelta(minutes=i)),
             "risk": 0.99 if i == 517 else 0.1} for i in range(1000)]
    assert c.post("/api/v1/health/batch", json={"records": recs}).json()["stored"] == 1000
    h = c.get("/api/v1/assets/p1/health", params={
        "since": _iso(t0), "until": _iso(t0 + timedelta(minutes=1000)),
        "max_points": 100}).json()
    assert h["downsampled"] and len(h["points"]) == 100
    assert sum(p["n"] for p in h["points"]) == 1000
    assert max(p["risk"] for p in h["points"]) == 0.99
    assert h["points"][51]["risk"] == 0.99 and h["points"][51]["n"] == 10


def test_history_slices_are_exact_to_the_microsecond(api):
    """[0 s, 90 s) in 3 slices of 30 s, computed by the database: a score 1 us before a
    boundary stays in its slice, one on the boundary starts the next, one at ``until``
    is out."""
    c = api.as_("service")
    c.put("/api/v1/assets/p1", json={})
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    us = timedelta(microseconds=1)
    at = [(0, 0.2), (30, -1, 0.4), (30, 0, 0.9), (59, 0, 0.1), (60, 1, 0.3), (90, -1, 0.5),
          (90, 0, 0.8)]
    recs = [{"asset_id": "p1", "ts": _iso(t0 + timedelta(seconds=a[0]) + a[1] * us
                                          if len(a) == 3 else t0), "risk": a[-1]}
            for a in at]
    assert c.post("/api/v1/health/batch", json={"records": recs}).json()["stored"] == 7
    h = c.get("/api/v1/assets/p1/health", params={
        "since": _iso(t0), "until": _iso(t0 + timedelta(seconds=90)),
        "max_points": 3}).json()
    assert h["downsampled"]
    got = [(p["ts"][11:19], p["risk"], round(p["risk_mean"], 9), p["n"]) for p in h["points"]]
    assert got == [("00:00:00", 0.4, 0.3, 2), ("00:00:30", 0.9, 0.5, 2),
                   ("00:01:00", 0.5, 0.4, 2)]
    # no range given: from the first score to just after the last, all 7
    h = c.get("/api/v1/assets/p1/health", params={"max_points": 2}).json()
    # slices of 45.0000005 s: 0, 29.999999, 30 | 59, 60.000001, 89.999999, 90
    assert [p["n"] for p in h["points"]] == [3, 4] and h["points"][1]["risk"] == 0.8


def test_events_stored_once_and_listed(api):
    c = api.as_("service")
    c.put("/api/v1/assets/p1", json={})
    t = _iso(datetime.now(UTC))
    ev = {"asset_id": "p1", "ts": t, "kind": "anomaly", "signal": "vibration",
          "severity": 4.2, "message": "z-score 4.2", "detail": {"z": 4.2}}
    assert c.post("/api/v1/events/batch", json={"records": [ev, ev]}).json()["stored"] == 1
    assert c.post("/api/v1/events/batch", json={"records": [ev]}).json()["duplicates"] == 1
    assert c.post("/api/v1/assets/p1/events", json={
        "ts": t, "kind": "device_state", "message": "offline"}).status_code == 201
    got = api.as_("viewer").get("/api/v1/assets/p1/events").json()
    assert {(e["kind"], e["signal"]) for e in got} == {("anomaly", "vibration"),
                                                       ("device_state", "")}
    assert len(api.as_("viewer").get("/api/v1/assets/p1/events?kind=anomaly").json()) == 1


def test_device_state_events_set_the_asset_state_newest_first(api):
    c = api.as_("service")
    c.put("/api/v1/assets/p1", json={})
    now = datetime.now(UTC)
    ev = [{"asset_id": "p1", "ts": _iso(now - timedelta(seconds=s)), "kind": "device_state",
           "detail": {"state": st}} for s, st in ((30, "running"), (5, "tripped"),
                                                  (10, "stopped"))]
    assert c.post("/api/v1/events/batch", json={"records": ev}).json()["stored"] == 3
    a = api.as_("viewer").get("/api/v1/assets/p1").json()
    assert a["state"] == "tripped"
    assert c.post("/api/v1/assets/p1/events", json={
        "ts": _iso(now - timedelta(seconds=60)), "kind": "device_state",
        "detail": {"state": "running"}}).status_code == 201  # older: changes nothing
    assert api.as_("viewer").get("/api/v1/assets").json()["items"][0]["state"] == "tripped"
    assert a["gateway_online"] is None
    gw = [{"asset_id": "p1", "ts": _iso(now - timedelta(seconds=s)), "kind": "gateway_state",
           "signal": "gw-1", "detail": {"gateway": "gw-1", "status": st}}
          for s, st in ((20, "online"), (3, "offline"))]
    c.post("/api/v1/events/batch", json={"records": gw})
    for body in (api.as_("viewer").get("/api/v1/assets/p1").json(),
                 api.as_("viewer").get("/api/v1/assets").json()["items"][0]):
        assert body["gateway_online"] is False and body["gateway_state_at"]


def test_predictive_orders_start_proposed_deduplicated_with_derived_fields(api):
    c = api.as_("planner")
    c.put("/api/v1/assets/pump-01", json={
        "criticality": 5, "warranty_start": "2026-01-01",
        "warranty_end": str((datetime.now(UTC) + timedelta(days=30)).date())})
    s = api.as_("service")
    r1 = s.post("/api/v1/work-orders", json=order(risk=0.95))
    assert r1.status_code == 201, r1.text
    o = r1.json()
    assert o["status"] == "proposed" and o["priority"] == "critical"  # 0.95 x 5
    assert o["due_at"] is not None
    r2 = s.post("/api/v1/work-orders", json=order(risk=0.97))
    assert r2.status_code == 200 and r2.json()["id"] == o["id"]
    full = api.as_("planner").get(f"/api/v1/work-orders/{o['id']}").json()
    assert full["warranty_status"] == "in_warranty" and full["billing_basis"] == "warranty"
    manual = api.as_("technician").post("/api/v1/work-orders", json=order(
        source="phone", type="corrective", failure_mode="", severity="critical",
        title="Noise"))
    assert manual.status_code == 201
    assert manual.json()["status"] == "approved" and manual.json()["priority"] == "high"
    assert api.as_("viewer").get("/api/v1/work-orders").json()["total"] == 2


def test_audit_trail_records_the_authenticated_actor(api):
    api.as_("admin").put("/api/v1/assets/pump-01", json={})
    oid = api.as_("service").post("/api/v1/work-orders", json=order()).json()["id"]
    c = api.as_("engineer")
    bad = c.post(f"/api/v1/work-orders/{oid}/transitions", json={"to": "completed"})
    assert bad.status_code == 409
    assert "cannot go from 'proposed' to 'completed'" in bad.json()["detail"]
    # an "actor" in the body is not a field: the actor is whoever holds the token
    assert c.post(f"/api/v1/work-orders/{oid}/transitions",
                  json={"to": "approved", "actor": "mallory"}).status_code == 422
    assert c.post(f"/api/v1/work-orders/{oid}/transitions",
                  json={"to": "approved"}).status_code == 200
    t = api.as_("technician")
    assert t.post(f"/api/v1/work-orders/{oid}/transitions",
                  json={"to": "in_progress"}).status_code == 200
    assert t.post(f"/api/v1/work-orders/{oid}/labour",
                  json={"technician": "tech-7", "minutes": 42}).status_code == 201
    assert t.post(f"/api/v1/work-orders/{oid}/parts",
                  json={"part_number": "BRG-6205", "quantity": 2}).status_code == 201
    done = t.post(f"/api/v1/work-orders/{oid}/transitions", json={
        "to": "completed", "result": "fixed", "first_time_fix": True, "downtime_min": 30,
        "actions": "replaced bearing"})
    assert done.status_code == 200 and done.json()["completed_at"] is not None
    trail = api.as_("viewer").get(f"/api/v1/work-orders/{oid}/events").json()
    assert [(e["action"], e["from_status"], e["to_status"], e["actor"]) for e in trail] == [
        ("created", None, "proposed", "service"),
        ("transition", "proposed", "approved", "engineer"),
        ("transition", "approved", "in_progress", "technician"),
        ("labour", "in_progress", "in_progress", "technician"),
        ("part", "in_progress", "in_progress", "technician"),
        ("transition", "in_progress", "completed", "technician")]
    # once completed, a new prediction opens a new order
    assert api.as_("service").post("/api/v1/work-orders", json=order()).status_code == 201


def test_reject_needs_a_reason_and_becomes_an_exported_label(api):
    api.as_("admin").put("/api/v1/assets/pump-01", json={})
    oid = api.as_("service").post("/api/v1/work-orders", json=order()).json()["id"]
    c = api.as_("engineer")
    r = c.post(f"/api/v1/work-orders/{oid}/transitions", json={"to": "rejected"})
    assert r.status_code == 422 and "reason is required" in r.json()["detail"]
    assert c.post(f"/api/v1/work-orders/{oid}/transitions", json={
        "to": "rejected", "reason": "sensor drift, pump fine"}).status_code == 200
    labels = c.get("/api/v1/work-orders/labels").json()
    assert [(x["order_id"], x["label"], x["reason"], x["reviewed_by"]) for x in labels] == [
        (oid, "rejected", "sensor drift, pump fine", "engineer")]


def test_merge_follow_up_and_closed_is_final(api):
    api.as_("admin").put("/api/v1/assets/pump-01", json={})
    s = api.as_("service")
    a = s.post("/api/v1/work-orders", json=order()).json()["id"]
    b = api.as_("engineer").post("/api/v1/work-orders", json=order(
        source="phone", type="corrective", failure_mode="VIB", title="Vibrates")).json()["id"]
    c = api.as_("engineer")
    r = c.post(f"/api/v1/work-orders/{a}/transitions", json={"to": "merged", "merge_into": b})
    assert r.status_code == 200 and r.json()["merged_into_id"] == b
    t = api.as_("technician")
    t.post(f"/api/v1/work-orders/{b}/transitions", json={"to": "in_progress"})
    r = t.post(f"/api/v1/work-orders/{b}/transitions", json={
        "to": "completed", "result": "partially_fixed", "first_time_fix": False})
    assert r.status_code == 200
    # a result other than "fixed" opens the follow-up by itself
    kids = c.get("/api/v1/work-orders", params={"asset_id": "pump-01", "open": True}).json()
    assert [o["parent_id"] for o in kids["items"]] == [b]
    assert c.post(f"/api/v1/work-orders/{b}/transitions", json={"to": "closed"}
                  ).status_code == 200
    r = c.patch(f"/api/v1/work-orders/{b}", json={"title": "edited"})
    assert r.status_code == 409 and "closed" in r.json()["detail"]
    r = c.post(f"/api/v1/work-orders/{b}/follow-ups", json={"title": "Vibrates again"})
    assert r.status_code == 201 and r.json()["parent_id"] == b


def test_cancel_refused_once_work_is_recorded(api):
    api.as_("admin").put("/api/v1/assets/pump-01", json={})
    oid = api.as_("planner").post("/api/v1/work-orders", json=order(
        source="phone", type="corrective", failure_mode="", title="Leak")).json()["id"]
    t = api.as_("technician")
    t.post(f"/api/v1/work-orders/{oid}/transitions", json={"to": "in_progress"})
    t.post(f"/api/v1/work-orders/{oid}/labour", json={"technician": "t1", "minutes": 5})
    assert t.post(f"/api/v1/work-orders/{oid}/transitions",
                  json={"to": "on_hold", "reason": "waiting for parts"}).status_code == 200
    r = api.as_("planner").post(f"/api/v1/work-orders/{oid}/transitions",
                                json={"to": "cancelled", "reason": "no longer needed"})
    assert r.status_code == 409 and "work has been recorded" in r.json()["detail"]


def test_idempotency_key_replays_the_first_answer(api):
    api.as_("admin").put("/api/v1/assets/pump-01", json={})
    c = api.as_("engineer")
    body = order(source="phone", type="corrective", failure_mode="", title="Leak")
    h = {"Idempotency-Key": "req-123"}
    r1 = c.post("/api/v1/work-orders", json=body, headers=h)
    r2 = c.post("/api/v1/work-orders", json=body, headers=h)
    assert r1.status_code == r2.status_code == 201 and r1.json() == r2.json()
    assert r2.headers.get("idempotent-replayed") == "true"
    assert c.get("/api/v1/work-orders").json()["total"] == 1
    r3 = c.post("/api/v1/work-orders", json={**body, "title": "Other"}, headers=h)
    assert r3.status_code == 422 and "different request" in r3.json()["detail"]
    # keys belong to their caller: another user's same key is a new request
    r4 = api.as_("planner").post("/api/v1/work-orders", json=body, headers=h)
    assert r4.status_code == 201 and r4.json()["id"] != r1.json()["id"]


def test_if_match_refuses_a_stale_update(api):
    api.as_("admin").put("/api/v1/assets/pump-01", json={})
    c = api.as_("planner")
    oid = c.post("/api/v1/work-orders", json=order(source="phone", type="corrective",
                                                   failure_mode="", title="x")).json()["id"]
    r = c.get(f"/api/v1/work-orders/{oid}")
    tag = r.headers["etag"]
    r1 = c.patch(f"/api/v1/work-orders/{oid}", json={"assignee": "ann"},
                 headers={"If-Match": tag})
    assert r1.status_code == 200 and r1.headers["etag"] != tag
    r2 = c.patch(f"/api/v1/work-orders/{oid}", json={"assignee": "bob"},
                 headers={"If-Match": tag})
    assert r2.status_code == 412 and "GET it again" in r2.json()["detail"]
    trail = c.get(f"/api/v1/work-orders/{oid}/events").json()
    assert trail[-1]["action"] == "reassigned"
    assert trail[-1]["detail"] == {"before": {"assignee": ""}, "after": {"assignee": "ann"}}
    r3 = c.put("/api/v1/assets/pump-01", json={"name": "P"}, headers={"If-Match": '"99"'})
    assert r3.status_code == 412


def test_failure_codes_come_from_the_extendable_code_list(api):
    api.as_("admin").put("/api/v1/assets/pump-01", json={})
    c = api.as_("engineer")
    bad = c.post("/api/v1/work-orders", json=order(source="phone", failure_mode="XYZ"))
    assert bad.status_code == 422 and "not in the code list" in bad.json()["detail"]
    assert c.post("/api/v1/codes", json={"list": "failure_mode", "code": "XYZ"}
                  ).status_code == 403
    assert api.as_("admin").post("/api/v1/codes", json={
        "list": "failure_mode", "code": "XYZ", "label": "Site-specific"}).status_code == 201
    assert c.post("/api/v1/work-orders", json=order(source="phone", failure_mode="XYZ")
                  ).status_code == 201


def test_asset_csv_import_reports_bad_rows_and_keeps_good_ones(api):
    csv_text = ("id,name,site,area,line,serial_number,criticality,warranty_end\n"
                "p1,Pump 1,plant-a,hall-1,l1,SN-1,4,2030-01-01\n"
                "bad id,x,plant-a,,,SN-2,3,\n"
                "p2,Pump 2,plant-a,hall-1,l2,SN-1,3,\n"  # serial taken by p1
                "p3,Pump 3,plant-b,,,SN-3,9,\n"  # criticality out of range
                "p4,Pump 4,plant-b,,,SN-4,2,\n")
    r = api.as_("planner").post("/api/v1/assets/import", content=csv_text.encode(),
                                headers={"Content-Type": "text/csv"})
    assert r.status_code == 200, r.text
    rep = r.json()
    assert rep["created"] == 2 and [e["line"] for e in rep["errors"]] == [3, 4, 5]
    assert "serial number" in rep["errors"][1]["error"]
    p1 = api.as_("planner").get("/api/v1/assets/p1").json()
    assert p1["path"] == "plant-a/hall-1/l1/p1" and p1["warranty_status"] == "in_warranty"
    bad = api.as_("planner").post("/api/v1/assets/import", content=b"name\nx\n")
    assert bad.status_code == 422 and "'id' column" in bad.json()["detail"]


def test_docs_served_without_a_cdn(api):
    c = api.anonymous()
    page = c.get("/docs").text
    assert "/docs-static/swagger-ui-bundle.js" in page and "cdn" not in page.lower()
    assert c.get("/docs-static/swagger-ui-bundle.js").status_code == 200
    spec = c.get("/api/v1/openapi.json").json()
    assert all(p.startswith("/api/v1/") for p in spec["paths"])


def test_dashboard_is_served_without_the_internet(api):
    r = api.anonymous().get("/")
    assert r.status_code == 200 and "Forewarn — fleet health" in r.text
    for asset in ("/static/app.js", "/static/app.css"):
        got = api.anonymous().get(asset)
        assert got.status_code == 200 and len(got.text) > 1000
        assert "http://" not in got.text and "https://" not in got.text


def test_later_evidence_raises_priority_and_a_rejection_is_remembered(api):
    api.as_("planner").put("/api/v1/assets/pump-01", json={"criticality": 3})
    s = api.as_("service")
    first = s.post("/api/v1/work-orders", json=order(risk=0.6)).json()
    assert first["priority"] == "medium"  # 0.6 x 3
    again = s.post("/api/v1/work-orders", json=order(risk=0.9, description="worse"))
    assert again.status_code == 200 and again.json()["id"] == first["id"]
    assert again.json()["priority"] == "high" and again.json()["risk"] == 0.9
    assert again.json()["version"] == first["version"] + 1
    s.post("/api/v1/work-orders", json=order(risk=0.8))  # lower: nothing new
    trail = api.as_("viewer").get(f"/api/v1/work-orders/{first['id']}/events").json()
    assert [e["action"] for e in trail] == ["created", "evidence"]
    assert trail[1]["detail"] == {"risk": 0.9, "before_risk": 0.6, "priority": "high",
                                  "before_priority": "medium"}
    assert trail[1]["note"] == "worse"
    api.as_("engineer").post(f"/api/v1/work-orders/{first['id']}/transitions",
                             json={"to": "rejected", "reason": "sensor fault"})
    # the same alarm after the rejection (an ingester restarted, say): not proposed again
    r = s.post("/api/v1/work-orders", json=order(risk=0.95))
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    assert api.as_("viewer").get("/api/v1/work-orders").json()["total"] == 1
    trail = api.as_("viewer").get(f"/api/v1/work-orders/{first['id']}/events").json()
    assert trail[-1]["action"] == "suppressed"
    # once the rejection is older than rejection_quiet_hours, a new order is proposed
    from sqlalchemy import create_engine, text

    engine = create_engine(api.url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE work_orders SET updated_at = :t"),
                     {"t": datetime.now(UTC) - timedelta(hours=25)})
    engine.dispose()
    assert s.post("/api/v1/work-orders", json=order(risk=0.95)).status_code == 201
