"""The ``forewarn`` command: one CLI for every part of the pipeline."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
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

    def progress(i: int, n: int) -> None:
        if i % max(1, n // 10) == 0:
            log.info("%d/%d assets", i, n)

    rows = write_dataset(args.out, args.assets, args.seed, interval_h=args.interval_h,
                         sensor_faults=args.sensor_faults, progress=progress)
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
    api = ApiClient(s.api.url, s.api.timeout_s, token=s.api.token()) if s.api.url else None
    risk = None
    if s.risk.enabled and s.risk.model_dir:
        model = load_model(s.risk.model_dir)
        risk = RiskTracker.from_settings(model, api, s.risk)
    if s.role == "score" and risk is None:
        raise ConfigError("role = 'score' needs a model: set risk.model_dir (and keep "
                          "risk.enabled = true)")
    ingester = Ingester(s, open_store(s.store), DeadLetters(s.dead_letter_path), risk, api)
    stop = threading.Event()
    stop_event_on_signals(stop)
    ingester.run(stop)
    return 0


def _dead_letters(args: argparse.Namespace) -> int:
    from ingest.admission import TimeWindow
    from ingest.dead_letters import DeadLetters
    from ingest.replay import replay
    from ingest.settings import IngestSettings
    from ingest.stores import open_store

    s = load_config(IngestSettings, args.config)
    dl = DeadLetters(s.dead_letter_path)
    if args.replay:
        store = open_store(s.store)
        try:
            report = replay(dl, store, TimeWindow(s.max_future_skew_s, s.max_sample_age_s),
                            args.reason, args.limit)
        finally:
            store.close()
        print("\n".join(report.lines()))
        return 0 if not report.still_refused else 1
    letters = dl.find(args.reason, 20 if args.limit is None else args.limit)
    total = dl.count()
    print(f"{total} dead letters in {s.dead_letter_path}")
    for reason, n in dl.reasons():
        print(f"  {n:>8}  {reason}")
    for letter in letters:
        print(f"#{letter.id} {letter.received_at} {letter.topic}\n    {letter.reason}")
        if args.payload:
            print(f"    {letter.payload[:2000]!r}")
    return 0


def _api(args: argparse.Namespace) -> int:
    from service_api.db import DatabaseNotMigrated, migrate, redacted
    from service_api.problems import Problem
    from service_api.settings import ServiceApiSettings

    command = args.api_command or "serve"
    s = load_config(ServiceApiSettings, args.config, host=getattr(args, "host", None),
                    port=getattr(args, "port", None))
    try:
        if command == "migrate":
            before = migrate(s.database_url)
            log.info("database %s migrated from %s to head", redacted(s.database_url),
                     before or "empty")
        elif command == "user":
            from service_api.bootstrap import add_user

            password = add_user(s.database_url, args.name, args.role, args.scope or "")
            print(f"user {args.name} ({args.role}) created; password (shown once): "
                  f"{password}")
        elif command == "token":
            from service_api.bootstrap import issue_token

            token = issue_token(s.database_url, args.name, args.label or "", args.days,
                                create_role="service" if args.service else None)
            if args.out:
                Path(args.out).parent.mkdir(parents=True, exist_ok=True)
                Path(args.out).touch(mode=0o600)
                Path(args.out).write_text(token + "\n")
                log.info("token for %s written to %s", args.name, args.out)
            else:
                print(token)
        else:
            import uvicorn

            from service_api.app import SETTINGS_ENV, create_app

            # open change streams end within the graceful timeout
            common = {"host": s.host, "port": s.port, "log_level": "info",
                      "timeout_graceful_shutdown": 5}
            if s.workers == 1:
                uvicorn.run(create_app(s), **common)
            else:  # checked here once, so an unmigrated database is one clear error
                from service_api.db import check_migrated, make_engine

                engine = make_engine(s.database_url)
                try:
                    check_migrated(engine)
                finally:
                    engine.dispose()
                os.environ[SETTINGS_ENV] = s.model_dump_json()
                log.info("serving on %s:%d with %d worker processes", s.host, s.port,
                         s.workers)
                uvicorn.run("service_api.app:app_from_environment", factory=True,
                            workers=s.workers, **common)
    except (DatabaseNotMigrated, Problem) as exc:
        log.error("%s", exc)
        return 2
    return 0


def _read(args: argparse.Namespace, path: str):
    from models.dataset import read_runs

    return read_runs(path, args.unit_col, args.time_col, args.event_col, args.run_col,
                     args.setting_cols.split(",") if args.setting_cols else None,
                     args.ignore_cols.split(",") if args.ignore_cols else None,
                     getattr(args, "label_col", None), args.time_unit)


def _model_and_data(args: argparse.Namespace):
    """The model of ``--model`` and the history of ``--data``, refused if the data lacks
    the model's sensors."""
    from models.io import load_model

    model = load_model(args.model)
    data = _read(args, args.data)
    model.check_columns(data.columns, args.data)
    return model, data


