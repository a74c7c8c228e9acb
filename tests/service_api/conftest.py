"""The service API on SQLite and on a real PostgreSQL, migrated to head, with a user and a
token per role."""

from __future__ import annotations

import itertools

import pytest
from fastapi.testclient import TestClient

from service_api.access import ROLES
from service_api.app import create_app
from service_api.bootstrap import add_user, issue_token
from service_api.db import migrate
from service_api.settings import ServiceApiSettings

_names = itertools.count()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path) -> str:
    """A fresh, migrated database: a SQLite file, or a new database in the session's
    PostgreSQL cluster."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'api.sqlite'}"
    else:
        import psycopg

        pg = request.getfixturevalue("postgres")
        name = f"t{next(_names)}_{abs(hash(request.node.nodeid)) % 10**8}"
        with psycopg.connect(f"host=127.0.0.1 port={pg.port} user=forewarn dbname=postgres",
                             autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        url = pg.url.rsplit("/", 1)[0] + f"/{name}"
    migrate(url)
    return url


def tokens_for_roles(url: str) -> dict[str, dict[str, str]]:
    """``{role: headers}`` for one user of each role (the user is named after the role)."""
    out = {}
    for role in ROLES:
        add_user(url, role, role, password=f"{role}-password")
        out[role] = {"Authorization": f"Bearer {issue_token(url, role)}"}
    return out


class Caller:
    """Requests made with one caller's headers."""

    def __init__(self, client: TestClient, headers: dict[str, str]):
        self.client, self.headers = client, headers

    def request(self, method: str, url: str, headers: dict | None = None, **kw):
        return self.client.request(method, url, headers={**self.headers, **(headers or {})},
                                   **kw)

    def get(self, url, **kw):
        return self.request("GET", url, **kw)

    def post(self, url, **kw):
        return self.request("POST", url, **kw)

    def put(self, url, **kw):
        return self.request("PUT", url, **kw)

    def patch(self, url, **kw):
        return self.request("PATCH", url, **kw)

    def delete(self, url, **kw):
        return self.request("DELETE", url, **kw)


class Api:
    """A TestClient plus the headers of each role: ``api.as_("viewer").get(...)``."""

    def __init__(self, client: TestClient, headers: dict[str, dict[str, str]], url: str):
        self.client, self.headers, self.url = client, headers, url

    def as_(self, role: str) -> Caller:
        return Caller(self.client, self.headers[role])

    def anonymous(self) -> Caller:
        return Caller(self.client, {})


def settings_for_test(db_url: str, tmp_path) -> ServiceApiSettings:
    """Settings for an API under test: sensor trends read from a small embedded store
    (pump-01's ``t``), change streams that end after 0.2 s (a test client reads a response
    to its end)."""
    from contracts.wire import Sample
    from ingest.stores.embedded import EmbeddedStore

    store = EmbeddedStore(tmp_path / "store.sqlite")
    store.write("gw", [Sample(asset="pump-01", ts="2026-01-01T00:00:00Z", values={"t": 1})])
    store.close()
    return ServiceApiSettings(database_url=db_url, attachments_dir=str(tmp_path / "attachments"),
                              push_max_s=0.2, telemetry={
                                  "kind": "embedded", "path": str(tmp_path / "store.sqlite")})


@pytest.fixture
def api(db_url, tmp_path):
    app = create_app(settings_for_test(db_url, tmp_path))
    headers = tokens_for_roles(db_url)
    with TestClient(app, raise_server_exceptions=False) as c:
        yield Api(c, headers, db_url)
