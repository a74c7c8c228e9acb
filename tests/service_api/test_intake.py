"""Orders from phone, SMS, chat, e-mail and the portal through one endpoint, matched to an
asset by serial number (typos tolerated, the match shown) and deduplicated like automatic
orders; on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest


@pytest.fixture
def fleet(api):
    for asset, serial in (("pump-01", "SN-4711"), ("pump-02", "SN-4712"),
                          ("motor-01", "MX 900 771")):
        api.as_("planner").put(f"/api/v1/assets/{asset}", json={"serial_number": serial})
    return api


def _report(api, role="technician", **body):
    return api.as_(role).post("/api/v1/intake", json={"title": "Noisy", **body})


def test_a_misread_serial_is_matched_and_the_match_shown(fleet):
    r = _report(fleet, channel="phone", serial_number="mx900717", reporter="Ann Doe",
                contact="+49 30 1234")  # two digits swapped, no spaces
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["match"] == {"given": "mx900717", "asset_id": "motor-01",
                             "serial_number": "MX 900 771", "method": "fuzzy",
                             "distance": 1}
    o = body["order"]
    assert (o["asset_id"], o["source"], o["type"]) == ("motor-01", "phone", "corrective")
    assert "Ann Doe" in o["description"] and "'mx900717'" in o["description"]


def test_channels_share_one_open_order_per_asset_and_mode(fleet):
    first = _report(fleet, channel="sms", serial_number="sn 4711")
    assert first.status_code == 201 and first.json()["match"]["method"] == "normalized"
    again = _report(fleet, channel="chat", serial_number="SN-4711", reference="chat-77")
    assert again.status_code == 200
    assert again.json()["created"] is False and again.json()["match"]["method"] == "exact"
    assert again.json()["order"]["id"] == first.json()["order"]["id"]
    # another failure mode is another order; by asset id, from the portal
    other = _report(fleet, channel="portal", asset_id="pump-01", failure_mode="ELP")
    assert other.status_code == 201 and other.json()["match"]["method"] == "asset_id"
    assert other.json()["order"]["id"] != first.json()["order"]["id"]


def test_ambiguous_or_unknown_serials_are_refused_with_candidates(fleet):
    r = _report(fleet, channel="email", serial_number="SN4713")  # 1 away from two pumps
    assert r.status_code == 422 and "as close to 2 assets" in r.json()["detail"]
    assert {c["asset_id"] for c in r.json()["candidates"]} == {"pump-01", "pump-02"}
    r = _report(fleet, channel="email", serial_number="QQ-1")
    assert r.status_code == 422 and "no asset has a serial number close" in r.json()["detail"]
    r = _report(fleet, channel="phone")
    assert r.status_code == 422 and "serial_number" in r.text
    r = _report(fleet, channel="fax", serial_number="SN-4711")
    assert r.status_code == 422
    assert _report(fleet, role="viewer", channel="phone", serial_number="SN-4711"
                   ).status_code == 403
    assert fleet.as_("viewer").get("/api/v1/work-orders").json()["total"] == 0  # none made
