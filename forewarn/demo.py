"""``forewarn demo``: the whole pipeline in one process, on embedded defaults.

simulated fleet (Modbus TCP) -> edge agent -> MQTT broker (embedded amqtt unless
``--broker``) -> ingester -> store (embedded SQLite unless ``--influx-url``) ->
risk model -> predictive work orders in the service API + dashboard.

Each part is the same code its own subcommand runs; here they share one process so
one command shows everything. Progress goes to stderr every few seconds.
"""

from __future__ import annotations

import asyncio
import getpass
import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import uvicorn

from edge_agent.pipeline import Agent, wait_or_timeout
from ingest.api_client import ApiClient
from ingest.dead_letters import DeadLetters
from ingest.pipeline import Ingester
from ingest.risk import RiskTracker
from ingest.settings import IngestSettings
from ingest.stores import open_store
from models.dataset import read_runs
from models.io import FORMAT_VERSION, load_model
from models.train import TrainOptions, train
from service_api.app import create_app
from service_api.bootstrap import local_setup
from service_api.settings import ServiceApiSettings
from simulators.agent_config import agent_settings_for
from simulators.dataset import write_dataset
from simulators.fleet import FleetConfig, demo_fleet
from simulators.modbus_server import FleetServer

from .runtime import free_port, stop_on_signals

log = logging.getLogger("forewarn.demo")


@dataclass
class DemoOptions:
    duration: float | None = None
    summary_json: str | None = None
    workdir: str = "var/demo"
    broker: str | None = None
    influx_url: str | None = None
    influx_token: str = ""
    influx_org: str = "forewarn"
    influx_bucket: str = "forewarn"
    api_port: int = 8000
    modbus_base_port: int = 5020
    time_scale: float = 3600.0
    poll_interval_s: float = 1.0
    seed: int = 7
    training_assets: int = 120
    progress_every_s: float = 5.0


def prepare_model(workdir: Path, n_assets: int, seed: int, interval_h: float) -> Path:
    """Train the risk model on simulated run-to-failure histories (cached by inputs)."""
    model_dir = workdir.parent / f"model-v{FORMAT_VERSION}-{n_assets}-{seed}-{interval_h:g}"
    if (model_dir / "metadata.json").exists():
        log.info("using trained risk model %s", model_dir)
        return model_dir
    data = workdir / "training.csv"
    log.info("generating %d simulated run-to-failure histories for training...", n_assets)
    rows = write_dataset(data, n_assets, seed=seed + 1000, interval_h=interval_h,
                         progress=lambda i, n: i % 40 == 0 and log.info("  %d/%d assets", i, n))
    log.info("training the RUL and failure-risk models on %d rows...", rows)
    # No hyper-parameter search here, to keep the demo quick; bench/model_full_run.py searches.
    train(read_runs(data), model_dir, TrainOptions(search_iter=0), log=log.info)
    return model_dir


class ApiThread:
    """uvicorn serving the API from a thread of this process."""

    def __init__(self, settings: ServiceApiSettings):
        self.settings = settings
        cfg = uvicorn.Config(create_app(settings), host=settings.host, port=settings.port,
                             log_level="warning", lifespan="on",
                             timeout_graceful_shutdown=5)  # open change streams
        self.server = uvicorn.Server(cfg)
        self.thread = threading.Thread(target=self.server.run, name="api", daemon=True)

    def start(self, timeout: float = 20.0) -> None:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(
                    f"service API did not start on {self.settings.host}:{self.settings.port}"
                    " (port in use? pass --port)")
            time.sleep(0.05)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


MOSQUITTO = ("/usr/sbin/mosquitto", "/usr/bin/mosquitto", "/usr/local/sbin/mosquitto")


def _private_mosquitto(workdir: Path, port: int) -> subprocess.Popen | None:
    """A private Mosquitto on 127.0.0.1 if one is installed (not the system service):
    under load it keeps every QoS 1 message, where the pure-Python amqtt did not."""
    binary = shutil.which("mosquitto") or next((b for b in MOSQUITTO if Path(b).exists()),
                                                None)
    if binary is None:
        return None
    folder = workdir / "mosquitto"
    folder.mkdir(parents=True, exist_ok=True)
    conf = folder / "mosquitto.conf"
    user = f"user {getpass.getuser()}\n" if os.geteuid() == 0 else ""
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\n{user}"
                    f"persistence true\npersistence_location {folder}/\n"
                    "max_queued_messages 0\n"
                    f"log_dest file {folder}/mosquitto.log\n")
    proc = subprocess.Popen([binary, "-c", str(conf)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return proc
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    log.warning("Mosquitto (%s) did not start; using the embedded amqtt broker", binary)
    return None


async def _embedded_broker(port: int):
    from amqtt.broker import Broker

    broker = Broker({
        "listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{port}",
                                  "max_connections": 50}},
        "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
    })
    await broker.start()
    return broker


