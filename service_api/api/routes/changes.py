from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from ..deps import Allowed, SettingsDep

router = APIRouter(tags=["live"])


@router.get("/changes", response_class=StreamingResponse, responses={200: {
    "content": {"text/event-stream": {"schema": {"type": "string"}}},
    "description": "server-sent events: `change` with the database's change fingerprint "
                   "(newest score, asset event and work-order event ids, asset versions)"}})
async def changes(request: Request, who: Allowed("read"), settings: SettingsDep):
    """Live push for dashboards: a ``change`` event at once and whenever scores, events,
    orders or asset records change (checked every ``push_poll_s``), a keep-alive comment
    every ``push_heartbeat_s``; the stream ends after ``push_max_s`` and the client
    reconnects (``retry: 3000``). Refetch what you show on each event."""
    feed = request.app.state.changes
    return StreamingResponse(
        feed.stream(settings.push_heartbeat_s, settings.push_max_s),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
