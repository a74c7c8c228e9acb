"""Quality analytics over the work-order history: what fails most (Pareto), what fails
again (repeats), how often (MTBF by mode), what it costs, and whether corrective actions
made repeats rarer. Definitions and worked examples: docs/quality.md.

A **failure** is a completed or closed order whose result is not ``no_fault_found``,
dated by its completion; its mode, cause and the asset's class are its keys ("" is
reported as ``(unclassified)``). A **repeat** is a failure of the same asset and mode
opened within ``window_days`` after the previous such failure was completed.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime

UNCLASSIFIED = "(unclassified)"


@dataclass(frozen=True)
class Failure:
    order_id: int
    asset_id: str
    equipment_class: str
    failure_mode: str
    failure_cause: str
    opened_at: datetime
    completed_at: datetime


def pareto(failures: list[Failure], by: str) -> list[dict]:
    """Failures counted by ``by`` (failure_mode, failure_cause, equipment_class), most
    first (ties by name), with each group's share and the cumulative share.

    >>> from datetime import UTC, datetime as d
    >>> t = d(2026, 1, 1, tzinfo=UTC)
    >>> fs = [Failure(i, "a", "pump", m, "", t, t) for i, m in enumerate("VVVOOE")]
    >>> [(r["key"], r["count"], r["cumulative_share"]) for r in pareto(fs, "failure_mode")]
    [('V', 3, 0.5), ('O', 2, 0.8333), ('E', 1, 1.0)]
    """
    counts = Counter(getattr(f, by) or UNCLASSIFIED for f in failures)
    total, running, out = sum(counts.values()), 0, []
    for key, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        running += n
        out.append({"key": key, "count": n, "share": round(n / total, 4),
                    "cumulative_share": round(running / total, 4)})
    return out


def repeats(failures: list[Failure], window_days: float) -> list[dict]:
    """Each failure of an asset and mode opened within ``window_days`` of the previous
    one's completion."""
    by_key: dict[tuple[str, str], list[Failure]] = defaultdict(list)
    for f in failures:
        if f.failure_mode:
            by_key[(f.asset_id, f.failure_mode)].append(f)
    out = []
    for (asset, mode), fs in sorted(by_key.items()):
        fs.sort(key=lambda f: (f.opened_at, f.order_id))
        for prev, cur in zip(fs, fs[1:], strict=False):
            days = (cur.opened_at - prev.completed_at).total_seconds() / 86400
            if 0 <= days <= window_days:
                out.append({"asset_id": asset, "failure_mode": mode,
                            "previous_order": prev.order_id, "order": cur.order_id,
                            "days_after": round(max(days, 0.0), 2)})
    return out


def with_mode(failures: list[Failure]) -> int:
    """The failures a repeat can be counted among: those with a failure mode."""
    return sum(1 for f in failures if f.failure_mode)


def rate(repeated: int, failures: int) -> float | None:
    return round(repeated / failures, 4) if failures else None


def repeat_rate(failures: list[Failure], window_days: float) -> float | None:
    """Repeats over failures with a mode."""
    return rate(len(repeats(failures, window_days)), with_mode(failures))


def mtbf_by_mode(failures: list[Failure], exposure_h: dict[str, float]) -> list[dict]:
    """Per mode: the operating hours of the equipment classes that saw the mode
    (``exposure_h`` by class, in the window) over the mode's failures."""
    modes: dict[str, list[Failure]] = defaultdict(list)
    for f in failures:
        modes[f.failure_mode or UNCLASSIFIED].append(f)
    out = []
    for mode, fs in modes.items():
        classes = {f.equipment_class for f in fs}
        hours = sum(exposure_h.get(c, 0.0) for c in classes)
        out.append({"failure_mode": mode, "failures": len(fs),
                    "equipment_classes": sorted(classes),
                    "operating_hours": round(hours, 2),
                    "mtbf_hours": round(hours / len(fs), 2)})
    return sorted(out, key=lambda r: (r["mtbf_hours"], r["failure_mode"]))
