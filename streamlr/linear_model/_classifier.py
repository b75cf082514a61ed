"""SGDClassifier: scikit-learn's linear classifiers on streamlr's engine."""
import numpy as np
import scipy.sparse as sp
from scipy.special import expit
from sklearn.base import ClassifierMixin
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets, unique_labels
from sklearn.utils.validation import check_is_fitted, validate_data

from .. import _registry
from .._kernels import kernel as _k
from . import _driver, _growth, _params, _pending
from ._base import DRIFT_PARAMETERS, HASH_PARAMETERS, RATE_RACE_NOTES, SHARED_PARAMETERS, BaseSGD
from ._growth import NEW_CLASSES_PARAMETERS
from ._input import check_init_finite, check_sample_weight, raise_if_row_invalid
from ._learner import ClassifierCore
from ._stopping import validation_mask

# how predict_proba derives from the decision function, by loss (registry)
_PROBABILITIES = {entry.name: entry.probabilities for entry in _registry.losses()}


class SGDClassifier(_pending.PendingLabels, ClassifierCore, ClassifierMixin, BaseSGD):
    """Linear classifiers (SVM, logistic regression, ...) trained by SGD.

    A drop-in replacement for :class:`sklearn.linear_model.SGDClassifier`
    (scikit-learn 1.9): same parameters, defaults, attributes and results
    (with ``shuffle=False``, to floating-point noise), on streamlr's compiled
    per-sample loop.

    Parameters
    ----------
    loss : str, default="hinge"
        scikit-learn's losses: ``"hinge"``, ``"log_loss"``,
        ``"modified_huber"``, ``"squared_hinge"``, ``"perceptron"``, and the
        regression losses ``"squared_error"``, ``"huber"``,
        ``"epsilon_insensitive"``, ``"squared_epsilon_insensitive"``.
%(shared_parameters)s    n_jobs : int or None, default=None
        Threads for the binary problems of one-vs-rest (the loop runs
        without the GIL); the model is bitwise the sequential one.
    random_state : int, RandomState instance or None, default=None
        Seeds the shuffling and the ``early_stopping`` split.
    learning_rate : str or streamlr.schedules.Schedule, default="optimal"
        scikit-learn's strings (``"constant"``, ``"optimal"``,
        ``"invscaling"``, ``"adaptive"``, ``"pa1"``, ``"pa2"``), ``"auto"``
        (no rate to choose: a rate race, see Notes) or any schedule
        object of :mod:`streamlr.schedules`, evaluated in the loop on the
        model's update counter. The strings are the objects they stand for
        (``"optimal"`` is ``Optimal()``).
    eta0 : float, default=0.01
        The initial (or constant) rate.
    power_t : float, default=0.5
        The exponent of ``"invscaling"``.
    early_stopping : bool, default=False
        ``fit`` holds out ``validation_fraction`` of the rows (stratified)
        and stops when their accuracy stops improving.
    validation_fraction : float, default=0.1
        The held-out share with ``early_stopping``.
    n_iter_no_change : int, default=5
        Epochs without improvement before ``fit`` stops (or, with an
        adaptive rate, divides the rate).
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes. ``"balanced"``: in ``fit``, scikit-learn's
        ``n_samples / (n_classes * np.bincount(y))``; in ``partial_fit`` and
        ``learn_one`` (which scikit-learn refuses), the running counts: a
        sample of class c weighs ``n_seen / (n_classes * n_c)``, counting
        the samples these calls learned so far, this one included
        (``class_counts_``), times its ``sample_weight``.
    warm_start : bool, default=False
        ``fit`` starts from the current weights.
    average : bool or int, default=False
        Averaged SGD: predictions use the average of the weights (from
        update ``average`` on, or from the first when True).
    optimizer : str or streamlr.optim.Optimizer, default="sgd"
        The update rule: ``"sgd"`` (scikit-learn's own update) or any string
        or object of :mod:`streamlr.optim` (PyTorch's rules). With another
        rule than plain SGD, ``learning_rate="optimal"`` means a constant
        ``eta0``, and ``"pa1"``/``"pa2"`` are refused. ``"auto"``: a race of
        update rules and rates (see Notes); ``learning_rate`` and ``eta0``
        are then ignored.
    gtol : float or None, default=None
        ``fit`` stops once the norm of the full gradient of the regularised
        objective falls below ``gtol`` (checked after each epoch).
    auto_rates : sequence of float or None, default=None
        The candidate rates of ``learning_rate="auto"`` (None: the
        optimizer's, `streamlr.optim.Optimizer.auto_rates`); at most 64,
        each finite and > 0.
%(drift_parameters)s
%(hash_parameters)s    multi_class : {"ovr", "multinomial"}, default="ovr"
        How three classes or more are learned. ``"ovr"``: one binary
        problem per class (scikit-learn's one-vs-rest). ``"multinomial"``
        (``loss="log_loss"`` only): one softmax model, whose class rows
        learn the cross-entropy over all classes together, every row
        updated by every sample through the optimizer's own rule (its
        gradient is ``(pi_k - [k == y]) * x`` times the class and
        sample weights, ``pi`` the softmax of the decision values);
        ``predict_proba`` is that softmax, computed from the log-sum-exp
        (no overflow at any margin), and ``progressive_loss_`` the
        cross-entropy. Its batch twin is
        ``sklearn.linear_model.LogisticRegression(C=1 / (n_samples * alpha))``
        (the objective ``mean CE + alpha / 2 * ||W||^2``). With two classes
        both learn the same single binary row. A ``drift_detector`` is fed
        the multiclass 0/1 error of the largest decision value, and every
        class row reacts to a detection (with ``average``, every class
        row's average starts again). With ``learning_rate="auto"`` or
        ``optimizer="auto"`` each copy of the race is a whole softmax model;
        the race serves the share-weighted mean of the copies' decision
        values (``coef_`` is that mixture), its loss their cross-entropy
        (a copy whose cross-entropy exceeds 100 times the zero model's,
        ``log(n_classes)``, or one of whose decision values exceeds 30 in
        size, is never served again); ``rate_race_`` has one row; a
        ``drift_detector`` sees the served prediction's error and every
        copy reacts. ``n_jobs`` does not apply (the rows learn in one
        loop). Vowpal Wabbit's rule (``"vw"``) takes its first-order step on
        each row (its importance-invariant step is that of a binary loss).
%(new_classes_parameters)s%(pending_parameters)s
    Attributes
    ----------
    coef_, intercept_, classes_, n_features_in_, feature_names_in_, n_iter_, t_
        As scikit-learn's.
    optimizer_state_ : dict of ndarray
        The optimizer's state with PyTorch's names (empty for plain SGD).
    schedule_state_ : ndarray
        A stateful schedule's state (``ReduceOnPlateau``).
    lr_ : float
        The learning rate of the last update.
    lr_history_ : ndarray (n, 3)
        (t, lr, progressive loss) after each epoch or call.
    progressive_loss_ : float
        Mean loss of every sample just before the model learned from it.
    rate_race_ : dict
        The copies of ``learning_rate="auto"``: their rates, losses and
        shares of what is served (see Notes).
    drifts_ : ndarray of int64
        ``t_ - 1`` at each drift the ``drift_detector`` flagged.
    n_pending_ : int
        Events remembered by ``predict_one(x, key=...)`` waiting for
        ``learn_label`` (delayed labels; see ``max_pending``).
    class_counts_ : ndarray of int64
        The samples of each class (aligned with ``classes_``) that
        ``partial_fit`` and ``learn_one`` learned (``fit`` starts at 0).

    Notes
    -----
%(rate_race_notes)s
    Differences from scikit-learn, on purpose:

    * State carries across ``partial_fit`` calls: the L1 cumulative penalty
      (Tsuruoka et al. 2009), the averaging state and the weight scale are
      kept, so any chunking of a stream trains bitwise the same model as one
      call. scikit-learn resets the L1 state at every call, so a stream fed
      row by row ends up far less sparse than the same rows fed at once.
    * Per-call work is proportional to the data, not to ``n_features``.
    * ``early_stopping`` scores the true current model (scikit-learn scores
      the weights before their L2 scale is applied, and for ``log_loss``
      compares {-1, 1} predictions with {0, 1} labels).
    * Labels outside ``classes`` in ``partial_fit`` raise a ``ValueError``
      (with ``new_classes="add"``, they add a class).
    * ``intercept_`` has the dtype of ``coef_``.
    * ``shuffle=True`` uses NumPy's generator, so shuffled runs differ from
      scikit-learn's.
    """

    _is_classifier = True

    def __init__(self, loss="hinge", *, penalty="l2", alpha=0.0001, l1_ratio=0.15,
                 fit_intercept=True, max_iter=1000, tol=1e-3, shuffle=True, verbose=0,
                 epsilon=0.1, n_jobs=None, random_state=None, learning_rate="optimal",
                 eta0=0.01, power_t=0.5, early_stopping=False, validation_fraction=0.1,
                 n_iter_no_change=5, class_weight=None, warm_start=False, average=False,
                 optimizer="sgd", gtol=None, auto_rates=None, drift_detector=None,
                 on_drift="restart", hash_bits=None, interactions=None, multi_class="ovr",
                 new_classes="error", max_pending=100_000, pending_ttl=None):
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
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.learning_rate = learning_rate
        self.eta0 = eta0
        self.power_t = power_t
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.class_weight = class_weight
        self.warm_start = warm_start
        self.average = average
        self.optimizer = optimizer
        self.gtol = gtol
        self.auto_rates = auto_rates
        self.drift_detector = drift_detector
        self.on_drift = on_drift
        self.hash_bits = hash_bits
        self.interactions = interactions
        self.multi_class = multi_class
        self.new_classes = new_classes
        self.max_pending = max_pending
        self.pending_ttl = pending_ttl

    # -- targets ----------------------------------------------------------------------

    @property
    def class_counts_(self):
        """The samples of each class ``partial_fit`` and ``learn_one`` learned.

        An int64 array aligned with ``classes_``; zeros after ``fit``.
        """
        self._fitted_model("class_counts_")
        return self._class_counts_state().copy()

    def _validate_xy(self, X, y, reset):
        # Finiteness of X is checked by the kernel as it reads each row (a
        # non-finite value makes the prediction non-finite); the call is then
        # undone and a ValueError names the row. This saves a pass over X.
        X, y = validate_data(self, X, y, accept_sparse="csr", dtype=[np.float64, np.float32],
                             order="C", accept_large_sparse=False, reset=reset,
                             ensure_all_finite=False)
        if X.shape[0] == 0:
            raise ValueError(f"Found array with 0 sample(s) (shape={X.shape}).")
        return X, y

    # -- training ----------------------------------------------------------------------

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Learn from one chunk of a stream: one pass of SGD over its rows.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training rows; a CSR matrix is used without a copy when it holds
            float64 or float32 values and int32 indices.
        y : array-like of shape (n_samples,)
            Labels, each one of ``classes``.
        classes : array-like of shape (n_classes,), default=None
            Every label the stream can carry; required on the first call,
            and if given later it must be the same.
        sample_weight : array-like of shape (n_samples,) or float, default=None
            Weight of each row (None: all 1).

        Returns
        -------
        self : SGDClassifier
            The model after any sequence of ``partial_fit`` calls equals the
            model after one call over the concatenated rows
            (``shuffle=False``), bitwise. A call that fails (bad input,
            divergence, Ctrl-C) leaves the model as it was.
        """
        X, crossed = self._split_crossed(self._hashed(X, crossed=True))
        if classes is None and self._small_call(X):
            y_small = np.asarray(y)
            if y_small.ndim == 1 and y_small.shape[0] == X.shape[0]:
                idx = self._small_label_index(y_small)
                if idx is not None:
                    return self._small_partial_fit(X, idx, sample_weight)
        return self._transaction(
            lambda tx: self._partial_fit(tx.crossing(crossed), X, y, classes, sample_weight))

    def _small_label_index(self, y):
        """Label indices (float64) of a small call's labels, or None when the
        call must take the general path (a class to add, or only one class
        so far, with new_classes="add")."""
        if not _params.adds_classes(self):
            return self._label_index(y, self.classes_).astype(np.float64)
        if len(self.classes_) < 2:
            return None
        try:
            return self._label_index(y, self.classes_).astype(np.float64)
        except ValueError:
            return None

    def _partial_fit(self, tx, X, y, classes, sample_weight):
        first = "_model" not in self.__dict__
        optimizer = _params.validate_params(self, for_partial_fit=True)
        adding = _params.adds_classes(self)
        if first and classes is None and not adding:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        X, y = self._validate_xy(X, y, reset=first)
        if adding and tx.cross is not None:     # segments of the call: its rows crossed here
            X, tx.cross = tx.cross.materialize(X.dtype), None
        if adding:
            return self._partial_fit_adding(tx, optimizer, X, y, classes, sample_weight, first)
        if first:
            classes_ = unique_labels(classes)
            if len(classes_) < 2:
                raise ValueError("The number of classes has to be greater than one; "
                                 f"got {len(classes_)} class")
        else:
            classes_ = self.classes_
            if classes is not None and not np.array_equal(classes_, unique_labels(classes)):
                raise ValueError(f"`classes={classes!r}` is not the same as on last call to "
                                 f"partial_fit, was: {classes_!r}")
            if X.dtype != self._model.w.dtype:
                X = X.astype(self._model.w.dtype)
        return self._learn_chunk(tx, optimizer, X, y, classes_, sample_weight, first)

    # -- new_classes="add" ------------------------------------------------------------

    def _partial_fit_adding(self, tx, optimizer, X, y, classes, sample_weight, first):
        """partial_fit with new_classes="add": the call learns its rows in
        segments, each new class added where it first appears (so that any
        chunking of the stream gives the same model)."""
        check_classification_targets(y)
        declared = None if classes is None else unique_labels(classes)
        balanced = _params.streaming_balanced(self)
        sample_weight = check_sample_weight(sample_weight, X.shape[0],
                                            np.float64 if balanced else X.dtype,
                                            allow_all_zero=self.early_stopping)
        if first:
            start = declared if declared is not None else unique_labels(y[:1])
            self.classes_ = start
            k = 1 if len(start) <= 2 else len(start)
            self._new_model(optimizer, k, X.shape[1], X.dtype, sparse=sp.issparse(X))
            self._model.class_counts = np.zeros(len(start), dtype=np.int64)
        else:
            if X.dtype != self._model.w.dtype:
                X = X.astype(self._model.w.dtype)
            self._prepare_model(optimizer)
            self._class_counts_state()
            if declared is not None:   # the declared classes come first
                self._add_classes(optimizer, declared)
        labels, first_row = np.unique(y, return_index=True)
        cuts = np.sort(first_row[~np.isin(labels, self.classes_)])
        bounds = [0, *cuts.tolist(), X.shape[0]]
        for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
            if lo < hi:
                self._add_classes(optimizer, y[lo:lo + 1])
                self._learn_segment(tx, optimizer, X[lo:hi], y[lo:hi], sample_weight[lo:hi])
        return self

    def _add_classes(self, optimizer, labels):
        """Add each of ``labels`` not in ``classes_`` (new_classes="add"),
        growing the model: see ``_growth``."""
        model = self._model
        schedule_initial = None
        members = _params.race_members(self, optimizer)
        specs = None if members is None else [spec for spec, _ in members]
        softmax = self.multi_class == "multinomial"
        for label in labels:
            old = self.classes_
            if label in set(old.tolist()):
                continue
            if schedule_initial is None and model.schedule_state.shape[1]:
                schedule_initial = _params.schedule_initial_state(self, optimizer,
                                                                  _params.make_loss(self))
            new = unique_labels(old, np.asarray([label]))
            pos = int(np.flatnonzero(new == label)[0])
            if len(old) == 2 and softmax:
                # the softmax of (0, m) is the binary model's sigmoid of m:
                # the negative class gets a zero row, the positive keeps its own
                _growth.add_problem(model, optimizer, 0, schedule_initial, specs, softmax)
            elif len(old) == 2:
                _growth.split_binary(model, optimizer, specs)
            if len(old) >= 2:
                _growth.add_problem(model, optimizer, pos, schedule_initial, specs, softmax)
            model.class_counts = np.insert(self._class_counts_state(), pos, 0)
            model.engine = None
            self.classes_ = new
            self.__dict__["_sparse_coef"] = None

    def _learn_segment(self, tx, optimizer, X, y, sample_weight):
        """Learn rows whose labels are all in ``classes_``; with one class
        so far, only count them (nothing to learn yet)."""
        label_idx = self._label_index(y, self.classes_)
        if len(self.classes_) < 2:
            data = X.data if sp.issparse(X) else X
            if not np.isfinite(data).all():
                for r in range(X.shape[0]):
                    raise_if_row_invalid(X, r)
            self._count_classes(label_idx, sample_weight)
            self._model.progress.n_iter = 1
            return
        class_weight = self._class_weight(self.classes_, y, streaming=True)
        sample_weight = self._count_classes(label_idx, sample_weight)
        self._fit_chunk(tx, optimizer, X, label_idx, sample_weight, None, class_weight)

    def _learn_one_adding(self, x, y, sample_weight, classes):
        """learn_one with new_classes="add": the bound engine, unless the
        event brings a new class (or the model has one class so far)."""
        if len(self.classes_) >= 2 and (classes is None or self._same_classes(classes)):
            try:
                _driver.learn_event(self, x, y, sample_weight)
                return self
            except ValueError:
                if self._known_label(y):
                    raise

        def run(tx):
            optimizer = _params.validate_params(self, for_partial_fit=True)
            _driver._no_early_stopping(self)
            self._prepare_model(optimizer)
            check_classification_targets(np.asarray([y]))
            if classes is not None:
                self._add_classes(optimizer, unique_labels(classes))
            self._add_classes(optimizer, np.asarray([y]))
            if len(self.classes_) >= 2:
                _driver.learn_event(self, x, y, sample_weight)
                return self
            # one class: nothing to learn; check the event, count it
            if not np.isfinite(self._decision_one(x)).all():
                raise ValueError("Input x contains NaN or infinity.")
            sw = check_sample_weight(np.asarray([sample_weight], dtype=np.float64), 1, np.float64)
            self._count_classes(np.zeros(1, dtype=np.intp), sw)
            self._model.progress.n_iter = 1
            return self

        return self._transaction(run)

    def _known_label(self, y):
        try:
            return y in set(self.classes_.tolist())
        except TypeError:
            return False

    def fit(self, X, y, coef_init=None, intercept_init=None, sample_weight=None):
        """Fit by SGD for up to ``max_iter`` epochs (scikit-learn's ``fit``).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training rows; a CSR matrix is used without a copy when it holds
            float64 or float32 values and int32 indices.
        y : array-like of shape (n_samples,)
            Labels; ``classes_`` are their sorted distinct values.
        coef_init : ndarray of shape (n_classes, n_features), default=None
            Initial weights (one row for a binary problem).
        intercept_init : ndarray of shape (n_classes,), default=None
            Initial intercepts.
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each row (None: all 1).

        Returns
        -------
        self : SGDClassifier
            Epochs stop by scikit-learn's rules (``tol``, ``early_stopping``,
            ``n_iter_no_change``) or by ``gtol``.
        """
        X = self._hashed(X)
        return self._transaction(
            lambda tx: self._fit(tx, X, y, coef_init, intercept_init, sample_weight))

    def _fit(self, tx, X, y, coef_init, intercept_init, sample_weight):
        optimizer = _params.validate_params(self)
        X, y = self._validate_xy(X, y, reset=True)
        check_classification_targets(y)
        classes = _k.distinct_labels(y)     # integer labels: one pass, no sort
        if classes is None:
            classes, label_idx = np.unique(y, return_inverse=True)
        else:
            label_idx = self._label_index(y, classes)
        if len(classes) < 2:
            raise ValueError("The number of classes has to be greater than one; "
                             f"got {len(classes)} class")
        k = 1 if len(classes) == 2 else len(classes)
        d = X.shape[1]
        coef_init, intercept_init = self._warm_start_init(coef_init, intercept_init)
        if coef_init is not None:
            coef_init = np.asarray(coef_init, dtype=X.dtype)
            if coef_init.size != k * d or (k > 1 and coef_init.shape != (k, d)):
                raise ValueError("Provided coef_init does not match dataset.")
        if intercept_init is not None:
            intercept_init = np.asarray(intercept_init, dtype=np.float64)
            if intercept_init.size != k:
                raise ValueError("Provided intercept_init does not match dataset.")
        check_init_finite(coef_init, intercept_init)
        if sample_weight is not None or self.early_stopping:   # else None: all 1
            sample_weight = check_sample_weight(sample_weight, X.shape[0], X.dtype,
                                                allow_all_zero=self.early_stopping)
        class_weight = self._class_weight(classes, y)
        val_mask = validation_mask(self, y, sample_weight)
        self.classes_ = classes
        self._new_model(optimizer, k, d, X.dtype,
                        coef=None if coef_init is None else coef_init.reshape(k, d),
                        intercept=None if intercept_init is None else intercept_init.reshape(k),
                        sparse=sp.issparse(X))
        _, gtol_unmet = self._fit_chunk(tx, optimizer, X, label_idx, sample_weight,
                                        self.max_iter, class_weight, val_mask)
        self._finish_fit(gtol_unmet)
        return self

    # -- single events --------------------------------------------------------------

    def learn_one(self, x, y, sample_weight=1.0, *, classes=None):
        """Learn from one event, in O(non-zeros of the event).

        Parameters
        ----------
        x : 1-D array, 1-row CSR matrix, or dict
            The event; a dict maps feature names to values (a model fitted on
            named features; missing names are 0).
        y : object
            Its label, one of ``classes_``.
        sample_weight : float, default=1.0
            The event's weight.
        classes : array-like, optional
            Needed on the first event of an unfitted model, as in
            ``partial_fit``.

        Returns
        -------
        self
            Bitwise the model ``partial_fit`` trains on the same rows; per
            event the work is O(non-zeros of x) (dense models: O(n_features)),
            with no per-call validation beyond the event itself.
        """
        d = self.__dict__
        model = d.get("_model")
        if model is not None and classes is None:
            # the engine bound for events, unchanged since: one compiled call
            engine = model.engine
            if engine is not None:
                status = engine.learn_event(x, y, sample_weight)
                if status > 0:
                    return self
                if status < 0:
                    _driver.raise_diverged(self, engine, "this event")
        if model is None:
            if classes is None and not _params.adds_classes(self):
                raise ValueError("classes must be passed on the first call to learn_one "
                                 "(or fit / partial_fit the model first).")
            return self._first_event(x, y, sample_weight, classes=classes)
        adding = d.get("new_classes")
        if type(adding) is str and adding == "add":
            return self._learn_one_adding(x, y, sample_weight, classes)
        if classes is not None and not self._same_classes(classes):
            raise ValueError(f"`classes={classes!r}` is not the same as the model's "
                             f"classes_ {self.classes_!r}")
        _driver.learn_event(self, x, y, sample_weight)
        return self

    def _same_classes(self, classes):
        """Whether ``classes`` names exactly ``classes_``: a short list or
        tuple, the way events pass it, is compared in Python (well under a
        microsecond); anything else through scikit-learn's ``unique_labels``."""
        known = self.classes_
        if type(classes) in (list, tuple) and len(classes) == len(known):
            try:
                if sorted(classes) == known.tolist():
                    return True
            except TypeError:       # unorderable labels: scikit-learn decides
                pass
        elif type(classes) is np.ndarray and classes.ndim == 1 and classes.dtype.kind in "biuUS":
            return np.array_equal(known, np.unique(classes))
        return np.array_equal(known, unique_labels(classes))

    @available_if(lambda self: self._check_proba())
    def predict_proba_one(self, x, *, key=None):
        """Class probabilities of one event (``log_loss``, ``modified_huber``).

        Parameters
        ----------
        x : 1-D array, 1-row CSR matrix, or dict
            The event, as ``learn_one`` takes it.
        key : hashable, optional
            Delayed labels: remember the event under ``key`` for
            ``learn_label``, as ``predict_one(x, key=key)`` does.

        Returns
        -------
        dict
            ``{label: probability}`` (River's convention), computed as
            ``predict_proba`` does.
        """
        if key is not None:
            return _pending.remember(self, x, key, 1, _PROBABILITIES[self.loss] == "logistic")
        model = self._fitted_model("decision")
        if len(self.classes_) == 1:   # new_classes="add", one class seen so far
            self._decision_one(x)     # the event checked as for any model
            return {self.classes_[0].item(): 1.0}
        engine = self._event_engine()
        proba = None if engine is None else engine.predict_proba_one(
            x, model.averaged(), model.average, _PROBABILITIES[self.loss] == "logistic")
        if proba is not None:
            return proba
        scores = self._decision_one(x)
        classes = self.__dict__["classes_"]
        if scores.shape[0] == 1:   # binary: the formulas of predict_proba, on one value
            if _PROBABILITIES[self.loss] == "logistic":
                p = float(expit(scores[0]))
            else:
                p = (float(np.clip(scores[0], -1, 1)) + 1.0) / 2.0
            return {classes[0].item(): 1 - p, classes[1].item(): p}
        proba = self._proba_from_scores(scores[None, :])[0]
        return dict(zip(classes.tolist(), proba.tolist(), strict=True))

    # -- predictions --------------------------------------------------------------------

    def decision_function(self, X):
        """Signed distance to the hyperplane, per class.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Rows to score.

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_classes)
            1-D for a binary problem.
        """
        scores = self._decision(X)
        return scores.ravel() if scores.shape[1] == 1 else scores

    def predict(self, X):
        """Predicted class labels.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Rows to classify.

        Returns
        -------
        ndarray of shape (n_samples,)
            The label of the highest decision value (binary: positive class
            where the decision is > 0).
        """
        scores = self.decision_function(X)
        if len(self.classes_) == 1:   # new_classes="add", one class seen so far
            return np.repeat(self.classes_, scores.shape[0])
        idx = (scores > 0).astype(int) if scores.ndim == 1 else scores.argmax(axis=1)
        return self.classes_[idx]

    def _check_proba(self):
        if _PROBABILITIES.get(self.loss) is None:
            raise AttributeError(f"probability estimates are not available for loss={self.loss!r}")
        return True

    @available_if(_check_proba)
    def predict_proba(self, X):
        """Probability estimates (``log_loss`` and ``modified_huber`` only).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Rows to score.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Binary ``log_loss``: the logistic function of the decision
            function; one-vs-rest: normalised binary estimates (Zadrozny and
            Elkan 2002); ``multi_class="multinomial"``: the softmax of the
            decision function. ``modified_huber``: ``(clip(decision, -1, 1) + 1) /
            2``, normalised.
        """
        check_is_fitted(self)
        return self._proba_from_scores(self._decision(X))

    def _proba_from_scores(self, scores):
        if len(self.classes_) == 1:   # new_classes="add", one class seen so far
            return np.ones((scores.shape[0], 1), dtype=scores.dtype)
        if scores.shape[1] == 1:
            scores = scores.ravel()
        binary = scores.ndim == 1
        if _PROBABILITIES[self.loss] == "logistic":
            if not binary and self.multi_class == "multinomial":
                # the softmax, from the log-sum-exp: no overflow at any margin
                z = np.exp(scores - scores.max(axis=1, keepdims=True))
                return z / z.sum(axis=1, keepdims=True)
            prob = expit(scores)
            if binary:
                return np.vstack([1 - prob, prob]).T
            return prob / prob.sum(axis=1).reshape((prob.shape[0], -1))
        prob = (np.clip(scores, -1, 1) + 1.0) / 2.0
        if binary:
            return np.vstack([1 - prob, prob]).T
        prob_sum = prob.sum(axis=1)
        all_zero = prob_sum == 0
        if np.any(all_zero):
            prob[all_zero, :] = 1
            prob_sum[all_zero] = len(self.classes_)
        return prob / prob_sum.reshape((prob.shape[0], -1))

    @available_if(_check_proba)
    def predict_log_proba(self, X):
        """Log of ``predict_proba``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Rows to score.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            The log of each probability.
        """
        return np.log(self.predict_proba(X))


SGDClassifier.__doc__ = SGDClassifier.__doc__ % {"shared_parameters": SHARED_PARAMETERS,
                                            "drift_parameters": DRIFT_PARAMETERS,
                                            "hash_parameters": HASH_PARAMETERS,
                                            "pending_parameters": _pending.PENDING_PARAMETERS,
                                            "new_classes_parameters": NEW_CLASSES_PARAMETERS,
                                            "rate_race_notes": RATE_RACE_NOTES}
