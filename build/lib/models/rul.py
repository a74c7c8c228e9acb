"""Remaining-useful-life regressor with the usual piecewise-linear cap.

Early in life, wear barely shows, so the true RUL cannot be read from the sensors.
The target is therefore the RUL capped at ``cap``: constant while healthy, then
falling linearly to 0 at failure. Predictions are clipped to [0, cap]. A real
scikit-learn estimator (clone-able). ``kind`` picks the learner: gradient-boosted
trees (NaN-tolerant, default) or a ridge regression on imputed, standardised
features; training's bounded search tries both and keeps what cross-validates
better by unit.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.impute import SimpleImputer
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted, validate_data


class RulRegressor(RegressorMixin, BaseEstimator):
    def __init__(self, cap: float | None = None, kind: str = "trees", max_iter: int = 300,
                 learning_rate: float = 0.05, max_leaf_nodes: int = 31,
                 min_samples_leaf: int = 20, l2_regularization: float = 1.0,
                 alpha: float = 1.0, random_state: int | None = 0):
        self.cap = cap
        self.kind = kind
        self.alpha = alpha
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.random_state = random_state

    def fit(self, X, y):
        X, y = validate_data(self, X, y, ensure_all_finite="allow-nan", y_numeric=True)
        y = np.asarray(y, dtype=float)
        if self.cap is not None:
            y = np.minimum(y, self.cap)
        self.floor_ = min(0.0, float(y.min()))  # RUL is never below 0 (unless y is)
        if self.kind == "trees":
            self.model_ = HistGradientBoostingRegressor(
                max_iter=self.max_iter, learning_rate=self.learning_rate,
                max_leaf_nodes=self.max_leaf_nodes, min_samples_leaf=self.min_samples_leaf,
                l2_regularization=self.l2_regularization, random_state=self.random_state,
                early_stopping=False)
        elif self.kind == "linear":
            self.model_ = make_pipeline(
                SimpleImputer(strategy="median", keep_empty_features=True), StandardScaler(),
                Ridge(alpha=self.alpha))
        else:
            raise ValueError(f"kind must be 'trees' or 'linear', got {self.kind!r}")
        self.model_.fit(X, y)
        # Boosting iterations run (a ridge regression solves in one step).
        self.n_iter_ = self.model_.n_iter_ if self.kind == "trees" else 1
        return self

    def predict(self, X) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan")
        pred = self.model_.predict(X)
        upper = self.cap if self.cap is not None else np.inf
        return np.clip(pred, self.floor_, upper)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags
