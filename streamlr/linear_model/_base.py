"""What the classifier and the regressor share: fitted attributes read from
the model's state, the single-event entry points, predictions, and the
skeleton of fit / partial_fit (each estimator supplies its targets)."""
import warnings

import numpy as np
import scipy.sparse as sp
from sklearn import get_config
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted, validate_data

from .._crossed import CrossedRows, crossed_events
from . import _params, _pending
from ._learner import SMALL_CALL_ROWS, LearnerCore, _not_fitted  # noqa: F401
from ._state import SLOTS

# the parameters the classifier and the regressor document alike (their
# class docstrings take it in at %(shared_parameters)s)
SHARED_PARAMETERS = """    penalty : {"l2", "l1", "elasticnet"} or None, default="l2"
        The regulariser. With plain SGD, L1 uses the cumulative penalty of
        Tsuruoka et al. (2009), kept across calls; with another optimizer,
        the L2 part is the optimizer's (coupled) weight decay and the L1 part
        a proximal step after each update.
    alpha : float, default=0.0001
        Regularisation strength; also sets ``"optimal"``'s rate.
    l1_ratio : float, default=0.15
        The L1 share of ``"elasticnet"``.
    fit_intercept : bool, default=True
        Whether to learn an intercept (updated like a weight, unpenalised).
    max_iter : int, default=1000
        The most epochs of ``fit`` (``partial_fit`` makes one pass).
    tol : float or None, default=1e-3
        ``fit`` stops after ``n_iter_no_change`` epochs whose objective (or,
        with ``early_stopping``, validation score) does not improve by
        ``tol``; None: no such rule.
    shuffle : bool, default=True
        Whether ``fit`` shuffles the rows each epoch (NumPy's generator, so
        shuffled runs differ from scikit-learn's; ``partial_fit`` never
        shuffles).
    verbose : int, default=0
        Print progress per epoch and per call.
    epsilon : float, default=0.1
        The epsilon of ``"huber"`` and the epsilon-insensitive losses.
"""

# the drift parameters, documented alike (at %(drift_parameters)s)
# the hash_bits parameter, alike in both estimators (%(hash_parameters)s)
HASH_PARAMETERS = """    hash_bits : int or None, default=None
        Learn from dict events hashed as Vowpal Wabbit hashes them
        (`streamlr.hashing.hash_feature`) into ``2 ** hash_bits`` columns
        (1 to 31): ``learn_one``/``predict_one`` take a dict, and
        ``partial_fit``, ``fit`` and the predictions a list of dicts, with
        no feature names fitted. A key ``k`` with a number ``v`` is feature
        ``k`` (default namespace) with value ``v`` (zero: dropped); with a
        string ``s`` it is feature ``"k=s"`` with value 1; a key whose value
        is a dict is a namespace (``{"u": {"id": "a7"}, "price": 2.5}``),
        its features hashed under the namespace's hash. The hashing runs in
        compiled code. A non-string key raises ``TypeError``, a non-finite
        value ``ValueError``. CSR or dense input keeps working (``2 **
        hash_bits`` columns).
    interactions : list of str or None, default=None
        Vowpal Wabbit's ``-q``/``--cubic`` crosses of the namespaces of dict
        events (needs ``hash_bits``), such as ``["ui", "uic"]``: each string
        names 2 or 3 namespaces by the first letter of their names (a space
        for the default namespace). Every feature of the first namespace is
        crossed with every feature of the next (and of the third): the
        crossed feature's column is VW's, ``((16777619 * a) ^ b) mod 2 **
        hash_bits`` of the columns ``a`` and ``b`` (nested likewise for three),
        its value the product of the values. A namespace crossed with itself
        (``"uu"``) takes the pairs of features ``i <= j``, a feature with
        itself included. Crosses equal up to the order of their letters are
        one cross, as VW 9 takes them. The crosses follow the event's own
        features, made in compiled code: by ``learn_one`` per event, and for
        a list of events (``partial_fit``, the predictions) by the learning
        loop, each row crossed right before it is used (the crossed rows
        never form a matrix); the predictions see them too. A matrix ``X``
        carries no namespaces: it is taken as it
        is (as `streamlr.io.read_vw` with the same ``interactions`` yields
        it, crosses included).
"""

