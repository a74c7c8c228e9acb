"""The knowledge base on SQLite (FTS5) and PostgreSQL (full text): search, a case made
from a completed order in one step, suggestions ranked by how often a fix worked the
first time, and the outcome of applied cases recorded at completion."""

from __future__ import annotations

import pytest

from tests.service_api.helpers import order

CASES = [
    {"equipment_class": "pump", "failure_mode": "VIB", "title": "Bearing worn",
     "symptoms": "loud grinding noise and high vibration at the drive end",
     "fix": "replace bearing 6205", "parts": ["BRG-6205"]},
    {"equipment_class": "pump", "failure_mode": "VIB", "title": "Misalignment",
     "symptoms": "vibration after an overhaul, coupling hot",
     "fix": "laser-align the coupling"},
    {"equipment_class": "pump", "failure_mode": "ELP", "title": "Seal leak",
     "symptoms": "water dripping at the shaft seal", "fix": "replace the mechanical seal"},
]


@pytest.fixture
def kb(api):
    api.as_("admin").put("/api/v1/assets/pump-01", json={"equipment_class": "pump"})
    ids = []
    for body in CASES:
        r = api.as_("technician").post("/api/v1/knowledge/cases", json=body)
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    return api, ids


def _order(api, mode: str, symptom: str = "", title: str = "Pump fault") -> int:
    return api.as_("admin").post("/api/v1/work-orders", json=order(
        type="corrective", source="phone", failure_mode=mode, risk=None, title=title,
        symptom=symptom)).json()["id"]


def _work(api, oid: int, first_time_fix: bool, case: int | None = None,
          actions: str = "") -> None:
    admin = api.as_("admin")
    admin.post(f"/api/v1/work-orders/{oid}/transitions", json={"to": "in_progress"})
    if case is not None:
        r = api.as_("technician").post(f"/api/v1/work-orders/{oid}/applied-cases",
                                       json={"case_id": case})
        assert r.status_code == 201, r.text
    r = admin.post(f"/api/v1/work-orders/{oid}/transitions", json={
        "to": "completed", "result": "fixed", "first_time_fix": first_time_fix,
        "actions": actions})
    assert r.status_code == 200, r.text


def _search(api, q: str) -> list[str]:
    r = api.as_("viewer").get("/api/v1/knowledge/cases", params={"q": q})
    assert r.status_code == 200, r.text
    return [c["title"] for c in r.json()]


def test_full_text_search_needs_every_word(kb):
    api, _ = kb
    assert _search(api, "grinding") == ["Bearing worn"]
    assert _search(api, "dripping seal") == ["Seal leak"]
    assert sorted(_search(api, "vibration")) == ["Bearing worn", "Misalignment"]
    assert _search(api, "vibration coupling") == ["Misalignment"]
    assert _search(api, "bearing") == ["Bearing worn"]
    assert _search(api, "turbine") == []
    assert _search(api, "'; DROP TABLE fault_cases; --") == []  # words only, no syntax
    r = api.as_("viewer").get("/api/v1/knowledge/cases", params={"failure_mode": "ELP"})
    assert [c["title"] for c in r.json()] == ["Seal leak"]


def test_suggestions_rank_by_first_time_fixes(kb):
    api, (bearing, misalign, seal) = kb
    # the alignment fix worked the first time 4 times in 4: (4 + 1) / (4 + 2) = 0.8333;
    # the bearing once in 1: (1 + 1) / (1 + 2) = 0.6667
    for _ in range(4):
        _work(api, _order(api, "VIB"), True, case=misalign)
    _work(api, _order(api, "VIB"), True, case=bearing)
    oid = _order(api, "VIB", symptom="grinding noise", title="Noisy")
    got = api.as_("engineer").get(f"/api/v1/work-orders/{oid}/suggestions").json()
    assert [(s["case"]["title"], s["first_time_fix_rate"], s["mode_match"]) for s in got] == [
        ("Misalignment", 0.8333, True), ("Bearing worn", 0.6667, True)]
    assert got[1]["relevance"] > 0 == got[0]["relevance"]  # text matched the bearing only
    assert (got[0]["case"]["uses"], got[0]["case"]["first_time_fixes"]) == (4, 4)
    # no failure mode yet: found by the symptom's words alone
    other = _order(api, "", symptom="water dripping under the pump", title="Wet floor")
    got = api.as_("engineer").get(f"/api/v1/work-orders/{other}/suggestions").json()
    assert [(s["case"]["id"], s["mode_match"]) for s in got] == [(seal, False)]
    # a fix that did not work the first time counts against it
    _work(api, oid, False, case=misalign)
    c = api.as_("viewer").get(f"/api/v1/knowledge/cases/{misalign}").json()
    assert (c["uses"], c["first_time_fixes"]) == (5, 4)


def test_a_case_from_a_completed_order_in_one_step(kb):
    api, _ = kb
    oid = _order(api, "ELP", symptom="oil film on the baseplate", title="Oil leak")
    api.as_("admin").post(f"/api/v1/work-orders/{oid}/transitions", json={"to": "in_progress"})
    api.as_("technician").post(f"/api/v1/work-orders/{oid}/parts",
                               json={"part_number": "GSK-9", "quantity": 1})
    jpeg = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(500)
    api.as_("technician").post(f"/api/v1/work-orders/{oid}/attachments?filename=leak.jpg",
                               content=jpeg, headers={"Content-Type": "image/jpeg"})
    r = api.as_("engineer").post(f"/api/v1/work-orders/{oid}/knowledge-case", json={})
    assert r.status_code == 409  # not completed yet
    api.as_("admin").post(f"/api/v1/work-orders/{oid}/transitions", json={
        "to": "completed", "result": "fixed", "first_time_fix": True,
        "actions": "replaced the cover gasket"})
    r = api.as_("engineer").post(f"/api/v1/work-orders/{oid}/knowledge-case",
                                 json={"root_cause": "gasket aged"})
    assert r.status_code == 201, r.text
    c = r.json()
    assert (c["equipment_class"], c["failure_mode"], c["title"], c["symptoms"]) == (
        "pump", "ELP", "Oil leak", "oil film on the baseplate")
    assert (c["fix"], c["root_cause"], c["parts"]) == (
        "replaced the cover gasket", "gasket aged", ["GSK-9"])
    assert len(c["attachments"]) == 1 and c["source_order_id"] == oid
    assert (c["uses"], c["first_time_fixes"]) == (1, 1)
    assert _search(api, "baseplate") == ["Oil leak"]
    again = api.as_("engineer").post(f"/api/v1/work-orders/{oid}/knowledge-case", json={})
    assert again.status_code == 409
    bare = _order(api, "VIB")
    _work(api, bare, True)
    r = api.as_("engineer").post(f"/api/v1/work-orders/{bare}/knowledge-case", json={})
    assert r.status_code == 422 and "what fixed it" in r.json()["detail"]
    assert api.as_("viewer").post("/api/v1/knowledge/cases", json=CASES[0]).status_code == 403


def test_a_case_is_corrected_and_retired(kb):
    api, (bearing, misalign, _) = kb
    tech = api.as_("technician")
    r = api.as_("viewer").get(f"/api/v1/knowledge/cases/{bearing}")
    assert r.headers["ETag"] == '"1"'
    # a correction, searchable at once by its new words (and no longer by the old)
    r = tech.patch(f"/api/v1/knowledge/cases/{bearing}", headers={"If-Match": '"1"'},
                   json={"fix": "replace bearing 6205-2RS and grease the housing"})
    assert r.status_code == 200, r.text
    assert (r.json()["version"], r.json()["updated_by"], r.headers["ETag"]) == (
        2, "technician", '"2"')
    assert _search(api, "grease housing") == ["Bearing worn"]
    # a second edit from the old read is refused
    r = tech.patch(f"/api/v1/knowledge/cases/{bearing}", headers={"If-Match": '"1"'},
                   json={"title": "Bearing"})
    assert r.status_code == 412
    r = tech.patch(f"/api/v1/knowledge/cases/{bearing}", json={"title": None})
    assert r.status_code == 422 and "cannot be null" in r.json()["detail"]
    r = tech.patch(f"/api/v1/knowledge/cases/{bearing}", json={"failure_mode": "NOPE"})
    assert r.status_code == 422 and "code list" in r.json()["detail"]
    # retiring: not for a technician, needs a reason, takes it out of search and
    # suggestions, and is undone by retired: false
    r = tech.patch(f"/api/v1/knowledge/cases/{misalign}", json={"retired": True,
                                                                "retired_reason": "wrong"})
    assert r.status_code == 403
    eng = api.as_("engineer")
    r = eng.patch(f"/api/v1/knowledge/cases/{misalign}", json={"retired": True})
    assert r.status_code == 422 and "retired_reason" in r.json()["detail"]
    r = eng.patch(f"/api/v1/knowledge/cases/{misalign}", json={
        "retired": True, "retired_reason": "superseded by the alignment guide"})
    assert r.status_code == 200 and r.json()["retired_at"] is not None
    assert _search(api, "coupling") == []
    r = api.as_("viewer").get("/api/v1/knowledge/cases",
                              params={"q": "coupling", "include_retired": "true"})
    assert [c["title"] for c in r.json()] == ["Misalignment"]
    oid = _order(api, "VIB", symptom="coupling hot", title="Hot coupling")
    got = eng.get(f"/api/v1/work-orders/{oid}/suggestions").json()
    assert misalign not in [s["case"]["id"] for s in got] and bearing in [
        s["case"]["id"] for s in got]
    r = eng.patch(f"/api/v1/knowledge/cases/{misalign}", json={"retired": False})
    assert (r.json()["retired_at"], r.json()["retired_reason"]) == (None, "")
    assert _search(api, "coupling") == ["Misalignment"]
