"""``Idempotency-Key`` on creating POSTs: a retried request gets the first answer again.

The key is scoped to the caller; its record (request hash, status, body) is written in
the same transaction as what the request created, so either both exist or neither. Two
requests racing with one key: the second's insert of the key fails, its work is rolled
back, and it answers with the first one's response. The same key with a different body is
a 422. Records older than ``idempotency_hours`` are deleted as new ones come.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import Header
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .access import Principal
from .problems import Unprocessable
from .tables import IdempotencyRecord

KeyHeader = Header(alias="Idempotency-Key", min_length=1, max_length=200,
                   pattern=r"^[\x21-\x7e]+$",
                   description="a client-chosen key; a retry with the same key and body "
                               "returns the first response instead of acting again")


def _replay(rec: IdempotencyRecord, method_path: str, digest: str) -> JSONResponse:
    if rec.method_path != method_path or rec.request_hash != digest:
        raise Unprocessable(f"Idempotency-Key {rec.key!r} was used for a different request "
                            f"({rec.method_path}); use a new key for a new request",
                            slug="idempotency-key-reused")
    return JSONResponse(json.loads(rec.body), status_code=rec.status_code,
                        headers={"Idempotent-Replayed": "true"})


def run(db: Session, key: str | None, principal: Principal, method_path: str,
        body: BaseModel | None, act: Callable[[], tuple[int, Any]], retain: timedelta,
        headers: Callable[[Any], dict[str, str]] | None = None) -> JSONResponse:
    """Run ``act`` (returns status and a response object) once per key; commit."""
    if key is None:
        status, out = act()
        content = jsonable_encoder(out)
        db.commit()
        return JSONResponse(content, status_code=status,
                            headers=headers(content) if headers else None)
    digest = hashlib.sha256((body.model_dump_json() if body else "").encode()).hexdigest()
    rec = db.get(IdempotencyRecord, (principal.name, key))
    if rec is not None:
        return _replay(rec, method_path, digest)
    status, out = act()
    content = jsonable_encoder(out)
    now = datetime.now(UTC)
    db.execute(delete(IdempotencyRecord).where(IdempotencyRecord.created_at < now - retain))
    db.add(IdempotencyRecord(principal=principal.name, key=key, method_path=method_path,
                             request_hash=digest, status_code=status,
                             body=json.dumps(content), created_at=now))
    try:
        db.commit()
    except IntegrityError:  # the same key, committed by a concurrent request first
        db.rollback()
        rec = db.get(IdempotencyRecord, (principal.name, key))
        if rec is None:
            raise
        return _replay(rec, method_path, digest)
    return JSONResponse(content, status_code=status,
                        headers=headers(content) if headers else None)