DRIFT_PARAMETERS = """    drift_detector : streamlr.drift.ADWIN or streamlr.drift.PageHinkley, default=None
        A drift detector run inside the per-sample loop of ``partial_fit``
        and ``learn_one`` (not of ``fit``'s epochs): it is fed each
        sample's 0/1 error of the prediction made before learning
        (classifiers; one-vs-rest and the softmax model feed one detector
        the multiclass error)
        or its loss (regressors). The object is a specification: the model
        keeps its own copy of its state (saved, rolled back with a failed
        call, chunk-invariant). With a race (``"auto"``) it is fed what
        the race serves (with ``average``, each copy's average restarts
        with it).
    on_drift : {"restart", "reset", "none"}, default="restart"
        The reaction to a detection, from the next sample on:
        ``"restart"`` restarts the optimizer from the current weights (its
        per-coordinate state back to its initial values, its step counter,
        Adam's bias correction included, and the schedule's clock back to
        0, a ``ReduceOnPlateau`` to its initial state; ``t_`` goes on);
        ``"reset"`` also puts the weights and the intercept back to zero;
        ``"none"`` only records the detection in ``drifts_``. With
        ``average``, a restart or reset starts the average again, as in a
        model made from the weights of the moment (``coef_init``): it takes
        the iterates from update ``average`` of the restarted clock on (the
        first update for ``average=True``), and ``coef_`` and the predictions
        are the current weights until then; ``partial_fit`` and ``learn_one``
        feed the detector the current weights' error (``learn_label``: the
        served value's). With a race,
        every copy still in it reacts so and the race re-opens: the copies'
        discounted losses and shares back to their start (the default copy
        serves first), sleeping and never-served copies race again, and it
        narrows again 1024 rows later.
"""

# The Notes both estimators carry on learning_rate="auto".
RATE_RACE_NOTES = """    ``learning_rate="auto"`` (the rate race) learns one copy of the model
    per candidate rate (``auto_rates``, default the optimizer's
    `~streamlr.optim.Optimizer.auto_rates`) in the same compiled pass, each
    at its constant rate, and serves the exponentially weighted average of
    the copies (Hedge / the aggregating algorithm). Each copy keeps a
    discounted loss :math:`S_c \\leftarrow 0.995 S_c + w \\ell_c` and the race
    a discounted count :math:`n \\leftarrow 0.995 n + w`, :math:`w` the row's
    weight in the objective (``sample_weight`` times its class weight);
    before each row,
    copy c's share is :math:`\\propto \\exp(-0.1 (S_c - S^*) / (S^*/n))`,
    :math:`S^*` the leader's, so the leader's mean recent loss sets the
    scale. Guards: the smallest rate serves alone for the first 3 rows; a
    copy whose loss on a row exceeds 100 times the largest loss of
    predicting 0 seen so far, or (classifiers, and regressors with a log
    link, whose decision value is the log of the mean) whose decision value
    exceeds 30 in magnitude, is never served again (it keeps learning); a copy that
    diverges leaves the race; a call fails (and rolls back) only when every
    copy diverged. After 1024 rows, and every 1024 rows after that, only the
    2 copies with the lowest :math:`S_c` keep learning: a race costs about
    two models. These constants were chosen from measurements on
    raw-feature streams, held-back streams included
    (``bench/bench_no_rate.py``). ``coef_``, ``intercept_``, every
    prediction, ``progressive_loss_`` and ``lr_`` are what is served;
    ``rate_race_`` shows the race.

    ``optimizer="auto"`` races update rules as well as rates, with the same
    rule (``learning_rate`` and ``eta0`` ignored): Vowpal Wabbit's
    normalized update (``"vw"``) at the rates 0.1, 0.5 (its default, which
    serves first), 2 and 8, ``COCOB``, ``Prodigy`` and
    ``ScheduleFreeAdamW`` at their references' rates, Adam at 9 rates from
    1e-5 to 0.1 and plain SGD at 7 rates from 1e-5 to 0.01 (23 copies):
    scale-free rules beside scale-sensitive ones, so that neither the rule
    nor the rate is the user's to choose. Its ``optimizer_state_`` is empty (the copies' rules
    differ). With ``average``, each copy averages as a model of its rule
    alone would (plain SGD's copies by Bottou's formula, the others by the
    lazy running mean), and the race serves the share-weighted mean of the
    copies' averaged weights once averaging has started.
"""


