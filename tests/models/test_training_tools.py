"""The tools around the models: thread counts, reproducibility, honest evaluation figures,
plots that choose what to show, and scores that keep the input's timestamps."""

from __future__ import annotations

import csv
import datetime as dt
import json

import numpy as np
import pytest

from forewarn.cli import main
from models.alarm import AlarmRule
from models.dataset import Run, read_runs
from models.evaluate import (
    ScoredRun,
    calibration,
    format_metrics,
    plot_selection,
    rul_metrics,
)
from models.io import fitted_digest, load_model
from models.parallel import kernel_threads, run_tasks
from models.train import TrainOptions, train
from tests.models import cmapss_like


@pytest.fixture(scope="module")
def two_trainings(tmp_path_factory):
    """The same data and seed trained with one fit at a time and with two."""
    d = tmp_path_factory.mktemp("threads")
    cmapss_like.write(d / "train.csv", 12, seed=3)
    data = read_runs(d / "train.csv", unit_col="unit_number")
    out = {}
    for threads in (1, 2):
        train(data, d / f"model-{threads}", TrainOptions(search_iter=1, seed=5),
              log=lambda m: None, threads=threads)
        out[threads] = load_model(d / f"model-{threads}")
    return data, out


def test_same_model_whatever_the_thread_count(two_trainings):
    data, models = two_trainings
    one, two = models[1], models[2]
    for part in ("normaliser", "rul", "risk"):
        a, b = fitted_digest(getattr(one, part)), fitted_digest(getattr(two, part))
        assert a.hexdigest() == b.hexdigest(), part
    for key in ("threshold", "consecutive", "search", "alarm_out_of_fold", "metrics"):
        assert one.metadata[key] == two.metadata[key], key
    from models.evaluate import score_run

    run = data.runs[0]
    a, b = score_run(one, run), score_run(two, run)
    assert np.array_equal(a.risk, b.risk) and np.array_equal(a.rul, b.rul)


def test_thread_limits_are_applied_inside_training(two_trainings):
    _, models = two_trainings
    for threads, model in models.items():
        view = model.metadata["threads"]
        assert view["fits_at_a_time"] == threads
        # threadpoolctl's view in this process and in every worker, during the fits
        assert view["kernel_threads_seen"] == [1]


def test_workers_run_their_kernels_on_one_thread():
    seen: set[int] = set()
    assert run_tasks(kernel_threads, [()] * 4, threads=2, seen=seen) == [1, 1, 1, 1]
    assert seen == {1}


def _scored(unit: str, times, rul, risk, event: int = 1, true_rul=None) -> ScoredRun:
    t = np.asarray(times, float)
    run = Run(unit, t, {}, event=event,
              true_rul=None if true_rul is None else np.asarray(true_rul, float))
    return ScoredRun(run, np.arange(len(t)), np.asarray(rul, float), np.asarray(risk, float))


def test_evaluation_reports_rmse_against_true_and_capped_truth():
    # Unit a fails at t=300: true RUL 300, 200, 100, 0; the model says 150, 150, 90, 10.
    a = _scored("a", [0, 100, 200, 300], [150, 150, 90, 10], [0, 0, 0, 1])
    # Unit b is cut short at t=50 with 80 left (true RUL 130, 80); the model says 100, 70.
    b = _scored("b", [0, 50], [100, 70], [0, 0], event=0, true_rul=[130, 80])
    m = rul_metrics([a, b], cap=125.0, constant=60.0)
    # Along all rows: errors vs true -150 -50 -10 10 -30 -10; vs capped truth
    # (125 125 100 0 125 80): 25 25 -10 10 -25 -10.
    assert m["rul_rmse_history"] == pytest.approx(np.sqrt((150**2 + 50**2 + 100 + 100 + 900
                                                           + 100) / 6))
    assert m["rul_rmse_history_capped"] == pytest.approx(np.sqrt((3 * 625 + 3 * 100) / 6))
    # At the last rows: a 10 vs 0; b 70 vs 80 (below the cap, so capped is the same).
    assert m["rul_rmse_last"] == pytest.approx(10.0)
    assert m["rul_rmse_last_capped"] == pytest.approx(10.0)
    report = format_metrics({"rul_cap_evaluation": 125.0, **m}, "h")
    assert "RUL RMSE along histories, vs true RUL (h)" in report
    assert "RUL RMSE along histories, vs truth capped at 125" in report
    lines = {line[:52].strip(): line[52:].strip() for line in report.splitlines()}
    assert lines["RUL RMSE along histories, vs true RUL (h)"] == f"{m['rul_rmse_history']:.4g}"
    assert lines["RUL RMSE along histories, vs truth capped at 125"] == "19.04"
    short = format_metrics(m, "h", all_rows_only=True)
    assert "at last row" not in short and "along histories" in short


