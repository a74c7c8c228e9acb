"""Engine, sessions and migrations. SQLite by default; any SQLAlchemy URL (PostgreSQL) works.

The schema belongs to the Alembic migrations in ``service_api/migrations``: ``migrate``
brings a database to head (``forewarn api migrate``), and the app refuses to start on a
database that is not at head (:class:`DatabaseNotMigrated` says which command to run).

On SQLite a writing request opens its transaction with ``BEGIN IMMEDIATE``: writers queue
for the one write lock at their start (within the busy timeout) instead of failing when a
read snapshot cannot be upgraded, so concurrent requests serialise instead of erroring.
"""

from __future__ import annotations

from pathlib import Path

import orjson
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from contracts import sqlite

IMMEDIATE = "forewarn_immediate"
# JSON columns (health and event detail) encoded and decoded by orjson: the fleet view
# decodes one per asset
JSON_CODEC = {"json_serializer": lambda obj: orjson.dumps(obj).decode(),
              "json_deserializer": orjson.loads}  # execution option: a SQLite write transaction


class DatabaseNotMigrated(RuntimeError):
    """The database's schema is not the one this code needs."""


def redacted(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # as many connections as uvicorn has worker threads: a request waiting for the
        # write lock must not also keep others from the connection pool
        engine = create_engine(url, connect_args={"check_same_thread": False},
                               pool_size=10, max_overflow=40, **JSON_CODEC)

        @event.listens_for(engine, "connect")
        def _pragmas(conn, _record) -> None:
            conn.isolation_level = None  # transactions are begun below, not by pysqlite
            for statement in sqlite.pragmas(foreign_keys=True):
                conn.execute(statement)

        @event.listens_for(engine, "begin")
        def _begin(conn) -> None:
            immediate = conn.get_execution_options().get(IMMEDIATE)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
    else:
        engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20,
                               **JSON_CODEC)
    return engine


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def write_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions whose transactions take SQLite's write lock when they begin (at their
    first statement, not before: a request holds the lock only while it works)."""
    return sessionmaker(engine.execution_options(**{IMMEDIATE: True}), expire_on_commit=False)


# -- migrations ----------------------------------------------------------------------------
def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """What migrations compare with the declared tables: everything but the full-text
    machinery made by hand in migration 0010 (SQLite's FTS5 tables, the PostgreSQL
    expression index)."""
    return not (name or "").startswith(("fault_cases_fts", "ix_fault_cases_fts"))


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", "service_api:migrations")
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def migrate(url: str, revision: str = "head") -> str | None:
    """Bring the database at ``url`` to ``revision``; return the revision it was at."""
    engine = make_engine(url)
    try:
        before = current_revision(engine)
        cfg = alembic_config(url)
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
        return before
    finally:
        engine.dispose()


def check_migrated(engine: Engine) -> None:
    current, head = current_revision(engine), head_revision()
    if current != head:
        at = f"revision {current}" if current else "no revision (empty or pre-migration)"
        raise DatabaseNotMigrated(
            f"the database {redacted(str(engine.url.render_as_string(False)))} is at {at}; "
            f"this Forewarn needs revision {head}: run `forewarn api migrate` with the same "
            "--config, then start the API again")
