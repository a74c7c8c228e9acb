"""Spare parts on SQLite and PostgreSQL: reservations that follow the order workflow, the
stock ledger, reorder suggestions counting predicted demand, regional coverage of critical
parts, turnover. Every figure is worked out by hand in the comments."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.service_api.helpers import order

BRG = "/api/v1/parts/BRG-6205"


def _stock(api, warehouse: str) -> dict:
    rows = api.as_("planner").get(f"{BRG}/stock").json()
    return next(r for r in rows if r["warehouse"] == warehouse)


def _suggestion(api, warehouse: str) -> dict | None:
    r = api.as_("planner").get("/api/v1/parts/reorder-suggestions")
    assert r.status_code == 200, r.text
    return next((s for s in r.json() if s["warehouse"] == warehouse
                 and s["part_number"] == "BRG-6205"), None)


@pytest.fixture
def plant(api):
    """pump-01 and pump-02 in region north, pump-03 in south; a critical bearing fitting
    pumps (2 per repair, 10 days lead time, 40 each) stocked 5 in WH-N (reorder point 4,
    safety 1) and 0 in WH-S; a seal for leaks. pump-02 is at risk 0.5 with no order."""
    admin, planner = api.as_("admin"), api.as_("planner")
    for asset, region in (("pump-01", "north"), ("pump-02", "north"), ("pump-03", "south")):
        assert admin.put(f"/api/v1/assets/{asset}", json={
            "equipment_class": "pump", "region": region}).status_code in (200, 201)
    admin.post("/api/v1/assets/pump-02/health", json={"ts": datetime.now(UTC).isoformat(),
                                                       "risk": 0.5})
    admin.post("/api/v1/assets/pump-03/health", json={"ts": datetime.now(UTC).isoformat(),
                                                       "risk": 0.1})
    r = planner.put(BRG, json={
        "name": "Bearing 6205", "part_class": "critical", "unit_price": 40,
        "lead_time_days": 10, "equipment_classes": ["pump"],
        "failure_modes": ["predicted_failure", "VIB"], "per_repair": 2})
    assert r.status_code == 201, r.text
    planner.put("/api/v1/parts/SEAL-1", json={
        "part_class": "common", "equipment_classes": ["pump"], "failure_modes": ["ELP"],
        "lead_time_days": 5})
    r = planner.put(f"{BRG}/stock/WH-N", json={"region": "north", "on_hand": 5,
                                               "safety_stock": 1, "reorder_point": 4})
    assert r.status_code == 200, r.text
    planner.put(f"{BRG}/stock/WH-S", json={"region": "south", "on_hand": 0})
    return api


def _move(api, oid: int, to: str, **kw) -> dict:
    r = api.as_("admin").post(f"/api/v1/work-orders/{oid}/transitions", json={"to": to, **kw})
    assert r.status_code == 200, r.text
    return r.json()


def test_predicted_demand_drives_the_reorder_suggestion(plant):
    api = plant
    oid = api.as_("admin").post("/api/v1/work-orders", json=order()).json()["id"]  # proposed
    s = _suggestion(api, "WH-N")
    # available 5; demand: the proposed order 2 + pump-02 at risk 0.5 x 2 = 1 (pump-01
    # has its order; pump-03's 0.1 is under the 0.2 minimum) -> projected 2 < 4;
    # quantity = ceil(4 + 1 - 2) = 3
    assert s["demand"] == {"proposed_orders": 2, "at_risk_assets": 1, "usage": 0}
    assert (s["available"], s["projected"], s["quantity"]) == (5, 2, 3)
    assert set(s["because"]) == {f"order #{oid}", "asset pump-02 at risk 0.50"}
    assert _suggestion(api, "WH-S") is None  # south: no demand, nothing below 0

    # approval reserves 2 in WH-N (the asset's region): the order no longer counts as
    # proposed demand, its parts are reserved instead -> the same projection
    _move(api, oid, "approved")
    res = api.as_("viewer").get(f"/api/v1/work-orders/{oid}/reservations").json()
    assert [(r["part_number"], r["warehouse"], r["quantity"], r["status"]) for r in res] == [
        ("BRG-6205", "WH-N", 2, "reserved")]
    assert (_stock(api, "WH-N")["reserved"], _stock(api, "WH-N")["available"]) == (2, 3)
    s = _suggestion(api, "WH-N")
    assert (s["demand"].get("proposed_orders", 0)) == 0
    assert (s["projected"], s["quantity"]) == (2, 3)

    # the technician uses 1 of the 2: completion consumes 1 and frees the other
    _move(api, oid, "in_progress")
    api.as_("technician").post(f"/api/v1/work-orders/{oid}/parts",
                               json={"part_number": "BRG-6205", "quantity": 1})
    _move(api, oid, "completed", result="fixed", first_time_fix=True)
    assert (_stock(api, "WH-N")["on_hand"], _stock(api, "WH-N")["reserved"]) == (4, 0)
    res = api.as_("viewer").get(f"/api/v1/work-orders/{oid}/reservations").json()
    assert [(r["quantity"], r["status"]) for r in res] == [(1, "consumed")]
    ledger = api.as_("planner").get(f"{BRG}/movements").json()
    assert [(m["kind"], m["on_hand_delta"], m["reserved_delta"]) for m in ledger][:2] == [
        ("consume", -1, -2), ("reserve", 0, 2)]
    # usage: 1 in the last 90 days -> 10 days x 1/90 = 0.1111; available 4, pump-02 1.0
    # -> projected 2.8889 < 4; quantity = ceil(4 + 1 - 2.8889) = 3
    s = _suggestion(api, "WH-N")
    assert s["demand"]["usage"] == pytest.approx(10 / 90, abs=1e-4)
    assert s["projected"] == pytest.approx(4 - 1 - 10 / 90, abs=1e-4) and s["quantity"] == 3


def test_backorders_coverage_and_receipts(plant):
    api = plant
    # a person's order starts approved: a bearing for pump-03 in the south, where WH-S
    # has none -> a backorder of 2
    oid = api.as_("admin").post("/api/v1/work-orders", json=order(
        asset_id="pump-03", type="corrective", source="phone", failure_mode="VIB",
        risk=None)).json()["id"]
    res = api.as_("viewer").get(f"/api/v1/work-orders/{oid}/reservations").json()
    assert [(r["warehouse"], r["quantity"], r["status"]) for r in res] == [
        ("", 2, "backorder")]
    # the backorder is demand on the south's warehouse: projected 0 - 2 < 0 -> 0 + 0 + 2
    s = _suggestion(api, "WH-S")
    assert s["demand"]["backorders"] == 2 and s["quantity"] == 2
    # the south's critical bearing: none available, 10 days lead time > 2 days promised
    gaps = api.as_("planner").get("/api/v1/parts/coverage").json()
    assert [(g["region"], g["part_number"], g["assets"]) for g in gaps] == [
        ("south", "BRG-6205", ["pump-03"])]
    # 3 arrive in WH-S: the backorder is filled first (2 reserved, 1 free)
    r = api.as_("planner").post(f"{BRG}/stock/WH-S/receipts", json={"quantity": 3})
    assert r.status_code == 201 and (r.json()["on_hand"], r.json()["reserved"]) == (3, 2)
    res = api.as_("viewer").get(f"/api/v1/work-orders/{oid}/reservations").json()
    assert [(r["warehouse"], r["quantity"], r["status"]) for r in res] == [
        ("WH-S", 2, "reserved")]
    assert api.as_("planner").get("/api/v1/parts/coverage").json() == []
    # cancelling releases it
    _move(api, oid, "cancelled", reason="customer replaced the pump")
    assert _stock(api, "WH-S")["reserved"] == 0
    res = api.as_("viewer").get(f"/api/v1/work-orders/{oid}/reservations").json()
    assert [r["status"] for r in res] == ["released"]


def test_turnover_is_consumed_value_over_stock_value(plant):
    api = plant
    oid = api.as_("admin").post("/api/v1/work-orders", json=order(
        type="corrective", source="phone", failure_mode="VIB", risk=None)).json()["id"]
    _move(api, oid, "in_progress")
    api.as_("technician").post(f"/api/v1/work-orders/{oid}/parts",
                               json={"part_number": "BRG-6205", "quantity": 1})
    _move(api, oid, "completed", result="fixed", first_time_fix=True)
    # consumed 1 x 40 = 40 in the year; on hand (4 + 0) x 40 = 160 -> 0.25 turns
    t = api.as_("planner").get("/api/v1/parts/turnover").json()
    assert (t["consumed_value"], t["stock_value"], t["turns_per_year"]) == (40, 160, 0.25)
    assert api.as_("engineer").get("/api/v1/parts/turnover").status_code == 403


def test_prices_are_commercial_and_stock_needs_the_catalogue(plant):
    api = plant
    assert api.as_("planner").get(BRG).json()["unit_price"] == 40
    assert api.as_("technician").get(BRG).json()["unit_price"] is None
    assert api.as_("viewer").get(BRG).status_code == 403
    r = api.as_("planner").put("/api/v1/parts/NOPE/stock/WH-N", json={"on_hand": 1})
    assert r.status_code == 404 and "not in the catalogue" in r.json()["detail"]
    r = api.as_("planner").put(BRG, json={"per_repair": 0})
    assert r.status_code == 422
    r = api.as_("planner").put(BRG, json={"name": "x"}, headers={"If-Match": '"99"'})
    assert r.status_code == 412
    # a stock count books the difference: 5 counted as 3 -> an adjustment of -2
    api.as_("planner").put(f"{BRG}/stock/WH-N", json={"on_hand": 3})
    m = api.as_("planner").get(f"{BRG}/movements").json()[0]
    assert (m["kind"], m["on_hand_delta"], m["actor"]) == ("adjust", -2, "planner")
    # reserving for a proposed order is refused: parts follow approval
    oid = api.as_("admin").post("/api/v1/work-orders", json=order()).json()["id"]
    r = api.as_("planner").post(f"/api/v1/work-orders/{oid}/reservations",
                                json={"part_number": "BRG-6205", "quantity": 1})
    assert r.status_code == 409


def test_a_scoped_user_sees_demand_but_not_other_sites_assets(plant):
    """Demand stays fleet-wide (WH-N serves all of north), but a user scoped to one site
    reads only its own assets and orders among the reasons; the others are counted."""
    from service_api.bootstrap import add_user, issue_token

    api = plant
    admin = api.as_("admin")
    admin.put("/api/v1/assets/pump-01", json={"site": "plant-a"})
    admin.put("/api/v1/assets/pump-02", json={"site": "plant-b"})
    oid = admin.post("/api/v1/work-orders", json=order()).json()["id"]  # pump-01, proposed
    add_user(api.url, "eng-a", "engineer", scope="plant-a")
    h = {"Authorization": f"Bearer {issue_token(api.url, 'eng-a')}"}
    got = api.anonymous().get("/api/v1/parts/reorder-suggestions", headers=h).json()
    s = next(x for x in got if x["warehouse"] == "WH-N")
    assert (s["projected"], s["quantity"]) == (2, 3)  # the same figures as for everyone
    assert s["because"] == [f"order #{oid}", "1 more outside your scope"]  # not pump-02
    assert set(_suggestion(api, "WH-N")["because"]) == {
        f"order #{oid}", "asset pump-02 at risk 0.50"}  # unscoped: both
    # coverage: south (pump-03, no stock, 10 days > the 2 promised) is a gap, which
    # eng-a, who sees no south asset, is not shown
    south = [g for g in api.as_("planner").get("/api/v1/parts/coverage").json()
             if g["region"] == "south"]
    assert [(g["part_number"], g["assets"], g["assets_outside_scope"]) for g in south] == [
        ("BRG-6205", ["pump-03"], 0)]
    assert api.anonymous().get("/api/v1/parts/coverage", headers=h).json() == []
