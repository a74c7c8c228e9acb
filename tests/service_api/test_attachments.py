"""Order attachments: stored on disk under server-made names, size and type limits,
signatures checked, traversal impossible (SQLite and PostgreSQL)."""

from pathlib import Path

from fastapi.testclient import TestClient

from service_api.app import create_app
from service_api.settings import ServiceApiSettings
from tests.service_api.helpers import order

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 40


def _order(api) -> int:
    api.as_("admin").put("/api/v1/assets/pump-01", json={})
    oid = api.as_("planner").post("/api/v1/work-orders", json=order(
        source="phone", type="corrective", failure_mode="", title="Leak")).json()["id"]
    assert api.as_("technician").post(f"/api/v1/work-orders/{oid}/transitions",
                                      json={"to": "in_progress"}).status_code == 200
    return oid


def _upload(caller, oid, data, ctype="image/jpeg", name="photo.jpg"):
    return caller.post(f"/api/v1/work-orders/{oid}/attachments", params={"filename": name},
                       content=data, headers={"Content-Type": ctype})


def test_photo_round_trip_with_traversal_names(api, tmp_path):
    oid = _order(api)
    t = api.as_("technician")
    r = _upload(t, oid, JPEG, name="../../../etc/passwd\x01.jpg")
    assert r.status_code == 201, r.text
    a = r.json()
    assert a["filename"] == "passwd.jpg" and a["size"] == len(JPEG) and a["uploaded_by"] == \
        "technician"
    stored = list((tmp_path / "attachments").rglob("*"))
    files = [p for p in stored if p.is_file()]
    assert len(files) == 1 and files[0].parent == tmp_path / "attachments" / str(oid)
    assert files[0].read_bytes() == JPEG and "passwd" not in files[0].name
    got = api.as_("viewer").get(f"/api/v1/attachments/{a['id']}")
    assert got.status_code == 200 and got.content == JPEG
    assert got.headers["content-type"] == "image/jpeg"
    assert got.headers["x-content-type-options"] == "nosniff"
    assert "attachment" in got.headers["content-disposition"]
    assert [x["id"] for x in api.as_("viewer").get(
        f"/api/v1/work-orders/{oid}/attachments").json()] == [a["id"]]
    trail = api.as_("viewer").get(f"/api/v1/work-orders/{oid}/events").json()
    assert trail[-1]["action"] == "attachment"
    for path in ("/api/v1/attachments/..%2F..%2Fetc%2Fpasswd", "/api/v1/attachments/0",
                 "/api/v1/attachments/1%00", "/api/v1/attachments/99"):
        assert api.as_("viewer").get(path).status_code in (404, 422), path


def test_types_signatures_and_limits(api):
    oid = _order(api)
    t = api.as_("technician")
    assert _upload(t, oid, b"#!/bin/sh\nrm -rf /\n", "application/x-sh").status_code == 415
    assert _upload(t, oid, b"<script>alert(1)</script>", "image/jpeg").status_code == 415
    assert _upload(t, oid, b"", "image/png").status_code == 422
    assert _upload(t, oid, b"%PDF-1.7\n...", "application/pdf", "report.pdf").status_code == 201
    assert _upload(api.as_("viewer"), oid, JPEG).status_code == 403
    # bigger than the JSON limit is fine for a photo...
    big = JPEG + b"\x00" * 2_000_000
    assert _upload(t, oid, big).status_code == 201
    # ...up to max_attachment_bytes
    huge = JPEG + b"\x00" * (10 * 1024 * 1024)
    r = _upload(t, oid, huge)
    assert r.status_code == 413 and r.headers["content-type"] == "application/problem+json"


def test_configured_limit_and_closed_orders(db_url, tmp_path):
    from tests.service_api.conftest import Api, tokens_for_roles

    app = create_app(ServiceApiSettings(database_url=db_url, max_attachment_bytes=4096,
                                        attachments_dir=str(tmp_path / "att")))
    with TestClient(app) as c:
        api = Api(c, tokens_for_roles(db_url), db_url)
        oid = _order(api)
        t = api.as_("technician")
        assert _upload(t, oid, JPEG[:4000]).status_code == 201
        assert _upload(t, oid, JPEG[:5000]).status_code == 413
        t.post(f"/api/v1/work-orders/{oid}/transitions",
               json={"to": "completed", "result": "fixed", "first_time_fix": True})
        api.as_("engineer").post(f"/api/v1/work-orders/{oid}/transitions", json={"to": "closed"})
        assert _upload(t, oid, JPEG[:100]).status_code == 409
    assert not any(p.name.endswith(".tmp") for p in Path(tmp_path / "att").rglob("*"))