def _model_train(args: argparse.Namespace) -> int:
    from models.features import DEFAULT_WINDOWS
    from models.train import TrainOptions, train

    data = _read(args, args.data)
    windows = (tuple(int(w) for w in args.windows.split(",")) if args.windows
               else DEFAULT_WINDOWS)
    opts = TrainOptions(horizon=args.horizon, rul_cap=args.rul_cap, windows=windows,
                        baseline=args.baseline, use_age=not args.no_age,
                        search_iter=args.search_iter, threshold=args.threshold,
                        consecutive=args.consecutive, max_false_alarms=args.max_false_alarms,
                        seed=args.seed)
    train(data, args.out, opts, log=log.info, threads=args.threads)
    return 0


def _model_evaluate(args: argparse.Namespace) -> int:
    import json

    from models.dataset import read_rul_file
    from models.evaluate import evaluate, format_metrics, plot_evaluation
    from models.parallel import default_threads, limit_threads

    model, data = _model_and_data(args)
    if args.rul_file:
        truth = read_rul_file(args.rul_file, [r.unit for r in data.runs])
        for r in data.runs:
            r.true_rul = truth[r.unit] + (r.time[-1] - r.time)
    with limit_threads(args.threads or default_threads()):
        metrics, scored = evaluate(model, data.runs, rul_cap=args.rul_cap, log=log.info)
    out = Path(args.out or Path(args.model) / f"evaluation-{Path(args.data).stem}")
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2, default=float))
    pngs = plot_evaluation(model, scored, out)
    unit = model.time_unit
    print(f"model {args.model} (horizon {model.horizon:g} {unit}, RUL cap "
          f"{model.cap:g}, alarm at risk >= {model.threshold:g} for {model.consecutive} "
          f"consecutive scores) on {args.data}:")
    print(format_metrics(metrics, unit))
    log.info("metrics and plots written to %s (%s)", out, ", ".join(p.name for p in pngs))
    return 0


def _model_score(args: argparse.Namespace) -> int:
    import csv

    from models.evaluate import score_run
    from models.parallel import default_threads, limit_threads

    model, data = _model_and_data(args)
    ucol, tcol = data.roles["unit"], data.roles["time"]
    rows = 0
    with open(args.out, "w", newline="") as fh, \
            limit_threads(args.threads or default_threads()):
        w = csv.writer(fh)
        w.writerow([ucol, tcol, "rul", "risk", "health"])
        for run in data.runs:
            s = score_run(model, run)
            health = model.health(s.rul)
            by_row = {int(i): k for k, i in enumerate(s.index)}
            for i, t in enumerate(run.time_text):  # time as the input wrote it
                k = by_row.get(i)
                if k is None:  # stopped: not scored
                    w.writerow([run.unit, t, "", "", ""])
                else:
                    w.writerow([run.unit, t, f"{s.rul[k]:.4g}", f"{s.risk[k]:.4g}",
                                f"{health[k]:.4g}"])
                rows += 1
    log.info("%d rows of %d units scored into %s", rows, len(data.runs), args.out)
    return 0


def _model_detectors(args: argparse.Namespace) -> int:
    from edge_agent.detector_replay import detector_sensors, fit, score
    from edge_agent.settings import DetectorSettings

    data = _read(args, args.data)
    base = DetectorSettings()
    if args.fit:
        settings, metrics = fit(data, base, log=log.info)
    else:
        settings = base.model_copy(update={"alpha": args.alpha, "threshold": args.threshold})
        metrics = score(data, settings, detector_sensors(data, settings))
    print(f"detector alpha {settings.alpha:g}, threshold {settings.threshold:g} on "
          f"{args.data}:")
    for k, v in metrics.items():
        print(f"  {k:<34} {v:.4g}" if isinstance(v, float) else f"  {k:<34} {v}")
    if args.out:
        Path(args.out).write_text("[detector]\n" + to_toml(settings.model_dump(mode="json")))
        log.info("detector settings written to %s (paste into the agent config)", args.out)
    return 0


