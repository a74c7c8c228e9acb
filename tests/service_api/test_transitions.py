"""Every transition of the state machine, allowed and refused, through the API (SQLite and
PostgreSQL): an order is brought to each status, then asked to move to every status."""

import itertools

from service_api.workflow import STATUSES, TRANSITIONS
from tests.service_api.helpers import order

# how to reach each status from a new order, and what each move needs in its body
PATH = {"proposed": [], "approved": ["approved"], "scheduled": ["approved", "scheduled"],
        "in_progress": ["approved", "in_progress"],
        "on_hold": ["approved", "in_progress", "on_hold"],
        "completed": ["approved", "in_progress", "completed"],
        "closed": ["approved", "in_progress", "completed", "closed"],
        "rejected": ["rejected"], "merged": ["merged"], "cancelled": ["approved", "cancelled"]}
_assets = itertools.count()


def _move(c, oid: int, to: str, other: int):
    return c.post(f"/api/v1/work-orders/{oid}/transitions", json={
        "to": to, "reason": "because", "merge_into": other, "result": "fixed",
        "first_time_fix": True})


def test_every_allowed_and_refused_transition(api):
    c = api.as_("admin")
    assert set(PATH) == set(STATUSES)
    outcomes = {}
    for start, target in itertools.product(STATUSES, STATUSES):
        asset = f"a{next(_assets)}"
        c.put(f"/api/v1/assets/{asset}", json={})
        oid = c.post("/api/v1/work-orders", json=order(asset_id=asset)).json()["id"]
        other = c.post("/api/v1/work-orders", json=order(
            asset_id=asset, source="phone", type="corrective", failure_mode="",
            title="other")).json()["id"]
        for step in PATH[start]:
            assert _move(c, oid, step, other).status_code == 200, (start, step)
        r = _move(c, oid, target, other)
        outcomes[start, target] = r.status_code
        if target in TRANSITIONS[start]:
            assert r.status_code == 200, (start, target, r.text)
            assert r.json()["status"] == target
        else:
            assert r.status_code == 409, (start, target, r.text)
            assert r.json()["type"].endswith("/transition-not-allowed")
            assert c.get(f"/api/v1/work-orders/{oid}").json()["status"] == start
    assert sum(s == 200 for s in outcomes.values()) == sum(map(len, TRANSITIONS.values()))
