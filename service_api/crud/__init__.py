"""Queries and rules per entity; routes stay thin."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy.orm import Session

from ..problems import NotFound

Row = TypeVar("Row")


def get_or_404(db: Session, model: type[Row], key: Any, what: str) -> Row:
    """The row of ``model`` with primary key ``key``, or a 404 naming ``what`` (e.g.
    "sla rule 3")."""
    row = db.get(model, key)
    if row is None:
        raise NotFound(f"{what} does not exist")
    return row
