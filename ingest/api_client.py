"""The ingester's client of the service API (assets, health scores, work orders)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request


class ApiError(RuntimeError):
    """The service API could not be reached or refused a request."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class ApiClient:
    def __init__(self, base_url: str, timeout_s: float = 5.0):
        self.base = base_url.rstrip("/") + "/api/v1"
        self.timeout_s = timeout_s

    def _call(self, method: str, path: str, body: dict | None = None) -> dict:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
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

    def upsert_asset(self, asset_id: str, **fields: object) -> dict:
        return self._call("PUT", f"/assets/{asset_id}", {k: v for k, v in fields.items() if v})

    def post_health(self, asset_id: str, ts: str, risk: float, detail: dict) -> dict:
        return self._call("POST", f"/assets/{asset_id}/health",
                          {"ts": ts, "risk": risk, "detail": detail})

    def open_work_order(self, order: dict) -> dict:
        return self._call("POST", "/work-orders", order)
