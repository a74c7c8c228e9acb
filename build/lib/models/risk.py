"""Failure-risk estimator: calibrated probability that a unit fails within the horizon.

A real scikit-learn estimator (clone-able, no work in ``__init__``, fitted state ends
in ``_``). Gradient-boosted trees (``kind="trees"``, default) or a logistic regression
on imputed, standardised features (``kind="linear"``) make the score; training's
bounded search tries both. A monotone (isotonic) map fitted on out-of-fold scores
turns the score into a probability. The folds split by unit when
``groups`` are passed to ``fit`` — rows of one unit are never on both sides — and
the out-of-fold probabilities are kept in ``oof_proba_`` so a deployment threshold
can be chosen on rows the trees did not see. The full and the fold models are independent
fits: ``n_jobs`` of them run side by side (``models.parallel``), with the same result.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.multiclass import unique_labels
from sklearn.utils.validation import check_is_fitted, validate_data

from .parallel import run_tasks


def _fit_booster(booster, X, y, X_out):
    """Fit ``booster``; with ``X_out``, its probabilities there (an out-of-fold score)."""
    booster.fit(X, y)
    return booster, None if X_out is None else booster.predict_proba(X_out)[:, 1]


class FailureRiskClassifier(ClassifierMixin, BaseEstimator):
    def __init__(self, kind: str = "trees", max_iter: int = 200, learning_rate: float = 0.1,
                 max_leaf_nodes: int = 15, min_samples_leaf: int = 20,
                 l2_regularization: float = 1.0, C: float = 1.0,
                 calibration: str = "isotonic", cv: int = 3, random_state: int | None = 0,
                 n_jobs: int = 1):
        self.kind = kind
        self.C = C
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.calibration = calibration
        self.cv = cv
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _booster(self):
        if self.kind == "linear":
            return make_pipeline(
                SimpleImputer(strategy="median", keep_empty_features=True), StandardScaler(),
                LogisticRegression(C=self.C, max_iter=2000))
        if self.kind != "trees":
            raise ValueError(f"kind must be 'trees' or 'linear', got {self.kind!r}")
        return HistGradientBoostingClassifier(
            max_iter=self.max_iter, learning_rate=self.learning_rate,
            max_leaf_nodes=self.max_leaf_nodes, min_samples_leaf=self.min_samples_leaf,
            l2_regularization=self.l2_regularization, random_state=self.random_state,
            early_stopping=False)

    def fit(self, X, y, groups=None):
        X, y = validate_data(self, X, y, ensure_all_finite="allow-nan")
        self.classes_ = unique_labels(y)
        splits = (self._folds(X, y, groups)
                  if self.calibration == "isotonic" and len(self.classes_) == 2 else [])
        fitted = run_tasks(_fit_booster, [(self._booster(), X, y, None)] + [
            (self._booster(), X[train], y[train], X[test]) for train, test in splits],
            self.n_jobs)
        self.booster_ = fitted[0][0]
        self.n_iter_ = (self.booster_.n_iter_ if self.kind == "trees"
                        else int(np.max(self.booster_[-1].n_iter_)))
        self.calibrator_ = None
        self.oof_proba_ = None
        if splits:
            oof = np.full(len(y), np.nan)
            for (_, test), (_, proba) in zip(splits, fitted[1:], strict=True):
                oof[test] = proba
            positive = (y == self.classes_[1]).astype(float)
            self.calibrator_ = IsotonicRegression(out_of_bounds="clip", y_min=0.0,
                                                  y_max=1.0).fit(oof, positive)
            self.oof_proba_ = self.calibrator_.predict(oof)
        return self

    def _folds(self, X, y, groups) -> list[tuple[np.ndarray, np.ndarray]]:
        """Folds by unit (or stratified); none when a fold's training side lacks a class."""
        if groups is not None and len(np.unique(groups)) >= self.cv:
            splits = list(GroupKFold(n_splits=self.cv).split(X, y, groups))
        elif np.min(np.unique(y, return_counts=True)[1]) >= self.cv:
            splits = list(StratifiedKFold(n_splits=self.cv, shuffle=True,
                                          random_state=self.random_state).split(X, y))
        else:
            return []
        return splits if all(len(np.unique(y[train])) == 2 for train, _ in splits) else []

    def predict_proba(self, X) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan")
        proba = self.booster_.predict_proba(X)
        if self.calibrator_ is not None:
            p = self.calibrator_.predict(proba[:, 1])
            proba = np.column_stack([1.0 - p, p])
        return proba

    def predict(self, X) -> np.ndarray:
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags
