"""The work-order state machine, the single place that says which transitions exist.

Automatic (predictive) orders start as ``proposed`` and wait for an engineer's
review; manual ones start ``approved``.

>>> can_transition("proposed", "approved"), can_transition("proposed", "completed")
(True, False)
"""

from __future__ import annotations

TRANSITIONS: dict[str, frozenset[str]] = {
    "proposed": frozenset({"approved", "rejected"}),
    "approved": frozenset({"scheduled", "in_progress", "cancelled"}),
    "scheduled": frozenset({"in_progress", "cancelled"}),
    "in_progress": frozenset({"on_hold", "completed"}),
    "on_hold": frozenset({"in_progress", "cancelled"}),
    "completed": frozenset({"closed"}),
    "rejected": frozenset(),
    "cancelled": frozenset(),
    "closed": frozenset(),
}
STATUSES = tuple(TRANSITIONS)
TERMINAL = frozenset({"completed", "rejected", "cancelled", "closed"})
OPEN = frozenset(STATUSES) - TERMINAL


class TransitionError(ValueError):
    """The requested status change is not allowed from the current status."""


def can_transition(current: str, target: str) -> bool:
    return target in TRANSITIONS.get(current, frozenset())


def check_transition(current: str, target: str) -> None:
    if target not in TRANSITIONS:
        raise TransitionError(f"unknown status {target!r}; statuses: {list(STATUSES)}")
    if not can_transition(current, target):
        allowed = sorted(TRANSITIONS[current]) or "none (final)"
        raise TransitionError(f"cannot go from {current!r} to {target!r}; allowed: {allowed}")


def initial_status(source: str) -> str:
    return "proposed" if source == "predictive" else "approved"
