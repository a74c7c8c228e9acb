"""The ingester's client of the service API (assets, health scores, work orders).

Calls can be made directly (``get``, ``upsert_asset``, ...) or handed to ``send``, which
queues them for one sender thread: the ingester's storage path never waits on the API.
A queued call with the same key as a newer one is superseded (a health score replaced by
a fresher one); a full queue refuses a call through its ``on_error``, so the caller can
try again later. Bodies are the contract's models (``contracts.api_bodies``).
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.error
import urllib.request
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from contracts.api_bodies import AssetUpsert, EventBatch, HealthCreate, WorkOrderCreate

log = logging.getLogger(__name__)


class ApiError(RuntimeError):
    """The service API could not be reached or refused a request."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


@dataclass
class _Queued:
    call: Callable[[ApiClient], Any]
    on_done: Callable[[Any], None] | None
    on_error: Callable[[ApiError], None] | None


class ApiClient:
    def __init__(self, base_url: str, timeout_s: float = 5.0, max_pending: int = 10_000,
                 token: str | None = None):
        self.base = base_url.rstrip("/") + "/api/v1"
        self.token = token
        self._headers = {"Content-Type": "application/json"}
        if token:
            self._headers["Authorization"] = f"Bearer {token}"
        self.timeout_s = timeout_s
        self.max_pending = max_pending
        self.refused = 0  # calls refused by a full send queue
        self.superseded = 0  # queued calls replaced by a newer one with the same key
        self._pending: OrderedDict[Hashable, _Queued] = OrderedDict()
        self._cond = threading.Condition()
        self._busy = False
        self._closing = False
        self._sender: threading.Thread | None = None

    # -- direct calls -------------------------------------------------------------------
    def _call(self, method: str, path: str, body: dict | None = None) -> dict:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers=self._headers)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                return json.loads(resp.read() or b"{}")
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")[:300]
            raise ApiError(f"{method} {path}: HTTP {exc.code}: {detail}", exc.code) from exc
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            raise ApiError(
                f"{method} {path}: service API at {self.base} unreachable: {exc}") from exc

    def get(self, path: str) -> list | dict:
        """A read-only call, e.g. ``get("/work-orders")``."""
        return self._call("GET", path)

    def items(self, path: str) -> list[dict]:
        """Every item of a paginated list, e.g. ``items("/work-orders?status=proposed")``."""
        out: list[dict] = []
        sep = "&" if "?" in path else "?"
        while True:
            page = self._call("GET", f"{path}{sep}limit=1000&offset={len(out)}")
            out.extend(page["items"])
            if not page["items"] or len(out) >= page["total"]:
                return out

    def upsert_asset(self, asset_id: str, body: AssetUpsert | None = None) -> dict:
        body = body or AssetUpsert()
        return self._call("PUT", f"/assets/{asset_id}", body.model_dump(exclude_none=True,
                                                                         mode="json"))

    def post_health(self, asset_id: str, body: HealthCreate) -> dict:
        return self._call("POST", f"/assets/{asset_id}/health", body.model_dump(mode="json"))

    def post_events(self, body: EventBatch) -> dict:
        return self._call("POST", "/events/batch", body.model_dump(mode="json"))

    def intake(self, body: dict) -> dict:
        """``POST /intake``: an order reported on a channel (service_api/mail_intake.py)."""
        return self._call("POST", "/intake", body)

    def open_work_order(self, body: WorkOrderCreate) -> dict:
        return self._call("POST", "/work-orders", body.model_dump(mode="json",
                                                                  exclude_none=True))

    # -- calls off the caller's thread ----------------------------------------------------
    def send(self, key: Hashable, call: Callable[[ApiClient], Any],
             on_done: Callable[[Any], None] | None = None,
             on_error: Callable[[ApiError], None] | None = None) -> None:
        """Run ``call(self)`` on the sender thread; its result goes to ``on_done``.

        A call still queued under ``key`` is replaced (its callbacks are not run).
        """
        with self._cond:
            if self._closing:
                refused: str | None = "the API client is closed"
            elif key not in self._pending and len(self._pending) >= self.max_pending:
                refused = f"{self.max_pending} API calls already queued"
            else:
                refused = None
                if self._pending.pop(key, None) is not None:
                    self.superseded += 1
                self._pending[key] = _Queued(call, on_done, on_error)
                if self._sender is None:
                    self._sender = threading.Thread(target=self._send_loop, daemon=True,
                                                    name="api-sender")
                    self._sender.start()
                self._cond.notify_all()
        if refused is not None:
            self.refused += 1
            if on_error is not None:
                on_error(ApiError(refused))

    def _send_loop(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._closing:
                    self._cond.wait()
                if not self._pending:
                    return
                _, queued = self._pending.popitem(last=False)
                self._busy = True
            try:
                try:
                    result = queued.call(self)
                except ApiError as exc:
                    if queued.on_error is not None:
                        queued.on_error(exc)
                else:
                    if queued.on_done is not None:
                        queued.on_done(result)
            except Exception:  # a callback's bug must not stop every later call
                log.exception("API call callback failed")
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def flush(self, timeout: float) -> bool:
        """Wait until every queued call has run; return whether that happened in time."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._pending or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def close(self, timeout: float = 10.0) -> None:
        """Send what is queued (for at most ``timeout`` seconds), then stop the sender."""
        done = self.flush(timeout)
        with self._cond:
            left, busy = len(self._pending), self._busy
            self._pending.clear()
            self._closing = True
            self._cond.notify_all()
        if not done:
            log.warning("service API calls abandoned on shutdown: %d queued%s", left,
                        ", one still in flight" if busy else "")
