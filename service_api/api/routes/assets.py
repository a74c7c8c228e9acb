from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Query, Request, Response

from contracts.api_bodies import Moment
from contracts.ids import check_id
from contracts.times import epoch_ns

from ... import schemas
from ...crud import assets as crud
from ...crud import health as health_crud
from ...paging import Page, PageParams, fast_json, page_params
from ...problems import Problem, Unprocessable
from ...telemetry import (
    NS,
    TelemetryNotConfigured,
    TelemetryUnavailable,
    from_ns,
    step_ns,
)
from ..deps import Allowed, IfMatchDep, Key, SessionDep, SettingsDep, etag
from ..json_body import json_body, request_body

router = APIRouter(prefix="/assets", tags=["assets"])
AssetOut = schemas.AssetCommercial | schemas.AssetPublic
Paging = Annotated[PageParams, Depends(page_params)]
Filter = Annotated[schemas.AssetFilter, Query()]


@router.get("", response_model=Page[AssetOut])
def list_assets(db: SessionDep, who: Allowed("read"), page: Paging, f: Filter):
    """The fleet view: assets with their latest risk and open orders, ranked by risk
    (highest first) unless ``sort`` says otherwise; up to 10,000 in one request."""
    items, total = crud.list_assets(db, who, page, f)
    return fast_json({"items": orjson.Fragment(items), "total": total, "limit": page.limit,
                      "offset": page.offset})


@router.get("/{asset_id}", response_model=AssetOut)
def get_asset(db: SessionDep, who: Allowed("read"), asset_id: Key, response: Response):
    asset = crud.get_asset(db, asset_id, who)
    response.headers["ETag"] = etag(asset.version)
    return crud.public(asset, who, crud.open_orders_by_asset(db, [asset_id]).get(asset_id, 0))


@router.put("/{asset_id}", response_model=AssetOut,
            responses={201: {"description": "the asset was registered"}})
def upsert_asset(db: SessionDep, who: Allowed("assets.register"), data: schemas.AssetWrite,
                 asset_id: Key, response: Response, version: IfMatchDep):
    """Register the asset, or update the fields given (``If-Match`` guards the update)."""
    asset, created = crud.upsert_asset(db, asset_id, data, who, version)
    db.commit()
    response.status_code = 201 if created else 200
    response.headers["ETag"] = etag(asset.version)
    return crud.public(asset, who)


@router.post("/import", response_model=schemas.ImportReport, openapi_extra={
    "requestBody": {"required": True, "content": {"text/csv": {"schema": {"type": "string"}}}}})
async def import_assets(request: Request, db: SessionDep, who: Allowed("assets.write")):
    """Create or update assets from a CSV file (header row: ``id`` and any field of the
    asset record). Bad rows are reported by line number; the good ones are stored."""
    raw = await request.body()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Unprocessable(f"the CSV is not UTF-8 (byte {exc.start}); save it as UTF-8"
                            ) from exc
    report = crud.import_csv(db, text, who)
    db.commit()
    return report


def _one(db, who, settings, asset_id: str, data, record_type, add) -> schemas.BatchReport:
    """A single score or event: refused whole (404, 422) where a batch would reject it."""
    crud.get_asset(db, asset_id, who)
    report = add(db, [record_type(asset_id=asset_id, **data.model_dump())], who,
                 timedelta(seconds=settings.max_future_s))
    if report.rejected:  # the batch's reason (a time from the future), as a 422
        raise Unprocessable(report.rejected[0].reason)
    db.commit()
    return report


@router.post("/{asset_id}/health", response_model=schemas.BatchReport, status_code=201)
def add_health(db: SessionDep, who: Allowed("health.write"), settings: SettingsDep,
               data: schemas.HealthCreate, asset_id: Key):
    """One health score; one already stored for the same time is not stored again."""
    return _one(db, who, settings, asset_id, data, schemas.HealthRecord,
                health_crud.add_scores)


@router.get("/{asset_id}/health", response_model=schemas.HealthHistory)
def health_history(db: SessionDep, who: Allowed("read"), asset_id: Key,
                   since: Moment | None = None, until: Moment | None = None,
                   max_points: int = Query(default=500, ge=1, le=10_000)):
    """Scores in [since, until), downsampled to at most ``max_points`` (each point the
    highest risk of its slice, with the mean and count)."""
    return health_crud.history(db, asset_id, who, since, until, max_points)


@router.post("/{asset_id}/events", response_model=schemas.BatchReport, status_code=201)
def add_event(db: SessionDep, who: Allowed("events.write"), settings: SettingsDep,
              data: schemas.EventCreate, asset_id: Key):
    """One event; one already stored (same time, kind and signal) is not stored again."""
    return _one(db, who, settings, asset_id, data, schemas.EventRecord,
                health_crud.add_events)


