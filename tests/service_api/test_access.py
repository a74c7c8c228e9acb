"""Access control: every route x every role, hidden commercial fields, tokens, logins,
scopes."""

import re

from fastapi.routing import APIRoute

from service_api.access import RIGHTS, ROLES
from service_api.app import API_PREFIX, ROUTERS
from service_api.bootstrap import add_user, issue_token
from tests.service_api.helpers import order

PUBLIC = {("GET", "/api/v1/livez"), ("POST", "/api/v1/auth/login"),
          # a customer's survey: the signed link is the credential (test_surveys.py)
          ("GET", "/api/v1/surveys/{link}"), ("POST", "/api/v1/surveys/{link}")}
LOGOUT = ("POST", "/api/v1/auth/logout")  # revokes the caller's token: checked on its own
PATH_VALUES = {"asset_id": "pump-01", "order_id": "1", "name": "viewer", "token_id": "999",
               "part_number": "BRG-1", "warehouse": "WH-1", "link": "1.2.abc",
               "case_id": "999",
               "attachment_id": "999", "rule_id": "999", "webhook_id": "999"}


def _required_right(route: APIRoute) -> str | None:
    """The right a route's ``Allowed(...)`` dependency asks for, or None (any token)."""
    stack = list(route.dependant.dependencies)
    while stack:
        dep = stack.pop()
        name = getattr(dep.call, "__name__", "")
        if name.startswith("require_"):
            return next(r for r in RIGHTS if name == f"require_{r.replace('.', '_')}")
        stack.extend(dep.dependencies)
    return None


def _routes():
    for router in ROUTERS:
        for route in router.routes:
            assert isinstance(route, APIRoute)
            template = API_PREFIX + route.path
            for method in route.methods:
                path = re.sub(r"{(\w+)}", lambda m: PATH_VALUES[m.group(1)], template)
                yield method, template, path, _required_right(route)


def test_every_route_for_every_role(api):
    api.as_("admin").put("/api/v1/assets/pump-01", json={})
    api.as_("service").post("/api/v1/work-orders", json=order())
    routes = list(_routes())
    assert len(routes) >= 25
    checked = 0
    for method, template, path, right in routes:
        if (method, template) in PUBLIC or (method, template) == LOGOUT:
            continue
        r = api.anonymous().request(method, path, json={})
        assert r.status_code == 401, (method, template, r.status_code)
        assert r.headers["www-authenticate"].startswith("Bearer")
        for role in ROLES:
            r = api.as_(role).request(method, path, json={})
            if right is not None and role not in RIGHTS[right]:
                assert r.status_code == 403, (method, template, role, r.status_code, r.text)
                assert right in r.json()["detail"]
            else:
                assert r.status_code not in (401, 403), (method, template, role, r.text)
                assert r.status_code < 500, (method, template, role, r.text)
            checked += 1
    assert checked >= 25 * len(ROLES)


def test_transitions_need_the_right_for_their_target(api):
    api.as_("admin").put("/api/v1/assets/pump-01", json={})
    oid = api.as_("service").post("/api/v1/work-orders", json=order()).json()["id"]
    for role in ("viewer", "technician", "service"):
        r = api.as_(role).post(f"/api/v1/work-orders/{oid}/transitions", json={"to": "approved"})
        assert r.status_code == 403 and "orders.review" in r.json()["detail"], role
    assert api.as_("engineer").post(f"/api/v1/work-orders/{oid}/transitions",
                                    json={"to": "approved"}).status_code == 200
    r = api.as_("engineer").post(f"/api/v1/work-orders/{oid}/transitions",
                                 json={"to": "scheduled"})
    assert r.status_code == 403 and "orders.plan" in r.json()["detail"]
    assert api.as_("planner").post(f"/api/v1/work-orders/{oid}/transitions",
                                   json={"to": "scheduled"}).status_code == 200
    r = api.as_("technician").patch(f"/api/v1/work-orders/{oid}", json={"assignee": "me"})
    assert r.status_code == 403


COMMERCIAL = {"customer", "purchase_contract", "service_contract", "warranty_start",
              "warranty_end", "warranty_status", "billing_basis"}


def test_commercial_fields_are_not_sent_to_roles_without_the_right(api):
    api.as_("planner").put("/api/v1/assets/pump-01", json={
        "customer": "ACME Water", "service_contract": "SC-77", "warranty_end": "2030-01-01"})
    api.as_("service").post("/api/v1/work-orders", json=order())
    for role in ROLES:
        c = api.as_(role)
        bodies = [c.get("/api/v1/assets").text, c.get("/api/v1/assets/pump-01").text,
                  c.get("/api/v1/work-orders").text, c.get("/api/v1/work-orders/1").text]
        sees = role in RIGHTS["commercial"]
        assert ("ACME Water" in bodies[0]) == ("ACME Water" in bodies[1]) == sees, role
        for text in bodies:
            assert any(f'"{field}"' in text for field in COMMERCIAL) == sees, (role, text)
    # and they may not write them either
    r = api.as_("engineer").put("/api/v1/assets/pump-01", json={"customer": "x"})
    assert r.status_code in (403, 422)


