"""Model directories: the fitted estimator plus metadata that says how to use it.

A model directory holds ``model.pkl`` and ``metadata.json`` (format version, feature
spec and names, horizon, threshold, sample interval, training-data hash, library
versions, metrics). Loading refuses a model made with other library versions.
"""

from __future__ import annotations

import json
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import sklearn

from .features import FeatureSpec, FeatureState, feature_names

FORMAT_VERSION = 1


class ModelLoadError(RuntimeError):
    """A model directory is missing, corrupt, or was made with incompatible libraries."""


def _versions() -> dict[str, str]:
    return {"scikit-learn": sklearn.__version__, "numpy": np.__version__}


@dataclass
class RiskModel:
    estimator: object
    spec: FeatureSpec
    metadata: dict

    @property
    def threshold(self) -> float:
        return float(self.metadata["threshold"])

    def new_state(self) -> FeatureState:
        return FeatureState(self.spec)

    def predict_risk(self, X: np.ndarray) -> np.ndarray:
        """Probability of failure within the horizon, one per row (score in batches)."""
        if X.ndim == 1:
            X = X[None, :]
        return self.estimator.predict_proba(X)[:, 1]  # type: ignore[attr-defined]


def save_model(out: str | Path, estimator: object, spec: FeatureSpec, meta: dict) -> Path:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "model.pkl", "wb") as fh:
        pickle.dump(estimator, fh)
    metadata = {
        "format_version": FORMAT_VERSION,
        "feature_spec": spec.to_dict(),
        "feature_names": feature_names(spec),
        "versions": _versions(),
        **meta,
    }
    (out / "metadata.json").write_text(json.dumps(metadata, indent=2, default=float))
    return out


def load_model(path: str | Path) -> RiskModel:
    path = Path(path)
    try:
        metadata = json.loads((path / "metadata.json").read_text())
    except FileNotFoundError as exc:
        raise ModelLoadError(
            f"{path} is not a model directory (no metadata.json): train one with "
            "`forewarn model train`") from exc
    except json.JSONDecodeError as exc:
        raise ModelLoadError(f"{path}/metadata.json is corrupt: {exc}") from exc
    if metadata.get("format_version") != FORMAT_VERSION:
        raise ModelLoadError(
            f"{path}: model format {metadata.get('format_version')} is not "
            f"{FORMAT_VERSION}; retrain it")
    made, here = metadata.get("versions", {}), _versions()
    for lib, version in here.items():
        if made.get(lib, "").split(".")[:2] != version.split(".")[:2]:
            raise ModelLoadError(
                f"{path}: made with {lib} {made.get(lib)}, this is {version}; "
                "retrain the model with this environment")
    try:
        with open(path / "model.pkl", "rb") as fh:
            estimator = pickle.load(fh)
    except (OSError, pickle.UnpicklingError, EOFError) as exc:
        raise ModelLoadError(f"{path}/model.pkl cannot be loaded: {exc}") from exc
    return RiskModel(estimator=estimator, spec=FeatureSpec.from_dict(metadata["feature_spec"]),
                     metadata=metadata)