def _iso(ts: float | None) -> str | None:
    return datetime.fromtimestamp(ts, UTC).isoformat() if ts is not None else None


def summarize(agent: Agent, ingester: Ingester, api: ApiClient, fleet_server: FleetServer,
              time_scale: float, started: float) -> dict:
    truth = {g["asset"]: g for g in fleet_server.ground_truth()}
    work_orders = []
    for o in api.items("/work-orders"):
        opened = datetime.fromisoformat(o["opened_at"])
        failure_at = truth.get(o["asset_id"], {}).get("failure_at")
        lead = failure_at - opened.timestamp() if failure_at is not None else None
        work_orders.append({
            "id": o["id"], "asset": o["asset_id"], "type": o["type"], "priority": o["priority"],
            "status": o["status"], "risk": o["risk"], "opened_at": opened.isoformat(),
            "failure_at": _iso(failure_at),
            "lead_time_s": round(lead, 1) if lead is not None else None,
            "lead_time_sim_h": round(lead * time_scale / 3600, 1) if lead is not None else None,
        })
    a, i = agent.counters, ingester.counters
    return {
        "duration_s": round(time.time() - started, 1),
        "time_scale": time_scale,
        "samples_polled": a.samples_polled,
        "values_polled": a.values_polled,
        "read_errors": dict(a.read_errors),
        "messages_published": a.messages_published,
        "messages_received": i.messages,
        "points_stored": i.points_stored,
        "values_not_stored": a.values_polled - i.points_stored,
        "anomalies": a.anomalies,
        "anomalies_received": i.anomalies,
        "dead_letters": i.dead_letters,
        "seq_gaps": i.seq_gaps,
        "risk": {k: round(v.risk, 3) for k, v in sorted(ingester.risk.assets.items())}
        if ingester.risk else {},
        "ground_truth": list(truth.values()),
        "work_orders": work_orders,
    }


def _progress(agent: Agent, ingester: Ingester, fleet: FleetServer, started: float) -> str:
    a, i = agent.counters, ingester.counters
    scored = [(v.risk, k) for k, v in ingester.risk.assets.items() if v.scored] \
        if ingester.risk else []
    worst = ", ".join(f"{k} {r:.0%}" for r, k in sorted(scored, reverse=True)[:3])
    worst = worst or "no running machine scored yet"
    orders = len(ingester.risk.opened) if ingester.risk else 0
    return (f"t={time.time() - started:5.0f}s sim={fleet.clock.now_h():6.1f}h | polls {a.polls} "
            f"samples {a.samples_polled} | msgs {a.messages_published} | points "
            f"{i.points_stored} | anomalies {a.anomalies} | risk: {worst} | work orders "
            f"{orders}")


