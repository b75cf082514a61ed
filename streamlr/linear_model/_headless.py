"""The command line's headless learner: the estimators' training core without scikit-learn.

``streamlr train`` learns a file with ``partial_fit`` calls on CSR rows it
has checked itself. ``HeadlessClassifier`` and ``HeadlessRegressor`` take
those calls through the estimators' own core (``_learner``: the same
parameter validation, ``ModelState``, engine calls and results, bitwise),
so that the command line imports neither scikit-learn nor SciPy; their
parameters are the estimators' (``CLASSIFIER_DEFAULTS``,
``REGRESSOR_DEFAULTS``: the estimators' signatures, checked by the tests),
and ``to_estimator`` hands the trained model to the estimator class (for
``streamlr.save``), which imports scikit-learn then.

They serve the streaming case only: ``partial_fit`` with ``classes`` given
on every call (the classifier), ``class_weight=None`` and no
``new_classes="add"`` (``supports`` says whether a parameter set is
served); anything else takes the estimator. A failed call (divergence)
leaves the coefficients as it left them: the command line then stops
without saving the model.
"""
import numpy as np

from .._crossed import CrossedRows
from .._csr import CSRRows
from . import _params
from ._input import check_targets_finite
from ._learner import ClassifierCore, RegressorCore

# the estimators' parameters and defaults, in their signatures' order
# (tests/test_cli_lean.py checks that they are SGDClassifier's and SGDRegressor's)
_SHARED = dict(penalty="l2", alpha=0.0001, l1_ratio=0.15, fit_intercept=True, max_iter=1000,
               tol=1e-3, shuffle=True, verbose=0, epsilon=0.1)
CLASSIFIER_DEFAULTS = dict(
    loss="hinge", **_SHARED, n_jobs=None, random_state=None, learning_rate="optimal",
    eta0=0.01, power_t=0.5, early_stopping=False, validation_fraction=0.1,
    n_iter_no_change=5, class_weight=None, warm_start=False, average=False, optimizer="sgd",
    gtol=None, auto_rates=None, drift_detector=None, on_drift="restart", hash_bits=None,
    interactions=None, multi_class="ovr", new_classes="error", max_pending=100_000,
    pending_ttl=None)
REGRESSOR_DEFAULTS = dict(
    loss="squared_error", **_SHARED, random_state=None, learning_rate="invscaling",
    eta0=0.01, power_t=0.25, early_stopping=False, validation_fraction=0.1,
    n_iter_no_change=5, warm_start=False, average=False, optimizer="sgd", gtol=None,
    auto_rates=None, drift_detector=None, on_drift="restart", power=1.5, quantile=0.5,
    hash_bits=None, interactions=None, max_pending=100_000, pending_ttl=None)


def supports(params):
    """Whether the headless learner serves an estimator with these
    parameters (the others at their defaults) on ``partial_fit`` calls."""
    return (params.get("class_weight") is None and params.get("new_classes", "error") == "error"
            and params.get("hash_bits") is None and not params.get("early_stopping", False))


