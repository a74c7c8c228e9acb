"""State that survives: an ingester SIGKILLed mid-stream and restarted scores as if it had
never stopped, and loses nothing. Real Mosquitto, the embedded store, the `forewarn ingest`
command as a user runs it, and a model trained on simulated runs to failure."""

from __future__ import annotations

import datetime as dt
import os
import signal
import sqlite3
import subprocess
import sys
import time

import numpy as np

from contracts.wire import ReadingBatch, Sample, telemetry_topic
from forewarn.config import to_toml
from ingest.settings import IngestSettings
from ingest.stores import open_store
from models.dataset import read_runs
from simulators.dataset import write_dataset
from tests.ingest.test_ingest import publish, run_ingester


def _stream(tmp_path) -> tuple[list[tuple[str, bytes]], int, str]:
    """Hourly samples of a run to failure and a healthy run, ending an hour ago."""
    write_dataset(tmp_path / "d.csv", 4, seed=5)
    runs = read_runs(tmp_path / "d.csv").runs
    failing = next(r for r in runs if r.event == 1)
    healthy = next(r for r in runs if r.event == 0)
    n = len(failing.running)  # to the failure
    t0 = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=n + 1)
    rows = {r.unit: list(r.rows()) for r in (failing, healthy)}
    messages, seq = [], 0
    for i in range(n):
        samples = []
        for run in (failing, healthy):
            if i >= len(rows[run.unit]):
                continue
            values = {k: float(v) for k, v in rows[run.unit][i].items() if np.isfinite(v)}
            values["running"] = float(run.running[i])
            samples.append(Sample(asset=run.unit, ts=t0 + dt.timedelta(hours=i), values=values))
        messages.append((telemetry_topic("site", "gw-1"), ReadingBatch(
            gateway="gw-1", seq=seq, sent_at=t0, samples=samples).to_bytes()))
        seq += 1
    return messages, len(messages), failing.unit


def _settings(mosquitto, folder, model_dir, client_id: str) -> IngestSettings:
    return IngestSettings.model_validate({
        "mqtt": {"url": mosquitto.url, "client_id": client_id},
        "store": {"kind": "embedded", "path": str(folder / "store.sqlite")},
        "dead_letter_path": str(folder / "dl.sqlite"), "state_dir": str(folder / "state"),
        "risk": {"model_dir": str(model_dir), "health_post_interval_s": 0},
        "api": {"url": None}, "batch_max_messages": 7})


def _scores(path) -> list[tuple[str, int, float]]:
    with sqlite3.connect(path) as db:
        try:
            return db.execute("SELECT asset, ts_ns, risk FROM scores ORDER BY asset, ts_ns"
                              ).fetchall()
        except sqlite3.OperationalError:  # not created yet
            return []


def _ingest_process(config) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "forewarn.cli", "ingest", "--config",
                             str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def test_an_ingester_killed_mid_stream_scores_as_if_it_had_never_stopped(
        mosquitto, tmp_path, risk_model_dir):
    from ingest.dead_letters import DeadLetters
    from ingest.pipeline import Ingester
    from ingest.risk import RiskTracker
    from models.io import load_model

    messages, n, _ = _stream(tmp_path)
    model = load_model(risk_model_dir)

    # The reference: one ingester, never interrupted.
    ref = _settings(mosquitto, tmp_path / "ref", risk_model_dir, "ref")
    run_ingester(ref, until=lambda ing: True, timeout=0)
    publish(mosquitto.url, messages)
    risk = RiskTracker.from_settings(model, None, ref.risk)
    ing = Ingester(ref, open_store(ref.store), DeadLetters(ref.dead_letter_path), risk)
    import threading

    stop = threading.Event()
    t = threading.Thread(target=ing.run, args=(stop,))
    t.start()
    deadline = time.monotonic() + 120
    while ing.counters.messages < n and time.monotonic() < deadline:
        time.sleep(0.1)
    stop.set()
    t.join(20)
    expected = _scores(tmp_path / "ref" / "store.sqlite")
    assert len(expected) > 100 and ing.counters.messages == n

    # The same stream through `forewarn ingest`, SIGKILLed twice along the way.
    s = _settings(mosquitto, tmp_path / "killed", risk_model_dir, "killed")
    config = tmp_path / "ingest.toml"
    config.write_text(to_toml(s.model_dump(mode="json", exclude_none=True)))
    run_ingester(s.model_copy(update={"risk": s.risk.model_copy(update={"enabled": False})}),
                 until=lambda ing: True, timeout=0)  # the session exists before publishing
    publish(mosquitto.url, messages)
    store_path = tmp_path / "killed" / "store.sqlite"
    for kill_at in (len(expected) // 3, 2 * len(expected) // 3):
        proc = _ingest_process(config)
        deadline = time.monotonic() + 120
        while len(_scores(store_path)) < kill_at and time.monotonic() < deadline:
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    proc = _ingest_process(config)
    try:
        deadline = time.monotonic() + 120
        while len(_scores(store_path)) < len(expected) and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.0)  # anything extra would arrive now
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    got = _scores(store_path)
    assert [(a, ts) for a, ts, _ in got] == [(a, ts) for a, ts, _ in expected]
    assert np.allclose([r for *_, r in got], [r for *_, r in expected], rtol=0, atol=1e-12)
    killed_store, ref_store = open_store(s.store), open_store(ref.store)
    assert killed_store.count() == ref_store.count() > 0  # nothing lost, nothing extra
