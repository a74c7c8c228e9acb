"""Models: real scikit-learn estimators; train/evaluate/score round trips on simulator data
and on data of another shape; one feature path for training and live scoring; clear
refusals."""

import csv
import json
import shutil
import sys

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

from contracts.wire import Sample
from edge_agent.settings import DetectorSettings
from forewarn.cli import main
from forewarn.config import load_config
from ingest.risk import RiskTracker
from models.dataset import DatasetError, read_runs, useful_sensors
from models.evaluate import score_run
from models.io import ModelLoadError, load_model
from models.risk import FailureRiskClassifier
from models.rul import RulRegressor
from simulators.dataset import write_dataset
from tests.models import cmapss_like


@parametrize_with_checks([FailureRiskClassifier(max_iter=20), RulRegressor(max_iter=20),
                          FailureRiskClassifier(kind="linear"), RulRegressor(kind="linear")])
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_estimators_clone_with_their_parameters():
    r = clone(RulRegressor(cap=125, learning_rate=0.03))
    assert r.get_params()["cap"] == 125 and r.get_params()["learning_rate"] == 0.03


def test_live_scoring_path_equals_evaluation_path(risk_model_dir, tmp_path):
    """The ingester's streaming scores equal ``forewarn model evaluate``'s, sample for sample,
    even when the agent polls four times per model interval (the ingester averages)."""
    import datetime as dt

    model = load_model(risk_model_dir)
    write_dataset(tmp_path / "d.csv", 4, seed=5)
    run = next(r for r in read_runs(tmp_path / "d.csv").runs if r.event == 1)
    offline = score_run(model, run)
    tracker = RiskTracker(model, api=None, threshold=model.threshold,
                          consecutive=model.consecutive)  # real time: 1 h per model sample
    assert tracker.bucket_s == 3600.0
    live, scored = [], 0
    t0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    for i, row in enumerate(run.rows()):
        row["running"] = run.running[i]
        values = {k: v for k, v in row.items() if np.isfinite(v)}
        for quarter in range(4):  # polled every 15 minutes, the same reading each time
            ts = t0 + dt.timedelta(hours=i, minutes=15 * quarter)
            tracker.observe([Sample(asset=run.unit, ts=ts, values=values)])
            a = tracker.assets[run.unit]
            if a.scored > scored:
                scored = a.scored
                live.append(a.risk)
    # A bucket is scored when the next one starts, so the last row is still pending.
    assert np.allclose(live, offline.risk[: len(live)]) and len(live) == len(offline.risk) - 1
    assert offline.risk[-1] > model.threshold > offline.risk[0]