def _detect(args: argparse.Namespace) -> int:
    import tomllib

    from edge_agent.detect_csv import detect_csv, print_progress
    from edge_agent.settings import DetectorSettings

    settings = DetectorSettings()
    if args.config:
        try:
            doc = tomllib.loads(Path(args.config).read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"config file {args.config}: {exc}") from exc
        settings = load_config(DetectorSettings, None, **doc.get("detector", doc))
    report = detect_csv(args.data, args.out, settings, time_col=args.time_col,
                        asset_col=args.asset_col, time_unit=args.time_unit,
                        progress=None if args.quiet else print_progress)
    if not args.quiet:
        print(file=sys.stderr)
    lay = report.layout
    assert lay is not None
    print(f"{report.rows:,} rows, {len(lay.sensors)} sensors scored "
          f"({', '.join(lay.sensors[:8])}{' ...' if len(lay.sensors) > 8 else ''}); "
          f"time column {lay.time!r} ({lay.time_unit}), asset column {lay.asset!r}")
    if lay.ignored:
        print(f"not scored: {', '.join(lay.ignored)}")
    print(f"{report.flagged:,} rows flagged ({report.flagged / report.rows:.2%}): "
          + (", ".join(f"{k} {v:,}" for k, v in report.by_detector.most_common()) or "none"))
    if report.unreadable_cells:
        print(f"{report.unreadable_cells:,} cells were not numbers: read as missing")
    if report.metrics:
        m = report.metrics
        print(f"against {lay.label!r}: precision {m['precision']:.3f}, recall "
              f"{m['recall']:.3f}, F1 {m['f1']:.3f}")
    print(f"written to {args.out} (columns score, anomaly, detector appended)")
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
    s.add_argument("--sensor-faults", action="store_true",
                   help="add random sensor faults and a `label` column (detector data)")
    s.add_argument("--out", required=True)
    s.set_defaults(func=_simulate_dataset)
    s = ss.add_parser("plot", help="plot a run to failure for each failure mode (PNG)")
    s.add_argument("--out-dir", default="docs/img")
    s.add_argument("--seed", type=int, default=7)
    s.set_defaults(func=_simulate_plot)

    dt = sub.add_parser("detect", help="replay a CSV through the agent's detectors; write a "
                        "score and an anomaly flag per row")
    dt.add_argument("--data", required=True, help="CSV: a time column, one column per sensor")
    dt.add_argument("--out", required=True, help="the same CSV with score, anomaly, detector")
    dt.add_argument("--config", help="agent.toml (its [detector] table) or a detector table")
    dt.add_argument("--time-col", help="the time column (default: found by name or content)")
    dt.add_argument("--asset-col", help="the asset column (default: found by name, if any)")
    dt.add_argument("--time-unit", choices=("auto", "s", "h", "datetime"), default="auto",
                    help="numeric times are seconds unless the column says hours")
    dt.add_argument("--quiet", action="store_true", help="no progress on stderr")
    dt.set_defaults(func=_detect)

    a = sub.add_parser("agent", help="run the edge agent")
    a.add_argument("--config", required=True, help="agent TOML")
    a.set_defaults(func=_agent)

    i = sub.add_parser("ingest", help="run the ingester")
    i.add_argument("--config", help="ingest TOML (default: built-in defaults)")
    i.set_defaults(func=_ingest)
    isub = i.add_subparsers(dest="ingest_command")
    d = isub.add_parser("dead-letters", help="list dead letters by reason; replay them")
    d.add_argument("--config", help="ingest TOML (default: built-in defaults)")
    d.add_argument("--reason", help="only those whose reason contains this text")
    d.add_argument("--limit", type=int, default=None,
                   help="at most this many, oldest first (listing: 20)")
    d.add_argument("--payload", action="store_true", help="print each payload too")
    d.add_argument("--replay", action="store_true", help="admit and store them again; "
                   "remove those fully stored (exit status 1 if some stay)")
    d.set_defaults(func=_dead_letters)

    api = sub.add_parser("api", help="run the service API and dashboard; migrate its "
                         "database; make users and tokens")
    api_config = "API TOML (default: built-in defaults)"
    api.add_argument("--config", help=api_config)
    api.add_argument("--host")
    api.add_argument("--port", type=int)
    api.set_defaults(func=_api, api_command=None)
    asub = api.add_subparsers(dest="api_command")
    am = asub.add_parser("migrate", help="bring the database to the schema this version needs")
    am.add_argument("--config", help=api_config, default=argparse.SUPPRESS)
    au = asub.add_parser("user", help="create a user; prints its password once")
    au.add_argument("name")
    au.add_argument("--role", required=True, choices=("admin", "planner", "engineer",
                                                      "technician", "viewer", "service"))
    au.add_argument("--scope", help="asset path prefix the user may see (default: all)")
    au.add_argument("--config", help=api_config, default=argparse.SUPPRESS)
    at = asub.add_parser("token", help="issue an API token for a user (printed once)")
    at.add_argument("name")
    at.add_argument("--service", action="store_true",
                    help="create NAME as a service account (role service) if missing")
    at.add_argument("--label")
    at.add_argument("--days", type=float, help="expire after this many days (default never)")
    at.add_argument("--out", help="write the token to this file (mode 600) instead of "
                    "printing it")
    at.add_argument("--config", help=api_config, default=argparse.SUPPRESS)

    im = sub.add_parser("intake-mail", help="turn customer e-mails in a Maildir into work "
                        "orders (POST /api/v1/intake)")
    im.add_argument("--maildir", required=True, help="the Maildir the mails are delivered to")
    im.add_argument("--api", default="http://127.0.0.1:8000", help="the service API's URL")
    im.add_argument("--token-file", help="file with an API token (else $FOREWARN_API_TOKEN)")
    im.add_argument("--every", type=float, default=30.0, help="seconds between passes")
    im.add_argument("--once", action="store_true", help="one pass, then exit")
    im.add_argument("--smtp", metavar="HOST:PORT", help="also take mail by SMTP here (stored "
                    "in the Maildir before it is accepted; docs/intake.md)")
    im.add_argument("--accept", action="append", default=[], metavar="ADDRESS",
                    help="with --smtp: a recipient address or @domain to take mail for "
                    "(repeatable; default any)")
    im.add_argument("--max-bytes", type=int, default=10_000_000,
                    help="with --smtp: the largest mail taken (default 10 MB)")
    im.set_defaults(func=_intake_mail)

    m = sub.add_parser("model", help="train, evaluate and apply RUL/risk models and detectors")
    ms = m.add_subparsers(dest="model_command", required=True)

    kernel_help = ("threads for the model's numerical kernels (default: the cores free "
                   "now, from the load average)")

    def threads(q: argparse.ArgumentParser, what: str) -> None:
        q.add_argument("--threads", type=int, help=f"{what}; docs/models.md")

    def columns(q: argparse.ArgumentParser) -> None:
        g = q.add_argument_group("column roles (recognised by name when not given)")
        g.add_argument("--unit-col", help="unit/asset id (unit, unit_id, asset, asset_id)")
        g.add_argument("--time-col", help="time or cycle (time, timestamp, cycle)")
        g.add_argument("--event-col", help="1 = last row is a failure, 0 = censored (event)")
        g.add_argument("--run-col", help="0 = machine stopped, row not scored (running)")
        g.add_argument("--setting-cols", help="comma-separated operating settings "
                       "(default: columns named setting*/op_setting*)")
        g.add_argument("--ignore-cols", help="comma-separated columns not to use")
        g.add_argument("--time-unit", choices=("h", "cycle"),
                       help="what the time column counts (default: cycle if its name "
                       "says so, else hours)")

    t = ms.add_parser("train", help="train RUL and failure-risk models on a history CSV")
    t.add_argument("--data", required=True, help="history CSV (docs/models.md)")
    t.add_argument("--out", required=True, help="model directory to write")
    t.add_argument("--horizon", type=float,
                   help="failure-within horizon, in the data's time unit (default 48 h / 30 "
                   "cycles)")
    t.add_argument("--rul-cap", type=float, help="piecewise-linear RUL cap (default: 0.6 x "
                   "median life)")
    t.add_argument("--windows", help="rolling windows in samples (default 5,15,30)")
    t.add_argument("--baseline", type=int, default=10,
                   help="samples that define a unit's starting point")
    t.add_argument("--no-age", action="store_true", help="do not use the unit's age")
    t.add_argument("--search-iter", type=int, default=4,
                   help="random tree settings tried per model, besides 2 linear ones "
                   "(0: no search, default trees)")
    t.add_argument("--threshold", type=float, help="alarm threshold (default: chosen)")
    t.add_argument("--consecutive", type=int, help="scores in a row to alarm (default: chosen)")
    t.add_argument("--max-false-alarms", type=float, default=0.5,
                   help="false alarms per 100 unit-days (unit-cycles) allowed when choosing")
    t.add_argument("--seed", type=int, default=0)
    threads(t, "fits run side by side, each on one thread (default: every core); the model "
            "is the same whatever this is")
    columns(t)
    t.set_defaults(func=_model_train)

    e = ms.add_parser("evaluate", help="score a history CSV with a model and report")
    e.add_argument("--model", required=True)
    e.add_argument("--data", required=True)
    e.add_argument("--rul-file", help="true RUL at each unit's last row, one per line in unit "
                   "order (truncated test sets)")
    e.add_argument("--out", help="directory for metrics.json and PNGs "
                   "(default: MODEL/evaluation-DATA)")
    e.add_argument("--rul-cap", type=float, default=125.0,
                   help="cap on the true RUL for the 'capped' figures (default 125, the "
                   "published convention); uncapped figures are always reported too")
    threads(e, kernel_help)
    columns(e)
    e.set_defaults(func=_model_evaluate)

    sc = ms.add_parser("score", help="write rul, risk and health per row")
    sc.add_argument("--model", required=True)
    sc.add_argument("--data", required=True)
    sc.add_argument("--out", required=True, help="CSV to write")
    threads(sc, kernel_help)
    columns(sc)
    sc.set_defaults(func=_model_score)

    dt_ = ms.add_parser("detectors", help="evaluate (or --fit) the edge anomaly detectors on "
                        "a labelled CSV")
    dt_.add_argument("--data", required=True)
    dt_.add_argument("--label-col", help="1 = a detector should flag this row (label)")
    dt_.add_argument("--fit", action="store_true", help="search alpha and threshold for F1")
    dt_.add_argument("--alpha", type=float, default=0.05)
    dt_.add_argument("--threshold", type=float, default=6.0)
    dt_.add_argument("--out", help="write the [detector] settings here (TOML)")
    columns(dt_)
    dt_.set_defaults(func=_model_detectors)
    return p


