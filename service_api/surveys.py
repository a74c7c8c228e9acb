"""Customer satisfaction surveys: a signed, expiring link per completed order that the
customer opens without an account.

A link is ``/survey/<id>.<expiry>.<signature>``: the signature is an HMAC-SHA256, under a
secret every API process shares (kept in the database, made on first use), of the
survey id, the expiry and the survey's current nonce. So a link cannot be forged or its
expiry stretched, issuing a new link for the order invalidates the old one (new nonce),
and a survey is answered once. Refusals: a forged or superseded link is 404 (it says
nothing about which surveys exist), an expired one 410, an answered one 409.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .problems import Conflict, NotFound, Problem
from .tables import AppSecret, Survey, WorkOrder
from .workflow import WORK_DONE

SECRET_NAME = "survey-links"


def _secret(db: Session) -> bytes:
    row = db.get(AppSecret, SECRET_NAME)
    if row is None:
        try:
            with db.begin_nested():
                db.add(AppSecret(name=SECRET_NAME, value=secrets.token_urlsafe(48)))
        except IntegrityError:  # another process made it first
            pass
        row = db.get(AppSecret, SECRET_NAME)
    return row.value.encode()


def _sign(secret: bytes, survey_id: int, expires: int, nonce: str) -> str:
    mac = hmac.new(secret, f"{survey_id}.{expires}.{nonce}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()[:24]).decode().rstrip("=")


def issue(db: Session, order: WorkOrder, actor: str, days: float) -> tuple[Survey, str]:
    """A new link for the order's survey (replacing an unanswered one's); the token."""
    if order.status not in WORK_DONE:
        raise Conflict(f"work order {order.id} is {order.status}: a survey is sent once "
                       "the work is completed")
    survey = db.query(Survey).filter(Survey.work_order_id == order.id).one_or_none()
    if survey is not None and survey.answered_at is not None:
        raise Conflict(f"the survey of work order {order.id} was answered on "
                       f"{survey.answered_at:%Y-%m-%d}")
    expires = datetime.now(UTC).replace(microsecond=0) + timedelta(days=days)
    if survey is None:
        survey = Survey(work_order_id=order.id, created_by=actor, nonce="", expires_at=expires)
        db.add(survey)
    survey.nonce, survey.expires_at = secrets.token_hex(16), expires
    db.flush()
    return survey, token(db, survey)


def token(db: Session, survey: Survey) -> str:
    expires = int(survey.expires_at.timestamp())
    return f"{survey.id}.{expires}.{_sign(_secret(db), survey.id, expires, survey.nonce)}"


def open_link(db: Session, link: str, for_answer: bool = False) -> Survey:
    """The survey a link names, or a problem saying why the link does not work."""
    invalid = NotFound("this survey link is not valid (mistyped, or replaced by a newer "
                       "one); ask for a new link")
    try:
        survey_id, expires, signature = link.split(".")
        sid, exp = int(survey_id), int(expires)
    except ValueError:
        raise invalid from None
    if not 1 <= sid < 2**31:  # beyond the id column: no such survey
        raise invalid
    survey = db.get(Survey, sid, with_for_update=for_answer)
    if survey is None or int(survey.expires_at.timestamp()) != exp:
        raise invalid
    if not hmac.compare_digest(signature, _sign(_secret(db), sid, exp, survey.nonce)):
        raise invalid
    if datetime.now(UTC).timestamp() > exp:
        raise Problem(f"this survey link expired on {survey.expires_at:%Y-%m-%d %H:%M} UTC",
                      status=410, slug="survey-expired", title="Survey link expired")
    if survey.answered_at is not None:
        raise Conflict("this survey has been answered already; thank you")
    return survey


def answer(db: Session, link: str, score: int, comment: str) -> Survey:
    survey = open_link(db, link, for_answer=True)
    survey.score, survey.comment = score, comment
    survey.answered_at = datetime.now(UTC)
    db.flush()
    return survey