def test_train_evaluate_score_round_trip_on_simulator_data(tmp_path, capsys):
    write_dataset(tmp_path / "train.csv", 40, seed=21)
    write_dataset(tmp_path / "test.csv", 20, seed=22)
    model = tmp_path / "model"
    assert main(["model", "train", "--data", str(tmp_path / "train.csv"), "--out", str(model),
                 "--search-iter", "1"]) == 0
    meta = json.loads((model / "metadata.json").read_text())
    assert meta["format_version"] == 2 and meta["horizon"] == 48 and meta["time_unit"] == "h"
    assert "tripped" in meta["not_used"] and "kind" in meta["not_used"]
    assert meta["search"]["tree_settings_tried"] == 1 and meta["training_data_sha256"]
    assert set(meta["versions"]) == {"scikit-learn", "numpy"}
    capsys.readouterr()
    out = tmp_path / "eval"
    assert main(["model", "evaluate", "--model", str(model), "--data",
                 str(tmp_path / "test.csv"), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    for line in ("RUL RMSE at last row", "PHM score", "ROC-AUC", "PR-AUC",
                 "share of failures warned", "median lead time", "false alarms per 100"):
        assert line in printed
    m = json.loads((out / "metrics.json").read_text())
    assert m["roc_auc"] > 0.95 and m["warned_share"] >= 0.8
    assert m["rul_rmse_history_capped"] < 0.8 * m["rul_rmse_history_constant_mean"]
    assert all((out / p).stat().st_size > 10_000
               for p in ("rul_pred_vs_true.png", "risk_along_time.png"))
    scores = tmp_path / "scores.csv"
    assert main(["model", "score", "--model", str(model), "--data", str(tmp_path / "test.csv"),
                 "--out", str(scores)]) == 0
    rows = list(csv.DictReader(scores.open()))
    assert list(rows[0]) == ["unit", "time", "rul", "risk", "health"]
    with open(tmp_path / "test.csv") as fh:
        assert len(rows) == sum(1 for _ in fh) - 1  # every input row, stopped ones blank
    scored = [r for r in rows if r["risk"]]
    assert 0.5 * len(rows) < len(scored) < len(rows)
    assert all(0 <= float(r["health"]) <= 1 for r in scored)


def test_generic_cycles_data_with_regimes_and_a_truncated_test_set(tmp_path, capsys):
    """Another shape: cycles, 6 operating regimes, constant sensors, odd column names."""
    cmapss_like.write(tmp_path / "train.csv", 60, seed=1)
    truth = cmapss_like.write(tmp_path / "test.csv", 30, seed=2, truncate=True)
    (tmp_path / "rul.txt").write_text("\n".join(f"{v:g}" for v in truth))
    model = tmp_path / "model"
    assert main(["model", "train", "--data", str(tmp_path / "train.csv"), "--out", str(model),
                 "--unit-col", "unit_number", "--search-iter", "0"]) == 0
    meta = json.loads((model / "metadata.json").read_text())
    assert meta["time_unit"] == "cycle" and meta["horizon"] == 30 and meta["regimes"] == 6
    assert meta["settings"] == ["setting_1", "setting_2", "setting_3"]
    assert {f"s_{i}" for i in cmapss_like.CONSTANT} <= set(meta["not_used"])
    capsys.readouterr()
    assert main(["model", "evaluate", "--model", str(model), "--data",
                 str(tmp_path / "test.csv"), "--rul-file", str(tmp_path / "rul.txt"),
                 "--unit-col", "unit_number", "--out", str(tmp_path / "eval")]) == 0
    m = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert m["rul_units"] == 30
    assert m["rul_rmse_ratio_to_constant"] < 0.7
    assert "false_alarms_per_100_unit_cycles" in m


def test_model_from_other_library_versions_or_sensors_is_refused(risk_model_dir, tmp_path,
                                                                 capsys):
    copy = tmp_path / "m"
    shutil.copytree(risk_model_dir, copy)
    meta = json.loads((copy / "metadata.json").read_text())
    meta["versions"]["scikit-learn"] = "0.1.0"
    (copy / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(ModelLoadError, match="made with scikit-learn 0.1.0"):
        load_model(copy)
    with pytest.raises(ModelLoadError, match="not a model directory"):
        load_model(tmp_path / "nothing")
    other = tmp_path / "other.csv"
    cmapss_like.write(other, 3, seed=3)
    assert main(["model", "evaluate", "--model", str(risk_model_dir), "--data", str(other),
                 "--unit-col", "unit_number"]) == 2
    err = capsys.readouterr().err
    assert "lacks the column(s)" in err and "vibration_rms" in err


def test_dataset_roles_and_useless_columns(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("id,when,a\n1,0,1.0\n")
    with pytest.raises(DatasetError, match="no unit column"):
        read_runs(p)
    with pytest.raises(DatasetError, match="--time-col 'nope' is not a column"):
        read_runs(p, unit_col="id", time_col="nope")
    q = tmp_path / "y.csv"
    q.write_text("asset_id;timestamp;event;flat;copy;real;empty;note\n"
                 "a;2026-01-01T00:00:00Z;0;1;3;3;;x\n"
                 "a;2026-01-01T02:00:00Z;0;1;4;4;;y\n"
                 "b;2026-01-01T01:00:00Z;1;1;5;5;;z\n")
    d = read_runs(q)
    assert d.roles["unit"] == "asset_id" and d.time_unit == "h"
    a = next(r for r in d.runs if r.unit == "a")
    assert a.event == 0 and a.time[1] - a.time[0] == pytest.approx(2.0)
    kept, dropped = useful_sensors(d.runs, d.sensors)
    assert kept == ["copy"] and set(dropped) == {"flat", "real", "empty"}
    assert d.set_aside == {"note": "not numeric"}
    with pytest.raises(DatasetError, match="event must be 0 or 1"):
        (tmp_path / "z.csv").write_text("unit,time,event,a\n1,0,7,1\n")
        read_runs(tmp_path / "z.csv")


def test_edge_detectors_fit_and_evaluate_on_labelled_data(tmp_path, capsys):
    data = tmp_path / "labelled.csv"
    write_dataset(data, 12, seed=8, sensor_faults=True)
    out = tmp_path / "detector.toml"
    assert main(["model", "detectors", "--data", str(data), "--fit", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    for word in ("precision", "recall", "f1", "false_alarms_per_unit_day"):
        assert word in printed
    f1 = float(next(line.split()[-1] for line in printed.splitlines()
                    if line.strip().startswith("f1")))
    assert f1 > 0.3
    import tomllib

    settings = DetectorSettings.model_validate(tomllib.loads(out.read_text())["detector"])
    assert settings.threshold in (3.0, 4.0, 5.0, 6.0, 8.0)
    assert load_config  # the agent reads the same table
    assert sys.modules["edge_agent.detector_replay"]
