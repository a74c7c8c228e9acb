"""Where a batch of health scores spends its CPU in the service API, step by step, in
process (no network, no second process: CPU time of this one).

    python bench/api_batch_cost.py [--batches 60] [--batch 1000]

1. reading the body: ``json.loads`` then validation of the Python objects (FastAPI's
   way) against ``model_validate_json`` on the bytes (``service_api/api/json_body.py``);
2. ``crud.health.add_scores`` on SQLite: judging the records, converting them for the
   driver, the whole call (insert and latest-risk update included), and the commit;
3. the whole ``POST /api/v1/health/batch`` through the ASGI app (httpx's ASGI transport,
   the client's own share included).

Figures are CPU milliseconds per batch over the last ``--batches`` - 10 batches (the
first ten warm up). Bounded by ``--batches``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from api_throughput import records, register_assets  # noqa: E402

from service_api import schemas  # noqa: E402
from service_api.access import Principal  # noqa: E402
from service_api.crud import health  # noqa: E402
from service_api.db import make_engine, migrate, write_session_factory  # noqa: E402


def cpu_ms(f, n: int) -> float:
    c = time.process_time()
    for _ in range(n):
        f()
    return (time.process_time() - c) / n * 1000


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--batches", type=int, default=60)
    ap.add_argument("--batch", type=int, default=1000)
    a = ap.parse_args()
    if a.batches <= 10:
        ap.error("--batches must be more than 10 (the first ten warm up)")
    t0 = datetime.now(UTC) - timedelta(days=30)
    payloads = [json.dumps({"records": records(a.batch, b, 10_000, t0)}).encode()
                for b in range(a.batches)]
    print(f"CPU per batch of {a.batch:,} health scores:")
    body = payloads[0]
    print(f"  json.loads + model_validate       {cpu_ms(lambda: schemas.HealthBatch.model_validate(json.loads(body)), 50):6.2f} ms")  # noqa: E501
    print(f"  model_validate_json (the bytes)   {cpu_ms(lambda: schemas.HealthBatch.model_validate_json(body), 50):6.2f} ms")  # noqa: E501

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/crud.sqlite"
        migrate(url)
        register_assets(Path(tmp) / "crud.sqlite", 10_000)
        engine = make_engine(url)
        sessions = write_session_factory(engine)
        batches = [schemas.HealthBatch.model_validate_json(p) for p in payloads]
        who = Principal(name="bench", role="service")
        spent: dict[str, float] = {}

        def timed(name, f):
            def run(*args):
                c = time.process_time()
                try:
                    return f(*args)
                finally:
                    spent[name] = spent.get(name, 0.0) + time.process_time() - c
            return run

        judge, processed = health._judge, health._processed
        health._judge = timed("judging the records", judge)
        health._processed = timed("converting for the driver", processed)
        try:
            for i, b in enumerate(batches):
                if i == 10:
                    spent.clear()
                with sessions() as db:
                    timed("add_scores (all of it)", health.add_scores)(
                        db, b.records, who, timedelta(seconds=300))
                    timed("commit", db.commit)()
        finally:
            health._judge, health._processed = judge, processed
            engine.dispose()
        for name, s in spent.items():
            print(f"  {name:<33} {s / (a.batches - 10) * 1000:6.2f} ms")

        asyncio.run(_whole_post(Path(tmp), payloads))
    return 0


async def _whole_post(folder: Path, payloads: list[bytes]) -> None:
    import httpx

    from service_api.app import create_app
    from service_api.bootstrap import issue_token
    from service_api.settings import ServiceApiSettings

    url = f"sqlite:///{folder}/api.sqlite"
    migrate(url)
    register_assets(folder / "api.sqlite", 10_000)
    token = issue_token(url, "bench", create_role="service")
    app = create_app(ServiceApiSettings(database_url=url, dashboard=False))
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://api") as client:
        c = 0.0
        for i, p in enumerate(payloads):
            if i == 10:
                c = time.process_time()
            r = await client.post("/api/v1/health/batch", content=p, headers=headers)
            assert r.status_code == 200 and r.json()["stored"] == len(json.loads(p)["records"])
        ms = (time.process_time() - c) / (len(payloads) - 10) * 1000
    print(f"  POST /api/v1/health/batch (ASGI)  {ms:6.2f} ms  (everything, client included)")


if __name__ == "__main__":
    sys.exit(main())
