"""The knowledge base: fault cases (equipment class, failure mode, symptoms, root cause,
fix, parts, attachments, maintenance guide), full-text searchable — SQLite FTS5 (an
external-content table kept in step by triggers) or PostgreSQL full text (a GIN index on
the same text) — made from a completed order in one step, and suggested for a new order.

Suggestions for an order: cases of the same failure mode, and cases whose text matches
words of the order's symptom and title; ranked by how often their fix worked the first
time (``(first-time fixes + 1) / (uses + 2)``: a case used once and fixed first time is
not ahead of one that did so nine times in ten), then by a mode (and class) match, then
by text relevance. A use is recorded when a technician applies a case to an order; its
outcome is the order's ``first_time_fix`` at completion (the order a case was made from
counts as its first use).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from .tables import FaultCase, FaultCaseUse

_WORD = re.compile(r"[^\W_]{2,}", re.UNICODE)
STOP = frozenset({
    "the", "and", "for", "with", "was", "were", "has", "have", "had", "not", "but", "are",
    "this", "that", "from", "into", "on", "in", "at", "of", "to", "is", "it", "by", "an",
    "or", "be", "as"})


def words(q: str, limit: int = 24) -> list[str]:
    """Search words of a free text: letters and digits, lower case, no stop words.

    >>> words("Pump NOISY at startup; the bearing's hot!")
    ['pump', 'noisy', 'startup', 'bearing', 'hot']
    """
    out: list[str] = []
    for w in _WORD.findall(q.lower()):
        if w not in STOP and w not in out:
            out.append(w)
    return out[:limit]


# a case's text for PostgreSQL: the same expression as the GIN index of migration 0010,
# or the index is not used
PG_DOCUMENT = ("to_tsvector('english', title || ' ' || symptoms || ' ' || root_cause || ' ' "
               "|| fix || ' ' || guide)")


def search_ids(db: Session, q: str, any_word: bool = False, limit: int = 50
               ) -> list[tuple[int, float]]:
    """(case id, relevance) for the text ``q``, most relevant first: every word must
    match, or any word with ``any_word`` (for suggestions)."""
    ws = words(q)
    if not ws:
        return []
    joiner = " OR " if any_word else " AND "
    if db.get_bind().dialect.name == "postgresql":
        tsq = (" | " if any_word else " & ").join(ws)
        rows = db.execute(text(
            f"SELECT id, ts_rank({PG_DOCUMENT}, to_tsquery('english', :q)) AS r FROM "
            f"fault_cases WHERE {PG_DOCUMENT} @@ to_tsquery('english', :q) "
            "ORDER BY r DESC, id LIMIT :n"), {"q": tsq, "n": limit}).all()
        return [(i, float(r)) for i, r in rows]
    match = joiner.join(f'"{w}"*' for w in ws)  # prefix: "bearing" finds "bearings"
    rows = db.execute(text(
        "SELECT rowid, -bm25(fault_cases_fts) AS r FROM fault_cases_fts "
        "WHERE fault_cases_fts MATCH :q ORDER BY r DESC, rowid LIMIT :n"),
        {"q": match, "n": limit}).all()
    return [(i, float(r)) for i, r in rows]


@dataclass(frozen=True)
class Record:
    uses: int
    first_time_fixes: int

    @property
    def rate(self) -> float:
        """Laplace-smoothed first-time-fix rate.

        >>> Record(1, 1).rate < Record(10, 9).rate
        True
        """
        return (self.first_time_fixes + 1) / (self.uses + 2)


def records(db: Session, ids: list[int]) -> dict[int, Record]:
    """Each case's uses with a known outcome and its first-time fixes."""
    uses: dict[int, list[bool]] = {i: [] for i in ids}
    if ids:
        for case_id, ftf in db.execute(select(FaultCaseUse.case_id, FaultCaseUse.first_time_fix)
                                       .where(FaultCaseUse.case_id.in_(ids),
                                              FaultCaseUse.first_time_fix.is_not(None))):
            uses[case_id].append(bool(ftf))
    return {i: Record(len(v), sum(v)) for i, v in uses.items()}


def suggest(db: Session, failure_mode: str, equipment_class: str, symptom: str,
            limit: int = 10) -> list[tuple[FaultCase, Record, bool, float]]:
    """(case, its record, whether its mode matches, text relevance), best first."""
    relevance = dict(search_ids(db, symptom, any_word=True, limit=100))
    ids = set(relevance)
    if failure_mode:
        ids |= set(db.scalars(select(FaultCase.id).where(
            FaultCase.failure_mode == failure_mode)).all())
    cases = db.scalars(select(FaultCase).where(
        FaultCase.id.in_(ids), FaultCase.retired_at.is_(None))).all() if ids else []
    recs = records(db, [c.id for c in cases])

    def key(c: FaultCase):
        mode = bool(failure_mode) and c.failure_mode == failure_mode
        cls = not c.equipment_class or c.equipment_class == equipment_class
        return (-recs[c.id].rate, not (mode and cls), not mode, -relevance.get(c.id, 0.0),
                c.id)

    ranked = sorted(cases, key=key)[:limit]
    return [(c, recs[c.id], bool(failure_mode) and c.failure_mode == failure_mode,
             relevance.get(c.id, 0.0)) for c in ranked]


def on_completed(db: Session, order_id: int, first_time_fix: bool | None) -> None:
    """The cases applied on a completed order take its first-time-fix answer."""
    for use in db.scalars(select(FaultCaseUse).where(FaultCaseUse.work_order_id == order_id)):
        use.first_time_fix = first_time_fix
