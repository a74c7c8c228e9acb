"""Warranty decisions at boundary dates and itemised statements, on SQLite and
PostgreSQL; every amount is worked out by hand in the comments."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from service_api.app import create_app
from tests.service_api.conftest import Api, settings_for_test, tokens_for_roles
from tests.service_api.helpers import order

TODAY = datetime.now(UTC).date()
BILLING = {"currency": "EUR", "labour_rate_per_hour": 90, "call_out_fee": 50,
           "packages": {"SC-GOLD": {"name": "Gold", "call_out_included": True,
                                    "labour_included_minutes": 60,
                                    "parts_discount_pct": 10}}}


@pytest.fixture
def api(db_url, tmp_path):
    settings = settings_for_test(db_url, tmp_path).model_copy(update={
        "billing": settings_for_test(db_url, tmp_path).billing.model_validate(BILLING)})
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        yield Api(c, tokens_for_roles(db_url), db_url)


def _asset(api, asset: str, **fields) -> None:
    r = api.as_("planner").put(f"/api/v1/assets/{asset}", json={
        "equipment_class": "pump", **{k: str(v) if v is not None else None
                                      for k, v in fields.items()}})
    assert r.status_code in (200, 201), r.text


def _worked_order(api, asset: str) -> int:
    """45 min by tom, 30 min by ann, 2 bearings (40 each) and a gasket the catalogue does
    not know, on a person's order (it starts approved)."""
    admin = api.as_("admin")
    api.as_("planner").put("/api/v1/parts/BRG-6205", json={"unit_price": 40})
    r = admin.post("/api/v1/work-orders", json=order(
        asset_id=asset, type="corrective", source="phone", failure_mode="VIB", risk=None))
    oid = r.json()["id"]
    admin.post(f"/api/v1/work-orders/{oid}/transitions", json={"to": "in_progress"})
    t = api.as_("technician")
    t.post(f"/api/v1/work-orders/{oid}/labour", json={"technician": "tom", "minutes": 45})
    t.post(f"/api/v1/work-orders/{oid}/labour", json={"technician": "ann", "minutes": 30})
    t.post(f"/api/v1/work-orders/{oid}/parts", json={"part_number": "BRG-6205",
                                                     "quantity": 2})
    t.post(f"/api/v1/work-orders/{oid}/parts", json={"part_number": "GASKET-X",
                                                     "quantity": 1})
    return oid


def _complete(api, oid: int) -> None:
    r = api.as_("admin").post(f"/api/v1/work-orders/{oid}/transitions", json={
        "to": "completed", "result": "fixed", "first_time_fix": True})
    assert r.status_code == 200, r.text


def _lines(st: dict) -> list[tuple]:
    return [(x["kind"], x["list_amount"], x["covered"], x["charged"]) for x in st["lines"]]


def test_out_of_warranty_everything_is_charged_at_list(api):
    _asset(api, "pump-01", warranty_start=TODAY - timedelta(days=400),
           warranty_end=TODAY - timedelta(days=1))  # ended yesterday
    oid = _worked_order(api, "pump-01")
    _complete(api, oid)
    st = api.as_("planner").get(f"/api/v1/work-orders/{oid}/statement").json()
    assert (st["basis"], st["warranty_status"]) == ("billable", "expired")
    # call-out 50; 0.75 h x 90 = 67.50; 0.5 h x 90 = 45.00; 2 x 40 = 80.00; gasket 0
    assert _lines(st) == [("call_out", "50.00", "0.00", "50.00"),
                          ("labour", "67.50", "0.00", "67.50"),
                          ("labour", "45.00", "0.00", "45.00"),
                          ("part", "80.00", "0.00", "80.00"),
                          ("part", "0.00", "0.00", "0.00")]
    assert (st["list_total"], st["covered_total"], st["charged_total"]) == (
        "242.50", "0.00", "242.50")
    assert st["lines"][4]["note"] == "not in the parts catalogue: no price"
    # every line points to its record
    labour = api.as_("planner").get(f"/api/v1/work-orders/{oid}/labour").json()
    used = api.as_("planner").get(f"/api/v1/work-orders/{oid}/parts").json()
    assert [x["source"] for x in st["lines"]] == [
        f"order:{oid}", *(f"labour:{x['id']}" for x in labour),
        *(f"part:{x['id']}" for x in used)]


