"""Report by exception: within its deadband a value travels as "unchanged" until its
heartbeat; the ingester fills it in, so the store still holds every value read."""

import sqlite3
import time
from datetime import UTC, datetime, timedelta

from contracts.wire import Sample
from edge_agent.processors.report_by_exception import ReportByException
from edge_agent.registers import RegisterSpec
from forewarn.runtime import free_port
from ingest.dead_letters import DeadLetters
from ingest.pipeline import Ingester
from ingest.settings import IngestSettings
from ingest.stores import open_store
from simulators.agent_config import agent_settings_for
from simulators.fleet import AssetConfig, FleetConfig
from tests.conftest import TelemetryWatcher, running_pipeline

T0 = datetime(2026, 12, 3, tzinfo=UTC)


def feed(rbe, values, spacing_s=1.0):
    out = []
    for i, v in enumerate(values):
        s = rbe.filter(Sample(asset="a", ts=T0 + timedelta(seconds=i * spacing_s),
                              values={"x": v}))
        out.append(s.values.get("x", "=" if "x" in s.unchanged else None))
    return out


def test_absolute_deadband_compares_with_the_value_last_sent():
    rbe = ReportByException({"a": [RegisterSpec(name="x", address=0, deadband=1.0,
                                                max_interval_s=100)]})
    # a slow creep is sent each time it has moved more than 1.0 from the last value sent
    assert feed(rbe, [10.0, 10.6, 11.0, 11.2, 10.5, 9.9, 12.0]) == [
        10.0, "=", "=", 11.2, "=", 9.9, 12.0]


def test_percent_deadband_and_change_only():
    pct = ReportByException({"a": [RegisterSpec(name="x", address=0, deadband_pct=5.0)]})
    assert feed(pct, [200.0, 209.0, 211.0, 202.0]) == [200.0, "=", 211.0, "="]
    change_only = ReportByException({"a": [RegisterSpec(name="x", address=0, dtype="uint16",
                                                        max_interval_s=30)]})
    assert feed(change_only, [3, 3, 3, 4, 4, 3]) == [3, "=", "=", 4, "=", 3]


def test_heartbeat_sends_an_unchanged_value_when_due():
    rbe = ReportByException({"a": [RegisterSpec(name="x", address=0, deadband=5.0,
                                                max_interval_s=3)]})
    assert feed(rbe, [1.0] * 8) == [1.0, "=", "=", 1.0, "=", "=", 1.0, "="]
    default = ReportByException({"a": [RegisterSpec(name="x", address=0, deadband=5.0)]})
    sent = [v for v in feed(default, [1.0] * 130) if v != "="]
    assert len(sent) == 3  # at 0, 60 and 120 s: the default heartbeat is 60 s


def test_registers_without_deadband_are_always_sent():
    rbe = ReportByException({"a": [RegisterSpec(name="y", address=0)]})
    assert not rbe.active
    assert feed(ReportByException({}), [1.0, 1.0]) == [1.0, 1.0]


def test_deadband_over_modbus_and_mosquitto_stores_every_value(tmp_path, mosquitto,
                                                               loop_thread):
    """A frozen simulated pump (values constant): after the first poll its values travel
    as "unchanged" until the 1 s heartbeat, and the store still gets every value read."""
    fleet = FleetConfig(seed=4, time_scale=0, start_h=30, assets=[
        AssetConfig(id="pump-01", kind="pump", port=free_port())])
    settings = agent_settings_for(fleet, gateway_id="gw-rbe", site="s", poll_interval_s=0.1,
                                  mqtt={"url": mosquitto.url},
                                  spool={"path": str(tmp_path / "spool.sqlite")})
    device = settings.devices[0]
    banded = [r.model_copy(update={"deadband": 0.001, "max_interval_s": 1.0})
              for r in device.registers]
    settings = settings.model_copy(update={"devices": [device.model_copy(
        update={"registers": banded})]})
    ingest_settings = IngestSettings.model_validate({
        "mqtt": {"url": mosquitto.url, "client_id": "rbe-ingest"},
        "store": {"kind": "embedded", "path": str(tmp_path / "store.sqlite")},
        "dead_letter_path": str(tmp_path / "dl.sqlite"), "state_dir": str(tmp_path / "st"),
        "risk": {"enabled": False}, "api": {"url": ""}})
    ingester = Ingester(ingest_settings, open_store(ingest_settings.store),
                        DeadLetters(ingest_settings.dead_letter_path))

    with (TelemetryWatcher(mosquitto.port, "rbe-watch") as watcher,  # what went on the wire
          running_pipeline(loop_thread, fleet, ingester, settings) as (_, agent)):
        time.sleep(3.5)
    a, i = agent.counters, ingester.counters
    n_signals = len(banded)
    assert a.values_unchanged > a.values_polled * 0.6  # most values held back
    assert i.samples == a.samples_polled and i.values_held_unknown == 0
    assert i.points_stored == a.values_polled  # every value read is stored, filled in
    wire = sorted(watcher.samples(), key=lambda s: s.ts)
    assert len(wire) == a.samples_polled
    sent_at: dict[str, list[float]] = {}
    for s in wire:
        assert set(s.values) | set(s.unchanged) == {r.name for r in banded}
        for name in s.values:
            sent_at.setdefault(name, []).append(s.ts.timestamp())
    for name, times in sent_at.items():  # the heartbeat: every 1 s, not more often
        gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
        assert gaps and all(0.99 <= g <= 1.35 for g in gaps), (name, gaps)
    assert len(sent_at) == n_signals
    db = sqlite3.connect(tmp_path / "store.sqlite")
    stored = db.execute("SELECT signal, COUNT(*), COUNT(DISTINCT value) FROM points "
                        "GROUP BY signal").fetchall()
    assert {(name, count) for name, count, _ in stored} == {
        (r.name, a.samples_polled) for r in banded}
    assert all(distinct == 1 for _, _, distinct in stored)  # a frozen pump: one value each
