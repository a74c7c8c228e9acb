"""Health scores and asset events: batched, idempotent ingestion; history; latest.

A record is identified by (asset, time) for scores and (asset, time, kind, signal) for
events: a retried batch inserts nothing twice (``INSERT ... ON CONFLICT DO NOTHING`` on
SQLite and PostgreSQL). Within a batch each record is judged alone: an unknown asset or a
time too far in the future rejects that record, with its index and reason, and the rest
are stored. An asset's latest risk only moves forward in time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Integer, and_, bindparam, column, func, or_, select, update, values
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from .. import schemas
from ..access import Principal
from ..tables import Asset, AssetEvent, HealthScore, UtcDateTime
from . import assets as asset_crud


def _inserted(db: Session, model, rows: list[dict]) -> int:
    """Insert the rows that are not there yet (same unique key); return how many were."""
    table = model.__table__
    if db.get_bind().dialect.name == "sqlite":
        return _sqlite_inserted(db, table, rows)
    # counted by RETURNING: drivers disagree on executemany's rowcount
    stmt = postgresql.insert(table).on_conflict_do_nothing().returning(table.c.id)
    return len(db.connection().execute(stmt, rows).all())


def _processed(db: Session, table, columns: dict[str, list]) -> list[tuple]:
    """Parameter tuples from equally long columns of values, each converted by its
    column's own bind processor (the stored text is what SQLAlchemy would store), column
    by column so a batch of thousands costs one ``map`` per column."""
    dialect = db.get_bind().dialect
    converted = []
    for name, column_values in columns.items():
        proc = table.c[name].type._cached_bind_processor(dialect)
        converted.append(list(map(proc, column_values)) if proc else column_values)
    return list(zip(*converted, strict=True))


def _sqlite_inserted(db: Session, table, rows: list[dict]) -> int:
    """SQLite: one executemany on the driver connection, with the columns' own bind
    processors (the stored text is what the ORM would store), counted by total_changes."""
    cols = list(rows[0])
    params = _processed(db, table, {k: [r[k] for r in rows] for k in cols})
    raw = db.connection().connection.driver_connection
    before = raw.total_changes
    raw.executemany(f"INSERT OR IGNORE INTO {table.name} ({', '.join(cols)}) "
                    f"VALUES ({', '.join('?' * len(cols))})", params)
    return raw.total_changes - before


# Asset ids known to exist, per database: the API has no way to delete an asset, so an id
# once seen stays valid (a delete endpoint, if one comes, must clear this).
_KNOWN: dict[str, set[str]] = {}


def _judge(db: Session, records: list, principal: Principal, max_future: timedelta
           ) -> tuple[list, list[schemas.RejectedRecord]]:
    ids = {r.asset_id for r in records}
    if principal.scope:
        rows = db.execute(select(Asset.id, Asset.path).where(Asset.id.in_(ids))).all()
        visible = {i for i, path in rows if principal.sees_path(path)}
    else:  # sees every asset: only existence matters, and assets are never deleted
        known = _KNOWN.setdefault(db.get_bind().url.render_as_string(False), set())
        missing = ids - known
        if missing:
            known.update(db.scalars(select(Asset.id).where(Asset.id.in_(missing))))
        visible = known
    limit = datetime.now(UTC) + max_future
    good, rejected = [], []
    for i, r in enumerate(records):
        if r.asset_id not in visible:
            rejected.append(schemas.RejectedRecord(
                index=i, reason=f"asset {r.asset_id!r} is not registered; PUT "
                                f"/api/v1/assets/{r.asset_id} first"))
        elif r.ts > limit:
            rejected.append(schemas.RejectedRecord(
                index=i, reason=f"ts {r.ts.isoformat()} is more than "
                                f"{max_future.total_seconds():g} s ahead of the server's "
                                "clock; check the clock of whoever sent it"))
        else:
            good.append(r)
    return good, rejected


def add_scores(db: Session, records: list[schemas.HealthRecord], principal: Principal,
               max_future: timedelta) -> schemas.BatchReport:
    good, rejected = _judge(db, records, principal, max_future)
    stored = 0
    if good:
        latest: dict[str, int] = {}  # asset -> index in good of its newest record
        for i, r in enumerate(good):
            j = latest.get(r.asset_id)
            if j is None or r.ts >= good[j].ts:
                latest[r.asset_id] = i
        if db.get_bind().dialect.name == "sqlite":
            stored = _sqlite_scores(db, good, list(latest.values()))
        else:
            rows = [{"asset_id": r.asset_id, "ts": r.ts, "risk": r.risk, "detail": r.detail}
                    for r in good]
            stored = _inserted(db, HealthScore, rows)
            db.connection().execute(
                update(Asset.__table__)
                .where(Asset.id == bindparam("aid"),
                       or_(Asset.scored_at.is_(None), Asset.scored_at <= bindparam("ts")))
                .values(risk=bindparam("risk"), scored_at=bindparam("ts"),
                        latest_detail=bindparam("detail")),
                [{**rows[i], "aid": rows[i]["asset_id"]} for i in latest.values()])
    return schemas.BatchReport(stored=stored, duplicates=len(good) - stored,
                               rejected=rejected)


# rows per UPDATE ... FROM (VALUES ...): 4 parameters each, well under SQLite's 32,766
_LATEST_CHUNK = 1000


def _sqlite_scores(db: Session, good: list[schemas.HealthRecord], latest: list[int]) -> int:
    """SQLite: insert the scores with one executemany on the driver connection, then move
    each asset's latest risk forward (never back in time) with one ``UPDATE ... FROM``
    a list of values per thousand assets; each value converted once."""
    params = _processed(db, HealthScore.__table__, {
        "asset_id": [r.asset_id for r in good], "ts": [r.ts for r in good],
        "risk": [r.risk for r in good], "detail": [r.detail for r in good]})
    raw = db.connection().connection.driver_connection
    before = raw.total_changes
    raw.executemany("INSERT OR IGNORE INTO health_scores (asset_id, ts, risk, detail) "
                    "VALUES (?, ?, ?, ?)", params)
    stored = raw.total_changes - before
    for k in range(0, len(latest), _LATEST_CHUNK):
        chunk = [params[i] for i in latest[k:k + _LATEST_CHUNK]]
        raw.execute(
            f"WITH v(id, ts, risk, detail) AS (VALUES {', '.join(['(?, ?, ?, ?)'] * len(chunk))}) "
            "UPDATE assets SET risk = v.risk, scored_at = v.ts, latest_detail = v.detail "
            "FROM v WHERE assets.id = v.id "
            "AND (assets.scored_at IS NULL OR assets.scored_at <= v.ts)",
            [x for p in chunk for x in p])
    return stored


def history(db: Session, asset_id: str, principal: Principal, since: datetime | None,
            until: datetime | None, max_points: int) -> schemas.HealthHistory:
    """The asset's scores in [since, until); at most ``max_points`` points, each the
    highest risk of an equal slice of the range (alarms survive downsampling).

    Downsampling happens in the database: the slices' bounds, exact to the microsecond,
    are joined as a ``VALUES`` list (a CTE) to the scores' (asset, time) index, one range
    scan per slice, so a long range never travels to Python row by row."""
    asset_crud.get_asset(db, asset_id, principal)
    where = [HealthScore.asset_id == asset_id]
    if since is not None:
        where.append(HealthScore.ts >= since)
    if until is not None:
        where.append(HealthScore.ts < until)
    # few enough scores (one more than fit tells): every one as it is, in one query
    rows = db.execute(select(HealthScore.ts, HealthScore.risk).where(*where)
                      .order_by(HealthScore.ts).limit(max_points + 1)).all()
    downsampled = len(rows) > max_points
    if not downsampled:
        points = [schemas.HealthBucket(ts=ts, risk=r, risk_mean=r, n=1) for ts, r in rows]
    else:
        # the range's ends where not given: the first score, and one index seek for the
        # last (no count: that would scan)
        start = since or rows[0][0]
        end = until or db.scalar(select(func.max(HealthScore.ts)).where(*where)) \
            + timedelta(microseconds=1)
        bounds = slice_bounds(start, end - start, max_points)
        slices = values(column("k", Integer), column("lo", UtcDateTime()),
                        column("hi", UtcDateTime()), name="slices").data(
            [(k, bounds[k], bounds[k + 1]) for k in range(max_points)]).cte("slices")
        rows = db.execute(
            select(slices.c.k, func.max(HealthScore.risk), func.avg(HealthScore.risk),
                   func.count())
            .select_from(slices.join(HealthScore, and_(
                HealthScore.asset_id == asset_id, HealthScore.ts >= slices.c.lo,
                HealthScore.ts < slices.c.hi)))
            .group_by(slices.c.k).order_by(slices.c.k)).all()
        points = [schemas.HealthBucket(ts=bounds[k], risk=top, risk_mean=float(mean), n=count)
                  for k, top, mean, count in rows]
    return schemas.HealthHistory(asset_id=asset_id, since=since, until=until,
                                 downsampled=downsampled, points=points)


def slice_bounds(start: datetime, span: timedelta, n: int) -> list[datetime]:
    """The n + 1 bounds of n equal slices of [start, start + span): a time t is in slice
    k when floor((t - start) * n / span) == k, so slice k starts at the first whole
    microsecond not before start + k * span / n.

    >>> t = datetime(2026, 1, 1, tzinfo=UTC)
    >>> [b.second for b in slice_bounds(t, timedelta(seconds=90), 3)]
    [0, 30, 0, 30]
    >>> [b.microsecond for b in slice_bounds(t, timedelta(microseconds=10), 3)]
    [0, 4, 7, 10]
    """
    us = span // timedelta(microseconds=1)
    return [start + timedelta(microseconds=-(-k * us // n)) for k in range(n + 1)]


DEVICE_STATES = frozenset({"running", "stopped", "tripped"})


def add_events(db: Session, records: list[schemas.EventRecord], principal: Principal,
               max_future: timedelta) -> schemas.BatchReport:
    """Store events; a ``device_state`` event whose ``detail.state`` is running, stopped
    or tripped also becomes the asset's state, and a ``gateway_state`` event whose
    ``detail.status`` is online or offline its gateway's (the newest one wins)."""
    good, rejected = _judge(db, records, principal, max_future)
    stored = 0
    if good:
        rows = [r.model_dump() for r in good]
        stored = _inserted(db, AssetEvent, rows)
        states = [{"aid": r.asset_id, "state": r.detail["state"], "ts": r.ts} for r in good
                  if r.kind == "device_state" and r.detail.get("state") in DEVICE_STATES]
        if states:
            db.connection().execute(
                update(Asset.__table__)
                .where(Asset.id == bindparam("aid"),
                       or_(Asset.state_at.is_(None), Asset.state_at <= bindparam("ts")))
                .values(state=bindparam("state"), state_at=bindparam("ts")), states)
        gateways = [{"aid": r.asset_id, "online": r.detail["status"] == "online", "ts": r.ts}
                    for r in good if r.kind == "gateway_state"
                    and r.detail.get("status") in ("online", "offline")]
        if gateways:
            db.connection().execute(
                update(Asset.__table__)
                .where(Asset.id == bindparam("aid"),
                       or_(Asset.gateway_state_at.is_(None),
                           Asset.gateway_state_at <= bindparam("ts")))
                .values(gateway_online=bindparam("online"), gateway_state_at=bindparam("ts")),
                gateways)
    return schemas.BatchReport(stored=stored, duplicates=len(good) - stored,
                               rejected=rejected)


def list_events(db: Session, asset_id: str, principal: Principal, since: datetime | None,
                until: datetime | None, kind: str | None, limit: int) -> list[AssetEvent]:
    asset_crud.get_asset(db, asset_id, principal)
    q = select(AssetEvent).where(AssetEvent.asset_id == asset_id)
    if since is not None:
        q = q.where(AssetEvent.ts >= since)
    if until is not None:
        q = q.where(AssetEvent.ts < until)
    if kind is not None:
        q = q.where(AssetEvent.kind == kind)
    return list(db.scalars(q.order_by(AssetEvent.ts.desc()).limit(limit)))[::-1]
