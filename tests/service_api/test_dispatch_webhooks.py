"""Dispatch rules with a preview and recorded reassignment; webhooks signed with HMAC,
retried with backoff and logged, to a real HTTP receiver (SQLite and PostgreSQL)."""

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from fastapi.testclient import TestClient

from service_api.app import create_app
from service_api.settings import ServiceApiSettings
from tests.service_api.conftest import Api, tokens_for_roles
from tests.service_api.helpers import order


def test_dispatch_rules_preview_and_recorded_reassignment(api):
    p = api.as_("planner")
    p.put("/api/v1/assets/pump-01", json={"equipment_class": "pump", "region": "north"})
    p.put("/api/v1/assets/fan-01", json={"equipment_class": "fan", "region": "north"})
    for rule in ({"position": 10, "equipment_class": "pump", "severity": "critical",
                  "team": "pump-crew", "assignee": "alice"},
                 {"position": 20, "region": "north", "team": "north-field", "assignee": "bob"}):
        assert p.post("/api/v1/dispatch-rules", json=rule).status_code == 201
    assert api.as_("engineer").post("/api/v1/dispatch-rules", json={}).status_code == 403
    crit = p.post("/api/v1/work-orders", json=order(
        source="phone", type="corrective", failure_mode="", severity="critical",
        title="Seal")).json()
    assert (crit["team"], crit["assignee"]) == ("pump-crew", "alice")
    fan = p.post("/api/v1/work-orders", json=order(
        asset_id="fan-01", source="phone", type="corrective", failure_mode="",
        title="Belt")).json()
    assert (fan["team"], fan["assignee"]) == ("north-field", "bob")
    created = p.get(f"/api/v1/work-orders/{fan['id']}/events").json()[0]
    assert created["detail"]["dispatch_rule"] == 2
    # a new rule in front: the preview says what would change, applying records it
    p.post("/api/v1/dispatch-rules", json={"position": 1, "equipment_class": "fan",
                                           "team": "fan-crew", "assignee": "carol"})
    pre = api.as_("viewer").get(f"/api/v1/work-orders/{fan['id']}/dispatch").json()
    assert (pre["team"], pre["assignee"], pre["current_assignee"]) == ("fan-crew", "carol",
                                                                       "bob")
    assert p.get(f"/api/v1/work-orders/{fan['id']}").json()["assignee"] == "bob"
    r = p.post(f"/api/v1/work-orders/{fan['id']}/dispatch")
    assert r.status_code == 200 and r.json()["assignee"] == "carol"
    last = p.get(f"/api/v1/work-orders/{fan['id']}/events").json()[-1]
    assert last["action"] == "reassigned" and last["actor"] == "planner"
    assert last["detail"]["before"] == {"team": "north-field", "assignee": "bob"}


def _due_hours(o: dict) -> float:
    from datetime import datetime

    opened, due = (datetime.fromisoformat(o[k]) for k in ("opened_at", "due_at"))
    return round((due - opened).total_seconds() / 3600, 6)


def test_sla_rules_set_due_dates_by_priority_and_contract(api):
    """Defaults (critical 8 h) until a rule says otherwise; a rule for the asset's
    service contract beats one for any contract; removing it falls back; existing orders
    keep their due date."""
    p = api.as_("planner")
    p.put("/api/v1/assets/pump-01", json={"service_contract": "Gold"})
    p.put("/api/v1/assets/fan-01", json={"service_contract": "Basic"})

    def new(asset: str, mode: str) -> dict:
        r = p.post("/api/v1/work-orders", json=order(
            asset_id=asset, source="phone", type="corrective", failure_mode=mode,
            priority="critical", title="Stopped"))
        assert r.status_code == 201, r.text
        return r.json()

    first = new("pump-01", "VIB")
    assert _due_hours(first) == 8  # the sla_hours setting
    assert api.as_("engineer").put("/api/v1/sla-rules", json={
        "priority": "critical", "hours": 6}).status_code == 403
    for body in ({"priority": "critical", "hours": 6},
                 {"priority": "critical", "service_contract": "Gold", "hours": 4}):
        r = p.put("/api/v1/sla-rules", json=body)
        assert r.status_code == 200, r.text
    again = p.put("/api/v1/sla-rules", json={"priority": "critical",
                                              "service_contract": "Gold", "hours": 3.5})
    gold_rule = again.json()["id"]
    policy = api.as_("viewer").get("/api/v1/sla-rules").json()
    assert [(r["service_contract"], r["hours"]) for r in policy["rules"]] == [
        ("", 6.0), ("Gold", 3.5)]  # the second PUT changed the Gold rule, added none
    assert policy["defaults"]["critical"] == 8
    gold, basic = new("pump-01", "ELP"), new("fan-01", "VIB")
    assert (_due_hours(gold), _due_hours(basic)) == (3.5, 6)
    created = p.get(f"/api/v1/work-orders/{gold['id']}/events").json()[0]
    assert (created["detail"]["sla_hours"], created["detail"]["sla"]) == (
        3.5, f"sla rule {gold_rule}")
    assert p.delete(f"/api/v1/sla-rules/{gold_rule}").status_code == 204
    assert _due_hours(new("pump-01", "OHE")) == 6
    assert _due_hours(p.get(f"/api/v1/work-orders/{first['id']}").json()) == 8
    assert p.delete(f"/api/v1/sla-rules/{gold_rule}").status_code == 404
    r = p.put("/api/v1/sla-rules", json={"priority": "urgent", "hours": 1})
    assert r.status_code == 422
    r = p.put("/api/v1/sla-rules", json={"priority": "low", "hours": 0})
    assert r.status_code == 422


