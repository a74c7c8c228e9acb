"""Satisfaction surveys: signed, expiring links a customer opens without an account
(forged, expired, superseded and reused links refused), scores joined to orders by
region, equipment class and technician; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, update

from service_api.tables import Survey
from tests.service_api.helpers import order


def _completed(api, asset: str, region: str, assignee: str) -> int:
    admin = api.as_("admin")
    admin.put(f"/api/v1/assets/{asset}", json={"region": region, "equipment_class": "pump"})
    oid = admin.post("/api/v1/work-orders", json=order(
        asset_id=asset, type="corrective", source="phone", failure_mode="VIB",
        risk=None)).json()["id"]
    r = admin.get(f"/api/v1/work-orders/{oid}")
    admin.patch(f"/api/v1/work-orders/{oid}", json={"assignee": assignee},
                headers={"If-Match": r.headers["etag"]})
    admin.post(f"/api/v1/work-orders/{oid}/transitions", json={"to": "in_progress"})
    admin.post(f"/api/v1/work-orders/{oid}/transitions", json={
        "to": "completed", "result": "fixed", "first_time_fix": True})
    return oid


def _issue(api, oid: int) -> dict:
    r = api.as_("engineer").post(f"/api/v1/work-orders/{oid}/survey")
    assert r.status_code == 201, r.text
    return r.json()


def test_a_customer_answers_once_without_an_account(api):
    oid = _completed(api, "pump-01", "north", "tom")
    link = _issue(api, oid)
    assert link["url"] == f"/survey/{link['token']}"
    customer = api.anonymous()
    view = customer.get(f"/api/v1/surveys/{link['token']}")
    assert view.status_code == 200 and view.json()["work_order_id"] == oid
    assert "customer" not in view.text and "billing" not in view.text
    page = customer.get(link["url"])
    assert page.status_code == 200 and "How did we do?" in page.text
    r = customer.post(f"/api/v1/surveys/{link['token']}", json={"score": 4, "comment": "ok"})
    assert r.status_code == 201, r.text
    # reused
    r = customer.post(f"/api/v1/surveys/{link['token']}", json={"score": 1})
    assert r.status_code == 409 and "answered already" in r.json()["detail"]
    assert customer.get(f"/api/v1/surveys/{link['token']}").status_code == 409
    # and no new link for an answered survey
    assert api.as_("engineer").post(f"/api/v1/work-orders/{oid}/survey").status_code == 409


def test_forged_superseded_and_expired_links_are_refused(api):
    oid = _completed(api, "pump-01", "north", "tom")
    old = _issue(api, oid)["token"]
    sid, exp, sig = old.split(".")
    customer = api.anonymous()
    for forged in (f"{sid}.{int(exp) + 86400}.{sig}",  # expiry stretched
                   f"{sid}.{exp}.{sig[:-2]}AA",  # signature altered
                   f"{int(sid) + 1}.{exp}.{sig}"):  # another survey
        r = customer.post(f"/api/v1/surveys/{forged}", json={"score": 5})
        assert r.status_code == 404 and "not valid" in r.json()["detail"], forged
    new = _issue(api, oid)["token"]  # a new link replaces the old one
    assert customer.get(f"/api/v1/surveys/{old}").status_code == 404
    assert customer.get(f"/api/v1/surveys/{new}").status_code == 200
    # expired: the stored expiry is moved into the past, the link signed for it
    engine = create_engine(api.url)
    with engine.begin() as c:
        c.execute(update(Survey).values(expires_at=datetime.now(UTC) - timedelta(hours=1)))
    engine.dispose()
    expired = _issue_token_for_stored_expiry(api, oid)
    r = customer.post(f"/api/v1/surveys/{expired}", json={"score": 5})
    assert r.status_code == 410 and "expired" in r.json()["detail"]
    # not before completion
    admin = api.as_("admin")
    open_oid = admin.post("/api/v1/work-orders", json=order(
        asset_id="pump-01", type="corrective", source="phone", failure_mode="ELP",
        risk=None)).json()["id"]
    assert api.as_("engineer").post(f"/api/v1/work-orders/{open_oid}/survey"
                                    ).status_code == 409
    assert api.as_("technician").post(f"/api/v1/work-orders/{oid}/survey").status_code == 403


def _issue_token_for_stored_expiry(api, oid: int) -> str:
    """The token the server would sign for the survey as stored now."""
    from sqlalchemy.orm import Session

    from service_api import surveys

    engine = create_engine(api.url)
    with Session(engine) as db:
        s = db.query(Survey).filter(Survey.work_order_id == oid).one()
        out = surveys.token(db, s)
    engine.dispose()
    return out


def test_satisfaction_by_region_and_technician(api):
    answers = [("pump-01", "north", "tom", 5), ("pump-02", "north", "ann", 4),
               ("pump-03", "south", "tom", 2), ("pump-04", "south", "ann", None)]
    for asset, region, tech, score in answers:
        oid = _completed(api, asset, region, tech)
        token = _issue(api, oid)["token"]
        if score is not None:
            api.anonymous().post(f"/api/v1/surveys/{token}", json={"score": score})
    k = api.as_("viewer").get("/api/v1/kpis/satisfaction?by=region").json()
    # 4 sent, 3 answered; north (5, 4): mean 4.5, both satisfied; south (2): 0
    assert (k["surveys_sent"], k["responses"], k["response_rate"]) == (4, 3, 0.75)
    assert [(r["key"], r["responses"], r["mean_score"], r["satisfied_share"])
            for r in k["rows"]] == [("north", 2, 4.5, 1.0), ("south", 1, 2.0, 0.0)]
    k = api.as_("viewer").get("/api/v1/kpis/satisfaction?by=technician").json()
    assert {r["key"]: r["mean_score"] for r in k["rows"]} == {"tom": 3.5, "ann": 4.0}
    r = api.as_("viewer").get("/api/v1/kpis/satisfaction?by=customer")
    assert r.status_code == 422


@pytest.mark.parametrize("score", [0, 6, 3.5])
def test_scores_are_1_to_5(api, score):
    oid = _completed(api, "pump-01", "north", "tom")
    token = _issue(api, oid)["token"]
    assert api.anonymous().post(f"/api/v1/surveys/{token}",
                                json={"score": score}).status_code == 422