def test_plots_pick_units_that_reach_their_warning_window():
    rule, horizon = AlarmRule(0.5, 1), 10.0
    t = np.arange(0.0, 101.0)
    early = _scored("ends-early", t[:80], np.zeros(80), np.zeros(80), event=0,
                    true_rul=100.0 - t[:80])  # history ends 20 before failure: window 90-100
    censored = _scored("censored", t, np.zeros(101), np.zeros(101), event=0)
    missed = _scored("missed", t, np.zeros(101), np.zeros(101))
    late = _scored("late", t, np.zeros(101), np.where(t >= 98, 0.9, 0.1))
    timely = _scored("timely", t, np.zeros(101), np.where(t >= 91, 0.9, 0.1))
    chosen = plot_selection([early, censored, timely, missed, late], rule, horizon, n=6)
    assert [(s.run.unit, why.split(":")[0]) for s, why in chosen] == [
        ("missed", "missed"), ("late", "short lead"), ("timely", "lead 9")]


def test_reliability_diagram_bins():
    s = _scored("a", np.arange(0.0, 100.0), np.zeros(100),
                np.r_[np.full(50, 0.05), np.full(50, 0.95)])  # fails at 99
    centres, observed, counts = calibration([s], horizon=48.5)  # within: t = 51..99
    assert counts[0] == 50 and counts[9] == 50 and counts[1:9].sum() == 0
    assert observed[0] == 0 and observed[9] == pytest.approx(49 / 50)
    assert np.isnan(observed[5]) and centres[0] == pytest.approx(0.05)


def test_score_keeps_the_input_timestamps(risk_model_dir, tmp_path):
    from simulators.dataset import write_dataset

    write_dataset(tmp_path / "d.csv", 2, seed=4)
    rows = list(csv.DictReader((tmp_path / "d.csv").open()))
    t0 = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    for r in rows:
        r["time"] = (t0 + dt.timedelta(hours=float(r["time"]))).isoformat().replace(
            "+00:00", "Z")
    with open(tmp_path / "iso.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    assert main(["model", "score", "--model", str(risk_model_dir), "--data",
                 str(tmp_path / "iso.csv"), "--out", str(tmp_path / "s.csv"),
                 "--threads", "1"]) == 0
    out = list(csv.DictReader((tmp_path / "s.csv").open()))
    assert [(r["unit"], r["time"]) for r in out] == [(r["unit"], r["time"]) for r in rows]


def test_evaluate_writes_the_reliability_diagram_and_names_its_cap(risk_model_dir, tmp_path,
                                                                  capsys):
    from simulators.dataset import write_dataset

    write_dataset(tmp_path / "d.csv", 6, seed=9)
    assert main(["model", "evaluate", "--model", str(risk_model_dir), "--data",
                 str(tmp_path / "d.csv"), "--out", str(tmp_path / "e"), "--rul-cap", "100",
                 "--threads", "1"]) == 0
    printed = capsys.readouterr().out
    assert "vs truth capped at 100" in printed and "vs true RUL" in printed
    m = json.loads((tmp_path / "e" / "metrics.json").read_text())
    assert m["rul_cap_evaluation"] == 100
    assert (tmp_path / "e" / "risk_calibration.png").stat().st_size > 10_000
