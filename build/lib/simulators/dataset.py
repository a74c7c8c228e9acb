"""Run-to-failure histories of simulated assets, as the CSV that ``forewarn model train`` reads.

Columns: ``unit, time`` (simulated hours), ``kind, failure_mode, event`` (the same on every row of
a unit: 1 if its last row is its failure, 0 if the history was censored), then one column per
sensor (empty where the kind has no such sensor). One row per sample interval.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Callable
from pathlib import Path

from .faults import FaultConfig, apply_sensor_faults
from .physics import _NOMINAL, Asset, failure_modes_of, signals_of

SIGNAL_COLUMNS = tuple(dict.fromkeys(s for k in _NOMINAL for s in signals_of(k)))


def random_fleet(n_assets: int, seed: int, censored_share: float = 0.25,
                 maintained_share: float = 0.15) -> list[tuple[Asset, float]]:
    """``n_assets`` assets with Weibull failure times; returns (asset, end of history in h).

    A ``censored_share`` never fails within its history; of the others, a
    ``maintained_share`` is maintained once while already wearing, which renews it
    (its history then runs to the failure of its second life).
    """
    rng = random.Random(seed)
    out: list[tuple[Asset, float]] = []
    for i in range(n_assets):
        kind = rng.choice(list(_NOMINAL))
        uid = f"{kind}-{i:04d}"
        if rng.random() < censored_share:
            asset = Asset(id=uid, kind=kind, seed=seed)  # type: ignore[arg-type]
            out.append((asset, float(rng.randint(150, 400))))
            continue
        failure_h = 100.0 + rng.weibullvariate(220.0, 2.5)
        onset_h = max(5.0, failure_h - rng.uniform(80.0, 150.0))
        mode = rng.choice(failure_modes_of(kind))
        maintenance: tuple[float, ...] = ()
        if rng.random() < maintained_share:
            maintenance = (onset_h + rng.uniform(0.3, 0.7) * (failure_h - onset_h),)
        asset = Asset(id=uid, kind=kind, failure_mode=mode, onset_h=onset_h,  # type: ignore[arg-type]
                      failure_h=failure_h, seed=seed, maintenance_h=maintenance)
        out.append((asset, asset.fails_at_h))  # type: ignore[arg-type]
    return out


# Signals sensor faults are drawn on (every kind has them).
_FAULTY = ("vibration_rms", "bearing_temp", "motor_current", "vibration_kurtosis")


def random_sensor_faults(asset: Asset, end_h: float, seed: int) -> list[FaultConfig]:
    """One to three sensor faults (spike, stuck, drift) at random times in a history."""
    rng = random.Random(f"{seed}/{asset.id}/faults")
    faults = []
    for _ in range(rng.randint(1, 3)):
        start = rng.uniform(24.0, max(25.0, end_h - 24.0))
        kind = rng.choice(("spike", "stuck", "drift"))
        signal = rng.choice(_FAULTY)
        length = rng.uniform(4.0, 24.0)
        magnitude = {"spike": rng.uniform(0.5, 2.0), "stuck": 1.0,
                     "drift": rng.uniform(0.02, 0.1) * _NOMINAL[asset.kind][signal]}[kind]
        faults.append(FaultConfig(kind=kind, signal=signal, start_h=start,  # type: ignore[arg-type]
                                  end_h=start + length, rate=0.3, magnitude=magnitude))
    return faults


def write_dataset(path: str | Path, n_assets: int, seed: int, interval_h: float = 1.0,
                  progress: Callable[[int, int], None] | None = None,
                  sensor_faults: bool = False) -> int:
    """Write the histories of ``n_assets`` simulated assets; return the number of rows.

    The ground truth goes beside it, in ``<name>.truth.csv`` (one row per unit: kind,
    mode, onset and failure hours, maintenance hours, end of history, injected faults),
    so that it cannot leak into a model as a sensor.

    With ``sensor_faults``, about half the assets get random spike, stuck and drift
    faults, and a ``label`` column marks each row where a faulty sensor reads other
    than the truth (what an edge detector should flag).
    """
    rows = 0
    path = Path(path)
    truth_path = path.with_name(path.stem + ".truth.csv")
    with open(path, "w", newline="") as fh, open(truth_path, "w", newline="") as th:
        w = csv.writer(fh)
        truth = csv.writer(th)
        truth.writerow(["unit", "kind", "failure_mode", "onset_h", "failure_h",
                        "maintenance_h", "end_h", "faults"])
        w.writerow(["unit", "time", "kind", "failure_mode", "event", *SIGNAL_COLUMNS,
                    *(["label"] if sensor_faults else [])])
        for i, (asset, end_h) in enumerate(random_fleet(n_assets, seed)):
            faults = (random_sensor_faults(asset, end_h, seed)
                      if sensor_faults and i % 2 == 0 else [])
            truth.writerow([
                asset.id, asset.kind, asset.failure_mode,
                f"{asset.onset_at_h:.3f}" if asset.fails else "",
                f"{asset.fails_at_h:.3f}" if asset.fails else "",
                " ".join(f"{m:.3f}" for m in asset.maintenance_h), f"{end_h:.3f}",
                " ".join(f"{f.kind}:{f.signal}@{f.start_h:.1f}-{f.end_h:.1f}" for f in faults)])
            n = int(end_h // interval_h)
            times = [k * interval_h for k in range(n + 1)]
            if asset.fails:
                times[-1] = end_h  # the last row is the failure itself
            for t in times:
                last = t == times[-1]
                at = t - 1e-9 if last and asset.fails else t
                v = asset.read(at)
                label: list[int] = []
                if sensor_faults:
                    faulty = apply_sensor_faults(v, at, faults, asset.read, seed, asset.id)
                    label = [int(any(faulty[k] != v[k] for k in v))]
                    v = faulty
                w.writerow([asset.id, f"{t:.3f}", asset.kind, asset.failure_mode,
                            int(asset.fails),
                            *(f"{v[s]:.6g}" if s in v else "" for s in SIGNAL_COLUMNS),
                            *label])
                rows += 1
            if progress:
                progress(i + 1, n_assets)
    return rows
