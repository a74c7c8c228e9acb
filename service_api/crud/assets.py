"""Assets: the hierarchy, the record, warranty status, the fleet view, CSV import."""

from __future__ import annotations

import csv
import io
from datetime import date

import orjson
from sqlalchemy import (
    Boolean,
    DateTime,
    Select,
    String,
    and_,
    case,
    func,
    literal,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from contracts.ids import check_id

from .. import schemas
from ..access import Principal
from ..paging import PageParams, order_by
from ..problems import Conflict, NotFound, Unprocessable, check_version
from ..tables import Asset, UtcDateTime, WorkOrder
from ..workflow import OPEN

SORTABLE = {"id": Asset.id, "risk": Asset.risk, "scored_at": Asset.scored_at,
            "criticality": Asset.criticality, "name": Asset.name, "path": Asset.path,
            "created_at": Asset.created_at}


# what an explicit null sets a field to (text fields: "")
CLEARED = {"criticality": 3, "serial_number": None, "warranty_start": None,
           "warranty_end": None}


def warranty_status(start: date | None, end: date | None, on: date) -> str:
    """``in_warranty`` from the start to the end date inclusive; never typed by hand.

    >>> d = date(2026, 1, 1)
    >>> [warranty_status(d, date(2026, 12, 31), x) for x in (date(2025, 12, 31), d,
    ...  date(2026, 12, 31), date(2027, 1, 1))]
    ['not_started', 'in_warranty', 'in_warranty', 'expired']
    >>> warranty_status(None, None, d)
    'unknown'
    """
    if end is None:
        return "unknown" if start is None or on >= start else "not_started"
    if start is not None and on < start:
        return "not_started"
    return "in_warranty" if on <= end else "expired"


def billing_basis(asset: Asset, on: date) -> str:
    if warranty_status(asset.warranty_start, asset.warranty_end, on) == "in_warranty":
        return "warranty"
    return "service_contract" if asset.service_contract else "billable"


def asset_path(site: str, area: str, line: str, asset_id: str) -> str:
    return "/".join(p for p in (site, area, line, asset_id) if p)


def in_scope(q: Select, principal: Principal) -> Select:
    if not principal.scope:
        return q
    return q.where(or_(Asset.path == principal.scope,
                       Asset.path.startswith(principal.scope + "/", autoescape=True)))


def open_orders_by_asset(db: Session, asset_ids: list[str] | None = None) -> dict[str, int]:
    q = select(WorkOrder.asset_id, func.count()).where(WorkOrder.status.in_(OPEN))
    if asset_ids is not None:
        q = q.where(WorkOrder.asset_id.in_(asset_ids))
    return dict(db.execute(q.group_by(WorkOrder.asset_id)).all())  # type: ignore[arg-type]


def public(asset: Asset, principal: Principal, open_orders: int = 0,
           today: date | None = None) -> schemas.AssetPublic:
    """The asset as this principal may see it: commercial fields only with that right."""
    if principal.can("commercial"):
        out = schemas.AssetCommercial.model_validate(asset)
        status = warranty_status(asset.warranty_start, asset.warranty_end,
                                 today or date.today())
        return out.model_copy(update={"open_work_orders": open_orders,
                                      "warranty_status": status})
    return schemas.AssetPublic.model_validate(asset).model_copy(
        update={"open_work_orders": open_orders})


def list_assets(db: Session, principal: Principal, page: PageParams,
                f: schemas.AssetFilter) -> tuple[bytes, int]:
    """The fleet view: the page's items as JSON (no ORM objects, no per-row model
    validation: 10,000 assets in one request) with the fields this principal may see, and
    the total."""
    commercial = principal.can("commercial")
    table = Asset.__table__
    # datetimes come back naive (UTC, as stored) and are written with an offset by
    # paging.fast_json: no per-row timezone conversion
    cols = [type_coerce(c, DateTime()).label(c.name) if isinstance(c.type, UtcDateTime)
            else c for c in table.c
            if commercial or c.name not in schemas.COMMERCIAL_ASSET_FIELDS]
    q = in_scope(select(*cols), principal)
    for col, value in ((Asset.site, f.site), (Asset.region, f.region),
                       (Asset.equipment_class, f.equipment_class), (Asset.gateway, f.gateway)):
        if value is not None:
            q = q.where(col == value)
    if f.min_risk is not None:
        q = q.where(Asset.risk >= f.min_risk)
    if f.path is not None:
        q = q.where(or_(Asset.path == f.path, Asset.path.startswith(f.path + "/",
                                                                    autoescape=True)))
    q = order_by(q, page.sort, SORTABLE, "-risk,id")
    total = db.scalar(select(func.count()).select_from(q.order_by(None).subquery())) or 0
    if db.get_bind().dialect.name == "sqlite":
        return _sqlite_json(db, q.limit(page.limit).offset(page.offset), commercial), total
    return orjson.dumps(_rows(db, q.limit(page.limit).offset(page.offset), commercial),
                        option=orjson.OPT_NAIVE_UTC), total


def _rows(db: Session, q: Select, commercial: bool) -> list[dict]:
    result = db.execute(q)
    keys = list(result.keys())
    rows = [dict(zip(keys, r, strict=True)) for r in result.all()]
    counts = open_orders_by_asset(db) if rows else {}
    today = date.today()
    for r in rows:
        r["open_work_orders"] = counts.get(r["id"], 0)
        if commercial:
            r["warranty_status"] = warranty_status(r["warranty_start"], r["warranty_end"],
                                                   today)
    return rows


def _sqlite_json(db: Session, q: Select, commercial: bool) -> bytes:
    """SQLite writes the page's JSON itself (json_object per row, in the page's order):
    no Python object per value. The same fields and values as ``_rows`` (a test compares
    the two); times as ISO 8601 UTC, the latest score's detail embedded as JSON."""
    p = q.subquery()
    pairs = []
    for c in p.c:
        value = c
        if c.name.endswith("_at"):  # stored "YYYY-MM-DD hh:mm:ss.ffffff"
            value = func.replace(type_coerce(c, String()), " ", "T").op("||")("+00:00")
        elif isinstance(Asset.__table__.c[c.name].type, Boolean):  # stored 0/1
            value = case((c.is_(None), None), (c == 1, func.json("true")),
                         else_=func.json("false"))
        elif c.name == "latest_detail":
            value = func.json(type_coerce(c, String()))
        pairs += [literal(c.name), value]
    orders = (select(func.count()).select_from(WorkOrder)
              .where(WorkOrder.asset_id == p.c.id, WorkOrder.status.in_(OPEN))
              .scalar_subquery())
    pairs += [literal("open_work_orders"), orders]
    if commercial:
        today = date.today().isoformat()
        start, end = p.c.warranty_start, p.c.warranty_end
        status = case(  # warranty_status() in SQL; a test keeps the two equal
            (and_(end.is_(None), or_(start.is_(None), literal(today) >= start)), "unknown"),
            (end.is_(None), "not_started"),
            (and_(start.is_not(None), literal(today) < start), "not_started"),
            (literal(today) <= end, "in_warranty"), else_="expired")
        pairs += [literal("warranty_status"), status]
    text = db.execute(select(func.json_group_array(func.json_object(*pairs)))
                      .select_from(p)).scalar()
    return (text or "[]").encode()


def get_asset(db: Session, asset_id: str, principal: Principal | None = None) -> Asset:
    asset = db.get(Asset, asset_id)
    if asset is None or (principal is not None and not principal.sees_path(asset.path)):
        raise NotFound(f"asset {asset_id!r} is not registered; PUT /api/v1/assets/{asset_id} "
                       "first")
    return asset


def upsert_asset(db: Session, asset_id: str, data: schemas.AssetWrite,
                 principal: Principal, if_match: int | None = None) -> tuple[Asset, bool]:
    """Create the asset or update the fields given; return (asset, created).

    A caller with only the ``assets.register`` right (an ingester) may create an asset
    and fill its empty operational fields, never overwrite what a planner typed.
    """
    fields = data.model_dump(exclude_unset=True)
    full = principal.can("assets.write")
    commercial = set(fields) & schemas.COMMERCIAL_ASSET_FIELDS
    if commercial and not principal.can("commercial"):
        raise Unprocessable(f"role {principal.role!r} may not set {sorted(commercial)}")
    asset = db.get(Asset, asset_id)
    created = asset is None
    if asset is None:
        asset = Asset(id=asset_id)
        db.add(asset)
    elif not principal.sees_path(asset.path):
        raise NotFound(f"asset {asset_id!r} is not registered")
    else:
        check_version(f"asset {asset_id}", asset.version, if_match)
    for k, v in fields.items():
        if full or created or not getattr(asset, k):
            setattr(asset, k, v if v is not None else CLEARED.get(k, ""))  # null clears
    if asset.warranty_start and asset.warranty_end and asset.warranty_end < asset.warranty_start:
        raise Unprocessable("warranty_end is before warranty_start")
    asset.path = asset_path(asset.site or "", asset.area or "", asset.line or "", asset_id)
    if principal.scope and not principal.sees_path(asset.path):
        raise Unprocessable(f"asset path {asset.path!r} is outside your scope "
                            f"{principal.scope!r}")
    try:
        db.flush()
    except IntegrityError as exc:  # the caller's session rolls back
        raise Conflict(f"serial number {data.serial_number!r} belongs to another asset"
                       ) from exc
    return asset, created


CSV_COLUMNS = ["id", *schemas.AssetWrite.model_fields]


def import_csv(db: Session, text: str, principal: Principal) -> schemas.ImportReport:
    """Create or update assets from CSV rows (header: ``id`` and any AssetWrite field).

    Every row is checked; a bad row is reported with its line number and skipped, the
    good ones are stored.
    """
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        fieldnames = reader.fieldnames
    except csv.Error as exc:
        raise Unprocessable(f"the CSV header cannot be read: {exc}") from exc
    if not fieldnames or "id" not in fieldnames:
        raise Unprocessable(f"the CSV needs a header row with an 'id' column; columns "
                            f"understood: {', '.join(CSV_COLUMNS)}")
    unknown = [c for c in fieldnames if c not in CSV_COLUMNS]
    if unknown:
        raise Unprocessable(f"unknown CSV columns {unknown}; columns understood: "
                            f"{', '.join(CSV_COLUMNS)}")
    report = schemas.ImportReport()
    rows = iter(reader)
    while True:
        try:
            row = next(rows)
        except StopIteration:
            break
        except csv.Error as exc:  # a broken quote: nothing after it can be trusted
            report.errors.append(schemas.ImportError(
                line=reader.line_num, error=f"unreadable CSV, import stopped here: {exc}"))
            break
        line = reader.line_num
        try:
            asset_id = check_id((row.pop("id") or "").strip())
            data = schemas.AssetWrite.model_validate(
                {k: v.strip() for k, v in row.items() if v is not None and v.strip() != ""})
            with db.begin_nested():
                _, created = upsert_asset(db, asset_id, data, principal)
        except (ValueError, Conflict, Unprocessable, NotFound) as exc:
            report.errors.append(schemas.ImportError(line=line, error=_one_line(exc)))
            continue
        if created:
            report.created += 1
        else:
            report.updated += 1
    return report


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())[:500]
