"""ApiClient.send: calls leave the caller's thread at once, run in order, and fail loudly."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from contracts.api_bodies import HealthCreate, WorkOrderCreate
from ingest.api_client import ApiClient, ApiError


class _SlowApi(BaseHTTPRequestHandler):
    """Answers every request once ``release`` is set, recording (method, path, body)."""

    seen: list[tuple[str, str, dict]] = []
    release = threading.Event()

    def _answer(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        self.release.wait(30)
        self.seen.append((self.command, self.path, body))
        out = json.dumps({"id": len(self.seen)}).encode()
        self.send_response(201)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    do_PUT = do_POST = _answer

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def slow_api():
    _SlowApi.seen = []
    _SlowApi.release = threading.Event()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SlowApi)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", _SlowApi
    _SlowApi.release.set()
    server.shutdown()
    server.server_close()


def _health(risk: float) -> HealthCreate:
    return HealthCreate(ts="2026-12-01T00:00:00Z", risk=risk)


def test_send_never_waits_for_a_hung_api_and_keeps_the_order(slow_api):
    url, handler = slow_api
    client = ApiClient(url, timeout_s=20)
    done: list[object] = []
    client.send(("asset", "p1"), lambda api: api.upsert_asset("p1"), on_done=done.append)
    client.send(("health", "p1"), lambda api: api.post_health("p1", _health(0.1)))
    client.send(("order", "p1"), lambda api: api.open_work_order(WorkOrderCreate(
        asset_id="p1", type="preventive", title="t")), on_done=done.append)
    # A fresher health record replaces the queued one.
    client.send(("health", "p1"), lambda api: api.post_health("p1", _health(0.7)))
    assert handler.seen == []  # every send returned while the API answered nothing
    assert not client.flush(0.3)
    handler.release.set()
    assert client.flush(10)
    assert [(m, p) for m, p, _ in handler.seen] == [
        ("PUT", "/api/v1/assets/p1"), ("POST", "/api/v1/work-orders"),
        ("POST", "/api/v1/assets/p1/health")]
    assert handler.seen[2][2]["risk"] == 0.7
    assert client.superseded == 1 and len(done) == 2
    client.close()


def test_refused_and_failed_calls_reach_on_error(slow_api):
    url, handler = slow_api
    client = ApiClient(url, timeout_s=20, max_pending=1)
    errors: list[ApiError] = []
    client.send("a", lambda api: api.upsert_asset("a"))  # taken by the sender, in flight
    deadline = time.monotonic() + 5
    while client._pending and time.monotonic() < deadline:
        time.sleep(0.01)
    client.send("b", lambda api: api.upsert_asset("b"))  # queued: the one place
    client.send("c", lambda api: api.upsert_asset("c"), on_error=errors.append)
    assert client.refused == 1 and "already queued" in str(errors[0])
    handler.release.set()
    assert client.flush(10)
    client.close()
    unreachable = ApiClient("http://127.0.0.1:9", timeout_s=2)  # nothing listens on port 9
    unreachable.send("x", lambda api: api.upsert_asset("x"), on_error=errors.append)
    assert unreachable.flush(10)
    assert "unreachable" in str(errors[1])
    unreachable.send("y", lambda api: api.upsert_asset("y"), on_error=errors.append)
    unreachable.close(5)
    unreachable.send("z", lambda api: api.upsert_asset("z"), on_error=errors.append)
    assert "closed" in str(errors[-1])