class Receiver:
    """A real HTTP server that records webhook calls and fails the first ``fail`` ones."""

    def __init__(self, fail: int = 0):
        self.calls: list[tuple[dict, bytes]] = []
        self.fail = fail
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.calls.append((dict(self.headers), body))
                code = 503 if len(outer.calls) <= outer.fail else 204
                self.send_response(code)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, n: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while len(self.calls) < n and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(self.calls) >= n, self.calls


@pytest.fixture
def hooked(db_url, tmp_path):
    app = create_app(ServiceApiSettings(database_url=db_url, webhook_poll_s=0.1,
                                        webhook_max_attempts=3,
                                        attachments_dir=str(tmp_path / "att")))
    with TestClient(app) as c:
        yield Api(c, tokens_for_roles(db_url), db_url)


def _verify(secret: str, headers: dict, body: bytes) -> bool:
    mac = hmac.new(secret.encode(), headers["X-Forewarn-Timestamp"].encode() + b"." + body,
                   hashlib.sha256).hexdigest()
    return hmac.compare_digest("sha256=" + mac, headers["X-Forewarn-Signature"])


def test_webhooks_signed_retried_and_logged(hooked):
    rx = Receiver(fail=1)
    adm = hooked.as_("admin")
    hook = adm.post("/api/v1/webhooks", json={"url": rx.url}).json()
    secret = hook["secret"]
    assert "secret" not in adm.get("/api/v1/webhooks").json()[0]
    adm.put("/api/v1/assets/pump-01", json={})
    oid = hooked.as_("service").post("/api/v1/work-orders", json=order()).json()["id"]
    rx.wait(2)  # the first try got 503, the retry 2 s later went through
    (h1, b1), (h2, b2) = rx.calls[:2]
    assert b1 == b2 and h1["X-Forewarn-Delivery"] == h2["X-Forewarn-Delivery"]
    assert h1["X-Forewarn-Event"] == "order.created" and _verify(secret, h2, b2)
    assert not _verify("wrong-secret-wrong-secret", h2, b2)
    assert json.loads(b2)["data"]["id"] == oid
    hooked.as_("engineer").post(f"/api/v1/work-orders/{oid}/transitions",
                                json={"to": "approved"})
    rx.wait(3)
    h3, b3 = rx.calls[2]
    data = json.loads(b3)["data"]
    assert h3["X-Forewarn-Event"] == "order.status_changed" and _verify(secret, h3, b3)
    assert (data["from_status"], data["status"], data["actor"]) == ("proposed", "approved",
                                                                    "engineer")
    log = adm.get(f"/api/v1/webhooks/{hook['id']}/deliveries").json()
    assert [(d["event"], d["status"], d["attempts"]) for d in log] == [
        ("order.status_changed", "delivered", 1), ("order.created", "delivered", 2)]
    assert log[1]["last_status_code"] == 204


def test_overdue_reported_once_and_dead_endpoints_give_up(hooked):
    rx = Receiver()
    adm = hooked.as_("admin")
    adm.post("/api/v1/webhooks", json={"url": rx.url, "events": ["order.overdue"]})
    dead = adm.post("/api/v1/webhooks", json={"url": "http://127.0.0.1:9/nothing",
                                              "events": ["order.created"]}).json()
    adm.put("/api/v1/assets/pump-01", json={})
    oid = adm.post("/api/v1/work-orders", json=order(
        source="phone", type="corrective", failure_mode="", title="x")).json()["id"]
    tag = adm.get(f"/api/v1/work-orders/{oid}").headers["etag"]
    adm.patch(f"/api/v1/work-orders/{oid}", json={"due_at": "2026-01-01T00:00:00Z"},
              headers={"If-Match": tag})
    rx.wait(1)
    time.sleep(0.5)
    assert len(rx.calls) == 1 and rx.calls[0][0]["X-Forewarn-Event"] == "order.overdue"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        log = adm.get(f"/api/v1/webhooks/{dead['id']}/deliveries").json()
        if log and log[0]["status"] == "failed":
            break
        time.sleep(0.2)
    assert log[0]["status"] == "failed" and log[0]["attempts"] == 3
    assert log[0]["last_error"]