@router.get("/{asset_id}/events", response_model=list[schemas.EventPublic])
def list_events(db: SessionDep, who: Allowed("read"), asset_id: Key,
                since: Moment | None = None, until: Moment | None = None,
                kind: str | None = Query(default=None, max_length=32),
                limit: int = Query(default=1000, ge=1, le=10_000)):
    """The asset's events in [since, until), oldest first (the newest ``limit``)."""
    return health_crud.list_events(db, asset_id, who, since, until, kind, limit)


def _telemetry_range(since: datetime | None, until: datetime | None
                     ) -> tuple[datetime, datetime]:
    until = until or datetime.now(UTC)
    since = since or until - timedelta(hours=24)
    if since >= until:
        raise Unprocessable(f"since ({since.isoformat()}) must be before until "
                            f"({until.isoformat()})")
    return since, until


def _reader(request: Request):
    reader = request.app.state.telemetry
    if isinstance(reader, TelemetryNotConfigured):
        raise Problem(str(reader), status=503, slug="telemetry-not-configured",
                      title="No telemetry store configured")
    return reader


def _read(call, *args):
    try:
        return call(*args)
    except TelemetryUnavailable as exc:
        raise Problem(str(exc), status=502, slug="telemetry-unavailable",
                      title="The telemetry store cannot be read") from exc


@router.get("/{asset_id}/signals", response_model=schemas.SignalList, responses={
    502: {"description": "the telemetry store cannot be read"},
    503: {"description": "the API has no telemetry store configured"}})
def list_signals(request: Request, db: SessionDep, who: Allowed("read"), asset_id: Key,
                 since: Moment | None = None, until: Moment | None = None):
    """The sensor signals with values in [since, until) (default: the last 24 hours), read
    from the ingester's time-series store."""
    crud.get_asset(db, asset_id, who)
    since, until = _telemetry_range(since, until)
    names = _read(_reader(request).signals, asset_id, epoch_ns(since), epoch_ns(until))
    return schemas.SignalList(asset_id=asset_id, since=since, until=until, signals=names)


@router.get("/{asset_id}/telemetry", response_model=schemas.TelemetryHistory, responses={
    502: {"description": "the telemetry store cannot be read"},
    503: {"description": "the API has no telemetry store configured"}})
def telemetry(request: Request, db: SessionDep, who: Allowed("read"), asset_id: Key,
              signal: Annotated[list[str], Query(max_length=16)],
              since: Moment | None = None, until: Moment | None = None,
              max_points: int = Query(default=500, ge=10, le=5000)):
    """Sensor trends: each ``signal`` (repeat the parameter, up to 16) in [since, until)
    (default: the last 24 hours), at most ``max_points`` points each. A series with more
    values is downsampled into equal buckets of ``step_s`` whole seconds, each with its
    lowest, highest and mean value and count, so a spike is never averaged away."""
    for name in signal:
        try:
            check_id(name)
        except ValueError as exc:
            raise Unprocessable(f"signal: {exc}") from exc
    crud.get_asset(db, asset_id, who)
    since, until = _telemetry_range(since, until)
    reader, t0, t1 = _reader(request), epoch_ns(since), epoch_ns(until)
    series = []
    for name in dict.fromkeys(signal):
        buckets, downsampled = _read(reader.series, asset_id, name, t0, t1, max_points)
        series.append(schemas.TelemetrySeries(signal=name, downsampled=downsampled, points=[
            schemas.TelemetryBucket(ts=from_ns(b.t_ns), min=b.min, max=b.max, mean=b.mean,
                                    n=b.n) for b in buckets]))
    return schemas.TelemetryHistory(asset_id=asset_id, since=since, until=until,
                                     step_s=step_ns(t0, t1, max_points) // NS, series=series)


batch_router = APIRouter(tags=["health"])
# batches of thousands of records: read from the bytes by pydantic-core in one pass
HealthBatchBody = json_body(schemas.HealthBatch)
EventBatchBody = json_body(schemas.EventBatch)


@batch_router.post("/health/batch", response_model=schemas.BatchReport,
                   openapi_extra=request_body(schemas.HealthBatch))
def add_health_batch(db: SessionDep, who: Allowed("health.write"), settings: SettingsDep,
                     data: HealthBatchBody):
    """Scores of many assets in one request (up to 5,000). Idempotent: a record already
    stored (same asset and time) counts as a duplicate; a record for an unknown asset or
    from the future is rejected with its index, and the others are stored."""
    report = health_crud.add_scores(db, data.records, who,
                                    timedelta(seconds=settings.max_future_s))
    db.commit()
    return report


@batch_router.post("/events/batch", response_model=schemas.BatchReport,
                   openapi_extra=request_body(schemas.EventBatch))
def add_event_batch(db: SessionDep, who: Allowed("events.write"), settings: SettingsDep,
                    data: EventBatchBody):
    """Events of many assets (edge anomalies, device and gateway state changes); the same
    rules as ``/health/batch``."""
    report = health_crud.add_events(db, data.records, who,
                                    timedelta(seconds=settings.max_future_s))
    db.commit()
    return report
