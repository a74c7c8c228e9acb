from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials
from sqlalchemy import select

from ... import schemas
from ...access import RIGHTS
from ...crud import users as crud
from ...tables import User
from ..deps import Allowed, PrincipalDep, RowId, SessionDep, SettingsDep, bearer

router = APIRouter(tags=["access"])
UserName = Annotated[str, Path(min_length=1, max_length=64)]


@router.post("/auth/login", response_model=schemas.TokenIssued)
def login(request: Request, db: SessionDep, settings: SettingsDep, data: schemas.LoginBody):
    """Exchange a user name and password for a token that expires after
    ``session_token_hours``. Repeated failures per user or address get 429."""
    client = request.client.host if request.client else "unknown"
    user, row, token = crud.login(db, request.app.state.login_limiter, data.name,
                                  data.password, client,
                                  timedelta(hours=settings.session_token_hours))
    db.commit()
    return schemas.TokenIssued(token=token, token_id=row.id, name=user.name, role=user.role,
                               expires_at=row.expires_at)


@router.post("/auth/logout", status_code=204)
def logout(db: SessionDep, who: PrincipalDep,
           creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]):
    """Revoke the token this request was made with."""
    if creds is not None:
        crud.revoke_by_token(db, creds.credentials.strip())
        db.commit()


@router.get("/auth/me", response_model=schemas.Me)
def me(who: PrincipalDep):
    return schemas.Me(name=who.name, role=who.role, scope=who.scope,
                      rights=sorted(r for r in RIGHTS if who.can(r)))


@router.post("/users", response_model=schemas.UserCreated, status_code=201)
def create_user(db: SessionDep, who: Allowed("users.manage"), data: schemas.UserCreate):
    user, password = crud.create_user(db, data.name, data.role, data.scope, data.password)
    db.commit()
    return schemas.UserCreated(**schemas.UserPublic.model_validate(user).model_dump(),
                               password=password)


@router.get("/users", response_model=list[schemas.UserPublic])
def list_users(db: SessionDep, who: Allowed("users.manage")):
    return list(db.scalars(select(User).order_by(User.id)))


@router.post("/users/{name}/tokens", response_model=schemas.TokenIssued, status_code=201)
def issue_token(db: SessionDep, who: Allowed("users.manage"), name: UserName,
                data: schemas.TokenCreate):
    """A token for a user or service (an ingester); shown once, stored as a hash."""
    user = crud.get_user(db, name)
    days = data.expires_in_days
    row, token = crud.issue_token(db, user, data.label,
                                  timedelta(days=days) if days else None)
    db.commit()
    return schemas.TokenIssued(token=token, token_id=row.id, name=user.name, role=user.role,
                               expires_at=row.expires_at)


@router.delete("/tokens/{token_id}", status_code=204)
def revoke_token(db: SessionDep, who: Allowed("users.manage"),
                 token_id: RowId):
    crud.revoke_token(db, token_id)
    db.commit()
