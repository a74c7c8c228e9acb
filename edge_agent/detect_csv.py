"""``forewarn detect``: replay a CSV through exactly the detectors the agent runs.

Any CSV with a header: a time column (found by name — time, timestamp, ts, datetime,
date — or as the first column that reads as times; without one, rows are one second
apart), optionally an asset column (asset, unit, machine, device, id ...: each asset
gets its own detectors), and one column per sensor: every other column whose values are
numbers. Columns that hold anything else, and label columns (label, anomaly,
is_anomaly, fault, outlier, target) and outcomes (event, failure, rul), are carried
through unscored. The delimiter (comma, semicolon, tab, pipe) is sniffed. Rows are fed in file
order to the agent's ``AnomalyProcessor`` as samples; its first ``warmup`` values per
signal are the warm-up (learnt, not scored). The output is the input with ``score``
(the largest score / threshold of the row: 1 or more flags), ``anomaly`` (0/1) and
``detector`` (which one flagged the row) appended.

Needs nothing beyond the agent's own install (no numpy, no pandas).
"""

from __future__ import annotations

import csv
import math
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from contracts.wire import Sample

from .errors import DetectError
from .processors.anomaly import AnomalyProcessor
from .settings import DetectorSettings

TIME_NAMES = ("time", "timestamp", "ts", "datetime", "date_time", "date", "time_s",
              "time_h", "hours", "cycle", "cycles", "t")
ASSET_NAMES = ("asset", "asset_id", "unit", "unit_id", "unit_number", "machine",
               "machine_id", "device", "device_id", "equipment", "engine", "id")
LABEL_NAMES = ("label", "labels", "anomaly", "is_anomaly", "anomaly_label", "fault",
               "is_fault", "outlier", "target", "y")
# outcomes of a history, not sensors: never scored
OUTCOME_NAMES = ("event", "failure", "failed", "rul", "ttf", "time_to_failure")
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass
class Layout:
    time: str | None
    asset: str | None
    sensors: list[str]
    label: str | None
    ignored: list[str]
    time_unit: str  # "s", "h" or "datetime"


@dataclass
class Report:
    rows: int = 0
    flagged: int = 0
    by_detector: Counter = field(default_factory=Counter)
    unreadable_cells: int = 0
    layout: Layout | None = None
    metrics: dict[str, float] = field(default_factory=dict)  # against the label column


def _number(text: str) -> float | None:
    text = text.strip()
    if not text:
        return None
    try:
        v = float(text)
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def _datetime(text: str) -> datetime | None:
    text = text.strip()
    if not text or _number(text) is not None:
        return None
    try:
        t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def find_layout(header: list[str], rows: list[list[str]], time_col: str | None = None,
                asset_col: str | None = None, time_unit: str = "auto") -> Layout:
    """Which column is what, from the header and the first rows."""
    lower = {h.strip().lower(): h for h in header}
    for wanted, what in ((time_col, "--time-col"), (asset_col, "--asset-col")):
        if wanted and wanted not in header:
            raise DetectError(f"{what} {wanted!r} is not a column; columns: {header}")

    def column(name: str) -> list[str]:
        i = header.index(name)
        return [r[i] for r in rows if i < len(r)]

    def numeric(name: str) -> bool:
        """Numbers, but for a few unreadable cells (an export's "#DIV/0!")."""
        cells = [c for c in column(name) if c.strip()
                 and c.strip().lower() not in ("nan", "na", "null", "none")]
        good = sum(_number(c) is not None for c in cells)
        return good > 0 and good >= 0.9 * len(cells)

    time = time_col or next((lower[n] for n in TIME_NAMES if n in lower), None)
    if time is None:
        time = next((h for h in header if column(h) and all(
            _datetime(c) is not None for c in column(h) if c.strip())), None)
    asset = asset_col or next((lower[n] for n in ASSET_NAMES if n in lower
                               and lower[n] != time), None)
    label = next((lower[n] for n in LABEL_NAMES if n in lower), None)
    sensors, ignored = [], []
    for h in header:
        if h in (time, asset, label):
            continue
        if h.strip().lower() in OUTCOME_NAMES:
            ignored.append(h)
            continue
        (sensors if numeric(h) else ignored).append(h)
    if label:
        ignored.append(label)
    if not sensors:
        raise DetectError(f"no numeric sensor column found among {header} (time column: "
                          f"{time!r}, asset column: {asset!r})")
    unit = time_unit
    if time is None:
        unit = "s"
    elif unit == "auto":
        cells = [c for c in column(time) if c.strip()]
        if cells and all(_datetime(c) is not None for c in cells):
            unit = "datetime"
        elif not cells or not all(_number(c) is not None for c in cells):
            raise DetectError(f"time column {time!r} holds neither numbers nor ISO 8601 "
                              f"times (first: {cells[:1]}); name another with --time-col")
        else:
            unit = "h" if time.strip().lower() in ("time_h", "hours") else "s"
    return Layout(time, asset, sensors, label, ignored, unit)


