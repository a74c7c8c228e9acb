"""The agent's detectors: alarms on a real change, silence while a machine is stopped
or warming up."""

from datetime import UTC, datetime, timedelta

from contracts.wire import Sample
from edge_agent.processors.anomaly import AnomalyProcessor
from edge_agent.settings import DetectorSettings

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def feed(proc, rows):
    found = []
    for i, values in enumerate(rows):
        found += proc.process(Sample(asset="p", ts=T0 + timedelta(seconds=i), values=values))
    return found


def running(temp, run=1, **extra):
    return {"bearing_temp": temp, "running": run, "starts": 1, **extra}


def test_a_step_in_a_running_machine_is_flagged_once():
    proc = AnomalyProcessor(DetectorSettings(warmup=20, realert_s=1000))
    normal = [running(50 + 0.5 * (i % 3)) for i in range(40)]
    found = feed(proc, normal + [running(80)] * 5)
    assert [(a.signal, a.value) for a in found] == [("bearing_temp", 80)]


def test_a_stop_and_the_warm_up_after_it_are_not_anomalies():
    proc = AnomalyProcessor(DetectorSettings(warmup=20, restart_settle_s=10))
    normal = [running(50 + 0.5 * (i % 3)) for i in range(40)]
    stopped = [running(50 - 2 * i, run=0) for i in range(10)]  # cooling down, speed 0
    warming = [running(30 + 2 * i) for i in range(10)]  # back up within the settle time
    assert feed(proc, normal + stopped + warming + normal) == []
    # Counters and the run state itself are never scored, however they jump.
    assert feed(proc, [running(50, starts=1000)]) == []


def test_without_a_run_signal_every_sample_is_scored():
    proc = AnomalyProcessor(DetectorSettings(warmup=20, run_signal=None))
    normal = [running(50 + 0.5 * (i % 3)) for i in range(40)]
    found = feed(proc, normal + [running(5, run=0)])
    assert [a.signal for a in found] == ["bearing_temp"]


def series(n, f, asset="p"):
    return [Sample(asset=asset, ts=T0 + timedelta(seconds=i), values=f(i)) for i in range(n)]


def run_all(proc, samples):
    return [(i, a) for i, s in enumerate(samples) for a in proc.process(s)]


def test_a_stuck_sensor_is_flagged_with_its_run_as_evidence():
    import random

    rng = random.Random(4)
    proc = AnomalyProcessor(DetectorSettings(run_signal=None, realert_s=1000))
    stuck_from = 200
    found = run_all(proc, series(260, lambda i: {
        "temp": 61.25 if i >= stuck_from else round(60 + rng.gauss(0, 0.5), 2)}))
    assert [(a.detector, a.signal) for _, a in found] == [("stuck", "temp")]
    i, a = found[0]
    assert a.window_start == T0 + timedelta(seconds=stuck_from) and i - stuck_from < 10


def test_out_of_range_flags_only_outside_the_configured_limits():
    proc = AnomalyProcessor(DetectorSettings(run_signal=None, detectors=["out_of_range"],
                                             ranges={"pressure": (0.0, 10.0)}, realert_s=0))
    found = run_all(proc, series(5, lambda i: {"pressure": [5.0, 9.9, 10.5, -1.0, 3.0][i]}))
    assert [(i, a.detector) for i, a in found] == [(2, "out_of_range"), (3, "out_of_range")]


def test_the_multivariate_detector_sees_a_broken_correlation_no_single_signal_shows():
    """Current follows load; then current stays put while load swings, each within its
    own normal range: only the joint view is off."""
    import math
    import random

    rng = random.Random(5)

    def values(i):
        load = 50 + 20 * math.sin(i / 15) + rng.gauss(0, 0.2)
        current = 0.8 * load + rng.gauss(0, 0.2) if i < 400 else 40 + rng.gauss(0, 0.2)
        return {"load": round(load, 2), "current": round(current, 2)}

    samples = series(460, values)
    univariate = [d for d in DetectorSettings().detectors if d != "multivariate_t2"]
    alone = AnomalyProcessor(DetectorSettings(run_signal=None, detectors=univariate,
                                              realert_s=0))
    assert [i for i, _ in run_all(alone, samples) if i >= 400] == []
    joint = AnomalyProcessor(DetectorSettings(run_signal=None, realert_s=0,
                                              multivariate_threshold=6.0,
                                              detectors=["multivariate_t2"]))
    found = run_all(joint, samples)
    assert found and all(i >= 400 for i, _ in found)
    assert set(found[0][1].signals) == {"load", "current"}


def test_a_drift_adds_up_where_no_single_value_stands_out():
    import random

    rng = random.Random(6)
    samples = series(400, lambda i: {"flow": round(
        100 + rng.gauss(0, 1.0) + (1.5 * (i - 300) if i >= 300 else 0), 2)})
    proc = AnomalyProcessor(DetectorSettings(run_signal=None, detectors=["drift"],
                                             realert_s=1000))
    found = run_all(proc, samples)
    assert [a.detector for _, a in found] == ["drift"]
    i, a = found[0]
    assert 300 <= i < 340 and a.window_start >= T0 + timedelta(seconds=290)
