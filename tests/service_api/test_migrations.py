"""Alembic migrations: empty to head gives exactly the tables the code declares, on SQLite
and PostgreSQL; the app refuses an unmigrated database and says which command to run."""

import subprocess
import sys

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from service_api.app import create_app
from service_api.db import DatabaseNotMigrated, head_revision, include_object
from service_api.settings import ServiceApiSettings
from service_api.tables import Base


def test_head_matches_the_declared_tables(db_url):  # db_url is migrated to head
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True,
                                                         "include_object": include_object})
            assert ctx.get_current_revision() == head_revision()
            assert compare_metadata(ctx, Base.metadata) == []
        assert {"assets", "work_orders", "users", "api_tokens", "codes"} <= set(
            inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_unmigrated_database_is_refused_with_the_command(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.sqlite'}"
    with pytest.raises(DatabaseNotMigrated, match="run `forewarn api migrate`"):
        create_app(ServiceApiSettings(database_url=url))


def test_cli_migrates_then_serves(tmp_path):
    cfg = tmp_path / "api.toml"
    cfg.write_text(f'database_url = "sqlite:///{tmp_path / "db.sqlite"}"\n')
    forewarn = [sys.executable, "-m", "forewarn.cli"]
    r = subprocess.run([*forewarn, "api", "--config", str(cfg), "user", "ann", "--role",
                        "viewer"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "forewarn api migrate" in r.stderr
    r = subprocess.run([*forewarn, "api", "--config", str(cfg), "migrate"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([*forewarn, "api", "migrate", "--config", str(cfg)],
                       capture_output=True, text=True, timeout=60)  # idempotent
    assert r.returncode == 0, r.stderr
    r = subprocess.run([*forewarn, "api", "--config", str(cfg), "user", "ann", "--role",
                        "viewer"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "password (shown once)" in r.stdout
    out = tmp_path / "secrets" / "ingest.token"
    r = subprocess.run([*forewarn, "api", "--config", str(cfg), "token", "ingest",
                        "--service", "--out", str(out)], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0 and out.read_text().startswith("fw_")
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    assert out.read_text().strip() not in r.stderr + r.stdout
