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


def write_dataset(path: str | Path, n_assets: int, seed: int, interval_h: float = 1.0,
                  progress: Callable[[int, int], None] | None = None) -> int:
    """Write the histories of ``n_assets`` simulated assets; return the number of rows."""
    rows = 0
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["unit", "time", "kind", "failure_mode", "event", *SIGNAL_COLUMNS])
        for i, (asset, end_h) in enumerate(random_fleet(n_assets, seed)):
            n = int(end_h // interval_h)
            times = [k * interval_h for k in range(n + 1)]
            if asset.fails:
                times[-1] = end_h  # the last row is the failure itself
            for t in times:
                last = t == times[-1]
                v = asset.read(t - 1e-9 if last and asset.fails else t)
                w.writerow([asset.id, f"{t:.3f}", asset.kind, asset.failure_mode,
                            int(asset.fails),
                            *(f"{v[s]:.6g}" if s in v else "" for s in SIGNAL_COLUMNS)])
                rows += 1
            if progress:
                progress(i + 1, n_assets)
    return rows
