"""Reading run-to-failure histories from CSV: one row per unit per sample.

Column roles are found by name (``unit``/``unit_id``/``asset``/``asset_id``;
``time``/``timestamp``/``cycle``; ``event``; ``failure_mode``); every other column
is a candidate sensor. Rows of a unit are sorted by time.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

UNIT_NAMES = ("unit", "unit_id", "asset", "asset_id")
TIME_NAMES = ("time", "timestamp", "cycle")


class DatasetError(ValueError):
    """The history file cannot be used for training or scoring."""


@dataclass
class Run:
    unit: str
    time: np.ndarray
    signals: dict[str, np.ndarray]
    event: int = 1
    failure_mode: str = ""

    def rows(self) -> list[dict[str, float]]:
        names = list(self.signals)
        cols = [self.signals[n] for n in names]
        return [dict(zip(names, vals, strict=True)) for vals in zip(*cols, strict=True)]


@dataclass
class Dataset:
    runs: list[Run]
    sha256: str
    columns: list[str] = field(default_factory=list)


def _pick(header: list[str], names: tuple[str, ...], given: str | None, role: str) -> str:
    if given:
        if given not in header:
            raise DatasetError(f"--{role}-col {given!r} is not a column; columns: {header}")
        return given
    for n in names:
        if n in header:
            return n
    raise DatasetError(f"no {role} column: name one of {names} or pass --{role}-col")


def read_runs(path: str | Path, unit_col: str | None = None, time_col: str | None = None,
              event_col: str | None = None) -> Dataset:
    path = Path(path)
    if not path.exists():
        raise DatasetError(f"{path} does not exist")
    raw = path.read_bytes()
    lines = raw.decode().splitlines()
    reader = csv.reader(lines)
    header = next(reader, None)
    if not header:
        raise DatasetError(f"{path} is empty")
    ucol = _pick(header, UNIT_NAMES, unit_col, "unit")
    tcol = _pick(header, TIME_NAMES, time_col, "time")
    ecol = event_col or ("event" if "event" in header else None)
    roles = {ucol, tcol, ecol, "failure_mode", "kind"}
    sensors = [c for c in header if c not in roles]
    idx = {c: i for i, c in enumerate(header)}
    by_unit: dict[str, list[list[str]]] = {}
    for lineno, row in enumerate(reader, start=2):
        if len(row) != len(header):
            raise DatasetError(f"{path}:{lineno}: {len(row)} fields, header has {len(header)}")
        by_unit.setdefault(row[idx[ucol]], []).append(row)
    runs = []
    for unit, rows in by_unit.items():
        try:
            t = np.array([float(r[idx[tcol]]) for r in rows])
        except ValueError as exc:
            raise DatasetError(f"{path}: unit {unit}: time column is not numeric: {exc}") from exc
        order = np.argsort(t, kind="stable")
        signals = {}
        for c in sensors:
            vals = [r[idx[c]] for r in rows]
            if all(v == "" for v in vals):
                continue
            signals[c] = np.array([float(v) if v != "" else np.nan for v in vals])[order]
        event = int(float(rows[-1][idx[ecol]] or 1)) if ecol else 1
        mode = rows[-1][idx["failure_mode"]] if "failure_mode" in idx else ""
        runs.append(Run(unit=unit, time=t[order], signals=signals, event=event,
                        failure_mode=mode))
    return Dataset(runs=runs, sha256=hashlib.sha256(raw).hexdigest(), columns=header)
