"""`forewarn api` with several worker processes on one SQLite database: every process
serves, concurrent writes from all of them are stored exactly once, the login limit counts
failures across processes, an unmigrated database is one clear error, SIGTERM stops all."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

from forewarn.runtime import free_port
from service_api.bootstrap import add_user, issue_token
from service_api.db import migrate
from tests.servers import wait_port

FOREWARN = [sys.executable, "-m", "forewarn.cli"]


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(x) for x in out.split()]


def _call(port: int, path: str, body: dict | None = None, token: str = "",
          method: str | None = None) -> tuple[int, dict]:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1{path}", method=method or ("POST" if body else "GET"),
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json",
                 **({"Authorization": f"Bearer {token}"} if token else {})})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_two_workers_share_the_database(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'api.sqlite'}"
    port = free_port()
    cfg = tmp_path / "api.toml"
    cfg.write_text(f'database_url = "{url}"\nport = {port}\nworkers = 2\n'
                   'dashboard = false\nlogin_failures = 3\n')
    r = subprocess.run([*FOREWARN, "api", "--config", str(cfg)], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 2 and "forewarn api migrate" in r.stderr  # before any worker
    migrate(url)
    token = issue_token(url, "ingest", create_role="service")
    add_user(url, "ann", "viewer", password="ann-password")
    log = open(tmp_path / "api.log", "w")  # noqa: SIM115 (closed below, after the server)
    api = subprocess.Popen([*FOREWARN, "api", "--config", str(cfg)],
                           stdout=subprocess.DEVNULL, stderr=log)
    try:
        wait_port(port, timeout=30)
        status, _ = _call(port, "/assets", token=token)
        assert status == 200
        for i in range(20):
            assert _call(port, f"/assets/a{i}", {}, token, "PUT")[0] in (200, 201)
        # 8 clients at once, 10 batches each of 25 scores (5 of every batch sent twice)
        t0 = datetime.now(UTC) - timedelta(hours=3)
        reports: list[dict] = []

        def client(c: int) -> None:
            for b in range(10):
                recs = [{"asset_id": f"a{(c * 10 + b + i) % 20}",
                         "ts": (t0 + timedelta(seconds=c * 1000 + b * 30 + i)).isoformat(),
                         "risk": 0.5} for i in range(25)]
                status, rep = _call(port, "/health/batch", {"records": recs + recs[:5]},
                                    token)
                assert status == 200, rep
                reports.append(rep)

        threads = [threading.Thread(target=client, args=(c,)) for c in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert len(reports) == 80
        assert sum(r["stored"] for r in reports) == 8 * 10 * 25
        assert sum(r["duplicates"] for r in reports) == 8 * 10 * 5
        assert not any(r["rejected"] for r in reports)
        assert len(_children(api.pid)) >= 2  # the worker processes
        # three wrong passwords, on whichever workers, and the fourth try is refused
        codes = [_call(port, "/auth/login", {"name": "ann", "password": "nope"})[0]
                 for _ in range(4)]
        assert codes == [401, 401, 401, 429]
    finally:
        api.send_signal(signal.SIGTERM)
        assert api.wait(30) == 0
        log.close()
    assert "with 2 worker processes" in (tmp_path / "api.log").read_text()