def _intake_mail(args: argparse.Namespace) -> int:
    import os
    import time

    from ingest.api_client import ApiClient

    from .mail_intake import process

    token = os.environ.get("FOREWARN_API_TOKEN") or (
        Path(args.token_file).read_text().strip() if args.token_file else None)
    if not token:
        raise ConfigError("intake-mail needs an API token: --token-file F or "
                          "$FOREWARN_API_TOKEN (`forewarn api token NAME --service`)")
    api = ApiClient(args.api.rstrip("/"), token=token)
    if args.smtp and args.once:
        raise ConfigError("--smtp listens until stopped: leave out --once")
    arrived, stop = threading.Event(), threading.Event()
    stop_event_on_signals(stop)
    listener = None
    if args.smtp:
        from .smtp_intake import start

        try:
            listener = start(args.maildir, args.smtp, args.accept, args.max_bytes, arrived)
        except (ValueError, OSError) as exc:
            raise ConfigError(f"cannot take mail on {args.smtp}: {exc}") from exc
    try:
        while True:
            arrived.clear()
            r = process(args.maildir, api)
            if r.posted or r.deduplicated or r.refused or r.waiting or args.once:
                log.info("mail intake: %d orders made, %d joined open orders, %d refused "
                         "(in .failed), %d waiting for the API", r.posted, r.deduplicated,
                         r.refused, r.waiting)
            if args.once:
                return 0 if not r.waiting else 1
            # the next pass: after --every seconds, or at once when a mail arrives by SMTP
            deadline = time.monotonic() + args.every
            while not stop.is_set() and not arrived.is_set() and time.monotonic() < deadline:
                arrived.wait(min(0.5, max(0.0, deadline - time.monotonic())))
            if stop.is_set():
                return 0
    finally:
        if listener is not None:
            listener.stop()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.verbose)
    from edge_agent.errors import DetectError
    from models.errors import DatasetError, ModelLoadError  # no numpy or scikit-learn

    try:
        return args.func(args)
    except (ConfigError, DatasetError, ModelLoadError, DetectError) as exc:
        print(f"forewarn {args.command}: {exc}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as exc:
        extra = EXTRA_OF.get((exc.name or "").split(".")[0])
        if extra is None:
            raise
        print(f"forewarn {args.command} needs {exc.name}, which is not installed: "
              f"pip install 'forewarn[{extra}]' (or 'forewarn[all]')", file=sys.stderr)
        return 2


# Which extra brings each optional package (pyproject.toml; the base install is the agent).
EXTRA_OF = {"numpy": "models", "sklearn": "models", "scipy": "models",
            "matplotlib": "models", "fastapi": "api", "uvicorn": "api", "sqlalchemy": "api",
            "alembic": "api", "orjson": "api", "swagger_ui_bundle": "api",
            "starlette": "api", "amqtt": "demo", "psycopg": "postgres"}


if __name__ == "__main__":
    sys.exit(main())
