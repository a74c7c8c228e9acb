"""Users, API tokens and password logins."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..access import (
    ROLES,
    Principal,
    hash_password,
    new_password,
    new_token,
    token_hash,
    verify_password,
)
from ..problems import Conflict, NotFound, Problem, Unauthorized, Unprocessable
from ..tables import ApiToken, LoginFailure, User


def create_user(db: Session, name: str, role: str, scope: str = "",
                password: str | None = None) -> tuple[User, str]:
    """Create a user; return it and its password (generated when not given)."""
    if role not in ROLES:
        raise Unprocessable(f"role {role!r} does not exist; roles: {', '.join(ROLES)}")
    password = password or new_password()
    user = User(name=name, role=role, scope=scope.strip("/"),
                password_hash=hash_password(password))
    db.add(user)
    try:
        db.flush()
    except IntegrityError as exc:
        db.rollback()
        raise Conflict(f"a user named {name!r} already exists") from exc
    return user, password


def get_user(db: Session, name: str) -> User:
    user = db.scalar(select(User).where(User.name == name))
    if user is None:
        raise NotFound(f"user {name!r} does not exist")
    return user


def issue_token(db: Session, user: User, label: str = "",
                expires_in: timedelta | None = None) -> tuple[ApiToken, str]:
    token = new_token()
    row = ApiToken(user_id=user.id, token_hash=token_hash(token), label=label,
                   expires_at=datetime.now(UTC) + expires_in if expires_in else None)
    db.add(row)
    db.flush()
    return row, token


def revoke_token(db: Session, token_id: int) -> ApiToken:
    row = db.get(ApiToken, token_id)
    if row is None:
        raise NotFound(f"token {token_id} does not exist")
    if row.revoked_at is None:
        row.revoked_at = datetime.now(UTC)
    return row


def revoke_by_token(db: Session, token: str) -> None:
    row = db.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash(token)))
    if row is not None and row.revoked_at is None:
        row.revoked_at = datetime.now(UTC)


def principal_for_token(db: Session, token: str) -> Principal | None:
    row = db.execute(
        select(User.name, User.role, User.scope, User.active, ApiToken.expires_at,
               ApiToken.revoked_at)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == token_hash(token))).first()
    if row is None or not row.active or row.revoked_at is not None:
        return None
    if row.expires_at is not None and row.expires_at <= datetime.now(UTC):
        return None
    return Principal(row.name, row.role, row.scope)


class LoginLimiter:
    """Counts failed logins per key (user name, client address) in a sliding window, in
    the database: every API process on it sees the same count."""

    def __init__(self, max_failures: int, window_s: float):
        self.max_failures, self.window_s = max_failures, window_s

    def check(self, db: Session, *keys: str) -> None:
        now = datetime.now(UTC)
        since = now - timedelta(seconds=self.window_s)
        for key in keys:
            n, oldest = db.execute(
                select(func.count(), func.min(LoginFailure.ts))
                .where(LoginFailure.key == key, LoginFailure.ts > since)).one()
            if n >= self.max_failures:
                wait = int((oldest - since).total_seconds()) + 1
                raise Problem(f"too many failed logins; try again in {wait} s",
                              status=429, slug="too-many-logins",
                              title="Too many failed logins",
                              headers={"Retry-After": str(wait)})

    def failed(self, db: Session, *keys: str) -> None:
        """Record a failure (committed at once: the request then answers 401)."""
        now = datetime.now(UTC)
        db.execute(delete(LoginFailure).where(
            LoginFailure.key.in_(keys), LoginFailure.ts <= now - timedelta(
                seconds=self.window_s)))
        db.add_all(LoginFailure(key=key, ts=now) for key in keys)
        db.commit()


def login(db: Session, limiter: LoginLimiter, name: str, password: str, client: str,
          lifetime: timedelta) -> tuple[User, ApiToken, str]:
    keys = (f"user:{name}"[:200], f"addr:{client}"[:200])
    limiter.check(db, *keys)
    user = db.scalar(select(User).where(User.name == name))
    if user is None or not user.active or not verify_password(password, user.password_hash):
        limiter.failed(db, *keys)
        raise Unauthorized("wrong user name or password")
    row, token = issue_token(db, user, "login", lifetime)
    return user, row, token
