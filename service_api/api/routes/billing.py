from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from ... import billing
from ...crud import billing as billing_crud
from ...crud import orders as order_crud
from ...pdf import text_pdf
from ..deps import Allowed, RowId, SessionDep, SettingsDep

router = APIRouter(prefix="/work-orders", tags=["billing"])


def _statement(db, who, settings, order_id: int) -> billing.Statement:
    return billing_crud.statement(db, order_crud.get(db, order_id, who), settings.billing)


@router.get("/{order_id}/statement", response_model=billing.StatementOut)
def statement(db: SessionDep, who: Allowed("commercial"), settings: SettingsDep,
              order_id: RowId):
    """The order's itemised statement: each line (call-out, labour record, part used)
    priced at list, what the warranty or the service contract's package covers, and what
    is charged; every line names the record it came from. docs/billing.md."""
    return billing.to_dict(_statement(db, who, settings, order_id))


@router.get("/{order_id}/statement.csv", response_class=Response, responses={
    200: {"content": {"text/csv": {"schema": {"type": "string"}}}}})
def statement_csv(db: SessionDep, who: Allowed("commercial"), settings: SettingsDep,
                  order_id: RowId):
    st = _statement(db, who, settings, order_id)
    return Response(billing.to_csv(st), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="statement-{order_id}.csv"'})


@router.get("/{order_id}/statement.pdf", response_class=Response, responses={
    200: {"content": {"application/pdf": {"schema": {"type": "string",
                                                     "format": "binary"}}}}})
def statement_pdf(db: SessionDep, who: Allowed("commercial"), settings: SettingsDep,
                  order_id: RowId):
    st = _statement(db, who, settings, order_id)
    return Response(text_pdf(billing.to_text_lines(st), f"Statement {order_id}"),
                    media_type="application/pdf", headers={
                        "Content-Disposition": f'attachment; filename="statement-{order_id}.pdf"'})
