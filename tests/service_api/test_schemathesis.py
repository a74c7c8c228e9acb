"""Property-based requests generated from the API's own OpenAPI document (schemathesis),
as an admin, on SQLite and PostgreSQL: no input the schema allows, nor the invalid ones
schemathesis derives from it, may give a server error."""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from service_api.app import create_app
from tests.service_api.conftest import settings_for_test, tokens_for_roles
from tests.service_api.helpers import order

EXAMPLES = 60  # per operation and database: bounded


@pytest.fixture
def st_app(db_url, tmp_path):
    app = create_app(settings_for_test(db_url, tmp_path))
    headers = tokens_for_roles(db_url)
    from fastapi.testclient import TestClient

    with TestClient(app) as c:  # something to find: an asset with an order
        c.put("/api/v1/assets/pump-01", json={}, headers=headers["admin"])
        c.post("/api/v1/work-orders", json=order(), headers=headers["admin"])
    app.state.test_headers = headers["admin"]
    return app


def test_no_server_errors(st_app):
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", st_app)
    failures, operations = [], 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def call(case):
            try:
                response = case.call(headers=st_app.state.test_headers)
            except Exception as exc:  # raised through the test client: a server error
                failures.append((case.method, case.formatted_path, case.body, repr(exc)))
                return
            if response.status_code >= 500:
                failures.append((case.method, case.formatted_path, case.query, case.body,
                                 response.text[:300]))

        call()
    assert operations >= 25
    assert failures == []
