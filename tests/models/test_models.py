"""Risk model: a real scikit-learn estimator; training round-trip; refusing foreign models."""

import json

import numpy as np
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from models.dataset import DatasetError, read_runs
from models.features import FeatureSpec, FeatureState
from models.io import ModelLoadError, load_model
from models.risk import FailureRiskClassifier
from models.train import run_features
from simulators.dataset import write_dataset


@parametrize_with_checks([FailureRiskClassifier()])
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_streaming_features_equal_batch_features(tmp_path):
    """The ingester's streaming path and training's path are the same computation."""
    write_dataset(tmp_path / "d.csv", 3, seed=5)
    run = read_runs(tmp_path / "d.csv").runs[0]
    spec = FeatureSpec()
    batch, _ = run_features(run, spec)
    state = FeatureState(spec)
    streamed = [f for row in run.rows() if (f := state.update(row)) is not None]
    assert np.array_equal(np.vstack(streamed), batch)


def test_model_dir_roundtrip_and_risk_rises_before_failure(risk_model_dir, tmp_path):
    model = load_model(risk_model_dir)
    meta = model.metadata
    assert meta["sample_interval_h"] == 1.0 and meta["metrics"]["roc_auc"] > 0.9
    write_dataset(tmp_path / "t.csv", 30, seed=99)
    failed = [r for r in read_runs(tmp_path / "t.csv").runs if r.event == 1]
    early, late = [], []
    for run in failed:
        f, t = run_features(run, model.spec)
        risk = model.predict_risk(f)
        left = run.time[-1] - t
        early.extend(risk[left > 160])  # before any onset
        late.extend(risk[left < 12])
    assert np.mean(late) > 0.7 > 0.1 > np.mean(early)


def test_model_from_other_library_versions_is_refused(risk_model_dir, tmp_path):
    import shutil

    copy = tmp_path / "m"
    shutil.copytree(risk_model_dir, copy)
    meta = json.loads((copy / "metadata.json").read_text())
    meta["versions"]["scikit-learn"] = "0.1.0"
    (copy / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(ModelLoadError, match="made with scikit-learn 0.1.0"):
        load_model(copy)
    with pytest.raises(ModelLoadError, match="not a model directory"):
        load_model(tmp_path / "nothing")


def test_dataset_errors_are_precise(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("id,when,a\n1,0,1.0\n")
    with pytest.raises(DatasetError, match="no unit column"):
        read_runs(p)
    with pytest.raises(DatasetError, match="--time-col 'nope' is not a column"):
        read_runs(p, unit_col="id", time_col="nope")