def detect_csv(data: str | Path, out: str | Path, settings: DetectorSettings | None = None,
               time_col: str | None = None, asset_col: str | None = None,
               time_unit: str = "auto",
               progress: Callable[[int, int], None] | None = None) -> Report:
    settings = (settings or DetectorSettings()).model_copy(update={"realert_s": 0.0})
    path = Path(data)
    try:
        size = path.stat().st_size
        fh = open(path, newline="", encoding="utf-8-sig")  # noqa: SIM115
    except OSError as exc:
        raise DetectError(f"cannot read {path}: {exc.strerror}") from exc
    with fh, open(out, "w", newline="") as oh:
        try:
            dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(
                fh.read(65536), delimiters=",;\t|")
        except csv.Error:
            dialect = csv.excel
        fh.seek(0)
        reader = csv.reader(fh, dialect)
        try:
            header = next(reader)
        except StopIteration:
            raise DetectError(f"{path} is empty: a header row is needed") from None
        except csv.Error as exc:
            raise DetectError(f"{path} is not CSV: {exc}") from exc
        head: list[list[str]] = []
        for row in reader:
            head.append(row)
            if len(head) >= 2000:
                break
        if not head:
            raise DetectError(f"{path} has a header and no rows")
        layout = find_layout(header, head, time_col, asset_col, time_unit)
        if settings.run_signal and settings.run_signal not in layout.sensors:
            settings = settings.model_copy(update={"run_signal": None})
        proc = AnomalyProcessor(settings)
        report = Report(layout=layout)
        writer = csv.writer(oh, dialect)
        writer.writerow([*header, "score", "anomaly", "detector"])
        idx = {h: i for i, h in enumerate(header)}
        sensor_idx = [(s, idx[s]) for s in layout.sensors]
        t_i = idx.get(layout.time) if layout.time else None
        a_i = idx.get(layout.asset) if layout.asset else None
        l_i = idx.get(layout.label) if layout.label else None
        tp = fp = fn = 0
        done_bytes = 0
        step = max(1, size // 50)
        next_report = step

        def rows():
            yield from head
            yield from reader

        for n, row in enumerate(rows()):
            report.rows += 1
            values: dict[str, float] = {}
            for name, i in sensor_idx:
                if i < len(row) and row[i].strip():
                    v = _number(row[i])
                    if v is None:
                        if row[i].strip().lower() not in ("nan", "na", "null", "none"):
                            report.unreadable_cells += 1
                    else:
                        values[name] = v
            ts = _row_time(row[t_i] if t_i is not None and t_i < len(row) else "", n,
                           layout.time_unit)
            asset = _asset(row[a_i] if a_i is not None and a_i < len(row) else "")
            found = proc.process(Sample.model_construct(asset=asset, ts=ts, values=values,
                                                        unchanged=[])) if values else []
            severity = proc.last_severity if values else 0.0
            flagged = severity >= 1.0
            strongest = max(found, key=lambda a: a.severity).detector if found else ""
            if flagged:
                report.flagged += 1
                report.by_detector[strongest or "ongoing"] += 1
            writer.writerow([*row, f"{severity:.4g}", int(flagged), strongest])
            if l_i is not None and l_i < len(row):
                truth = _number(row[l_i])
                if truth is not None:
                    tp += flagged and truth > 0
                    fp += flagged and not truth > 0
                    fn += (not flagged) and truth > 0
            if progress is not None:
                done_bytes += sum(len(c) + 1 for c in row)
                if done_bytes >= next_report:
                    progress(min(done_bytes, size), size)
                    next_report += step
        if l_i is not None and tp + fp + fn:
            precision = tp / (tp + fp) if tp + fp else 0.0
            recall = tp / (tp + fn) if tp + fn else 0.0
            report.metrics = {"precision": precision, "recall": recall,
                              "f1": 2 * precision * recall / (precision + recall)
                              if precision + recall else 0.0}
    return report


def _row_time(text: str, n: int, unit: str) -> datetime:
    if unit == "datetime":
        t = _datetime(text)
        if t is not None:
            return t
    else:
        v = _number(text)
        if v is not None:
            if unit == "s" and v > 1e12:  # epoch milliseconds
                v /= 1000.0
            seconds = v * 3600.0 if unit == "h" else v
            try:
                return (datetime.fromtimestamp(seconds, UTC) if seconds > 1e9
                        else _EPOCH + timedelta(seconds=seconds))
            except (OverflowError, OSError, ValueError):
                pass
    return _EPOCH + timedelta(seconds=n)  # no usable time: one second per row


def _asset(text: str) -> str:
    """Any text as an asset key (the processor only keys its state by it)."""
    return text.strip() or "asset"


def print_progress(done: int, total: int) -> None:
    print(f"\rdetect: {100 * done / max(total, 1):5.1f}% of the file", end="",
          file=sys.stderr, flush=True)
