"""SGDRegressor: scikit-learn's linear regression on streamlr's engine."""
import numbers

import numpy as np
import scipy.sparse as sp
from sklearn.base import RegressorMixin
from sklearn.utils.validation import validate_data

from . import _driver, _params, _pending
from ._base import DRIFT_PARAMETERS, HASH_PARAMETERS, RATE_RACE_NOTES, SHARED_PARAMETERS, BaseSGD
from ._input import check_init_finite, check_sample_weight, check_targets_finite
from ._learner import RegressorCore
from ._stopping import validation_mask


class SGDRegressor(_pending.PendingLabels, RegressorCore, RegressorMixin, BaseSGD):
    """Linear regression trained by SGD (least squares, robust, GLM and quantile losses).

    A drop-in replacement for :class:`sklearn.linear_model.SGDRegressor`
    (scikit-learn 1.9) on streamlr's compiled per-sample loop. The parameters
    scikit-learn does not have (``optimizer``, ``gtol``) and the added
    attributes (``optimizer_state_``, ``schedule_state_``, ``lr_``,
    ``lr_history_``, ``progressive_loss_``) are those of
    :class:`SGDClassifier`, as are the deliberate differences from
    scikit-learn.

    Parameters
    ----------
    loss : str, default="squared_error"
        ``"squared_error"``, ``"huber"``, ``"epsilon_insensitive"``,
        ``"squared_epsilon_insensitive"``, or one of the GLM losses (see
        Notes): ``"poisson"``, ``"gamma"``, ``"tweedie"`` (log link) and
        ``"quantile"`` (pinball).
%(shared_parameters)s    random_state : int, RandomState instance or None, default=None
        Seeds the shuffling and the ``early_stopping`` split.
    learning_rate : str or streamlr.schedules.Schedule, default="invscaling"
        scikit-learn's strings (``"constant"``, ``"optimal"``,
        ``"invscaling"``, ``"adaptive"``, ``"pa1"``, ``"pa2"``), ``"auto"``
        (no rate to choose: a rate race, see Notes) or any schedule
        object of :mod:`streamlr.schedules`.
    eta0 : float, default=0.01
        The initial (or constant) rate.
    power_t : float, default=0.25
        The exponent of ``"invscaling"``.
    early_stopping : bool, default=False
        ``fit`` holds out ``validation_fraction`` of the rows and stops when
        their R^2 stops improving.
    validation_fraction : float, default=0.1
        The held-out share with ``early_stopping``.
    n_iter_no_change : int, default=5
        Epochs without improvement before ``fit`` stops (or divides an
        adaptive rate).
    warm_start : bool, default=False
        ``fit`` starts from the current weights.
    average : bool or int, default=False
        Averaged SGD (see :class:`SGDClassifier`).
    optimizer : str or streamlr.optim.Optimizer, default="sgd"
        The update rule (see :class:`SGDClassifier`).
    gtol : float or None, default=None
        ``fit`` stops once the full gradient's norm falls below it.
    auto_rates : sequence of float or None, default=None
        The candidate rates of ``learning_rate="auto"`` (None: the
        optimizer's, `streamlr.optim.Optimizer.auto_rates`); at most 64,
        each finite and > 0.
%(drift_parameters)s
    power : float, default=1.5
        The Tweedie power of ``loss="tweedie"``: <= 0 or >= 1 (1 is
        ``"poisson"``, 2 ``"gamma"``; 1 < power < 2 the compound
        Poisson-gamma distribution).
    quantile : float, default=0.5
        The quantile ``loss="quantile"`` estimates, in (0, 1).
%(hash_parameters)s%(pending_parameters)s
    Attributes
    ----------
    coef_, intercept_, n_features_in_, feature_names_in_, n_iter_, t_
        As scikit-learn's.
    optimizer_state_, schedule_state_, lr_, lr_history_, progressive_loss_, rate_race_, drifts_,
    n_pending_
        As :class:`SGDClassifier`'s.

    Notes
    -----
    **GLM losses.** ``"poisson"``, ``"gamma"`` and ``"tweedie"`` model the
    mean with the log link: ``predict`` returns ``exp(X @ coef_ +
    intercept_)``, the loss is the half deviance (the unit deviance of
    :func:`sklearn.metrics.mean_tweedie_deviance`, halved: 0 for a perfect
    prediction), and ``progressive_loss_`` is in its units. ``"quantile"``
    is the pinball loss of ``quantile`` with the identity link. With
    ``penalty="l2"`` the objective equals that of scikit-learn's
    ``PoissonRegressor``/``GammaRegressor``/``TweedieRegressor(link="log")``
    with the same ``alpha`` (half mean deviance + alpha/2 ||w||^2); with
    ``penalty="l1"`` that of ``QuantileRegressor`` with the same ``alpha``
    (mean pinball loss + alpha ||w||_1). As in scikit-learn's GLMs,
    ``score`` is D^2 (:func:`sklearn.metrics.d2_tweedie_score`, the share of
    the deviance explained) for the log-link losses, and R^2 otherwise; the
    decision value (the linear predictor) is not a public method, as there.
    Targets outside a loss's domain (poisson and tweedie with 1 <= power <
    2: y >= 0; gamma and power >= 2: y > 0) raise ``ValueError`` before the
    model changes. The exponentials cannot overflow: beyond 30 (divided by
    the loss's largest exponent, ``max(1, abs(1 - power), abs(2 - power))``) of
    ``log(y)``, on the side where the loss grows exponentially, the loss
    continues along its tangent, which bounds its gradient; a prediction
    near the target is never affected.

%(rate_race_notes)s    """

    def __init__(self, loss="squared_error", *, penalty="l2", alpha=0.0001, l1_ratio=0.15,
                 fit_intercept=True, max_iter=1000, tol=1e-3, shuffle=True, verbose=0,
                 epsilon=0.1, random_state=None, learning_rate="invscaling", eta0=0.01,
                 power_t=0.25, early_stopping=False, validation_fraction=0.1,
                 n_iter_no_change=5, warm_start=False, average=False, optimizer="sgd",
                 gtol=None, auto_rates=None, drift_detector=None,
                 on_drift="restart", power=1.5, quantile=0.5, hash_bits=None,
                 interactions=None, max_pending=100_000, pending_ttl=None):
        self.loss = loss
        self.penalty = penalty
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.shuffle = shuffle
        self.verbose = verbose
        self.epsilon = epsilon
        self.random_state = random_state
        self.learning_rate = learning_rate
        self.eta0 = eta0
        self.power_t = power_t
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.warm_start = warm_start
        self.average = average
        self.optimizer = optimizer
        self.gtol = gtol
        self.auto_rates = auto_rates
        self.drift_detector = drift_detector
        self.on_drift = on_drift
        self.power = power
        self.quantile = quantile
        self.hash_bits = hash_bits
        self.interactions = interactions
        self.max_pending = max_pending
        self.pending_ttl = pending_ttl

    def _validate_xy(self, X, y, reset):
        X, y = validate_data(
            self, X, y, accept_sparse="csr", dtype=[np.float64, np.float32], order="C",
            accept_large_sparse=False, reset=reset, y_numeric=True,
            ensure_all_finite=False)  # X: checked by the kernel, see the classifier
        if X.shape[0] == 0:
            raise ValueError(f"Found array with 0 sample(s) (shape={X.shape}).")
        if y.dtype.kind in "US":   # numbers as text: cast, as scikit-learn casts y
            try:
                y = y.astype(np.float64)
            except ValueError as exc:
                raise ValueError(f"y must hold numbers: {exc}") from None
        check_targets_finite(y)
        _params.check_targets(_params.make_loss(self), y)
        return X, np.ascontiguousarray(y, dtype=X.dtype)

    def partial_fit(self, X, y, sample_weight=None):
        """Learn from one chunk of a stream: one pass of SGD over its rows.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training rows; a CSR matrix is used without a copy when it holds
            float64 or float32 values and int32 indices.
        y : array-like of shape (n_samples,)
            Targets.
        sample_weight : array-like of shape (n_samples,) or float, default=None
            Weight of each row (None: all 1).

        Returns
        -------
        self : SGDRegressor
            Any chunking of a stream trains bitwise the same model as one
            call (``shuffle=False``); a failed call changes nothing.
        """
        return self._stream_rows(self._hashed(X, crossed=True), y, sample_weight)

    def _partial_fit(self, tx, X, y, sample_weight):
        first = "_model" not in self.__dict__
        optimizer = _params.validate_params(self, for_partial_fit=True)
        X, y = self._validate_xy(X, y, reset=first)
        return self._learn_chunk(tx, optimizer, X, y, sample_weight, first)

    def fit(self, X, y, coef_init=None, intercept_init=None, sample_weight=None):
        """Fit by SGD for up to ``max_iter`` epochs (scikit-learn's ``fit``).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training rows; a CSR matrix is used without a copy when it holds
            float64 or float32 values and int32 indices.
        y : array-like of shape (n_samples,)
            Targets.
        coef_init : ndarray of shape (n_features,), default=None
            Initial weights.
        intercept_init : ndarray of shape (1,), default=None
            Initial intercept.
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each row (None: all 1).

        Returns
        -------
        self : SGDRegressor
            Epochs stop by scikit-learn's rules or by ``gtol``.
        """
        X = self._hashed(X)
        return self._transaction(
            lambda tx: self._fit(tx, X, y, coef_init, intercept_init, sample_weight))

    def _fit(self, tx, X, y, coef_init, intercept_init, sample_weight):
        optimizer = _params.validate_params(self)
        X, y = self._validate_xy(X, y, reset=True)
        d = X.shape[1]
        coef_init, intercept_init = self._warm_start_init(coef_init, intercept_init)
        if coef_init is not None:
            coef_init = np.asarray(coef_init, dtype=X.dtype).ravel()
            if coef_init.shape != (d,):
                raise ValueError("Provided coef_init does not match dataset.")
        if intercept_init is not None:
            intercept_init = np.asarray(intercept_init, dtype=np.float64)
            if intercept_init.shape not in ((1,), ()):
                raise ValueError("Provided intercept_init does not match dataset.")
        check_init_finite(coef_init, intercept_init)
        if sample_weight is not None or self.early_stopping:   # else None: all 1
            sample_weight = check_sample_weight(sample_weight, X.shape[0], X.dtype)
        val_mask = validation_mask(self, y, sample_weight)
        self._new_model(optimizer, 1, d, X.dtype, coef=coef_init,
                        intercept=None if intercept_init is None else intercept_init.reshape(1),
                        sparse=sp.issparse(X))
        _, gtol_unmet = self._fit_chunk(tx, optimizer, X, y, sample_weight, self.max_iter,
                                        val_mask)
        self._finish_fit(gtol_unmet)
        return self

    def learn_one(self, x, y, sample_weight=1.0):
        """Learn from one event, in O(non-zeros of the event).

        Parameters
        ----------
        x : 1-D array, 1-row CSR matrix, or dict
            The event; a dict maps feature names to values (a model fitted on
            named features; missing names are 0). The first event of an
            unfitted model sets it up (and, from a dict, its feature names).
        y : float
            Its target.
        sample_weight : float, default=1.0
            The event's weight.

        Returns
        -------
        self : SGDRegressor
            Bitwise the model ``partial_fit`` trains on the same rows.
        """
        model = self.__dict__.get("_model")
        if model is None:
            return self._first_event(x, y, sample_weight)
        # the engine bound for events, unchanged since: one compiled call
        engine = model.engine
        if engine is not None:
            status = engine.learn_event(x, y, sample_weight)
            if status > 0:
                return self
            if status < 0:
                _driver.raise_diverged(self, engine, "this event")
        _driver.learn_event(self, x, y, sample_weight)
        return self

    def predict(self, X):
        """Predicted targets.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Rows to predict.

        Returns
        -------
        ndarray of shape (n_samples,)
            The linear prediction of each row; for a log-link loss
            (``"poisson"``, ``"gamma"``, ``"tweedie"``) its exponential, the
            predicted mean.
        """
        return self._link(self._decision(X).ravel())

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # the log-link losses take targets y >= 0 (gamma and powers >= 2: y > 0),
        # as scikit-learn's Poisson/Gamma/TweedieRegressor declare them
        power = {"poisson": 1.0, "gamma": 2.0}.get(self.loss, self.power)
        tags.target_tags.positive_only = bool(
            self.loss in ("poisson", "gamma", "tweedie") and isinstance(power, numbers.Real)
            and power > 0)
        return tags

    def _score_values(self, y, pred, sample_weight):
        if self._log_link():
            power = {"poisson": 1.0, "gamma": 2.0}.get(self.loss, self.power)
            from sklearn.metrics import d2_tweedie_score

            return d2_tweedie_score(y, pred, sample_weight=sample_weight, power=power)
        from sklearn.metrics import r2_score

        return r2_score(y, pred, sample_weight=sample_weight)

    def score(self, X, y, sample_weight=None):
        """R^2 of the predictions (D^2, the deviance explained, for a log-link loss).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Rows to predict.
        y : array-like of shape (n_samples,)
            Their true targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each row.

        Returns
        -------
        float
            scikit-learn's ``r2_score``, or, for ``"poisson"``, ``"gamma"``
            and ``"tweedie"``, ``d2_tweedie_score`` with the loss's power
            (the score of scikit-learn's GLMs).
        """
        return self._score_values(y, self.predict(X), sample_weight)


SGDRegressor.__doc__ = SGDRegressor.__doc__ % {"shared_parameters": SHARED_PARAMETERS,
                                            "drift_parameters": DRIFT_PARAMETERS,
                                            "hash_parameters": HASH_PARAMETERS,
                                            "pending_parameters": _pending.PENDING_PARAMETERS,
                                            "rate_race_notes": RATE_RACE_NOTES}
