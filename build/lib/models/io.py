"""Model directories: the fitted models plus metadata that says how to use them.

A model directory holds ``model.pkl`` (feature spec, regime normaliser, RUL
regressor and risk classifier) and ``metadata.json``: format version, sensors and
settings, feature names, windows, horizon, RUL cap, deployed threshold and
consecutive count, sample interval and time unit, training-data hash, library
versions, search results and metrics. Loading refuses a model made with other
library versions; scoring refuses data that lacks the model's sensors.
"""

from __future__ import annotations

import hashlib
import json
import pickle
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import sklearn

from .alarm import AlarmRule
from .errors import ModelLoadError, SensorMismatch
from .features import FeatureSpec, FeatureState, RegimeNormaliser, feature_names

FORMAT_VERSION = 2


def fitted_digest(obj, h=None):
    """A sha256 of everything a fitted estimator holds: arrays by their bytes, random
    generators by their state, objects by their attributes (not by pickle, whose bytes
    depend on how an object travelled between processes)."""
    h = h or hashlib.sha256()
    if isinstance(obj, np.ndarray):
        h.update(obj.dtype.str.encode() + str(obj.shape).encode() + obj.tobytes())
    elif isinstance(obj, np.random.Generator):
        h.update(repr(obj.bit_generator.state).encode())
    elif isinstance(obj, dict):
        for k in sorted(obj, key=str):
            h.update(str(k).encode())
            fitted_digest(obj[k], h)
    elif isinstance(obj, list | tuple):
        for v in obj:
            fitted_digest(v, h)
    elif hasattr(obj, "__dict__"):
        h.update(type(obj).__name__.encode())
        fitted_digest(vars(obj), h)
    elif type(obj).__module__.startswith("sklearn"):  # compiled helpers (losses): stateless
        h.update(pickle.dumps(obj))
    else:
        h.update(repr(obj).encode())
    return h


def _versions() -> dict[str, str]:
    return {"scikit-learn": sklearn.__version__, "numpy": np.__version__}


@dataclass
class PdmModel:
    """Everything needed to score: features, RUL and failure risk."""

    spec: FeatureSpec
    normaliser: RegimeNormaliser
    rul: object | None
    risk: object
    metadata: dict = field(default_factory=dict)

    @property
    def threshold(self) -> float:
        return float(self.metadata["threshold"])

    @property
    def consecutive(self) -> int:
        return int(self.metadata["consecutive"])

    @property
    def alarm_rule(self) -> AlarmRule:
        """The alarm chosen in training (``models.alarm``)."""
        return AlarmRule(self.threshold, self.consecutive)

    @property
    def cap(self) -> float:
        return float(self.metadata["rul_cap"])

    @property
    def horizon(self) -> float:
        return float(self.metadata["horizon"])

    @property
    def time_unit(self) -> str:
        """``h`` or ``cycle``: what the data's time column counted."""
        return str(self.metadata.get("time_unit", "h"))

    def new_state(self) -> FeatureState:
        return FeatureState(self.spec, self.normaliser)

    def predict_risk(self, X: np.ndarray) -> np.ndarray:
        """Probability of failure within the horizon, one per row (score in batches)."""
        if X.ndim == 1:
            X = X[None, :]
        return self.risk.predict_proba(X)[:, 1]  # type: ignore[attr-defined]

    def predict_rul(self, X: np.ndarray) -> np.ndarray:
        if X.ndim == 1:
            X = X[None, :]
        if self.rul is None:
            return np.full(len(X), np.nan)
        return self.rul.predict(X)  # type: ignore[attr-defined]

    def health(self, rul: np.ndarray) -> np.ndarray:
        """Health index in [0, 1]: predicted RUL as a share of the cap (1 = as new)."""
        return np.clip(rul / self.cap, 0.0, 1.0)

    def digest(self) -> str:
        """16 hex digits over the normaliser, both models and the alarm rule: two models
        with the same digest score alike."""
        h = hashlib.sha256()
        for part in (self.normaliser, self.rul, self.risk):
            fitted_digest(part, h)
        h.update(f"{self.threshold} {self.consecutive}".encode())
        return h.hexdigest()[:16]

    def check_columns(self, columns: list[str], source: str) -> None:
        missing = [c for c in (*self.spec.sensors, *self.spec.settings) if c not in columns]
        if missing:
            raise SensorMismatch(
                f"{source} lacks the column(s) {missing} that this model was trained on "
                f"(sensors {list(self.spec.sensors)}); score data with the same sensors, "
                "or train a model on this sensor set")


def save_model(out: str | Path, model: PdmModel) -> Path:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "model.pkl", "wb") as fh:
        pickle.dump(model, fh)
    metadata = {
        "format_version": FORMAT_VERSION,
        "feature_spec": model.spec.to_dict(),
        "feature_names": feature_names(model.spec),
        "versions": _versions(),
        **model.metadata,
    }
    model.metadata = metadata
    (out / "metadata.json").write_text(json.dumps(metadata, indent=2, default=float))
    return out


def load_model(path: str | Path) -> PdmModel:
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
            model = pickle.load(fh)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError) as exc:
        raise ModelLoadError(f"{path}/model.pkl cannot be loaded: {exc}") from exc
    if not isinstance(model, PdmModel):
        raise ModelLoadError(f"{path}/model.pkl holds a {type(model).__name__}, not a model")
    model.metadata = metadata
    return model
