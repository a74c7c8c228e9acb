from __future__ import annotations

from datetime import datetime
from importlib import resources
from typing import Annotated, Literal

from fastapi import APIRouter, Path
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from contracts.api_bodies import Moment

from ... import schemas, surveys
from ...crud import assets as asset_crud
from ...crud import orders as order_crud
from ...tables import Asset, Survey, WorkOrder
from ..deps import Allowed, RowId, SessionDep, SettingsDep

router = APIRouter(tags=["feedback"])
page_router = APIRouter(include_in_schema=False)
Link = Annotated[str, Path(max_length=120, pattern=r"^[0-9]+\.[0-9]+\.[A-Za-z0-9_-]+$")]


@router.post("/work-orders/{order_id}/survey", response_model=schemas.SurveyIssued,
             status_code=201)
def issue_survey(db: SessionDep, who: Allowed("orders.close"), settings: SettingsDep,
                 order_id: RowId):
    """A link to the order's satisfaction survey, valid ``survey_days`` (14); issuing
    again replaces the previous link. Send it to the customer by any channel."""
    order = order_crud.get(db, order_id, who)
    survey, token = surveys.issue(db, order, who.name, settings.survey_days)
    db.commit()
    return schemas.SurveyIssued(survey_id=survey.id, work_order_id=order.id, token=token,
                                url=f"{settings.public_url.rstrip('/')}/survey/{token}",
                                expires_at=survey.expires_at)


@router.get("/surveys/{link}", response_model=schemas.SurveyView)
def view_survey(db: SessionDep, link: Link):
    """For the customer's page, no token needed: what the survey is about."""
    survey = surveys.open_link(db, link)
    order = db.get(WorkOrder, survey.work_order_id)
    asset = db.get(Asset, order.asset_id)
    return schemas.SurveyView(work_order_id=order.id, title=order.title,
                              asset_name=(asset.name or asset.id) if asset else "",
                              completed_at=order.completed_at, expires_at=survey.expires_at)


@router.post("/surveys/{link}", status_code=201)
def answer_survey(db: SessionDep, link: Link, data: schemas.SurveyAnswer) -> dict:
    """The customer's answer, once per survey; no token needed (the link is signed)."""
    surveys.answer(db, link, data.score, data.comment)
    db.commit()
    return {"status": "thank you"}


@router.get("/kpis/satisfaction", response_model=schemas.Satisfaction, tags=["kpis"])
def satisfaction(db: SessionDep, who: Allowed("read"),
                 by: Literal["region", "equipment_class", "technician"] = "region",
                 since: Moment | None = None, until: Moment | None = None):
    """Survey scores joined to their orders, by region, equipment class or technician
    (the order's assignee) for surveys answered in [since, until); docs/feedback.md."""
    q = asset_crud.in_scope(select(Survey, WorkOrder, Asset)
                            .join(WorkOrder, WorkOrder.id == Survey.work_order_id)
                            .join(Asset, Asset.id == WorkOrder.asset_id), who)
    rows = db.execute(q).all()
    sent = len(rows)
    groups: dict[str, list[int]] = {}
    for s, o, a in rows:
        if s.score is None or not _within(s.answered_at, since, until):
            continue
        key = {"region": a.region, "equipment_class": a.equipment_class,
               "technician": o.assignee}[by] or "(none)"
        groups.setdefault(key, []).append(s.score)
    answered = sum(len(v) for v in groups.values())
    return schemas.Satisfaction(
        by=by, surveys_sent=sent, responses=answered,
        response_rate=round(answered / sent, 4) if sent else None,
        rows=[schemas.SatisfactionRow(key=k, responses=len(v),
                                      mean_score=round(sum(v) / len(v), 4),
                                      satisfied_share=round(sum(x >= 4 for x in v) / len(v), 4))
              for k, v in sorted(groups.items(), key=lambda kv: -len(kv[1]))])


def _within(t: datetime | None, since: datetime | None, until: datetime | None) -> bool:
    return t is not None and (since is None or t >= since) and (until is None or t < until)


@page_router.get("/survey/{link}", response_class=HTMLResponse)
def survey_page(link: str) -> str:
    """The customer's page: plain HTML and a few lines of script, nothing from the
    internet; the link itself is checked by the API calls it makes."""
    return resources.files("service_api.web").joinpath("survey.html").read_text()
