"""Replay dead letters after their cause was fixed (a clock, the store's token, a limit).

Each dead letter is decoded and admitted again exactly as the ingester does
(``contracts.wire.decode_telemetry``, ``ingest.admission.admit``) and its valid samples
are written to the store. A letter is removed only when everything in it was stored;
otherwise it stays, and the report says why. Events and state messages that now
validate are removed (the ingester counts them; nothing of them is stored yet).
Sequence numbers are not checked: a replay is a deliberate second delivery, and writes
are idempotent.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

from contracts.wire import WireError, decode_message, decode_telemetry, parse_topic

from .admission import TimeWindow, admit
from .dead_letters import DeadLetters
from .stores import Store, StoreError


@dataclass
class ReplayReport:
    replayed: int = 0  # letters removed: all of them stored
    points_stored: int = 0
    still_refused: Counter[str] = field(default_factory=Counter)  # reason -> letters kept

    def lines(self) -> list[str]:
        out = [f"replayed {self.replayed} dead letters ({self.points_stored} points stored)"]
        out += [f"kept {n}: {reason}" for reason, n in self.still_refused.most_common()]
        return out


def replay(dead_letters: DeadLetters, store: Store, window: TimeWindow,
           reason: str | None = None, limit: int | None = None) -> ReplayReport:
    report = ReplayReport()
    now = datetime.now(UTC)
    done: list[int] = []
    for letter in dead_letters.find(reason, limit):
        try:
            if parse_topic(letter.topic)[2] != "telemetry":
                decode_message(letter.topic, letter.payload)
                done.append(letter.id)
                continue
            decoded = decode_telemetry(letter.topic, letter.payload)
        except WireError as exc:
            report.still_refused[str(exc).split(":")[0]] += 1
            continue
        good, refused = admit(decoded.batch, letter.topic, window, now) if decoded.batch else (
            [], [])
        refused = decoded.refused + refused
        if refused:
            report.still_refused[refused[0].reason.split(":")[0]] += 1
            continue
        try:
            report.points_stored += store.write(decoded.gateway, [it.sample for it in good])
        except StoreError as exc:
            report.still_refused[str(exc)[:120]] += 1
            continue
        done.append(letter.id)
    dead_letters.remove(done)
    report.replayed = len(done)
    return report
