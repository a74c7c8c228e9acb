"""Reading run-to-failure histories: one generic CSV format, one row per unit per sample.

Column roles are recognised by name, or given explicitly:

- unit: ``unit``, ``unit_id``, ``asset``, ``asset_id``, else the first column whose name
  contains unit/asset/engine/machine (``--unit-col``);
- time: ``time``, ``timestamp``, ``cycle``, else the first name containing
  cycle/time/date (``--time-col``): a number or an ISO 8601 timestamp (read as hours
  since the epoch). Time counts cycles when the column's name contains "cycle",
  else hours;
- event (optional, ``--event-col``): 1 if the unit's last row is its failure, 0 if the
  history is censored; default 1;
- failure mode (optional): ``failure_mode``;
- true remaining life (optional, for evaluation only): ``rul``, ``RUL``, ``true_rul``;
- run state (optional, ``--run-col``): ``running``; rows where it is 0 are a stopped
  machine and are neither trained on nor scored;
- anomaly label (optional, ``--label-col``): ``label``, ``anomaly``; 1 on rows a detector
  should flag, for ``forewarn model detectors``;
- operating settings (optional, ``--setting-cols``): columns named ``setting*``,
  ``op_setting*``; they define operating regimes.

Every other numeric column is a sensor. Text columns (``kind``, say) are set aside and
reported; ``--ignore-cols`` sets aside more. Rows of a unit are sorted by time.
Which sensors are useful (not constant, not mostly empty, not a copy of another) is
decided on the training data by :func:`useful_sensors` and recorded in the model.

>>> import io, pathlib, tempfile
>>> p = pathlib.Path(tempfile.mkdtemp()) / "d.csv"
>>> _ = p.write_text("unit,cycle,setting1,s1,s2,kind\\n1,1,0.5,10,7,a\\n1,2,0.5,11,7,a\\n")
>>> d = read_runs(p)
>>> d.roles["time"], d.sensors, d.settings, d.set_aside
('cycle', ['s1', 's2'], ['setting1'], {'kind': 'not numeric'})
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import DatasetError
from .features import RUN_SIGNAL

UNIT_NAMES = ("unit", "unit_id", "asset", "asset_id")
TIME_NAMES = ("time", "timestamp", "cycle")
# Failing an exact name, the first column whose name contains one of these.
UNIT_STEMS = ("unit", "asset", "engine", "machine")
TIME_STEMS = ("cycle", "time", "date")
EVENT_NAMES = ("event",)
MODE_NAMES = ("failure_mode",)
RUL_NAMES = ("rul", "RUL", "true_rul")
RUN_NAMES = (RUN_SIGNAL,)
LABEL_NAMES = ("label", "anomaly")
SETTING_PREFIXES = ("setting", "op_setting")


@dataclass
class Run:
    """One unit's history. ``signals`` holds sensors and settings by column name."""

    unit: str
    time: np.ndarray
    signals: dict[str, np.ndarray]
    event: int = 1
    failure_mode: str = ""
    running: np.ndarray | None = None  # 1/0 per row, when the data has a run state
    true_rul: np.ndarray | None = None  # per row, when the data carries it
    label: np.ndarray | None = None  # anomaly label per row, when the data carries it
    time_text: list[str] = field(default_factory=list)  # the time column as written

    def __post_init__(self) -> None:
        if not self.time_text:
            self.time_text = [f"{t:.6g}" for t in self.time]

    def __len__(self) -> int:
        return len(self.time)

    def rows(self) -> list[dict[str, float]]:
        names = list(self.signals)
        cols = [self.signals[n] for n in names]
        return [dict(zip(names, vals, strict=True)) for vals in zip(*cols, strict=True)]

    def matrix(self, columns: list[str]) -> np.ndarray:
        """Rows x ``columns``; a column this unit lacks is all NaN."""
        n = len(self.time)
        return np.column_stack([self.signals.get(c, np.full(n, np.nan)) for c in columns]
                               ) if columns else np.empty((n, 0))

    def running_rows(self) -> np.ndarray:
        """True for each row where the machine runs (every row without a run state)."""
        return np.ones(len(self), bool) if self.running is None else self.running != 0

    def failure_time(self) -> float | None:
        """When the unit fails: its last row's time plus its true RUL when the data
        carries it, else the last row's time if that row is the failure; None if censored."""
        if self.true_rul is not None and np.isfinite(self.true_rul[-1]):
            return float(self.time[-1] + self.true_rul[-1])
        return float(self.time[-1]) if self.event else None


