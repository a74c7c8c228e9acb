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