def test_a_service_contract_package_covers_its_share(api):
    _asset(api, "pump-02", service_contract="SC-GOLD")
    oid = _worked_order(api, "pump-02")
    _complete(api, oid)
    st = api.as_("planner").get(f"/api/v1/work-orders/{oid}/statement").json()
    assert (st["basis"], st["package"]) == ("service_contract", "Gold")
    # call-out included; 60 min included: tom's 45 (67.50) and 15 of ann's 30 (22.50 of
    # 45.00); parts 10% off 80.00 = 8.00
    assert _lines(st) == [("call_out", "50.00", "50.00", "0.00"),
                          ("labour", "67.50", "67.50", "0.00"),
                          ("labour", "45.00", "22.50", "22.50"),
                          ("part", "80.00", "8.00", "72.00"),
                          ("part", "0.00", "0.00", "0.00")]
    assert (st["covered_total"], st["charged_total"]) == ("148.00", "94.50")
    assert st["lines"][2]["note"] == "15 min in the package"
    # a contract with no package configured covers nothing, and says so
    _asset(api, "pump-04", service_contract="SC-UNKNOWN")
    oid = _worked_order(api, "pump-04")
    st = api.as_("planner").get(f"/api/v1/work-orders/{oid}/statement").json()
    assert st["charged_total"] == "242.50" and "SC-UNKNOWN" in st["notes"][0]


def _day(offset: int | None):
    return None if offset is None else TODAY + timedelta(days=offset)


@pytest.mark.parametrize(("start", "end", "expected"), [
    (-30, 0, ("warranty", "in_warranty")),  # ends today: still covered (inclusive)
    (0, 30, ("warranty", "in_warranty")),  # starts today
    (1, 30, ("billable", "not_started")),  # starts tomorrow
    (-30, -1, ("billable", "expired")),  # ended yesterday
    (None, None, ("billable", "unknown")),
])
def test_warranty_decision_at_boundary_dates(api, start, end, expected):
    _asset(api, "pump-03", warranty_start=_day(start), warranty_end=_day(end))
    oid = _worked_order(api, "pump-03")
    o = api.as_("planner").get(f"/api/v1/work-orders/{oid}").json()
    assert (o["billing_basis"], o["warranty_status"]) == expected
    st = api.as_("planner").get(f"/api/v1/work-orders/{oid}/statement").json()
    if expected[0] == "warranty":
        assert (st["covered_total"], st["charged_total"]) == ("242.50", "0.00")
        assert st["notes"] == ["in warranty: no charge"]
    else:
        assert st["charged_total"] == "242.50"


def test_warranty_is_decided_again_at_completion(api):
    _asset(api, "pump-05", warranty_start=TODAY - timedelta(days=30), warranty_end=TODAY)
    oid = _worked_order(api, "pump-05")
    assert api.as_("planner").get(f"/api/v1/work-orders/{oid}").json()["billing_basis"] == \
        "warranty"
    # the warranty end is corrected before the work is signed off
    _asset(api, "pump-05", warranty_end=TODAY - timedelta(days=2))
    _complete(api, oid)
    o = api.as_("planner").get(f"/api/v1/work-orders/{oid}").json()
    assert (o["billing_basis"], o["warranty_status"]) == ("billable", "expired")
    st = api.as_("planner").get(f"/api/v1/work-orders/{oid}/statement").json()
    assert st["charged_total"] == "242.50"


def test_csv_and_pdf_exports_and_who_may_see_them(api):
    _asset(api, "pump-06")
    oid = _worked_order(api, "pump-06")
    r = api.as_("planner").get(f"/api/v1/work-orders/{oid}/statement.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [x["source"] for x in rows[:-1]][0] == f"order:{oid}" and len(rows) == 6
    assert (rows[-1]["line"], rows[-1]["charged"], rows[-1]["currency"]) == (
        "total", "242.50", "EUR")
    r = api.as_("planner").get(f"/api/v1/work-orders/{oid}/statement.pdf")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    pdf = r.content
    assert pdf.startswith(b"%PDF-1.4") and b"242.50" in pdf
    # the cross-reference table points at every object
    xref = int(re.search(rb"startxref\n(\d+)", pdf).group(1))
    assert pdf[xref:xref + 4] == b"xref"
    offsets = [int(x) for x in re.findall(rb"(\d{10}) 00000 n", pdf)]
    assert all(re.match(rb"%d 0 obj" % (n + 1), pdf[o:]) for n, o in enumerate(offsets))
    for role in ("engineer", "technician", "viewer"):
        assert api.as_(role).get(f"/api/v1/work-orders/{oid}/statement").status_code == 403