@dataclass
class Dataset:
    runs: list[Run]
    sha256: str
    columns: list[str] = field(default_factory=list)
    roles: dict[str, str] = field(default_factory=dict)
    sensors: list[str] = field(default_factory=list)
    settings: list[str] = field(default_factory=list)
    set_aside: dict[str, str] = field(default_factory=dict)
    time_unit: str = "h"

    @property
    def failed(self) -> list[Run]:
        return [r for r in self.runs if r.event == 1]


def _pick(header: list[str], names: tuple[str, ...], given: str | None, role: str,
          required: bool = True, stems: tuple[str, ...] = ()) -> str | None:
    if given:
        if given not in header:
            raise DatasetError(f"--{role}-col {given!r} is not a column; columns: {header}")
        return given
    for n in names:
        if n in header:
            return n
    for stem in stems:
        for h in header:
            if stem in h.lower():
                return h
    if required:
        raise DatasetError(f"no {role} column: name one of {names} or pass --{role}-col")
    return None


def _number(text: str) -> float:
    if text == "" or text.lower() in ("nan", "na", "null"):
        return math.nan
    return float(text)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _time_value(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        pass
    stamp = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=dt.UTC)
    return stamp.timestamp() / 3600.0


def read_runs(path: str | Path, unit_col: str | None = None, time_col: str | None = None,
              event_col: str | None = None, run_col: str | None = None,
              setting_cols: list[str] | None = None,
              ignore_cols: list[str] | None = None, label_col: str | None = None,
              time_unit: str | None = None) -> Dataset:
    """Read a history CSV (see the module docstring for the format)."""
    path = Path(path)
    if not path.exists():
        raise DatasetError(f"{path} does not exist")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{path} is not UTF-8 text: {exc}") from exc
    sample = text[:4096]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t ")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(text.splitlines(), dialect)
    header = [h.strip() for h in next(reader, [])]
    header = header[:-1] if header and header[-1] == "" else header  # a trailing delimiter
    if not header:
        raise DatasetError(f"{path} is empty")
    if all(_is_number(h) for h in header):
        raise DatasetError(f"{path}: the first line is data, not column names; add a header "
                           "row naming the unit, time and sensor columns")
    ucol = _pick(header, UNIT_NAMES, unit_col, "unit", stems=UNIT_STEMS)
    tcol = _pick(header, TIME_NAMES, time_col, "time", stems=TIME_STEMS)
    if tcol == ucol:
        raise DatasetError(f"column {ucol!r} cannot be both unit and time; pass --time-col")
    ecol = _pick(header, EVENT_NAMES, event_col, "event", required=False)
    mcol = _pick(header, MODE_NAMES, None, "failure_mode", required=False)
    rcol = _pick(header, RUL_NAMES, None, "rul", required=False)
    runcol = _pick(header, RUN_NAMES, run_col, "run", required=False)
    lcol = _pick(header, LABEL_NAMES, label_col, "label", required=False)
    roles = {k: v for k, v in {"unit": ucol, "time": tcol, "event": ecol, "failure_mode": mcol,
                               "rul": rcol, "run": runcol, "label": lcol}.items() if v}
    ignored = set(ignore_cols or [])
    unknown = ignored - set(header)
    if unknown:
        raise DatasetError(f"--ignore-cols names no column: {sorted(unknown)}")
    if setting_cols:
        missing = set(setting_cols) - set(header)
        if missing:
            raise DatasetError(f"--setting-cols names no column: {sorted(missing)}")
        settings = list(setting_cols)
    else:
        settings = [c for c in header if c.lower().startswith(SETTING_PREFIXES)]
    candidates = [c for c in header if c not in set(roles.values()) | ignored | set(settings)]
    idx = {c: i for i, c in enumerate(header)}
    by_unit: dict[str, list[list[str]]] = {}
    for lineno, row in enumerate(reader, start=2):
        if not row or all(not v.strip() for v in row):
            continue
        if len(row) == len(header) + 1 and row[-1].strip() == "":
            row = row[:-1]
        if len(row) != len(header):
            raise DatasetError(f"{path}:{lineno}: {len(row)} fields, header has {len(header)}")
        by_unit.setdefault(row[idx[ucol]].strip(), []).append([v.strip() for v in row])
    if not by_unit:
        raise DatasetError(f"{path} has a header but no rows")
    # A column is a sensor if every non-empty value in it is a number.
    set_aside = {c: "ignored (--ignore-cols)" for c in ignored}
    numeric = []
    for c in candidates + settings:
        try:
            for rows in by_unit.values():
                for r in rows:
                    _number(r[idx[c]])
        except ValueError:
            if c in settings:
                raise DatasetError(f"setting column {c!r} is not numeric") from None
            set_aside[c] = "not numeric"
            continue
        numeric.append(c)
    sensors = [c for c in numeric if c not in settings]
    runs = []
    for unit, rows in by_unit.items():
        try:
            t = np.array([_time_value(r[idx[tcol]]) for r in rows])
        except ValueError as exc:
            raise DatasetError(f"{path}: unit {unit}: time column {tcol!r} is neither a number "
                               f"nor an ISO 8601 timestamp: {exc}") from exc
        order = np.argsort(t, kind="stable")
        signals = {}
        for c in numeric:
            col = np.array([_number(r[idx[c]]) for r in rows])[order]
            if not np.all(np.isnan(col)):
                signals[c] = col
        event = 1
        if ecol:
            try:
                event = int(_number(rows[order[-1]][idx[ecol]] or "1"))
            except ValueError as exc:
                raise DatasetError(f"{path}: unit {unit}: event must be 0 or 1: {exc}") from exc
            if event not in (0, 1):
                raise DatasetError(f"{path}: unit {unit}: event must be 0 or 1, got {event}")
        mode = rows[order[-1]][idx[mcol]] if mcol else ""
        extra: dict[str, np.ndarray | None] = {}
        for key, col in (("running", runcol), ("true_rul", rcol), ("label", lcol)):
            try:
                extra[key] = (np.array([_number(r[idx[col]]) for r in rows])[order]
                              if col else None)
            except ValueError as exc:
                raise DatasetError(f"{path}: unit {unit}: column {col!r}: {exc}") from exc
        runs.append(Run(unit=unit, time=t[order], signals=signals, event=event,
                        failure_mode=mode, time_text=[rows[i][idx[tcol]] for i in order],
                        **extra))
    if time_unit not in (None, "h", "cycle"):
        raise DatasetError(f"--time-unit must be h or cycle, got {time_unit!r}")
    time_unit = time_unit or ("cycle" if "cycle" in tcol.lower() else "h")
    return Dataset(runs=runs, sha256=hashlib.sha256(raw).hexdigest(), columns=header,
                   roles=roles, sensors=sensors, settings=settings, set_aside=set_aside,
                   time_unit=time_unit)


