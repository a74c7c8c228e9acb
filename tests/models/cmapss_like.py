"""Run-to-failure data of another shape than our simulator's, to test the generic path.

Shaped like the public turbofan benchmarks: cycles not hours, three operating settings
that switch between six regimes from cycle to cycle, 21 sensors of which some are
constant, every training unit run to failure, and test units cut short with their true
RUL given separately.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

N_SENSORS = 21
CONSTANT = (1, 5, 10, 16, 18, 19)  # 1-based sensor numbers that never move


def _unit(rng, centers, base, sens, regimes: bool):
    life = int(rng.integers(130, 300))
    t = np.arange(1, life + 1)
    k = rng.uniform(2.5, 4.0)
    wear0 = rng.uniform(0.0, 0.15)
    d = wear0 + (np.exp(k * t / life) - 1) / (np.exp(k) - 1)
    r = rng.integers(0, len(centers), size=life) if regimes else np.zeros(life, int)
    settings = centers[r] + rng.normal(0, 0.002, size=(life, 3))
    X = base[r] + d[:, None] * sens[None, :] + rng.normal(0, 1, (life, N_SENSORS)) * 0.25
    for c in CONSTANT:
        X[:, c - 1] = base[0, c - 1]
    return t, settings, X


def write(path: Path, n_units: int, seed: int, regimes: bool = True,
          truncate: bool = False) -> list[float]:
    """Write a CSV; with ``truncate``, cut each unit short and return its true RUL."""
    gen = np.random.default_rng(1234)  # the "engine design": same for train and test
    centers = gen.uniform(0, 40, size=(6, 3))
    base = gen.uniform(5, 600, size=(6, N_SENSORS))
    sens = gen.choice([-1, 1], N_SENSORS) * gen.uniform(0.5, 3.0, N_SENSORS)
    rng = np.random.default_rng(seed)
    truth = []
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["unit_number", "time_cycles", "setting_1", "setting_2", "setting_3",
                    *(f"s_{i}" for i in range(1, N_SENSORS + 1))])
        for u in range(1, n_units + 1):
            t, settings, X = _unit(rng, centers, base, sens, regimes)
            if truncate:  # true RUL 5..150 cycles, as in the public test sets
                keep = len(t) - int(rng.integers(5, min(150, len(t) - 20)))
                truth.append(float(len(t) - keep))
                t, settings, X = t[:keep], settings[:keep], X[:keep]
            for i in range(len(t)):
                w.writerow([u, int(t[i]), *(f"{v:.4f}" for v in settings[i]),
                            *(f"{v:.4f}" for v in X[i])])
    return truth