class BaseSGD(LearnerCore, BaseEstimator):
    """Shared machinery of the classifier and the regressor."""

    _is_classifier = False

    def _validate_params(self, for_partial_fit=False):
        """Check every hyperparameter (ValueError naming the first bad one);
        returns the resolved optimizer. Replaces scikit-learn's checks."""
        return _params.validate_params(self, for_partial_fit)

    def __sklearn_is_fitted__(self):
        return "_model" in self.__dict__

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    # -- fitted attributes: views of the model's state -----------------------------

    @property
    def t_(self):
        """The update counter: updates made + 1, as scikit-learn counts them.

        ``fit`` counts the samples of every epoch.
        """
        return self._fitted_model("t_").progress.t

    @property
    def n_iter_(self):
        """Epochs run by the last call (1 after ``partial_fit``, ``learn_one``).

        After ``fit``: the most epochs any binary problem ran.
        """
        n = self._fitted_model("n_iter_").progress.n_iter
        if n is None:
            raise _not_fitted(self, "n_iter_")
        return n

    @property
    def lr_(self):
        """The learning rate of the last update (NaN before any)."""
        return self._fitted_model("lr_").progress.lr

    @property
    def lr_history_(self):
        """The path of the schedule: rows of (t, lr, progressive loss).

        One row after each epoch of ``fit`` and each ``partial_fit`` call or
        event (past 65,536 rows, an evenly thinned summary). t counts as
        ``t_ - 1`` does; in one-vs-rest the rows of ``fit`` follow the binary
        problem that ran the most epochs, with its own progressive loss.
        """
        return self._fitted_model("lr_history_").progress.rows()

    @property
    def coef_(self):
        """The weights, averaged once averaging has started.

        Shape (1 or n_classes, n_features) for the classifier, (n_features,)
        for the regressor.
        """
        model = self._fitted_model("coef_")
        sparse_coef = self.__dict__.get("_sparse_coef")
        if sparse_coef is not None and sparse_coef[1] is model and sparse_coef[2] == model.progress.t:
            return sparse_coef[0]   # sparsified, and nothing learned since
        coef = model.materialize()[0]
        return coef if self._is_classifier else coef[0]

    @coef_.setter
    def coef_(self, value):
        model = self._fitted_model("coef_")
        model.set_coef(value.toarray() if sp.issparse(value) else value)
        self.__dict__["_sparse_coef"] = ((value, model, model.progress.t) if sp.issparse(value)
                                         else None)

    @property
    def intercept_(self):
        """The intercepts, averaged once averaging has started: (1 or n_classes,)."""
        return self._fitted_model("intercept_").materialize()[1]

    @intercept_.setter
    def intercept_(self, value):
        self._fitted_model("intercept_").set_intercept(value)

    @property
    def optimizer_state_(self):
        """The optimizer's state, with PyTorch's names.

        Arrays shaped like ``coef_`` (one per slot) and like ``intercept_``
        (``<slot>_intercept``); NAdam adds ``mu_product`` (one per binary
        problem), and a rule with scalar state (``Optimizer.scalar_state``)
        its scalars under their names: one per binary problem, a 0-d array
        for a regressor. Slots that decay are shown as the dense rule would hold them
        now (sparse rows catch their decay up on the next touch). Empty for
        plain SGD.
        """
        model = self._fitted_model("optimizer_state_")
        out = model.optimizer_state()
        if not self._is_classifier:
            # one value per binary problem: a 0-d array for the rule's
            # scalars (Prodigy's d), NAdam's mu_product as it always was
            out = {k: (np.asarray(v[0]) if k in model.rule_scalars else
                       v if k.endswith("_intercept") or k == "mu_product" else v[0])
                   for k, v in out.items()}
        return out

    @property
    def rate_race_(self):
        """The rate race of ``learning_rate="auto"`` (see Notes).

        A dict: ``rates`` (K,), the candidates; ``optimizers`` (K,), the
        update rule of each copy; ``progressive_loss`` (n_problems, K), each
        copy's mean loss on the rows it learned; ``weights`` (n_problems,
        K), each copy's share of what is served now; ``dropped``
        (n_problems, K), True for a copy that diverged and left the race;
        ``never_served`` (n_problems, K), True for a copy that made a wild
        prediction. Regressors, binary classifiers and the softmax model
        (``multi_class="multinomial"``) have one row.
        """
        model = self._fitted_model("rate_race_")
        if model.copies == 1:
            raise AttributeError(f"{type(self).__name__} has no rate race: "
                                 "learning_rate is not 'auto'")
        shape = (model.n_outputs, model.copies)
        scal = model.scalars
        if getattr(self, "_softmax", lambda: False)():
            # the softmax is one problem: its race reads the same from every class
            shape, scal = (1, model.copies), scal[: model.copies]
        seen = scal[:, SLOTS["n_seen"]].reshape(shape)
        with np.errstate(invalid="ignore", divide="ignore"):
            loss = np.where(seen > 0, scal[:, SLOTS["loss_sum"]].reshape(shape) / seen, np.nan)
        status = scal[:, SLOTS["race_status"]].reshape(shape)
        return {
            "rates": np.asarray(model.race_rates),
            "optimizers": np.asarray(model.race_optimizers, dtype=object),
            "progressive_loss": loss,
            "weights": model.race_shares()[: shape[0]].copy(),
            "dropped": status == 2,
            "never_served": status == 1,
        }

    @property
    def drifts_(self):
        """Where the drift detector flagged drift: ``t_ - 1`` at each detection.

        An int64 array, empty without a detector; the sample that flagged
        drift is the ``drifts_[i]``-th the model learned from.
        """
        return self._fitted_model("drifts_").drifts.copy()

    @property
    def schedule_state_(self):
        """The state of a stateful schedule (``ReduceOnPlateau``).

        An array (n_problems, 6 * n_nodes): for each plateau node, its current
        rate, best loss, bad windows, cooldown left, and the running window's
        loss sum and count. No columns without such a schedule.
        """
        return self._fitted_model("schedule_state_").schedule_state.copy()

    @property
    def progressive_loss_(self):
        """Mean loss of every sample, measured just before learning from it.

        Vowpal Wabbit's progressive validation loss, over every sample since
        the model was initialised; one-vs-rest: the mean over the problems.
        """
        self._fitted_model("progressive_loss_")
        return self._progressive_loss()

    def densify(self):
        """Convert ``coef_`` (back) to a dense array (no-op when dense).

        Returns
        -------
        self : object
            The estimator.
        """
        check_is_fitted(self, msg="Estimator, %(name)s, must be fitted before densifying.")
        self.__dict__["_sparse_coef"] = None
        return self

    def sparsify(self):
        """Represent ``coef_`` as a scipy.sparse CSR matrix.

        Training state is not affected: further ``fit``/``partial_fit``
        calls work and return to a dense ``coef_``.

        Returns
        -------
        self : object
            The estimator.
        """
        check_is_fitted(self, msg="Estimator, %(name)s, must be fitted before sparsifying.")
        coef = sp.csr_array(self.coef_)
        if get_config().get("sparse_interface", "spmatrix") == "spmatrix":
            coef = sp.csr_matrix(coef)  # scikit-learn's default sparse container
        model = self._model
        self.__dict__["_sparse_coef"] = (coef, model, model.progress.t)
        return self

    # -- state ------------------------------------------------------------------------

    def _finish_fit(self, gtol_unmet):
        # a partial_fit after fit starts where scikit-learn's would: at t_
        model = self._model
        model.scalars[:, SLOTS["t"]] = model.progress.t
        if self.gtol is not None and gtol_unmet:
            warnings.warn(
                f"Maximum number of iteration reached before the norm of the gradient "
                f"fell below gtol={self.gtol}. Consider increasing max_iter.",
                ConvergenceWarning, stacklevel=3)
        elif self.tol is not None and self.n_iter_ == self.max_iter:
            warnings.warn(
                "Maximum number of iteration reached before convergence. Consider "
                "increasing max_iter to improve the fit.",
                ConvergenceWarning, stacklevel=3)

    def _warm_start_init(self, coef_init, intercept_init):
        if self.warm_start and "_model" in self.__dict__ and coef_init is None:
            coef_init = self.coef_.toarray() if sp.issparse(self.coef_) else self.coef_
            if intercept_init is None:
                intercept_init = self.intercept_
        return coef_init, intercept_init

    # -- hashed dict events (hash_bits) ----------------------------------------------

    def _hashed(self, X, crossed=False):
        """A list of dict events as the CSR matrix of their hashed features
        (``hash_bits``); anything else as it is (its width checked).
        ``crossed``: with ``interactions``, the events' rows as
        :class:`~streamlr._crossed.CrossedRows` (crossed by the loop, row by
        row), and such rows are taken as they are; else they are crossed
        here, into a matrix."""
        if isinstance(X, CrossedRows):
            return X if crossed else X.materialize()
        bits = getattr(self, "hash_bits", None)
        if bits is None:
            return X
        _params.check_hash_bits(self)
        if isinstance(X, dict):
            raise TypeError("X is one dict: pass a list of dict events (or use learn_one)")
        if isinstance(X, list | tuple) and (not X or isinstance(X[0], dict)):
            from .._kernels._hashing import EventHasher

            inters = _params.check_interactions(self)
            if crossed and inters and X:
                return crossed_events(X, bits, inters)
            hasher = EventHasher(bits, inters)
            data, indices, indptr = hasher.hash_rows(X)
            return sp.csr_matrix((data, indices, indptr), shape=(len(X), 1 << bits))
        shape = getattr(X, "shape", None)
        if shape is not None and len(shape) == 2 and shape[1] != 1 << bits:
            raise ValueError(f"X has {shape[1]} features, but hash_bits={bits} makes "
                             f"{1 << bits}")
        return X

    # -- single events --------------------------------------------------------------

    def _first_event(self, x, y, sample_weight, **kw):
        """An unfitted model learns its first event through partial_fit,
        which sets up the state (and, from a dict, the feature names)."""
        names = None
        if isinstance(x, dict) and getattr(self, "hash_bits", None) is not None:
            x = self._hashed([x])
        elif isinstance(x, dict):
            names = list(x)
            x = np.asarray([list(x.values())])
        elif not sp.issparse(x):
            x = np.asarray(x)
            if x.ndim != 1:
                raise ValueError(f"x must be one row (a 1-D array); got shape {x.shape}")
            x = x.reshape(1, -1)
        self.partial_fit(x, np.asarray([y]), sample_weight=np.asarray([sample_weight]), **kw)
        if names is not None:
            self.feature_names_in_ = np.asarray(names, dtype=object)
        return self

    def predict_one(self, x, *, key=None):
        """The prediction for one event, in O(non-zeros of the event).

        Parameters
        ----------
        x : 1-D array, 1-row CSR matrix, or dict
            The event, as ``learn_one`` takes it.
        key : hashable, optional
            Delayed labels: remember the event (the row as the model read
            it, and the decision values behind this prediction) under
            ``key`` until ``learn_label(key, y)`` learns it. A key already
            pending is replaced, and becomes the newest. None (the default)
            remembers nothing.

        Returns
        -------
        object or float
            The label (classifier) or the value (regressor).
        """
        if key is not None:
            return _pending.remember(self, x, key, 0)
        model = self._fitted_model("predict_one")
        engine = self._event_engine()
        if engine is not None:
            return engine.predict_one(x, model.averaged(), model.average)
        scores = self._decision_one(x)
        if not self._is_classifier:
            return float(scores[0])
        classes = self.__dict__["classes_"]
        return classes[int(scores[0] > 0) if scores.shape[0] == 1 else int(np.argmax(scores))]

    def _decision_one(self, x):
        model = self._fitted_model("decision")
        engine = self._event_engine()
        if engine is not None:
            out = np.empty(engine.n_outputs)
            engine.decision_one(x, model.averaged(), model.average, out)
            return out
        # the event as the engine reads it for a prediction, as one row: a
        # float32 row of a float32 model in float32, anything else in float64
        # (as predict reads its rows)
        dtype = np.float64
        if model.w.dtype == np.float32 and getattr(x, "dtype", None) == np.float32:
            dtype = np.float32
        if isinstance(x, dict) and getattr(self, "hash_bits", None) is not None:
            x = self._hashed([x])     # its width checked against the model's below
        elif isinstance(x, dict):
            names = getattr(self, "feature_names_in_", None)
            if names is None:
                raise ValueError("x is a dict, but the model was fitted without feature "
                                 "names; pass a 1-D array")
            unknown = set(x) - set(names.tolist())
            if unknown:
                raise ValueError(f"x has features the model was not fitted with: {sorted(unknown)!r}")
            x = np.asarray([x.get(n, 0.0) for n in names.tolist()], dtype=dtype)
        if sp.issparse(x):
            X = sp.csr_matrix(x, dtype=dtype)
        else:
            X = np.asarray(x, dtype=dtype).reshape(1, -1)
        if X.shape != (1, model.w.shape[1]):
            raise ValueError(f"x must be one row of {model.w.shape[1]} features; got shape {X.shape}")
        return self._decide_rows(X, check_finite=True, rounded=False)[0]

    # -- small calls --------------------------------------------------------------------

    def _decision(self, X):
        check_is_fitted(self)
        X, crossed = self._split_crossed(self._hashed(X, crossed=True))
        if crossed is not None:
            X = validate_data(self, X, accept_sparse="csr", reset=False, ensure_all_finite=False)
            return self._decide_rows(X, check_finite=True, crossed=crossed)
        if self._small_call(X):
            out = self._decision_small(X)
            if out is not None:
                return out
        # X's finiteness: checked by the kernel (one pass, eight running sums)
        X = validate_data(self, X, accept_sparse="csr", reset=False, ensure_all_finite=False)
        return self._decide_rows(X, check_finite=True)

    # -- the general path ---------------------------------------------------------------