def useful_sensors(runs: list[Run], sensors: list[str]) -> tuple[list[str], dict[str, str]]:
    """Sensors worth modelling, and why each other one was dropped.

    Dropped: constant (no spread across all rows), mostly empty (over half the
    rows of the units that have it), or an exact copy of an earlier sensor.
    """
    kept: list[str] = []
    dropped: dict[str, str] = {}
    seen: dict[bytes, str] = {}
    for s in sensors:
        cols = [r.signals[s] for r in runs if s in r.signals]
        if not cols:
            dropped[s] = "empty"
            continue
        x = np.concatenate(cols)
        finite = x[np.isfinite(x)]
        if len(finite) < 0.5 * len(x):
            dropped[s] = f"mostly empty ({len(finite)}/{len(x)} values)"
            continue
        spread = float(np.std(finite))
        if spread <= 1e-9 * max(1.0, float(np.abs(finite).mean())):
            dropped[s] = f"constant ({finite[0]:.6g})"
            continue
        key = np.round(x, 9).tobytes()
        if key in seen:
            dropped[s] = f"copy of {seen[key]}"
            continue
        seen[key] = s
        kept.append(s)
    return kept, dropped


def sorted_units(units: list[str]) -> list[str]:
    """Numerically when every id is an integer, else alphabetically.

    >>> sorted_units(["10", "2", "1"]), sorted_units(["pump-10", "motor-2"])
    (['1', '2', '10'], ['motor-2', 'pump-10'])
    """
    if all(u.lstrip("-").isdigit() for u in units):
        return sorted(units, key=int)
    return sorted(units)


def read_rul_file(path: str | Path, units: list[str]) -> dict[str, float]:
    """True RUL at each unit's last row, one number per line, units in :func:`sorted_units`
    order.

    This is how public benchmarks ship the truth of their truncated test units.
    """
    try:
        values = [float(line.split()[0]) for line in Path(path).read_text().splitlines()
                  if line.strip()]
    except (OSError, ValueError, IndexError) as exc:
        raise DatasetError(f"--rul-file {path}: {exc}") from exc
    ordered = sorted_units(units)
    if len(values) != len(ordered):
        raise DatasetError(f"--rul-file {path} has {len(values)} values for "
                           f"{len(ordered)} units")
    return dict(zip(ordered, values, strict=True))