def test_ingester_registers_assets_but_never_overwrites_what_a_planner_typed(api):
    api.as_("planner").put("/api/v1/assets/pump-01", json={"name": "Feed pump",
                                                          "equipment_class": "pump"})
    r = api.as_("service").put("/api/v1/assets/pump-01", json={"name": "pump-01",
                                                              "gateway": "gw-1"})
    assert r.status_code == 200
    a = api.as_("viewer").get("/api/v1/assets/pump-01").json()
    assert a["name"] == "Feed pump" and a["gateway"] == "gw-1"  # empty field filled


def test_tokens_expire_and_can_be_revoked(api):
    c = api.as_("admin")
    r = c.post("/api/v1/users/viewer/tokens", json={"label": "kiosk", "expires_in_days": 1})
    assert r.status_code == 201
    token, tid = r.json()["token"], r.json()["token_id"]
    h = {"Authorization": f"Bearer {token}"}
    assert api.anonymous().get("/api/v1/auth/me", headers=h).json()["role"] == "viewer"
    assert c.delete(f"/api/v1/tokens/{tid}").status_code == 204
    assert api.anonymous().get("/api/v1/auth/me", headers=h).status_code == 401
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import create_engine, text

    expired = issue_token(api.url, "viewer", days=1)
    engine = create_engine(api.url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE api_tokens SET expires_at = :t WHERE label = '' AND "
                          "revoked_at IS NULL AND expires_at IS NOT NULL"),
                     {"t": datetime.now(UTC) - timedelta(seconds=1)})
    engine.dispose()
    r = api.anonymous().get("/api/v1/auth/me", headers={"Authorization": f"Bearer {expired}"})
    assert r.status_code == 401 and "expired" in r.json()["detail"]
    assert api.anonymous().get("/api/v1/auth/me", headers={
        "Authorization": "Bearer fw_forged"}).status_code == 401
    # logging out revokes the token it was sent with, and only that one
    kiosk = c.post("/api/v1/users/viewer/tokens", json={}).json()["token"]
    h = {"Authorization": f"Bearer {kiosk}"}
    assert api.anonymous().post("/api/v1/auth/logout", headers=h).status_code == 204
    assert api.anonymous().get("/api/v1/auth/me", headers=h).status_code == 401
    assert api.as_("viewer").get("/api/v1/auth/me").status_code == 200
    assert api.anonymous().get("/api/v1/auth/me", headers={
        "Authorization": "Basic dXNlcjpwdw=="}).status_code == 401


def test_login_and_its_rate_limit(api):
    anon = api.anonymous()
    r = anon.post("/api/v1/auth/login", json={"name": "engineer",
                                              "password": "engineer-password"})
    assert r.status_code == 200 and r.json()["role"] == "engineer"
    assert r.json()["expires_at"] is not None
    h = {"Authorization": f"Bearer {r.json()['token']}"}
    assert anon.get("/api/v1/auth/me", headers=h).json()["name"] == "engineer"
    for _ in range(5):
        assert anon.post("/api/v1/auth/login", json={"name": "planner", "password": "wrong"}
                         ).status_code == 401
    r = anon.post("/api/v1/auth/login", json={"name": "planner", "password": "planner-password"})
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    # the count lives in the database: a second API process on it refuses too
    from fastapi.testclient import TestClient

    from service_api.app import create_app
    from service_api.settings import ServiceApiSettings

    with TestClient(create_app(ServiceApiSettings(database_url=api.url))) as other:
        r = other.post("/api/v1/auth/login", json={"name": "planner",
                                                   "password": "planner-password"})
        assert r.status_code == 429


def test_scope_limits_what_a_user_sees(api):
    c = api.as_("planner")
    c.put("/api/v1/assets/a1", json={"site": "plant-a"})
    c.put("/api/v1/assets/b1", json={"site": "plant-b"})
    add_user(api.url, "viewer-a", "viewer", scope="plant-a")
    h = {"Authorization": f"Bearer {issue_token(api.url, 'viewer-a')}"}
    anon = api.anonymous()
    assert [a["id"] for a in anon.get("/api/v1/assets", headers=h).json()["items"]] == ["a1"]
    assert anon.get("/api/v1/assets/b1", headers=h).status_code == 404
    assert anon.get("/api/v1/assets/a1", headers=h).status_code == 200
