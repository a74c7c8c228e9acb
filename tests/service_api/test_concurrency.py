"""Races on a real uvicorn server, on SQLite and PostgreSQL: 30 identical creates give one
order; 18 identical transitions give exactly one change; retries with one Idempotency-Key
create once."""

import json
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from forewarn.demo import ApiThread
from forewarn.runtime import free_port
from service_api.settings import ServiceApiSettings
from tests.service_api.conftest import tokens_for_roles
from tests.service_api.helpers import order


@pytest.fixture
def server(db_url, tmp_path):
    settings = ServiceApiSettings(port=free_port(), database_url=db_url,
                                  attachments_dir=str(tmp_path / "attachments"))
    headers = tokens_for_roles(db_url)
    thread = ApiThread(settings)
    thread.start()
    yield f"http://127.0.0.1:{settings.port}/api/v1", headers
    thread.stop()


def call(base: str, headers: dict, method: str, path: str, body=None, extra=None):
    req = urllib.request.Request(base + path, method=method,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": "application/json", **headers,
                                          **(extra or {})})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def race(n: int, fn):
    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(lambda _: fn(), range(n)))


def test_30_concurrent_identical_creates_give_one_order(server):
    base, h = server
    call(base, h["admin"], "PUT", "/assets/pump-01", {})
    results = race(30, lambda: call(base, h["service"], "POST", "/work-orders", order()))
    statuses = sorted(s for s, _ in results)
    assert statuses.count(201) == 1 and statuses.count(200) == 29, statuses
    assert len({b["id"] for _, b in results}) == 1
    status, page = call(base, h["viewer"], "GET", "/work-orders")
    assert page["total"] == 1
    status, trail = call(base, h["viewer"], "GET", f"/work-orders/{page['items'][0]['id']}/events")
    assert [e["action"] for e in trail] == ["created"]


def test_18_concurrent_transitions_from_one_state_give_exactly_one(server):
    base, h = server
    call(base, h["admin"], "PUT", "/assets/pump-01", {})
    _, o = call(base, h["service"], "POST", "/work-orders", order())
    results = race(18, lambda: call(base, h["engineer"], "POST",
                                    f"/work-orders/{o['id']}/transitions", {"to": "approved"}))
    statuses = sorted(s for s, _ in results)
    assert statuses.count(200) == 1 and statuses.count(409) == 17, statuses
    _, trail = call(base, h["viewer"], "GET", f"/work-orders/{o['id']}/events")
    assert [(e["from_status"], e["to_status"]) for e in trail] == [
        (None, "proposed"), ("proposed", "approved")]
    _, now = call(base, h["viewer"], "GET", f"/work-orders/{o['id']}")
    assert now["version"] == 2


def test_concurrent_retries_with_one_idempotency_key_create_once(server):
    base, h = server
    call(base, h["admin"], "PUT", "/assets/pump-01", {})
    body = order(source="phone", type="corrective", failure_mode="", title="Leak")
    results = race(12, lambda: call(base, h["planner"], "POST", "/work-orders", body,
                                    {"Idempotency-Key": "retry-1"}))
    assert {s for s, _ in results} == {201}, results
    assert len({b["id"] for _, b in results}) == 1
    _, page = call(base, h["viewer"], "GET", "/work-orders")
    assert page["total"] == 1


def test_concurrent_approvals_never_reserve_more_parts_than_are_on_hand(server):
    """10 pumps' predicted failures approved at once, each wanting 2 bearings, 5 on hand:
    2 orders get 2 and one gets 1 (5 reserved), the other 15 wanted are backorders."""
    base, h = server
    call(base, h["planner"], "PUT", "/parts/BRG-1", {
        "part_class": "critical", "failure_modes": ["predicted_failure"], "per_repair": 2})
    call(base, h["planner"], "PUT", "/parts/BRG-1/stock/WH-1", {"on_hand": 5})
    ids = []
    for i in range(10):
        call(base, h["admin"], "PUT", f"/assets/pump-{i}", {})
        ids.append(call(base, h["service"], "POST", "/work-orders",
                        order(asset_id=f"pump-{i}"))[1]["id"])
    pending = iter(ids)
    results = race(10, lambda: call(base, h["engineer"], "POST",
                                    f"/work-orders/{next(pending)}/transitions",
                                    {"to": "approved"}))
    assert sorted(s for s, _ in results) == [200] * 10
    held = {"reserved": 0.0, "backorder": 0.0}
    for oid in ids:
        for r in call(base, h["viewer"], "GET", f"/work-orders/{oid}/reservations")[1]:
            held[r["status"]] += r["quantity"]
    assert held == {"reserved": 5, "backorder": 15}
    _, rows = call(base, h["planner"], "GET", "/parts/BRG-1/stock")
    assert (rows[0]["on_hand"], rows[0]["reserved"]) == (5, 5)
