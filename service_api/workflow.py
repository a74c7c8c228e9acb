"""The work-order state machine, the single place that says which transitions exist,
who may make them and what each one needs.

Automatic (predictive) orders start as ``proposed`` and wait for an engineer's review;
orders from people start ``approved``. ``closed`` is final: reopening creates a follow-up
order linked to its parent.

>>> can_transition("proposed", "approved"), can_transition("proposed", "completed")
(True, False)
>>> sorted(OPEN)
['approved', 'in_progress', 'on_hold', 'proposed', 'scheduled']
"""

from __future__ import annotations

TRANSITIONS: dict[str, frozenset[str]] = {
    "proposed": frozenset({"approved", "rejected", "merged"}),
    "approved": frozenset({"scheduled", "in_progress", "cancelled", "merged"}),
    "scheduled": frozenset({"in_progress", "cancelled"}),
    "in_progress": frozenset({"on_hold", "completed"}),
    "on_hold": frozenset({"in_progress", "cancelled"}),  # cancel only if no work recorded
    "completed": frozenset({"closed"}),
    "rejected": frozenset(),
    "merged": frozenset(),
    "cancelled": frozenset(),
    "closed": frozenset(),
}
STATUSES = tuple(TRANSITIONS)
FINAL = frozenset(s for s, nxt in TRANSITIONS.items() if not nxt)
# Open: work may still be done; a new prediction for the same asset and failure mode
# joins the open order instead of opening another.
OPEN = frozenset(STATUSES) - FINAL - {"completed"}
# The work is done: what surveys, statements, fault cases and quality analytics read.
WORK_DONE = frozenset({"completed", "closed"})

# The right (``access.RIGHTS``) each target status needs.
RIGHT_FOR: dict[str, str] = {
    "approved": "orders.review", "rejected": "orders.review", "merged": "orders.review",
    "scheduled": "orders.plan", "cancelled": "orders.plan",
    "in_progress": "orders.execute", "on_hold": "orders.execute",
    "completed": "orders.execute", "closed": "orders.close",
}
NEEDS_REASON = frozenset({"rejected", "on_hold", "cancelled"})
RESULTS = ("fixed", "partially_fixed", "not_fixed", "no_fault_found")
# The first answer to an order: the end of its response time (docs/kpis.md).
RESPONSE = frozenset({"approved", "rejected", "merged", "scheduled", "in_progress",
                      "cancelled"})


class TransitionError(ValueError):
    """The requested status change is not allowed from the current status."""


def can_transition(current: str, target: str) -> bool:
    return target in TRANSITIONS.get(current, frozenset())


def check_transition(current: str, target: str) -> None:
    if target not in TRANSITIONS:
        raise TransitionError(f"unknown status {target!r}; statuses: {list(STATUSES)}")
    if not can_transition(current, target):
        allowed = sorted(TRANSITIONS[current]) or "none (final)"
        hint = ("; reopen it with POST .../follow-ups" if current == "closed" else "")
        raise TransitionError(f"cannot go from {current!r} to {target!r}; allowed: "
                              f"{allowed}{hint}")


def initial_status(source: str) -> str:
    return "proposed" if source == "predictive" else "approved"


def derived_priority(risk: float | None, criticality: int, severity: str) -> str:
    """Priority of an order that does not state one.

    Automatic orders: risk x criticality (1..5): >= 3.5 critical, >= 2 high, >= 1 medium,
    else low. Orders from people: by severity (critical -> high, major -> medium,
    minor -> low).

    >>> derived_priority(0.95, 3, "major"), derived_priority(0.95, 5, "major")
    ('high', 'critical')
    >>> derived_priority(0.95, 1, "major"), derived_priority(None, 3, "critical")
    ('low', 'high')
    """
    if risk is None:
        return {"critical": "high", "major": "medium"}.get(severity, "low")
    score = risk * criticality
    return ("critical" if score >= 3.5 else "high" if score >= 2 else
            "medium" if score >= 1 else "low")
