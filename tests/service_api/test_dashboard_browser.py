"""The dashboard in a real headless Chromium: the page's JavaScript renders the fleet
ranked by risk, risk sparklines and the review queue from the live API."""

import shutil
import subprocess
from datetime import UTC, datetime, timedelta

import pytest

from contracts.api_bodies import HealthCreate, WorkOrderCreate
from tests.servers import start_api

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--virtual-time-budget=8000"]


@pytest.fixture
def api(tmp_path):
    thread, client, _ = start_api(tmp_path / "api")
    port = thread.settings.port
    t0 = datetime.now(UTC) - timedelta(minutes=5)
    for asset, risks in (("pump-01", [0.05, 0.2, 0.6, 0.93]), ("motor-01", [0.02, 0.03, 0.01])):
        client.upsert_asset(asset)
        for i, r in enumerate(risks):
            client.post_health(asset, HealthCreate(
                ts=t0 + timedelta(seconds=i), risk=r,
                detail={"rul": 30.0 * (1 - r), "rul_unit": "h"}))
    client.open_work_order(WorkOrderCreate(
        asset_id="pump-01", type="predictive", priority="high",
        failure_mode="predicted_failure", source="predictive",
        title="Predicted failure risk 93% on pump-01", risk=0.93))
    yield port, client.token
    thread.stop()


def chromium(*args: str, tmp_path) -> str:
    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} not found: run `make test`, which installs chromium")
    r = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args],
                       capture_output=True, text=True, timeout=90)
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stdout


def test_dashboard_renders_fleet_and_review_queue(api, tmp_path):
    port, token = api
    url = f"http://127.0.0.1:{port}/#token={token}"
    dom = chromium("--dump-dom", url, tmp_path=tmp_path)
    # Fleet ranked by risk, highest first, with a trend line per asset.
    assert dom.index('data-asset="pump-01"') < dom.index('data-asset="motor-01"')
    assert '<td class="risk hi">93%</td>' in dom
    assert '<td class="rul">2 h</td>' in dom  # the latest estimate of remaining life
    assert dom.count('<svg width="220"') == 2  # rendered sparklines (not the template)
    # The predictive order waits for review.
    assert 'data-order="1"' in dom and ">proposed<" in dom and ">Approve<" in dom
    shot = tmp_path / "dashboard.png"
    chromium(f"--screenshot={shot}", "--window-size=1200,800", url, tmp_path=tmp_path)
    assert shot.stat().st_size > 10_000
