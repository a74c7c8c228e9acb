"""Pagination and sorting shared by every list endpoint.

Lists answer ``{"items": [...], "total": N, "limit": L, "offset": O}``; ``sort`` is a
comma-separated list of fields, ``-`` before a field for descending
(``sort=-risk,id``). Each list says which fields it sorts by; others are a 422.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import orjson
from fastapi import Query, Response
from pydantic import BaseModel
from sqlalchemy import Select, func, select

from .problems import Unprocessable

T = TypeVar("T")
MAX_LIMIT = 10_000  # the whole fleet view of a large plant in one request


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


@dataclass(frozen=True)
class PageParams:
    limit: int
    offset: int
    sort: str | None


def page_params(limit: int = Query(default=100, ge=1, le=MAX_LIMIT),
                offset: int = Query(default=0, ge=0, le=2**31 - 1),
                sort: str | None = Query(default=None, max_length=200,
                                         pattern=r"^-?[a-z_]+(,-?[a-z_]+)*$")) -> PageParams:
    return PageParams(limit, offset, sort)


def order_by(q: Select, sort: str | None, columns: dict[str, Any], default: str) -> Select:
    """Apply ``sort`` (or ``default``) with the sortable ``columns``; a tie-break on the
    last default field keeps pages stable."""
    spec = [s for s in (sort or default).split(",") if s]
    clauses = []
    for field in spec:
        name = field.lstrip("-")
        if name not in columns:
            raise Unprocessable(f"sort: cannot sort by {name!r}; sortable fields: "
                                f"{', '.join(sorted(columns))}")
        col = columns[name]
        clauses.append(col.desc().nullslast() if field.startswith("-") else
                       col.asc().nullsfirst())
    tie = default.split(",")[-1].lstrip("-")
    if tie not in [s.lstrip("-") for s in spec]:
        clauses.append(columns[tie].asc())
    return q.order_by(*clauses)


def fast_json(content: Any) -> Response:
    """A JSON response built by orjson from plain rows, for lists too big to validate row
    by row (the route's response_model documents the shape). Datetimes are RFC 3339; naive
    ones are UTC (as the database stores them)."""
    return Response(orjson.dumps(content, option=orjson.OPT_NAIVE_UTC),
                    media_type="application/json")


def paginate(db, q: Select, p: PageParams) -> tuple[list, int]:
    """Rows of the page and the total count (of ``q`` without limit and offset)."""
    total = db.scalar(select(func.count()).select_from(q.order_by(None).subquery())) or 0
    rows = db.scalars(q.limit(p.limit).offset(p.offset)).all()
    return list(rows), total