async def run_demo(opts: DemoOptions) -> int:
    workdir = Path(opts.workdir)
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    stop = asyncio.Event()
    ingest_stop = threading.Event()
    stop_on_signals(asyncio.get_running_loop(), stop, ingest_stop)

    interval_h = opts.poll_interval_s * opts.time_scale / 3600.0
    model_dir = await asyncio.to_thread(
        prepare_model, workdir, opts.training_assets, opts.seed, interval_h)
    model = load_model(model_dir)

    broker = mosquitto = None
    broker_url = opts.broker
    protocol = "3.1.1"  # the broker given with --broker may not speak MQTT 5
    if broker_url is None:
        port = free_port()
        broker_url = f"mqtt://127.0.0.1:{port}"
        mosquitto = await asyncio.to_thread(_private_mosquitto, workdir, port)
        if mosquitto is not None:
            protocol = "5"
            log.info("private Mosquitto on %s", broker_url)
        else:
            broker = await _embedded_broker(port)
            log.info("embedded MQTT broker (amqtt) on %s", broker_url)

    # sensor trends are read back from the embedded store (an Influx server given by
    # --influx-url may not speak a query API the API reads; see docs/dashboard.md)
    telemetry = ({} if opts.influx_url else
                 {"kind": "embedded", "path": str(workdir / "store.sqlite")})
    api_settings = ServiceApiSettings(port=opts.api_port,
                                      database_url=f"sqlite:///{workdir / 'api.sqlite'}",
                                      attachments_dir=str(workdir / "attachments"),
                                      telemetry=telemetry)
    admin_password, ingest_token = await asyncio.to_thread(
        local_setup, api_settings.database_url, workdir)
    api_thread = ApiThread(api_settings)
    await asyncio.to_thread(api_thread.start)
    api_url = f"http://127.0.0.1:{opts.api_port}"
    log.info("service API and dashboard on %s: log in as admin with password %s (kept in "
             "%s); API docs at %s/docs", api_url, admin_password, workdir / "admin-password",
             api_url)

    fleet: FleetConfig = demo_fleet(seed=opts.seed, time_scale=opts.time_scale,
                                    base_port=opts.modbus_base_port)
    store_settings = {"kind": "embedded", "path": str(workdir / "store.sqlite")}
    if opts.influx_url:
        store_settings = {"kind": "influx", "url": opts.influx_url, "token": opts.influx_token,
                          "org": opts.influx_org, "bucket": opts.influx_bucket}
    ingest_settings = IngestSettings.model_validate({
        "mqtt": {"url": broker_url, "client_id": "forewarn-demo-ingest",
                 "protocol": protocol},  # amqtt speaks MQTT 3.1.1 only
        "store": store_settings,
        "dead_letter_path": str(workdir / "dead-letters.sqlite"),
        "state_dir": str(workdir / "ingest-state"),
        "risk": {"model_dir": str(model_dir), "time_scale": opts.time_scale},
        "api": {"url": api_url},
    })
    api = ApiClient(api_url, token=ingest_token)
    risk = RiskTracker.from_settings(model, api, ingest_settings.risk)
    ingester = Ingester(ingest_settings, open_store(ingest_settings.store),
                        DeadLetters(ingest_settings.dead_letter_path), risk=risk, api=api)
    ingest_thread = threading.Thread(target=ingester.run, args=(ingest_stop,), name="ingest")
    ingest_thread.start()
    await asyncio.to_thread(ingester.wait_connected, 10)

    started = time.time()
    async with FleetServer(fleet) as fleet_server:
        for g in fleet_server.ground_truth():
            if g["failure_at"]:
                log.info("ground truth: %s (%s) will fail by %s at sim %.0fh, in %.0fs",
                         g["asset"], g["kind"], g["failure_mode"], g["failure_h"],
                         g["failure_at"] - time.time())
        agent = Agent(agent_settings_for(
            fleet, gateway_id="demo-gw", site="demo", poll_interval_s=opts.poll_interval_s,
            mqtt={"url": broker_url}, spool={"path": str(workdir / "spool.sqlite")}))
        agent_task = asyncio.create_task(agent.run(stop))

        async def progress() -> None:
            while not await wait_or_timeout(stop, opts.progress_every_s):
                log.info("%s", _progress(agent, ingester, fleet_server, started))

        progress_task = asyncio.create_task(progress())
        try:
            if opts.duration is not None:
                if not await wait_or_timeout(stop, opts.duration):
                    log.info("duration of %.0fs reached", opts.duration)
            else:
                log.info("running until Ctrl-C; open %s", api_url)
                await stop.wait()
        finally:
            stop.set()
            await agent_task
            await progress_task
            # Let the ingester take what the agent drained before stopping it.
            deadline = time.monotonic() + 10
            while (ingester.counters.messages < agent.counters.messages_published
                   and time.monotonic() < deadline):
                await asyncio.sleep(0.1)
            await asyncio.sleep(0.5)
            ingest_stop.set()
            await asyncio.to_thread(ingest_thread.join, 15)
            summary = summarize(agent, ingester, api, fleet_server, opts.time_scale, started)
    api_thread.stop()
    if broker is not None:
        await broker.shutdown()
    if mosquitto is not None:
        mosquitto.terminate()
        mosquitto.wait(10)
    log.info("%s", _summary_text(summary))
    if opts.summary_json:
        Path(opts.summary_json).write_text(json.dumps(summary, indent=2) + "\n")
        log.info("summary written to %s", opts.summary_json)
    return 0


def _summary_text(s: dict) -> str:
    lines = [
        "demo summary:",
        f"  samples polled {s['samples_polled']}, messages published {s['messages_published']}, "
        f"points stored {s['points_stored']}, anomalies {s['anomalies']}, "
        f"dead letters {s['dead_letters']}, sequence gaps {s['seq_gaps']}",
        ("  every polled value was stored" if s["values_not_stored"] == 0 else
         f"  LOST: {s['values_not_stored']} of {s['values_polled']} polled values were not "
         f"stored ({s['seq_gaps']} messages missing by sequence number, "
         f"{s['dead_letters']} dead letters)"),
    ]
    for o in s["work_orders"]:
        lead = (f"{o['lead_time_s']:.0f}s ({o['lead_time_sim_h']:.0f} simulated h) before failure"
                if o["lead_time_s"] is not None else "asset not scheduled to fail")
        lines.append(f"  work order #{o['id']} {o['type']}/{o['priority']} for {o['asset']}: "
                     f"{lead}")
    if not s["work_orders"]:
        lines.append("  no work orders were opened")
    return "\n".join(lines)


def main(opts: DemoOptions) -> int:
    try:
        return asyncio.run(run_demo(opts))
    except KeyboardInterrupt:
        return 130
    except OSError as exc:
        print(f"forewarn demo: {exc}", file=sys.stderr)
        return 1
