"""Users and tokens made without the API running: ``forewarn api user|token`` and the demo.

Each function opens the database, does one thing in one transaction and returns the
secret it made, which is shown once and stored only as a hash.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from .crud import users
from .db import check_migrated, make_engine, write_session_factory
from .tables import User


def _session(url: str):
    engine = make_engine(url)
    check_migrated(engine)
    return engine, write_session_factory(engine)()  # a running API may be writing too


def add_user(url: str, name: str, role: str, scope: str = "",
             password: str | None = None) -> str:
    """Create a user; return its password (generated unless given)."""
    engine, db = _session(url)
    try:
        _, password = users.create_user(db, name, role, scope, password)
        db.commit()
        return password
    finally:
        db.close()
        engine.dispose()


def issue_token(url: str, name: str, label: str = "", days: float | None = None,
                create_role: str | None = None) -> str:
    """A new token for user ``name``; with ``create_role`` the user is created if missing
    (a service account with no password login)."""
    engine, db = _session(url)
    try:
        user = db.scalar(select(User).where(User.name == name))
        if user is None and create_role is not None:
            user, _ = users.create_user(db, name, create_role)
            user.password_hash = ""  # tokens only
        elif user is None:
            user = users.get_user(db, name)  # raises NotFound with the name
        _, token = users.issue_token(db, user, label, timedelta(days=days) if days else None)
        db.commit()
        return token
    finally:
        db.close()
        engine.dispose()


def local_setup(url: str, folder: Path) -> tuple[str, str]:
    """Migrate, make an ``admin`` user and an ``ingest`` service token, for a one-machine
    set-up (the demo): returns (admin password, ingest token).

    The admin password is kept in ``folder/admin-password`` (mode 600) so a second run
    on the same database shows the same one.
    """
    from .db import migrate

    migrate(url)
    secret = folder / "admin-password"
    engine, db = _session(url)
    try:
        exists = db.scalar(select(User).where(User.name == "admin")) is not None
    finally:
        db.close()
        engine.dispose()
    if not exists or not secret.exists():
        if exists:  # the password file is gone: the old password cannot be shown again
            raise RuntimeError(f"user admin exists in {url} but {secret} is gone; remove the "
                               "database to start afresh")
        password = add_user(url, "admin", "admin")
        folder.mkdir(parents=True, exist_ok=True)
        secret.touch(mode=0o600)
        secret.write_text(password + "\n")
    token = issue_token(url, "ingest", "demo ingester", create_role="service")
    return secret.read_text().strip(), token
