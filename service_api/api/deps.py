"""Dependencies as Annotated aliases: the database session, the caller, the right it needs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Header, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from contracts.ids import ID_PATTERN

from ..access import Principal
from ..crud import users
from ..problems import Forbidden, PreconditionFailed, Unauthorized
from ..settings import ServiceApiSettings

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_session(request: Request) -> Iterator[Session]:
    state = request.app.state
    factory = state.sessionmaker if request.method in READ_METHODS else state.write_sessionmaker
    with factory() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]

# Path parameters: a row id that fits the database's integer columns, and a key (asset,
# part, warehouse) in the one identifier pattern.
RowId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Key = Annotated[str, Path(pattern=ID_PATTERN, max_length=64)]


def get_settings(request: Request) -> ServiceApiSettings:
    return request.app.state.settings


SettingsDep = Annotated[ServiceApiSettings, Depends(get_settings)]


bearer = HTTPBearer(auto_error=False, description=(
    "an API token (POST /api/v1/auth/login, or `forewarn api token NAME`)"))


def authenticate(request: Request,
                 creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
                 ) -> Principal:
    """The caller named by its ``Authorization: Bearer <token>`` header."""
    if creds is None:
        raise Unauthorized("send an API token: Authorization: Bearer <token> (get one with "
                           "POST /api/v1/auth/login or `forewarn api token`)")
    token = creds.credentials.strip()
    if not token or len(token) > 200:
        raise Unauthorized("the Authorization header must be 'Bearer <token>'")
    with request.app.state.sessionmaker() as db:
        principal = users.principal_for_token(db, token)
    if principal is None:
        raise Unauthorized("the token is unknown, expired or revoked; log in again")
    request.state.principal = principal
    return principal


PrincipalDep = Annotated[Principal, Depends(authenticate)]


def require(right: str) -> Callable[[Principal], Principal]:
    """A dependency that lets through only callers holding ``right``."""

    def check(principal: PrincipalDep) -> Principal:
        if not principal.can(right):
            raise Forbidden(f"role {principal.role!r} may not do this (needs the right "
                            f"{right!r})")
        return principal

    check.__name__ = f"require_{right.replace('.', '_')}"
    return check


def Allowed(right: str):  # noqa: N802 - reads as a type in signatures
    return Annotated[Principal, Depends(require(right))]


def etag(version: int) -> str:
    return f'"{version}"'


def if_match(if_match: Annotated[str | None, Header(
        alias="If-Match", max_length=100,
        description="the ETag of the version you read; the change is refused with 412 if "
                    "the resource changed since")] = None) -> int | None:
    """The version an ``If-Match`` header names (``"3"``, ``W/"3"``); ``*`` means any."""
    if if_match is None or if_match.strip() == "*":
        return None
    value = if_match.strip().removeprefix("W/").strip('"')
    if not value.isdigit() or len(value) > 10:
        raise PreconditionFailed(f"If-Match {if_match!r} is not an ETag this API gave out "
                                 '(they look like "3")')
    return int(value)


IfMatchDep = Annotated[int | None, Depends(if_match)]
