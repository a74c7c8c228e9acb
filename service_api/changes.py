"""Live push: ``GET /api/v1/changes`` streams a server-sent event whenever something the
dashboard shows has changed, so pages redraw at once instead of polling.

One poller per API process reads a fingerprint of the database every ``poll_s`` while
anyone listens: the newest health score, asset event and work-order event ids, and the
assets' versions. It is read from the database, not from this process's own writes, so
it sees changes made through any API process (or straight into the database) alike. The
event carries only the fingerprint; clients fetch what they show with their own rights,
so a viewer learns that something changed, never what.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Callable

from sqlalchemy import text
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

FINGERPRINT = text(
    "SELECT (SELECT MAX(id) FROM health_scores), (SELECT MAX(id) FROM asset_events), "
    "(SELECT MAX(id) FROM work_order_events), "
    "(SELECT COUNT(*) + COALESCE(SUM(version), 0) FROM assets)")
KEYS = ("scores", "events", "orders", "assets")


def fingerprint(db: Session) -> dict[str, int]:
    row = db.execute(FINGERPRINT).one()
    return {k: int(v or 0) for k, v in zip(KEYS, row, strict=True)}


class ChangeFeed:
    """Shared by every stream of one process; polls only while a stream is open."""

    def __init__(self, sessionmaker: Callable[[], Session], poll_s: float):
        self._sessionmaker, self.poll_s = sessionmaker, poll_s
        self.current: dict[str, int] = {}
        self._changed = asyncio.Event()
        self._listeners = 0
        self._task: asyncio.Task | None = None
        self.polls = 0

    def _read(self) -> dict[str, int]:
        with self._sessionmaker() as db:
            return fingerprint(db)

    async def _poll(self) -> None:
        while self._listeners:
            try:
                now = await asyncio.to_thread(self._read)
                self.polls += 1
                if now != self.current:
                    self.current = now
                    self._changed.set()  # wakes every stream waiting on this event
                    self._changed = asyncio.Event()
            except Exception as exc:  # the database is away for now: say so, keep trying
                log.warning("change feed: reading the database failed: %s", exc)
            await asyncio.sleep(self.poll_s)
        self._task = None

    async def stream(self, heartbeat_s: float, max_s: float) -> AsyncIterator[str]:
        """Server-sent events: ``change`` with the fingerprint at once and after each
        change, a comment line every ``heartbeat_s`` (keeps proxies from closing an idle
        stream and notices a gone client), and an end after ``max_s`` (the client
        reconnects, so no stream outlives a server shutdown by long)."""
        self._listeners += 1
        if self._task is None:  # the first listener: a fresh event on this loop
            self._changed = asyncio.Event()
            self.current = await asyncio.to_thread(self._read)
            self._task = asyncio.create_task(self._poll())
        try:
            yield f"retry: 3000\nevent: change\ndata: {json.dumps(self.current)}\n\n"
            end = time.monotonic() + max_s
            while (left := end - time.monotonic()) > 0:
                changed = self._changed
                try:
                    await asyncio.wait_for(changed.wait(), min(heartbeat_s, left))
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                yield f"event: change\ndata: {json.dumps(self.current)}\n\n"
        finally:
            self._listeners -= 1
