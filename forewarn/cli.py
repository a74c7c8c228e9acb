"""The ``forewarn`` command: one CLI for every part of the pipeline."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import threading
from pathlib import Path

from .config import ConfigError, load_config, to_toml
from .runtime import setup_logging, stop_event_on_signals, stop_on_signals

log = logging.getLogger("forewarn")


def _demo(args: argparse.Namespace) -> int:
    from .demo import DemoOptions, main

    return main(DemoOptions(
        duration=args.duration, summary_json=args.summary_json, workdir=args.workdir,
        broker=args.broker, influx_url=args.influx_url, influx_token=args.influx_token,
        influx_org=args.influx_org, influx_bucket=args.influx_bucket, api_port=args.port,
        modbus_base_port=args.modbus_base_port, time_scale=args.time_scale, seed=args.seed))


def _simulate_serve(args: argparse.Namespace) -> int:
    from simulators.fleet import FleetConfig
    from simulators.modbus_server import FleetServer

    fleet = load_config(FleetConfig, args.config)

    async def run() -> None:
        stop = asyncio.Event()
        stop_on_signals(asyncio.get_running_loop(), stop)
        async with FleetServer(fleet) as server:
            for s in server.served:
                log.info("%s (%s) on %s unit %d", s.asset.id, s.asset.kind, s.where, s.unit)
            await stop.wait()

    asyncio.run(run())
    return 0


def _simulate_agent_config(args: argparse.Namespace) -> int:
    from simulators.agent_config import agent_settings_for
    from simulators.fleet import FleetConfig

    fleet = load_config(FleetConfig, args.config)
    settings = agent_settings_for(fleet, gateway_id=args.gateway, site=args.site,
                                  mqtt={"url": args.broker})
    text = to_toml(settings.model_dump(mode="json"))
    if args.out == "-":
        sys.stdout.write(text)
    else:
        Path(args.out).write_text(text)
        log.info("agent config for %d devices written to %s", len(settings.devices), args.out)
    return 0


def _simulate_dataset(args: argparse.Namespace) -> int:
    from simulators.dataset import write_dataset

    rows = write_dataset(args.out, args.assets, args.seed, interval_h=args.interval_h,
                         progress=lambda i, n: i % max(1, n // 10) == 0 and log.info(
                             "%d/%d assets", i, n))
    log.info("%d rows of %d assets written to %s", rows, args.assets, args.out)
    return 0


def _simulate_plot(args: argparse.Namespace) -> int:
    from simulators.plots import plot_all

    for path in plot_all(args.out_dir, seed=args.seed):
        log.info("wrote %s", path)
    return 0


def _agent(args: argparse.Namespace) -> int:
    from edge_agent.pipeline import Agent
    from edge_agent.settings import AgentSettings

    settings = load_config(AgentSettings, args.config)

    async def run() -> None:
        stop = asyncio.Event()
        stop_on_signals(asyncio.get_running_loop(), stop)
        await Agent(settings).run(stop)

    asyncio.run(run())
    return 0


def _ingest(args: argparse.Namespace) -> int:
    from ingest.api_client import ApiClient
    from ingest.dead_letters import DeadLetters
    from ingest.pipeline import Ingester
    from ingest.risk import RiskTracker
    from ingest.settings import IngestSettings
    from ingest.stores import open_store
    from models.io import load_model

    s = load_config(IngestSettings, args.config)
    api = ApiClient(s.api.url, s.api.timeout_s) if s.api.url else None
    risk = None
    if s.risk.enabled and s.risk.model_dir:
        model = load_model(s.risk.model_dir)
        risk = RiskTracker(model, api, threshold=s.risk.threshold or model.threshold,
                           consecutive=s.risk.consecutive or int(model.metadata["consecutive"]),
                           health_post_interval_s=s.risk.health_post_interval_s)
    ingester = Ingester(s, open_store(s.store), DeadLetters(s.dead_letter_path), risk, api)
    stop = threading.Event()
    stop_event_on_signals(stop)
    ingester.run(stop)
    return 0


def _api(args: argparse.Namespace) -> int:
    import uvicorn

    from service_api.app import create_app
    from service_api.settings import ApiSettings

    s = load_config(ApiSettings, args.config, host=args.host, port=args.port)
    uvicorn.run(create_app(s), host=s.host, port=s.port, log_level="info")
    return 0


def _model_train(args: argparse.Namespace) -> int:
    from models.dataset import read_runs
    from models.train import train

    data = read_runs(args.data, args.unit_col, args.time_col, args.event_col)
    train(data, args.out, horizon=args.horizon, threshold=args.threshold, log=log.info)
    log.info("model written to %s", args.out)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="forewarn", description=__doc__)
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = p.add_subparsers(dest="command", required=True)

    d = sub.add_parser("demo", help="run the whole pipeline on a simulated fleet")
    d.add_argument("--duration", type=float, help="exit after this many seconds")
    d.add_argument("--summary-json", help="write a JSON summary here on exit")
    d.add_argument("--workdir", default="var/demo", help="state of this run (wiped at start)")
    d.add_argument("--broker", help="mqtt://host:port of a real broker (default: embedded)")
    d.add_argument("--influx-url", help="InfluxDB v2 write API URL (default: embedded store)")
    d.add_argument("--influx-token", default="")
    d.add_argument("--influx-org", default="forewarn")
    d.add_argument("--influx-bucket", default="forewarn")
    d.add_argument("--port", type=int, default=8000, help="service API / dashboard port")
    d.add_argument("--modbus-base-port", type=int, default=5020)
    d.add_argument("--time-scale", type=float, default=3600.0,
                   help="simulated seconds per second (default: one hour per second)")
    d.add_argument("--seed", type=int, default=7)
    d.set_defaults(func=_demo)

    sim = sub.add_parser("simulate", help="simulated Modbus devices and datasets")
    ss = sim.add_subparsers(dest="sim_command", required=True)
    s = ss.add_parser("serve", help="serve a fleet over Modbus TCP or RTU")
    s.add_argument("--config", required=True, help="fleet TOML (see docs/configuration.md)")
    s.set_defaults(func=_simulate_serve)
    s = ss.add_parser("agent-config", help="write the agent config that polls a fleet")
    s.add_argument("--config", required=True)
    s.add_argument("--out", default="-")
    s.add_argument("--gateway", default="gw-01")
    s.add_argument("--site", default="site-01")
    s.add_argument("--broker", default="mqtt://127.0.0.1:1883")
    s.set_defaults(func=_simulate_agent_config)
    s = ss.add_parser("dataset", help="write run-to-failure histories as CSV")
    s.add_argument("--assets", type=int, default=100)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--interval-h", type=float, default=1.0)
    s.add_argument("--out", required=True)
    s.set_defaults(func=_simulate_dataset)
    s = ss.add_parser("plot", help="plot a run to failure for each failure mode (PNG)")
    s.add_argument("--out-dir", default="docs/img")
    s.add_argument("--seed", type=int, default=7)
    s.set_defaults(func=_simulate_plot)

    a = sub.add_parser("agent", help="run the edge agent")
    a.add_argument("--config", required=True, help="agent TOML")
    a.set_defaults(func=_agent)

    i = sub.add_parser("ingest", help="run the ingester")
    i.add_argument("--config", help="ingest TOML (default: built-in defaults)")
    i.set_defaults(func=_ingest)

    api = sub.add_parser("api", help="run the service API and dashboard")
    api.add_argument("--config", help="API TOML (default: built-in defaults)")
    api.add_argument("--host")
    api.add_argument("--port", type=int)
    api.set_defaults(func=_api)

    m = sub.add_parser("model", help="train risk models")
    ms = m.add_subparsers(dest="model_command", required=True)
    t = ms.add_parser("train", help="train the failure-risk model on a history CSV")
    t.add_argument("--data", required=True)
    t.add_argument("--out", required=True)
    t.add_argument("--horizon", type=float, default=48.0, help="in the data's time unit")
    t.add_argument("--threshold", type=float, default=0.7)
    t.add_argument("--unit-col")
    t.add_argument("--time-col")
    t.add_argument("--event-col")
    t.set_defaults(func=_model_train)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.verbose)
    from models.dataset import DatasetError
    from models.io import ModelLoadError

    try:
        return args.func(args)
    except (ConfigError, DatasetError, ModelLoadError) as exc:
        print(f"forewarn {args.command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