class _Headless:
    """Parameters as attributes, what the progress table reads, the estimator."""

    _defaults = {}
    # the command line stops at a failed call and drops the model: a call
    # over every column snapshots no coordinates (``_driver.train``)
    _undo_all_coordinates = False

    def __init__(self, **params):
        unknown = set(params) - set(self._defaults)
        if unknown:
            raise TypeError(f"unknown parameters {sorted(unknown)}")
        for name, default in self._defaults.items():
            setattr(self, name, params.get(name, default))

    def get_params(self, deep=False):
        """The parameters, by name (the estimator's)."""
        return {name: getattr(self, name) for name in self._defaults}

    def _validate_params(self, for_partial_fit=False):
        return _params.validate_params(self, for_partial_fit)

    @property
    def lr_(self):
        """The learning rate of the last update (NaN before any)."""
        return self._fitted_model("lr_").progress.lr

    @property
    def progressive_loss_(self):
        """Mean loss of every sample, measured just before learning from it."""
        self._fitted_model("progressive_loss_")
        return self._progressive_loss()

    def _scores(self, X):
        if isinstance(X, CrossedRows):     # a few rows: crossed here, as the estimator does
            X = X.materialize()
        out = self._decision_small(X)
        if out is None:
            raise ValueError(f"X has {X.shape[1]} features, but the model is expecting "
                             f"{self._model.w.shape[1]}")
        return out

    def _rows(self, X, y):
        if type(X) is not CSRRows:
            raise TypeError("the headless learner takes CSRRows")
        if X.shape[0] == 0:
            raise ValueError(f"Found array with 0 sample(s) (shape={X.shape}).")
        if "_model" in self.__dict__:
            if X.shape[1] != self.n_features_in_:
                raise ValueError(f"X has {X.shape[1]} features, but the model is expecting "
                                 f"{self.n_features_in_} features as input.")
            if X.dtype != self._model.w.dtype:
                X = CSRRows(X.data.astype(self._model.w.dtype), X.indices, X.indptr, X.shape)
        return X, np.asarray(y)

    def to_estimator(self):
        """The estimator with these parameters and this trained model (imports scikit-learn).

        Returns
        -------
        SGDClassifier or SGDRegressor
            What ``partial_fit`` of the same calls would have made.
        """
        from . import SGDClassifier, SGDRegressor

        cls = SGDClassifier if self._is_classifier else SGDRegressor
        est = cls(**self.get_params())
        for key, value in self.__dict__.items():
            if key not in self._defaults:
                est.__dict__[key] = value
        if "_model" in self.__dict__:
            self._model.engine = None    # the estimator binds its own
        return est


class HeadlessClassifier(_Headless, ClassifierCore):
    """``SGDClassifier``'s streaming training, without scikit-learn (see the module)."""

    _defaults = CLASSIFIER_DEFAULTS

    def partial_fit(self, X, y, classes, sample_weight=None):
        """``SGDClassifier.partial_fit`` of CSR rows, ``classes`` given (sorted, distinct)."""
        X, crossed = self._split_crossed(X)
        return self._transaction(
            lambda tx: self._partial_fit(tx.crossing(crossed), X, y, classes, sample_weight))

    def _partial_fit(self, tx, X, y, classes, sample_weight):
        first = "_model" not in self.__dict__
        optimizer = _params.validate_params(self, for_partial_fit=True)
        X, y = self._rows(X, y)
        classes = np.asarray(classes)
        if first:
            if classes.dtype.kind == "f" and np.any(classes != classes.astype(np.int64)):
                # scikit-learn's unique_labels refuses continuous values so
                raise ValueError(f"Unknown label type: {(classes,)!r}")
            if len(classes) < 2:
                raise ValueError("The number of classes has to be greater than one; "
                                 f"got {len(classes)} class")
            self.n_features_in_ = X.shape[1]
        elif not np.array_equal(self.classes_, classes):
            raise ValueError(f"`classes={classes!r}` is not the same as on last call to "
                             f"partial_fit, was: {self.classes_!r}")
        return self._learn_chunk(tx, optimizer, X, y, classes, sample_weight, first)

    def decision_function(self, X):
        """``SGDClassifier.decision_function`` of a few CSR rows."""
        scores = self._scores(X)
        return scores.ravel() if scores.shape[1] == 1 else scores


class HeadlessRegressor(_Headless, RegressorCore):
    """``SGDRegressor``'s streaming training, without scikit-learn (see the module)."""

    _defaults = REGRESSOR_DEFAULTS

    def partial_fit(self, X, y, sample_weight=None):
        """``SGDRegressor.partial_fit`` of CSR rows."""
        return self._stream_rows(X, y, sample_weight)

    def _partial_fit(self, tx, X, y, sample_weight):
        first = "_model" not in self.__dict__
        optimizer = _params.validate_params(self, for_partial_fit=True)
        X, y = self._rows(X, y)
        check_targets_finite(y)
        _params.check_targets(_params.make_loss(self), y)
        if first:
            self.n_features_in_ = X.shape[1]
        return self._learn_chunk(tx, optimizer, X, np.ascontiguousarray(y, dtype=X.dtype),
                                 sample_weight, first)

    def predict(self, X):
        """``SGDRegressor.predict`` of a few CSR rows."""
        return self._link(self._scores(X).ravel())
