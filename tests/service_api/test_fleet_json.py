"""On SQLite the fleet view's JSON is written by SQLite itself; it must say exactly what
the general path (rows through Python, used on PostgreSQL) says."""

from datetime import UTC, date, datetime, timedelta

import orjson
import pytest
from sqlalchemy import select

from service_api.access import Principal
from service_api.crud import assets as crud
from service_api.db import make_engine, migrate, session_factory
from service_api.paging import PageParams
from service_api.schemas import AssetFilter, AssetWrite
from service_api.tables import Asset, WorkOrder


def _norm(items: list[dict]) -> list[dict]:
    out = []
    for item in items:
        item = dict(item)
        for k in ("created_at", "scored_at", "state_at", "gateway_state_at"):
            if item.get(k):
                item[k] = datetime.fromisoformat(item[k]).astimezone(UTC)
        out.append(item)
    return out


@pytest.mark.parametrize("role", ["planner", "viewer"])
def test_sqlite_written_json_equals_the_general_path(tmp_path, role):
    url = f"sqlite:///{tmp_path / 'a.sqlite'}"
    migrate(url)
    engine = make_engine(url)
    admin = Principal("admin", "admin")
    today = date.today()
    with session_factory(engine)() as db:
        for i, (start, end) in enumerate([
                (None, None), (today, today), (today + timedelta(days=1), None),
                (None, today - timedelta(days=1)), (today - timedelta(days=9), today),
                (None, today + timedelta(days=3))]):
            crud.upsert_asset(db, f"a{i}", AssetWrite(
                name=f"Asset 'x' \"{i}\" é", site="s", customer="ACME", warranty_start=start,
                warranty_end=end, criticality=1 + i % 5), admin)
        db.flush()
        db.get(Asset, "a1").risk, db.get(Asset, "a1").scored_at = 0.25, datetime.now(UTC)
        db.get(Asset, "a1").latest_detail = {"rul": 12.5, "top_signal": "vib", "x": [1, None]}
        db.get(Asset, "a2").risk = 1.0
        db.get(Asset, "a2").gateway_online = False
        db.get(Asset, "a3").gateway_online = True
        db.get(Asset, "a3").gateway_state_at = datetime.now(UTC)
        db.add(WorkOrder(asset_id="a1", type="corrective", priority="low", status="approved",
                         title="t"))
        db.add(WorkOrder(asset_id="a1", type="corrective", priority="low", status="closed",
                         title="t"))
        db.commit()
        principal = Principal(role, role)
        page = PageParams(limit=10, offset=0, sort=None)
        fast, total = crud.list_assets(db, principal, page, AssetFilter())
        q = crud.order_by(crud.in_scope(select(*[
            c for c in Asset.__table__.c
            if principal.can("commercial") or c.name not in crud.schemas.COMMERCIAL_ASSET_FIELDS
        ]), principal), None, crud.SORTABLE, "-risk,id")
        general = crud._rows(db, q.limit(10), principal.can("commercial"))
    engine.dispose()
    assert total == 6
    got = _norm(orjson.loads(fast))
    want = _norm(orjson.loads(orjson.dumps(general, option=orjson.OPT_NAIVE_UTC)))
    assert [a["id"] for a in got] == ["a2", "a1", "a0", "a3", "a4", "a5"]
    assert got == want
    if role == "planner":
        assert [a["warranty_status"] for a in sorted(got, key=lambda a: a["id"])] == [
            "unknown", "in_warranty", "not_started", "expired", "in_warranty", "in_warranty"]
    else:
        assert "customer" not in got[0] and "warranty_status" not in got[0]
