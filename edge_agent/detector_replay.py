"""Replaying labelled histories through the agent's anomaly detectors, to score and fit them.

The detectors are the agent's own (``processors.anomaly``), fed the rows of
each unit as samples, with the same run-state gating. A row is *flagged* when any of
its signals raises an anomaly. Against the label column (1 on rows a detector should
flag):

- precision, recall and F1 over rows;
- the share of labelled episodes (runs of labelled rows) with at least one flag;
- false alarms: episodes of flagged rows that touch no labelled row, per unit-day
  (per 100 unit-cycles when time counts cycles), and per sensor-day (each scored sensor
  with data in a unit counts once per day of that unit's history).

``fit`` tries a small grid of ``alpha`` and ``threshold`` and keeps the best F1.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable

import numpy as np

from contracts.wire import Sample
from models.dataset import Dataset, DatasetError, Run, useful_sensors

from .processors.anomaly import AnomalyProcessor
from .settings import DetectorSettings

GRID = {"alpha": (0.02, 0.05, 0.1), "threshold": (3.0, 4.0, 5.0, 6.0, 8.0)}
_EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


def _episodes(mask: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) index of each run of True."""
    out, start = [], None
    for i, m in enumerate(mask):
        if m and start is None:
            start = i
        elif not m and start is not None:
            out.append((start, i - 1))
            start = None
    if start is not None:
        out.append((start, len(mask) - 1))
    return out


def flags(run: Run, sensors: list[str], settings: DetectorSettings, hours: bool) -> np.ndarray:
    """One bool per row: did the agent's detectors flag it."""
    proc = AnomalyProcessor(settings.model_copy(update={"realert_s": 0.0}))
    out = np.zeros(len(run), bool)
    scale = 3600.0 if hours else 1.0  # timestamps only order samples and time warm-up
    for i in range(len(run)):
        values = {s: float(run.signals[s][i]) for s in sensors
                  if s in run.signals and np.isfinite(run.signals[s][i])}
        if run.running is not None and settings.run_signal:
            values[settings.run_signal] = float(run.running[i])
        ts = _EPOCH + dt.timedelta(seconds=float(run.time[i]) * scale)
        out[i] = bool(proc.process(Sample(asset=run.unit, ts=ts, values=values)))
    return out


def score(data: Dataset, settings: DetectorSettings, sensors: list[str]) -> dict[str, float]:
    runs = [r for r in data.runs if r.label is not None]
    if not runs:
        raise DatasetError("no label column: name one `label` or pass --label-col")
    hours = data.time_unit == "h"
    tp = fp = fn = 0
    episodes = caught = false = 0
    exposure = sensor_exposure = 0.0
    for run in runs:
        f = flags(run, sensors, settings, hours)
        y = run.label == 1  # type: ignore[operator]
        tp += int(np.sum(f & y))
        fp += int(np.sum(f & ~y))
        fn += int(np.sum(~f & y))
        for a, b in _episodes(y):
            episodes += 1
            caught += bool(f[a: b + 1].any())
        false += sum(1 for a, b in _episodes(f) if not y[a: b + 1].any())
        span = float(run.time[-1] - run.time[0])
        exposure += span
        sensor_exposure += span * sum(
            1 for s in sensors if s in run.signals and np.isfinite(run.signals[s]).any())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    per = exposure / 24.0 if hours else exposure / 100.0
    per_sensor = sensor_exposure / 24.0 if hours else sensor_exposure / 100.0
    return {"precision": precision, "recall": recall, "f1": f1,
            "episodes": episodes, "episodes_caught_share": caught / episodes if episodes else
            float("nan"), "false_alarms": false,
            ("false_alarms_per_unit_day" if hours else "false_alarms_per_100_unit_cycles"):
            false / max(per, 1e-9),
            ("false_alarms_per_sensor_day" if hours else "false_alarms_per_100_sensor_cycles"):
            false / max(per_sensor, 1e-9)}


def detector_sensors(data: Dataset, settings: DetectorSettings) -> list[str]:
    """The sensors the agent would score: useful ones, less counters and states."""
    return useful_sensors(data.runs, [s for s in data.sensors
                                      if s not in settings.skip_signals])[0]


def fit(data: Dataset, base: DetectorSettings | None = None,
        log: Callable[[str], None] = print) -> tuple[DetectorSettings, dict[str, float]]:
    base = base or DetectorSettings()
    sensors = detector_sensors(data, base)
    best: tuple[DetectorSettings, dict[str, float]] | None = None
    for alpha, threshold in itertools.product(GRID["alpha"], GRID["threshold"]):
        s = base.model_copy(update={"alpha": alpha, "threshold": threshold})
        m = score(data, s, sensors)
        log(f"  alpha {alpha:<5g} threshold {threshold:<4g} precision {m['precision']:.3f} "
            f"recall {m['recall']:.3f} F1 {m['f1']:.3f}")
        if best is None or m["f1"] > best[1]["f1"]:
            best = (s, m)
    return best  # type: ignore[return-value]
