"""Live push: ``GET /api/v1/changes`` on a real uvicorn, read as a browser reads it (a
streamed HTTP response, parsed as server-sent events)."""

from __future__ import annotations

import http.client
import json
import time
from datetime import UTC, datetime

import pytest

from contracts.api_bodies import HealthCreate
from service_api.bootstrap import issue_token
from tests.servers import start_api


class Stream:
    """One open ``/changes`` stream; ``next_change()`` waits (bounded) for an event."""

    def __init__(self, port: int, token: str):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        self.conn.request("GET", "/api/v1/changes", headers={"Authorization": f"Bearer {token}"})
        self.resp = self.conn.getresponse()

    def next_block(self) -> str:
        lines = []
        while True:
            line = self.resp.readline().decode()
            if line in ("\n", ""):
                return "".join(lines)
            lines.append(line)

    def next_change(self) -> dict:
        while True:
            block = self.next_block()
            if not block:
                raise EOFError("the stream ended")
            if "event: change" in block:
                return json.loads(block.split("data: ", 1)[1])

    def close(self) -> None:
        self.conn.close()


@pytest.fixture
def server(tmp_path):
    thread, client, _ = start_api(tmp_path, push_poll_s=0.1, push_heartbeat_s=0.5,
                                  push_max_s=3.0)
    url = f"sqlite:///{tmp_path / 'api.sqlite'}"
    yield thread, client, issue_token(url, "viewer-bot", create_role="viewer")
    thread.stop()


def test_a_change_is_pushed_to_every_stream(server):
    thread, client, viewer = server
    client.upsert_asset("pump-01")
    one, two = Stream(thread.settings.port, viewer), Stream(thread.settings.port, viewer)
    assert one.resp.status == 200
    assert one.resp.getheader("Content-Type").startswith("text/event-stream")
    first = one.next_change()
    assert two.next_change() == first
    assert first["assets"] >= 2  # one asset at version 1

    client.post_health("pump-01", HealthCreate(ts=datetime.now(UTC), risk=0.4))
    pushed = one.next_change()
    assert pushed["scores"] > first["scores"]
    assert two.next_change() == pushed
    client.upsert_asset("pump-02")
    assert one.next_change()["assets"] > pushed["assets"]
    one.close()
    two.close()


def test_idle_streams_get_keepalives_then_end_for_a_reconnect(server):
    thread, _, viewer = server
    s = Stream(thread.settings.port, viewer)
    assert "retry: 3000" in s.next_block()  # the client's reconnect delay, with the state
    assert s.next_block() == ": keep-alive\n"
    t0 = time.monotonic()
    while s.next_block():  # push_max_s = 3: the server ends the stream
        assert time.monotonic() - t0 < 10
    s.close()


def test_needs_a_token(server):
    thread, _, _ = server
    s = Stream(thread.settings.port, "nope")
    assert s.resp.status == 401
    s.close()


def test_open_streams_do_not_hold_up_a_shutdown(tmp_path):
    thread, _, _ = start_api(tmp_path, push_max_s=600)
    token = issue_token(f"sqlite:///{tmp_path / 'api.sqlite'}", "v", create_role="viewer")
    s = Stream(thread.settings.port, token)
    s.next_change()
    t0 = time.monotonic()
    thread.stop()
    assert not thread.thread.is_alive()
    assert time.monotonic() - t0 < 9  # the graceful-shutdown timeout is 5 s
    s.close()
