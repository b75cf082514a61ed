"""scikit-learn's SGDClassifier / SGDRegressor on streamlr's compiled per-sample loop.

The estimators own every piece of training state as NumPy arrays (see
``_State``); the kernel ``streamlr._kernels.sgd.sgd_epoch`` updates them in
place, one binary problem and one pass at a time. Python does what happens
once per call or per epoch: validation, the validation split, stopping rules,
shuffling, one-vs-rest bookkeeping.
"""
import numbers
import warnings
import weakref
from concurrent.futures import ThreadPoolExecutor, wait

import numpy as np
import scipy.sparse as sp
from scipy.special import expit
from joblib import effective_n_jobs
from sklearn import get_config
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import r2_score
from sklearn.model_selection import ShuffleSplit, StratifiedShuffleSplit
from sklearn.utils import check_random_state, compute_class_weight
from sklearn.utils.extmath import safe_sparse_dot
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets, unique_labels
from sklearn.utils.validation import check_is_fitted, validate_data

from .._kernels import kernel as _k
from .._kernels.losses import make_loss
from .. import _spec
from .. import optim
from .. import schedules as _sched
from ..exceptions import DivergenceError

MAX_INT = np.iinfo(np.int32).max
# scikit-learn's smaller intercept step on sparse input (plain SGD only)
SPARSE_INTERCEPT_DECAY = 0.01
_EMPTY_INT = np.empty(0, dtype=np.intc)
# rows per kernel call within a pass (signals are checked between calls)
PASS_BLOCK = 1 << 16
# partial_fit calls with at most this many rows take the single-event path
SMALL_CALL_ROWS = 64
# The bound single-event learners (``_BaseSGD._online``), by id of their
# estimator: kept out of the estimator's __dict__ (predict must not change
# it, pickles must not carry it) and dropped when the estimator is collected.
_BOUND = {}
_WATCHED = set()


def _forget(key):
    _BOUND.pop(key, None)
    _WATCHED.discard(key)

# attributes a call may set without dropping the bound single-event learner
_BOOKKEEPING = frozenset(("t_", "n_iter_", "lr_", "_hist", "_hist_n", "_hist_calls",
                          "_hist_stride", "_gtol_unmet", "_sparse_coef"))

CLASSIFICATION_LOSSES = (
    "hinge", "log_loss", "modified_huber", "squared_hinge", "perceptron",
    "squared_error", "huber", "epsilon_insensitive", "squared_epsilon_insensitive",
)
REGRESSION_LOSSES = (
    "squared_error", "huber", "epsilon_insensitive", "squared_epsilon_insensitive",
)


class _State:
    """Kernel state of K binary problems over d features, as NumPy arrays.

    ``blk`` (K, d, S) interleaves each weight with the optimizer's slots
    (S = 1 + slots; S = 1 for plain SGD), so ``w = blk[..., 0]`` are the raw
    weights (plain SGD: the model is ``scal[:, wscale] * w``) and
    ``ostate = blk[..., 1:]`` the optimizer state. ``aw`` is the averaging
    state (plain SGD: Bottou's raw average; other optimizers: each
    coordinate's running mean up to ``stamp``), ``q`` the L1 penalty each
    weight received (plain SGD), ``scal`` the scalar slots of
    ``streamlr._kernels.sgd.SLOTS``, ``oint`` the intercept's block (K, S),
    ``stamp`` the last update that touched each coordinate. Unused arrays
    have zero columns.
    """

    def __init__(self, n_problems, n_features, dtype, average, l1, opt, coef=None,
                 intercept=None, interleaved=False):
        k, d = n_problems, n_features
        plain = opt.kernel == _k.OPTIMIZERS["sgd"]
        self.opt_key = (type(opt).__name__, opt.kernel, opt.slots())
        self.decays = opt.decays()
        init = np.asarray((0.0,) + tuple(opt.initial_values()), dtype=np.float64)
        # sparse streams: (K, d, S), each weight next to its slots; dense
        # streams: (K, S, d), one contiguous array per slot (optimizers.pxd)
        self.interleaved = bool(interleaved) and len(init) > 1
        if self.interleaved:
            # blocks padded to a power of two never straddle two cache lines
            size = 1 << (len(init) - 1).bit_length()
            self.blk = np.zeros((k, d, size), dtype=dtype)
            self.blk[..., : len(init)] = init.astype(dtype)
        else:
            self.blk = np.empty((k, len(init), d), dtype=dtype)
            self.blk[...] = init.astype(dtype)[:, None]
        if coef is not None:
            self.w[...] = coef
        self.aw = np.zeros((k, d if average else 0), dtype=dtype)
        self.q = np.zeros((k, d if l1 and plain else 0), dtype=dtype)
        self.scal = np.zeros((k, _k.NUM_SLOTS), dtype=np.float64)
        self.scal[:, _k.SLOTS["wscale"]] = 1.0
        self.scal[:, _k.SLOTS["average_b"]] = 1.0
        self.scal[:, _k.SLOTS["mu_product"]] = 1.0
        # the kernel's own t: scikit-learn's t_ except where its kernel does
        # not tick (a zero row under pa1); kept so chunking stays invisible
        self.scal[:, _k.SLOTS["t"]] = 1.0
        if intercept is not None:
            self.scal[:, _k.SLOTS["intercept"]] = intercept
        self.oint = np.empty((k, len(init)), dtype=np.float64)
        self.oint[...] = init
        self.sched_key = None
        self.sched_state = np.zeros((k, 0))
        needs_stamp = not plain and (opt.needs_stamp() or average)
        self.stamp = np.zeros((k, d if needs_stamp else 0), dtype=np.int64)

    @property
    def w(self):
        """Weights (K, d): a view."""
        return self.blk[..., 0] if self.interleaved else self.blk[:, 0, :]

    def slot(self, i):
        """Optimizer slot i (K, d): a view."""
        return self.blk[..., 1 + i] if self.interleaved else self.blk[:, 1 + i, :]

    def strides(self):
        """(coordinate stride, slot stride) of the kernel's layout."""
        s, d = self.blk.shape[2] if self.interleaved else 1, self.w.shape[1]
        return (s, 1) if self.interleaved else (1, d)

    def columns(self, a, cols):
        """Index that selects the feature columns ``cols`` of array ``a``."""
        if a is self.blk and not self.interleaved:
            return (slice(None), slice(None), cols)
        return (slice(None), cols)

    @property
    def plain(self):
        return self.opt_key[1] == _k.OPTIMIZERS["sgd"]

    def arrays(self):
        return (self.blk, self.aw, self.q, self.stamp, self.scal, self.oint)

    def snapshot(self, cols=None):
        """Copy what a call may change: everything, or only the columns ``cols``."""
        out = []
        for a in self.arrays():
            if cols is None or a is self.scal or a is self.oint:
                out.append(a.copy())
            elif a.size == 0:
                out.append(None)
            else:
                out.append(a[self.columns(a, cols)].copy())
        # the schedule's state may be replaced (a changed schedule): keep both
        out.append((self.sched_key, self.sched_state, self.sched_state.copy()))
        return out

    def restore(self, snap, cols=None):
        self.sched_key, self.sched_state, saved = snap[-1]
        self.sched_state[...] = saved
        for a, s in zip(self.arrays(), snap[:-1]):
            if s is None:
                continue
            if cols is None or a is self.scal or a is self.oint:
                a[...] = s
            else:
                a[self.columns(a, cols)] = s

    _CHECKED_SLOTS = [_k.SLOTS[n] for n in ("wscale", "intercept", "average_intercept", "loss_sum")]

    def finite(self, k, cols=None):
        """Whether problem k's weights and state are finite (on ``cols`` only,
        when given: the rest did not change)."""
        sel = slice(None) if cols is None else cols
        # the intercept and its state are kept in float64: they must also fit
        # the model's dtype, or coef_/intercept_ would publish an infinity
        limit = np.finfo(self.blk.dtype).max
        return bool(
            np.isfinite(self.scal[k, self._CHECKED_SLOTS]).all()
            and np.isfinite(self.oint[k]).all()
            and (np.abs(self.scal[k, self._CHECKED_SLOTS[1:3]]) <= limit).all()
            and (np.abs(self.oint[k]) <= limit).all()
            and all(np.isfinite(a[self.columns(a, sel)][k]).all()
                    for a in (self.blk, self.aw, self.q) if a.size)
        )

    def model(self, k, averaged, average=0):
        """(coef, intercept) of problem k alone, as materialize gives them."""
        w = np.ascontiguousarray(self.w[k])
        coef = np.empty_like(w)
        avg = np.empty_like(w) if averaged else w[:0].copy()
        _k.materialize(w, self.aw[k], self.scal[k], coef, avg if self.plain else avg[:0])
        if averaged and not self.plain:
            _k.materialize_lazy_average(w, self.aw[k], self.stamp[k], self.last_step(k),
                                        int(average), avg)
        if averaged:
            return avg, self.scal[k, _k.SLOTS["average_intercept"]]
        return coef, self.scal[k, _k.SLOTS["intercept"]]

    def last_step(self, k):
        return self.scal[k, _k.SLOTS["t"]] - 1.0

    def materialize(self, averaged, average=0):
        """(coef, intercept) of all K problems as the model predicts with them."""
        parts = [self.model(k, averaged, average) for k in range(self.w.shape[0])]
        coef = np.array([c for c, _ in parts], dtype=self.w.dtype).reshape(self.w.shape)
        return coef, np.array([b for _, b in parts]).astype(self.w.dtype)


def _as_kernel_input(X, dtype=None):
    """(values, indices, indptr) of a dense or CSR X for the kernel, values in
    ``dtype`` (default: X's own), without a copy when X is in it already. The
    row pointer is checked here; the column indices are checked by the
    kernel, row by row, before it uses them (a bad one stops the pass and
    ``_raise_if_row_invalid`` names it)."""
    if sp.issparse(X):
        if X.indptr.dtype != np.intc or X.indices.dtype != np.intc:
            if X.nnz > MAX_INT:
                raise ValueError("sparse input with more than 2**31 - 1 stored values")
        indices = np.ascontiguousarray(X.indices, dtype=np.intc)
        indptr = np.ascontiguousarray(X.indptr, dtype=np.intc)
        n, d = X.shape
        if indptr.shape[0] != n + 1:
            raise ValueError("invalid CSR matrix: indptr is not a valid row pointer")
        _k.check_csr(indices, indptr, X.data.shape[0], d, check_indices=False)
        return np.ascontiguousarray(X.data, dtype=dtype), indices, indptr
    return np.ascontiguousarray(X, dtype=dtype).reshape(-1), _EMPTY_INT, _EMPTY_INT


def _touched_columns(indices, indptr, n_features):
    """The columns a pass over a CSR chunk can change: its distinct columns
    when there are few of them, else None (all). Snapshots and overflow
    checks then cost O(nnz), not O(n_features). Finding them costs a sort
    (~nnz log nnz), so it pays only when the chunk is much smaller than the
    weight vector; otherwise copying and checking everything is cheaper."""
    nnz = int(indptr[-1])
    if n_features <= 64 or nnz * 64 >= n_features:
        return None
    cols = np.sort(indices[:nnz])  # sort + mask: faster than np.unique here
    if nnz and (cols[0] < 0 or cols[-1] >= n_features):
        raise ValueError(f"invalid CSR matrix: column indices must lie in [0, {n_features}), "
                         f"found {cols[0] if cols[0] < 0 else cols[-1]}")
    if nnz > 1:
        cols = cols[np.concatenate(([True], cols[1:] != cols[:-1]))]
    return cols


def _raise_if_row_invalid(X, r):
    """The kernel stops at a non-finite prediction, or a CSR row with a column
    index out of range: that is how such input is detected, without a
    separate pass over the data. Raise the ValueError that names it."""
    if sp.issparse(X):
        lo, hi = X.indptr[r], X.indptr[r + 1]
        row, cols = X.data[lo:hi], X.indices[lo:hi]
        bad = cols[(cols < 0) | (cols >= X.shape[1])]
        if bad.size:
            raise ValueError(f"invalid CSR matrix: column indices must lie in "
                             f"[0, {X.shape[1]}), found {bad[0]} (in row {r})")
    else:
        row = X[r]
    if not np.all(np.isfinite(row)):
        raise ValueError(f"Input X contains NaN or infinity (in row {r}).")


def _check_validation_rows_finite(Xv):
    # validation rows are never read by the kernel: check them here
    if sp.issparse(Xv):
        _k.check_csr(np.ascontiguousarray(Xv.indices, dtype=np.intc),
                     np.ascontiguousarray(Xv.indptr, dtype=np.intc), Xv.data.shape[0], Xv.shape[1])
    if not np.all(np.isfinite(Xv.data if sp.issparse(Xv) else Xv)):
        raise ValueError("Input X contains NaN or infinity (in the validation rows).")


def _check_targets_finite(y):
    if not np.all(np.isfinite(y)):
        raise ValueError("Input y contains NaN or infinity.")


def _check_sample_weight(sample_weight, n_samples, dtype, allow_all_zero=False):
    if sample_weight is None:
        return np.ones(n_samples, dtype=dtype)
    if isinstance(sample_weight, numbers.Number):
        sw = np.full(n_samples, sample_weight, dtype=dtype)
    else:
        sw = np.asarray(sample_weight)
        if sw.dtype.kind not in "biuf":
            raise ValueError(f"sample_weight must be numeric, got dtype {sw.dtype}")
        sw = np.ascontiguousarray(sw, dtype=dtype)
        if sw.ndim != 1:
            raise ValueError(
                f"Sample weights must be 1D array or scalar, got {sw.ndim}D array."
            )
        if sw.shape != (n_samples,):
            raise ValueError(
                f"sample_weight.shape == {sw.shape}, expected {(n_samples,)}!"
            )
    if not np.all(np.isfinite(sw)):
        raise ValueError("sample_weight contains NaN or infinity.")
    # negative weights are accepted, as scikit-learn does; all-zero weights not
    if not allow_all_zero and not np.any(sw):
        raise ValueError("Sample weights must contain at least one non-zero number.")
    return sw


class _BaseSGD(BaseEstimator):
    """Shared machinery of the classifier and the regressor."""

    _is_classifier = False

    # -- hyperparameters -------------------------------------------------------

    def _validate_params(self, for_partial_fit=False):
        """Check every hyperparameter once per call, before any state changes."""
        losses = CLASSIFICATION_LOSSES if self._is_classifier else REGRESSION_LOSSES
        if self.loss not in losses:
            raise ValueError(f"The 'loss' parameter must be one of {losses}; got {self.loss!r}.")
        if self.penalty not in ("l2", "l1", "elasticnet", None):
            raise ValueError(
                "The 'penalty' parameter must be one of 'l2', 'l1', 'elasticnet' "
                f"or None; got {self.penalty!r}."
            )
        if isinstance(self.learning_rate, _sched.Schedule):
            self.learning_rate._validate()
        elif not isinstance(self.learning_rate, str) or self.learning_rate not in _k.LEARNING_RATES:
            raise ValueError(
                f"The 'learning_rate' parameter must be one of {sorted(_k.LEARNING_RATES)} "
                f"or a streamlr.schedules object; got {self.learning_rate!r}."
            )

        def real(name, low=None, low_open=False, high=None, high_open=False, none=False):
            v = getattr(self, name)
            if v is None and none:
                return
            if isinstance(v, bool) or not isinstance(v, numbers.Real) or not np.isfinite(v):
                raise ValueError(f"The '{name}' parameter must be a finite real number; got {v!r}.")
            if low is not None and (v < low or (low_open and v == low)):
                raise ValueError(
                    f"The '{name}' parameter must be {'>' if low_open else '>='} {low}; got {v!r}."
                )
            if high is not None and (v > high or (high_open and v == high)):
                raise ValueError(
                    f"The '{name}' parameter must be {'<' if high_open else '<='} {high}; got {v!r}."
                )

        def integer(name, low):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < low:
                raise ValueError(f"The '{name}' parameter must be an integer >= {low}; got {v!r}.")

        real("alpha", 0.0)
        real("l1_ratio", 0.0, high=1.0, none=True)
        real("epsilon", 0.0)
        real("eta0", 0.0, low_open=True)
        real("power_t")
        real("tol", 0.0, none=True)
        real("gtol", 0.0, low_open=True, none=True)
        real("validation_fraction", 0.0, True, 1.0, True)
        integer("max_iter", 1)
        integer("n_iter_no_change", 1)
        for name in ("fit_intercept", "shuffle", "early_stopping", "warm_start"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise ValueError(f"The '{name}' parameter must be a bool; got {getattr(self, name)!r}.")
        if not isinstance(self.average, (bool, np.bool_)) and not (
            isinstance(self.average, numbers.Integral) and self.average > 0
        ):
            raise ValueError(
                f"The 'average' parameter must be a bool or an integer > 0; got {self.average!r}."
            )
        if not isinstance(self.verbose, (numbers.Integral, bool)):
            raise ValueError(f"The 'verbose' parameter must be an int; got {self.verbose!r}.")
        n_jobs = getattr(self, "n_jobs", None)
        if n_jobs is not None and (isinstance(n_jobs, bool) or not isinstance(n_jobs, numbers.Integral)
                                   or n_jobs == 0):
            raise ValueError(f"The 'n_jobs' parameter must be None or a non-zero int; got {n_jobs!r}.")
        if self.early_stopping and for_partial_fit:
            raise ValueError("early_stopping should be False with partial_fit")
        opt = optim.resolve(self.optimizer)
        plain = opt.kernel == _k.OPTIMIZERS["sgd"]
        if isinstance(self.learning_rate, _sched.Schedule) and any(
            isinstance(node, _sched.Optimal) and node.alpha is None
            for node in _sched.walk(self.learning_rate)
        ) and self.alpha == 0:
            raise ValueError("alpha must be > 0 with an Optimal() schedule: its rate "
                             "1 / (alpha (t + t0)) uses the estimator's alpha")
        if self.learning_rate == "optimal" and self.alpha == 0 and plain:
            raise ValueError(
                "alpha must be > 0 since learning_rate is 'optimal'. alpha is used "
                "to compute the optimal learning rate."
            )
        if self.learning_rate in ("pa1", "pa2"):
            needed = "hinge" if self._is_classifier else "epsilon_insensitive"
            if self.loss != needed:
                raise ValueError(
                    f"Learning rate '{self.learning_rate}' only works with loss '{needed}'."
                )
        if self.penalty == "elasticnet" and self.l1_ratio is None:
            raise ValueError("l1_ratio must be set when penalty is 'elasticnet'")
        if not plain and self.learning_rate in ("pa1", "pa2"):
            raise ValueError(
                f"learning_rate={self.learning_rate!r} is an update rule of plain SGD; "
                f"it cannot be combined with optimizer={self.optimizer!r}"
            )
        return opt

    def _config(self, loss, sparse, weight_pos=1.0, weight_neg=1.0):
        alpha = float(self.alpha)
        optimal_init = 0.0
        opt = self._opt
        plain = opt.kernel == _k.OPTIMIZERS["sgd"]
        learning_rate, eta0 = self.learning_rate, float(self.eta0)
        if isinstance(learning_rate, _sched.Adaptive):
            # the fit-time reduction lives in _train; under partial_fit constant
            learning_rate, eta0 = "adaptive", float(learning_rate.lr)
        if not plain and learning_rate == "optimal":
            learning_rate = "constant"  # Bottou's rate is derived for plain SGD
        if learning_rate == "optimal":
            # Bottou's heuristic: choose t0 so that the first rate matches a
            # typical weight of size 1/sqrt(alpha)
            optimal_init = _sched.optimal_t0(alpha, loss._py_dloss)
        code = (_k.LR_SCHEDULE_CODE if isinstance(learning_rate, _sched.Schedule)
                else _k.LEARNING_RATES[learning_rate])
        return _k.Config(
            penalty=_k.PENALTIES[self.penalty],
            alpha=alpha,
            l1_ratio=0.0 if self.l1_ratio is None else float(self.l1_ratio),
            fit_intercept=bool(self.fit_intercept),
            learning_rate=code,
            eta0=eta0,
            power_t=float(self.power_t),
            optimal_init=optimal_init,
            weight_pos=float(weight_pos),
            weight_neg=float(weight_neg),
            # scikit-learn's sparse intercept step belongs to plain SGD only
            intercept_decay=SPARSE_INTERCEPT_DECAY if sparse and plain else 1.0,
            average=int(self.average),
            optimizer=opt.kernel,
            hp=opt.hyperparameters(),
            hp_intercept=opt.hyperparameters(intercept=True),
            n_slots=len(opt.slots()),
            n_features=self._state.w.shape[1],
            coord_stride=self._state.strides()[0],
            slot_stride=self._state.strides()[1],
        )

    @property
    def _adaptive_factor(self):
        lr = self.learning_rate
        if isinstance(lr, _sched.Adaptive):
            return float(lr.factor)
        return 0.2 if lr == "adaptive" else None

    def _schedule_program(self, loss):
        """The compiled node table of a schedule object (empty tuples for the
        scikit-learn strings), with the schedule state on the model."""
        lr = self.learning_rate
        if not isinstance(lr, _sched.Schedule) or isinstance(lr, _sched.Adaptive):
            return (None, None, None)
        ctx = {"alpha": float(self.alpha), "dloss": loss._py_dloss}
        kinds, params, extra, state = _sched.compile_schedule(lr, ctx)
        st = self._state
        key = (repr(lr), kinds.tobytes(), params.tobytes())
        if st.sched_key != key:
            # a new or changed schedule starts with fresh state (plateau counters)
            st.sched_key = key
            st.sched_state = np.tile(state, (st.w.shape[0], 1))
        return kinds, params, extra

    HISTORY_ROWS = 1 << 16   # lr_history_ keeps at most this many rows

    def _record(self, row):
        """Append a row to the history: a preallocated array, so a call costs
        O(1); when full, every other row is dropped and from then on every
        other row is kept (so a stream of any length keeps a bounded,
        evenly spaced summary). Rows past ``_hist_n`` are not part of it, so
        a failed call (which restores ``_hist_n``) leaves it as it was."""
        d = self.__dict__   # plain dict writes: this runs once per event
        d["_hist_calls"] += 1
        if d["_hist_calls"] % d["_hist_stride"]:
            return
        if d["_hist_n"] == d["_hist"].shape[0]:
            if d["_hist_n"] >= self.HISTORY_ROWS:
                kept = d["_hist"][1::2].copy()
                d["_hist_stride"] *= 2
            else:
                kept = d["_hist"][: d["_hist_n"]]
            d["_hist"] = np.empty((max(2 * len(kept), 16), 3))
            d["_hist"][: len(kept)] = kept
            d["_hist_n"] = len(kept)
        d["_hist"][d["_hist_n"]] = row
        d["_hist_n"] += 1

    @property
    def lr_history_(self):
        """(t, lr, progressive loss) after each epoch of ``fit`` and each
        ``partial_fit`` call, one row each (past ``HISTORY_ROWS`` rows, an
        evenly thinned summary): the path of the schedule. t counts
        as ``t_ - 1`` does; in one-vs-rest the rows follow the binary problem
        that ran the most epochs of a ``fit``, with its own progressive loss."""
        check_is_fitted(self, "t_")
        return self._hist[: self._hist_n].copy()

    # -- state -----------------------------------------------------------------

    def _new_state(self, n_problems, n_features, dtype, coef=None, intercept=None,
                   sparse=False):
        # the state layout follows the first call's input: interleaved for
        # CSR streams, one array per slot for dense ones (both work for both)
        self._state = _State(
            n_problems, n_features, dtype, average=self.average > 0,
            l1=self.penalty in ("l1", "elasticnet"), opt=self._opt, coef=coef,
            intercept=intercept, interleaved=sparse,
        )
        self._sparse_coef = None
        self._hist, self._hist_n = np.empty((16, 3)), 0
        self._hist_calls, self._hist_stride = 0, 1
        self.lr_ = float("nan")

    def _ensure_state_layout(self):
        """Before training on existing state: copy arrays that are read-only
        (a model loaded from a memory map), and grow the optional arrays when
        set_params switched averaging or L1 on between partial_fit calls."""
        st = self._state
        opt = self._opt
        if st.opt_key != (type(opt).__name__, opt.kernel, opt.slots()):
            raise ValueError(
                f"optimizer={self.optimizer!r} differs from the optimizer this model was "
                f"trained with ({st.opt_key[0]}); call fit to start a new model"
            )
        for name in ("blk", "aw", "q", "scal", "oint", "stamp", "sched_state"):
            a = getattr(st, name)
            if not a.flags.writeable:
                setattr(st, name, a.copy())
        k, d = st.w.shape
        if self.average and st.aw.shape[1] == 0:
            if not st.plain and st.w.size and self.t_ > 1:
                raise ValueError("averaging cannot be switched on mid-stream with this "
                                 "optimizer; call fit to start a new model")
            st.aw = np.zeros((k, d), dtype=st.w.dtype)
            if not st.plain and st.stamp.shape[1] == 0:
                st.stamp = np.zeros((k, d), dtype=np.int64)
        if self.penalty in ("l1", "elasticnet") and st.q.shape[1] == 0 and st.plain:
            st.q = np.zeros((k, d), dtype=st.w.dtype)

    def _averaged(self):
        # the averaging the model was trained with (a later set_params,
        # even an invalid one, does not change what coef_ shows)
        average = getattr(self._state, "average", self.average)
        return bool(average) and average <= self.t_ - 1

    def _coef_intercept(self):
        """(coef, intercept) of shape (K, d), (K,) as predictions use them."""
        return self._state.materialize(self._averaged(), getattr(self._state, "average", self.average))

    def _set_coef(self, value):
        st = self._state
        value = np.asarray(value, dtype=st.w.dtype).reshape(st.w.shape)
        st.w[...] = value
        st.scal[:, _k.SLOTS["wscale"]] = 1.0
        if st.aw.shape[1]:
            st.aw[...] = value
            st.scal[:, _k.SLOTS["average_a"]] = 0.0
            st.scal[:, _k.SLOTS["average_b"]] = 1.0

    def _set_intercept(self, value):
        st = self._state
        value = np.asarray(value, dtype=np.float64).reshape(-1)
        st.scal[:, _k.SLOTS["intercept"]] = value
        st.scal[:, _k.SLOTS["average_intercept"]] = value

    @property
    def coef_(self):
        """Weights: (1 or n_classes, n_features) for the classifier,
        (n_features,) for the regressor; averaged once averaging has started."""
        if "_state" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__} has no attribute 'coef_' (not fitted)")
        if self._sparse_coef is not None:
            return self._sparse_coef
        coef = self._coef_intercept()[0]
        return coef if self._is_classifier else coef[0]

    @coef_.setter
    def coef_(self, value):
        self._set_coef(value.toarray() if sp.issparse(value) else value)
        self._sparse_coef = value if sp.issparse(value) else None

    @property
    def intercept_(self):
        if "_state" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__} has no attribute 'intercept_' (not fitted)")
        return self._coef_intercept()[1]

    @intercept_.setter
    def intercept_(self, value):
        self._set_intercept(value)

    @property
    def optimizer_state_(self):
        """The optimizer's state with PyTorch's names: arrays shaped like
        ``coef_`` (one per slot) and like ``intercept_`` (``<slot>_intercept``);
        NAdam adds ``mu_product`` (one per binary problem). Slots that decay
        are shown as the dense rule would hold them now (sparse rows catch
        their decay up on the next touch). Empty for plain SGD."""
        check_is_fitted(self, "t_")
        st = self._state
        names, decays = st.opt_key[2], st.decays
        out = {}
        for i, name in enumerate(names):
            arr = st.slot(i).copy()
            if name in decays and st.stamp.shape[1]:
                gap = (st.scal[:, [_k.SLOTS["t"]]] - 1.0) - st.stamp
                arr = (arr * np.power(decays[name], gap)).astype(arr.dtype)
            out[name] = arr if self._is_classifier else arr[0]
            out[name + "_intercept"] = st.oint[:, 1 + i].astype(st.w.dtype)
        if st.opt_key[1] == _k.OPTIMIZERS["nadam"]:
            out["mu_product"] = st.scal[:, _k.SLOTS["mu_product"]].astype(st.w.dtype)
        return out

    @property
    def progressive_loss_(self):
        """Mean loss of every sample seen since the model was initialised,
        measured just before the model learned from it (Vowpal Wabbit's
        progressive validation loss); one-vs-rest: mean over the problems."""
        check_is_fitted(self, "t_")
        scal = self._state.scal
        n = scal[:, _k.SLOTS["n_seen"]].sum()
        return scal[:, _k.SLOTS["loss_sum"]].sum() / n if n else float("nan")

    def densify(self):
        """Convert ``coef_`` (back) to a dense array (no-op when dense)."""
        check_is_fitted(self, "t_", msg="Estimator, %(name)s, must be fitted before densifying.")
        self._sparse_coef = None
        return self

    def sparsify(self):
        """Represent ``coef_`` as a scipy.sparse CSR matrix. Training state is
        not affected: further ``fit``/``partial_fit`` calls work and return to
        a dense ``coef_``."""
        check_is_fitted(self, "t_", msg="Estimator, %(name)s, must be fitted before sparsifying.")
        coef = self.coef_
        coef = sp.csr_array(coef)
        if get_config().get("sparse_interface", "spmatrix") == "spmatrix":
            coef = sp.csr_matrix(coef)  # scikit-learn's default sparse container
        self._sparse_coef = coef
        return self

    # -- the training driver ---------------------------------------------------

    def _validation_mask(self, y, sample_weight):
        n = y.shape[0]
        mask = np.zeros(n, dtype=bool)
        if not self.early_stopping:
            return mask
        splitter = StratifiedShuffleSplit if self._is_classifier else ShuffleSplit
        cv = splitter(test_size=self.validation_fraction, random_state=self.random_state)
        idx_train, idx_val = next(cv.split(np.zeros((n, 1)), y))
        if not np.any(sample_weight[idx_val] > 0):
            raise ValueError(
                "The sample weights for validation set are all zero, consider using a"
                " different random state."
            )
        if idx_train.shape[0] == 0 or idx_val.shape[0] == 0:
            raise ValueError(
                f"Splitting {n} samples into a train set and a validation set with "
                f"validation_fraction={self.validation_fraction!r} led to an empty set "
                f"({idx_train.shape[0]} and {idx_val.shape[0]} samples). Please either "
                "change validation_fraction, increase number of samples, or disable "
                "early_stopping."
            )
        mask[idx_val] = True
        return mask

    def _train(self, X, targets, sample_weight, configs, loss, max_iter, seeds,
               val_mask=None, val_scorers=None):
        """Run up to ``max_iter`` epochs of every binary problem k on its
        targets ``targets[k]``; returns n_iter (the max over problems).

        On divergence the caller's snapshot is restored by the caller; here
        we raise ``DivergenceError``."""
        # max_iter None: one streaming pass (partial_fit), else fit's epochs
        streaming = max_iter is None
        self._state.average = int(self.average)
        max_iter = 1 if streaming else max_iter
        st = self._state
        values, indices, indptr = _as_kernel_input(X)
        cols = _touched_columns(indices, indptr, X.shape[1]) if sp.issparse(X) else None
        n = X.shape[0]
        if cols is not None and self._may_fold_scale(configs, loss, n * max_iter):
            cols = None   # the call may touch every column: snapshot them all
        self._snapshot_before_change(cols)
        prog = self._schedule_program(loss)
        train_idx = np.arange(n, dtype=np.intp)
        if val_mask is not None and val_mask.any():
            train_idx = np.flatnonzero(~val_mask).astype(np.intp)
        n_train = train_idx.shape[0]
        tol = -np.inf if self.tol is None else self.tol
        X_train = X if n_train == n else X[train_idx]
        self._gtol_unmet = False
        stop_rule = not streaming
        # scikit-learn's objective needs running norms; skip them when unused
        track = stop_rule and not self.early_stopping and self.tol is not None
        t_start = float(self.t_)
        lr_start = self.lr_

        def problem(k, cfg):
            """All epochs of binary problem k: (epochs run, history rows, last
            rate). Problems share nothing but read-only inputs, so one-vs-rest
            runs them in threads (n_jobs) with the same results."""
            lr = lr_start
            blk, aw, q, scal = st.blk[k].reshape(-1), st.aw[k], st.q[k], st.scal[k]
            oint, stamp, sstate = st.oint[k], st.stamp[k], st.sched_state[k]
            if track:
                wd = st.w[k].astype(np.float64) * scal[_k.SLOTS["wscale"]]
                scal[_k.SLOTS["sq_norm"]] = wd @ wd
                scal[_k.SLOTS["l1_norm"]] = np.abs(wd).sum()
            rng = np.random.RandomState(seeds[k]) if self.shuffle else None
            t = scal[_k.SLOTS["t"]] if streaming else t_start
            eta = cfg.eta0
            rows = []
            best_obj, best_score, no_improve = np.inf, -np.inf, 0
            for epoch in range(max_iter):
                order = rng.permutation(train_idx) if self.shuffle else train_idx
                if self.verbose:
                    print(f"-- Epoch {epoch + 1}")
                status, t_new, sum_loss, sum_obj, last_eta, plateau = self._pass(
                    blk, aw, q, scal, oint, stamp, values, indices, indptr, targets[k],
                    sample_weight, order, loss, cfg, t, eta, track, prog, sstate, streaming,
                )
                if status < 0:
                    i = -status - 1
                    _raise_if_row_invalid(X, order[i])
                    rate = last_eta if np.isfinite(last_eta) else lr
                    raise DivergenceError.at(
                        t_new, rate, f"the prediction or the step became non-finite on "
                        f"sample {order[i]} of this call (epoch {epoch + 1})")
                t = t_new
                if plateau >= 0 and not streaming:
                    # in fit, ReduceOnPlateau steps once per epoch on its mean loss
                    _k.schedule_plateau_step(*prog, sstate, plateau, sum_loss / n_train)
                if np.isfinite(last_eta):
                    lr = float(last_eta)
                seen = scal[_k.SLOTS["n_seen"]]
                rows.append((t_start - 1.0 + (epoch + 1) * n, lr,
                             scal[_k.SLOTS["loss_sum"]] / seen if seen else np.nan))
                if not st.finite(k, cols):
                    raise DivergenceError.at(
                        t - 1, lr, f"the weights or the optimizer state overflowed "
                        f"(epoch {epoch + 1})")
                if self.gtol is not None and not streaming:
                    gnorm = self._gradient_norm(k, X_train, targets[k][train_idx],
                                                sample_weight[train_idx], cfg, loss, t)
                    if self.verbose:
                        print(f"Norm of the gradient: {gnorm:.3g}")
                    if gnorm < self.gtol:
                        if self.verbose:
                            print(f"Gradient norm below gtol after {epoch + 1} epochs")
                        break
                    if epoch == max_iter - 1:
                        self._gtol_unmet = True
                if not stop_rule:
                    continue
                if self.early_stopping:
                    score = val_scorers(k)
                    no_improve = no_improve + 1 if score < best_score + tol else 0
                    best_score = max(best_score, score)
                    if self.verbose:
                        print(f"T: {t - 1:.0f}, Avg. loss: {sum_loss / n_train:f}, "
                              f"Validation score: {score:f}, lr: {lr:.3g}")
                else:
                    obj = sum_obj / n_train
                    no_improve = no_improve + 1 if obj > best_obj - tol else 0
                    best_obj = min(best_obj, obj)
                    if self.verbose:
                        print(f"T: {t - 1:.0f}, Avg. loss: {sum_loss / n_train:f}, "
                              f"lr: {lr:.3g}, progressive loss: "
                              f"{self.progressive_loss_:f}")
                if no_improve >= self.n_iter_no_change:
                    if self._adaptive_factor is not None and eta > 1e-6:
                        # divide by 1/factor: for 0.2, bitwise scikit-learn's eta / 5
                        eta /= 1.0 / self._adaptive_factor
                        no_improve = 0
                    else:
                        if self.verbose:
                            print(f"Convergence after {epoch + 1} epochs")
                        break
            scal[_k.SLOTS["t"]] = t
            return epoch + 1, rows, lr

        results = self._map_problems(problem, configs)
        n_iter = 0
        history = []
        for n_iter_k, rows, lr in results:
            n_iter = max(n_iter, n_iter_k)
            if len(rows) >= len(history):  # one-vs-rest: the problem with most epochs
                history = rows
            self.lr_ = lr
        if streaming:  # one row per call, with the progressive loss of all problems
            history = [(t_start - 1.0 + n, self.lr_, self.progressive_loss_)]
        for row in history:
            self._record(row)
        if streaming and self.verbose:
            print(f"partial_fit: {n} samples, T: {t_start - 1.0 + n:.0f}, lr: {self.lr_:.3g}, "
                  f"progressive loss: {self.progressive_loss_:f}")
        return n_iter

    def _may_fold_scale(self, configs, loss, steps):
        """Whether plain SGD's weight scale may be folded into every weight
        within ``steps`` updates (the kernel's ``may_fold_scale`` bound, per
        problem); the schedule is compiled afresh, without touching the
        model's schedule state, whose rates only ever fall below it."""
        st = self._state
        lr = self.learning_rate
        prog = ()
        if isinstance(lr, _sched.Schedule) and not isinstance(lr, _sched.Adaptive):
            kinds, params, extra, state = _sched.compile_schedule(
                lr, {"alpha": float(self.alpha), "dloss": loss._py_dloss})
            prog = (kinds, params, extra, state)
        f32 = st.w.dtype == np.float32
        return any(
            _k.may_fold_scale(cfg, st.scal[k, _k.SLOTS["t"]], st.scal[k, _k.SLOTS["wscale"]],
                              steps, f32, *prog)
            for k, cfg in enumerate(configs))

    def _map_problems(self, fn, configs):
        """``[fn(k, cfg) for k, cfg in enumerate(configs)]``, in up to
        ``n_jobs`` threads for one-vs-rest (scikit-learn's meaning of n_jobs;
        the kernel runs without the GIL). An exception of any problem is
        raised after all have stopped, the first in problem order."""
        n_jobs = getattr(self, "n_jobs", None)
        workers = min(effective_n_jobs(n_jobs), len(configs)) if n_jobs is not None else 1
        if workers <= 1:
            return [fn(k, cfg) for k, cfg in enumerate(configs)]
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(fn, k, cfg) for k, cfg in enumerate(configs)]
            wait(futures)
        return [f.result() for f in futures]

    def _transaction(self, X, fn):
        """Run ``fn()`` so that an exception (bad input, divergence, Ctrl-C)
        leaves the estimator as it was: attributes from a shallow copy of its
        ``__dict__``, the state arrays it changes in place from the snapshot
        ``_train`` takes before its first change (``_snapshot_before_change``:
        only the columns the call can touch, O(nnz) for CSR input)."""
        _BOUND.pop(id(self), None)   # rebuilt from the new state on next use
        saved = dict(self.__dict__)
        undo = []
        self.__dict__["_undo"] = undo
        try:
            return fn()
        except BaseException:
            for st, snap, cols in reversed(undo):
                st.restore(snap, cols)
            # put the old attributes back without ever emptying __dict__ (a
            # concurrent reader then sees the old or the new object, no gap)
            self.__dict__.update(saved)
            for key in [k for k in self.__dict__ if k not in saved]:
                self.__dict__.pop(key, None)
            raise
        finally:
            self.__dict__.pop("_undo", None)

    def _snapshot_before_change(self, cols):
        """Record what the running call is about to change in place."""
        undo = self.__dict__.get("_undo")
        if undo is not None:
            undo.append((self._state, self._state.snapshot(cols), cols))

    def _seeds(self, n):
        rs = check_random_state(self.random_state)
        return rs.randint(MAX_INT, size=n)

    @staticmethod
    def _pass(blk, aw, q, scal, oint, stamp, values, indices, indptr, target,
              sample_weight, order, loss, cfg, t, eta, track, prog, sstate, streaming):
        """One pass of the kernel over ``order``, in blocks of ``PASS_BLOCK``
        rows: Python checks for signals (Ctrl-C) between blocks, and as the
        kernel carries all its state (and running sums) across calls, the
        blocks give bitwise the result of one call. A KeyboardInterrupt
        between blocks propagates to the caller's transaction, which restores
        the model to its state before the public call."""
        sums = np.zeros(2)
        last_eta, last_plateau = np.nan, -1
        for lo in range(0, max(len(order), 1), PASS_BLOCK):
            status, t_new, sum_loss, sum_obj, eta_b, plateau = _k.sgd_epoch(
                blk, aw, q, scal, oint, stamp, values, indices, indptr, target,
                sample_weight, order[lo:lo + PASS_BLOCK], loss, cfg, t, eta, track,
                *prog, sstate, streaming, sums,
            )
            if np.isfinite(eta_b):
                last_eta = eta_b
            if plateau >= 0:
                last_plateau = plateau
            if status < 0:
                return status - lo, t_new, sum_loss, sum_obj, last_eta, last_plateau
            t = t_new
        return len(order), t, sums[0], sums[1], last_eta, last_plateau

    def _gradient_norm(self, k, X, y, sample_weight, cfg, loss, t):
        """Norm of the full gradient of problem k's regularised objective,
        (1/n) sum_i s_i L(y_i, w.x_i + b) + alpha R(w), at the model as it
        predicts now (averaged once averaging has started). s_i is the sample
        weight times the class weight; for L1 the minimum-norm subgradient."""
        st = self._state
        averaged = bool(self.average) and self.average <= t - 1
        coef, intercept = st.model(k, averaged, self.average)
        coef = coef.astype(np.float64)
        p = np.asarray(safe_sparse_dot(X, coef), dtype=np.float64).ravel() + intercept
        y = np.ascontiguousarray(y, dtype=np.float64)
        s = sample_weight * np.where(y > 0, cfg.weight_pos, cfg.weight_neg)
        r = loss.dloss_array(y, np.ascontiguousarray(p)) * s / y.shape[0]
        g = np.asarray(safe_sparse_dot(r, X), dtype=np.float64).ravel()
        l1_ratio = cfg.l1_ratio
        if cfg.penalty >= _k.PENALTIES["l2"]:
            g = g + cfg.alpha * (1.0 - l1_ratio) * coef
        if cfg.penalty in (_k.PENALTIES["l1"], _k.PENALTIES["elasticnet"]):
            lam = cfg.alpha * l1_ratio
            g = np.where(coef != 0, g + lam * np.sign(coef),
                         np.sign(g) * np.maximum(np.abs(g) - lam, 0.0))
        gb = r.sum() if self.fit_intercept else 0.0
        return float(np.sqrt(g @ g + gb * gb))

    def _finish_fit(self):
        # a partial_fit after fit starts where scikit-learn's would: at t_
        self._state.scal[:, _k.SLOTS["t"]] = self.t_
        if self.gtol is not None and self._gtol_unmet:
            warnings.warn(
                f"Maximum number of iteration reached before the norm of the gradient "
                f"fell below gtol={self.gtol}. Consider increasing max_iter.",
                ConvergenceWarning,
                stacklevel=3,
            )
        elif self.tol is not None and self.n_iter_ == self.max_iter:
            warnings.warn(
                "Maximum number of iteration reached before convergence. Consider "
                "increasing max_iter to improve the fit.",
                ConvergenceWarning,
                stacklevel=3,
            )

    # -- the single-event path ----------------------------------------------------

    def __setattr__(self, name, value):
        # a change of a parameter or of the state drops the bound learner; the
        # next event rebuilds it and validates the parameters again
        if name not in _BOOKKEEPING:
            _BOUND.pop(id(self), None)
        object.__setattr__(self, name, value)

    def _online(self):
        """The state bound for single events (``Online``): built once, after
        validating the parameters, and reused until a parameter, a spec
        object or the state changes."""
        fast = _BOUND.get(id(self))
        if fast is not None and fast.gen == _spec.GENERATION[0]:
            return fast
        check_is_fitted(self, "t_")
        opt = self._validate_params(for_partial_fit=True)
        d = self.__dict__
        if d.get("_opt") != opt:
            d["_opt"] = opt
        self._ensure_state_layout()
        st = self._state
        for name in ("blk", "aw", "q", "scal", "oint", "stamp", "sched_state"):
            setattr(st, name, np.ascontiguousarray(getattr(st, name)))
        loss = make_loss(self.loss, self.epsilon)
        if self._is_classifier:
            weights = self._problem_weights(self._class_weight(self.classes_, self.classes_))
            mode = 1 if len(self.classes_) == 2 else 2
            neg = 0.0 if self.loss == "log_loss" else -1.0
            labels = {c: i for i, c in enumerate(self.classes_.tolist())}
        else:
            weights, mode, neg, labels = [(1.0, 1.0)], 0, 0.0, None
        names = getattr(self, "feature_names_in_", None)
        prog = self._schedule_program(loss)
        fast = _k.Online(
            st.blk, st.aw, st.q, st.stamp, st.scal, st.oint, st.sched_state,
            st.interleaved, [self._config(loss, False, p, n) for p, n in weights],
            [self._config(loss, True, p, n) for p, n in weights], loss, mode, neg,
            st.plain, int(self.average), prog if prog[0] is not None else None, None,
            labels, None if names is None else {n: j for j, n in enumerate(names)},
            owner=self, classes=tuple(self.classes_) if self._is_classifier else None,
        )
        # the generation after validation: it builds spec objects of its own
        fast.gen = _spec.GENERATION[0]
        key = id(self)
        if key not in _WATCHED:   # once per estimator: forget it when collected
            _WATCHED.add(key)
            weakref.finalize(self, _forget, key)
        _BOUND[key] = fast
        return fast

    def _diverged(self, fast, what):
        """The DivergenceError of a failed bound call (which changed nothing)."""
        rate = fast.last_lr if fast.last_lr == fast.last_lr else self.__dict__.get("lr_")
        if fast.last_status == -1:
            raise DivergenceError.at(
                fast.last_t, rate, f"the prediction or the step became non-finite on {what}")
        raise DivergenceError.at(fast.last_t - 1, rate,
                                 "the weights or the optimizer state overflowed")

    def _learn_event(self, x, y, sample_weight):
        fast = self._online()
        if fast.learn_one(x, y, sample_weight) < 0:
            self._diverged(fast, "this event")
        return self

    def _first_event(self, x, y, sample_weight, **kw):
        """An unfitted model learns its first event through partial_fit,
        which sets up the state (and, from a dict, the feature names)."""
        names = None
        if isinstance(x, dict):
            names = list(x)
            x = np.asarray([list(x.values())])
        elif sp.issparse(x):
            pass
        else:
            x = np.asarray(x)
            if x.ndim != 1:
                raise ValueError(f"x must be one row (a 1-D array); got shape {x.shape}")
            x = x.reshape(1, -1)
        self.partial_fit(x, np.asarray([y]), sample_weight=np.asarray([sample_weight]), **kw)
        if names is not None:
            self.feature_names_in_ = np.asarray(names, dtype=object)
        return self

    def _decision_one(self, x):
        fast = self._online()
        out = np.empty(fast.n_problems)
        fast.decision_one(x, self._averaged(), self._state.average, out)
        return out

    def _predict_event(self, x):
        return self._online().predict_one(x, self._averaged(), self._state.average)

    def _small_call(self, X):
        """Whether a partial_fit call goes through the single-event path:
        a fitted model (without feature names) and a few rows of a plain
        ndarray or CSR matrix."""
        d = self.__dict__
        if "_state" not in d or "feature_names_in_" in d:
            return False
        if type(X) is np.ndarray:
            return X.ndim == 2 and 0 < X.shape[0] <= SMALL_CALL_ROWS and X.dtype.kind in "biuf"
        return (sp.issparse(X) and X.format == "csr" and X.ndim == 2
                and 0 < X.shape[0] <= SMALL_CALL_ROWS and X.dtype.kind in "biuf")

    def _small_partial_fit(self, X, targets, sample_weight):
        """partial_fit of a few rows on the bound state: the same kernel and
        arithmetic as the general path (so the same model, bitwise), without
        its per-call set-up. ``targets``: float64 label indices or values."""
        fast = self._online()
        n, d = X.shape
        if d != fast.n_features:
            raise ValueError(f"X has {d} features, but {type(self).__name__} is expecting "
                             f"{fast.n_features} features as input.")
        dtype = self._state.w.dtype
        sample_weight = _check_sample_weight(sample_weight, n, np.float64,
                                             allow_all_zero=self.early_stopping)
        values, indices, indptr = _as_kernel_input(X, dtype)
        if fast.learn_rows(values, indices, indptr, n, targets, sample_weight) < 0:
            self._diverged(fast, "a sample of this call")
        return self

    def _decision_small(self, X):
        """Decision values of a few rows on the bound state: O(nnz) instead
        of materialising coef_ (O(n_features)); None when it does not apply
        (the general path then validates and raises what is wrong)."""
        st = self._state
        if X.dtype != st.w.dtype and not (st.w.dtype == np.float64 and X.dtype.kind in "biuf"):
            return None   # a float32 model reads float64 rows in float64: general path
        try:
            fast = self._online()
        except (ValueError, TypeError):   # predict does not validate hyperparameters
            return None
        n, d = X.shape
        if d != fast.n_features:
            return None
        values, indices, indptr = _as_kernel_input(X, st.w.dtype)
        out = np.empty((n, fast.n_problems))
        fast.decision_rows(values, indices, indptr, n, self._averaged(), st.average, out)
        return out.astype(st.w.dtype, copy=False)

    def _decision(self, X):
        check_is_fitted(self, "t_")
        if self._small_call(X):
            out = self._decision_small(X)
            if out is not None:
                return out
        X = validate_data(self, X, accept_sparse="csr", reset=False)
        coef, intercept = self._coef_intercept()  # also right after sparsify()
        return safe_sparse_dot(X, coef.T, dense_output=True) + intercept

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


class SGDClassifier(ClassifierMixin, _BaseSGD):
    """Linear classifiers (SVM, logistic regression, ...) trained by SGD.

    A drop-in replacement for :class:`sklearn.linear_model.SGDClassifier`
    (scikit-learn 1.9): same parameters, defaults, attributes and results
    (with ``shuffle=False``, to floating-point noise), on streamlr's compiled
    per-sample loop. See scikit-learn's documentation for every parameter.

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
    * Labels outside ``classes`` in ``partial_fit`` raise a ``ValueError``.
    * ``intercept_`` has the dtype of ``coef_``.
    * ``shuffle=True`` uses NumPy's generator, so shuffled runs differ from
      scikit-learn's.

    Added attributes: ``progressive_loss_`` (mean loss of each sample just
    before learning from it) and ``lr_`` (learning rate of the last update).
    """

    _is_classifier = True

    def __init__(
        self,
        loss="hinge",
        *,
        penalty="l2",
        alpha=0.0001,
        l1_ratio=0.15,
        fit_intercept=True,
        max_iter=1000,
        tol=1e-3,
        shuffle=True,
        verbose=0,
        epsilon=0.1,
        n_jobs=None,
        random_state=None,
        learning_rate="optimal",
        eta0=0.01,
        power_t=0.5,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=5,
        class_weight=None,
        warm_start=False,
        average=False,
        optimizer="sgd",
        gtol=None,
    ):
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

    def _encode(self, label_idx, k):
        """Targets of binary problem k in the loss's encoding."""
        pos = 1 if len(self.classes_) == 2 else k
        neg = 0.0 if self.loss == "log_loss" else -1.0
        return _k.encode_targets(np.ascontiguousarray(label_idx, dtype=np.intp), pos, neg,
                                 self._state.w.dtype)

    def _class_weight(self, classes, y):
        if self.class_weight is None:  # the common case, without a pass over y
            return np.ones(len(classes))
        return compute_class_weight(self.class_weight, classes=classes, y=y)

    def _problem_weights(self, class_weight):
        if len(self.classes_) == 2:
            return [(class_weight[1], class_weight[0])]
        return [(cw, 1.0) for cw in class_weight]

    def _fit_chunk(self, X, label_idx, sample_weight, max_iter, class_weight, val_mask=None):
        loss = make_loss(self.loss, self.epsilon)
        sparse = sp.issparse(X)
        configs = [self._config(loss, sparse, p, n) for p, n in self._problem_weights(class_weight)]
        targets = [self._encode(label_idx, k) for k in range(len(configs))]
        scorer = None
        if val_mask is not None and val_mask.any():
            Xv, swv = X[val_mask], sample_weight[val_mask]
            _check_validation_rows_finite(Xv)
            tv = [t[val_mask] for t in targets]

            def scorer(k):
                # accuracy of the current binary model on its own labels
                coef, icpt = self._state.materialize(False)
                pred = safe_sparse_dot(Xv, coef[k]) + icpt[k] > 0
                return float(np.average(pred == (tv[k] > 0), weights=swv))

        seeds = self._seeds(len(configs))
        n_iter = self._train(X, targets, sample_weight, configs, loss, max_iter,
                             seeds, val_mask, scorer)
        self.n_iter_ = n_iter
        self.t_ += n_iter * X.shape[0]

    def _validate_xy(self, X, y, reset):
        # Finiteness of X is checked by the kernel as it reads each row (a
        # non-finite value makes the prediction non-finite); the call is then
        # undone and a ValueError names the row. This saves a pass over X.
        X, y = validate_data(
            self, X, y, accept_sparse="csr", dtype=[np.float64, np.float32],
            order="C", accept_large_sparse=False, reset=reset,
            ensure_all_finite=False,
        )
        if X.shape[0] == 0:
            raise ValueError("Found array with 0 sample(s) (shape=%s)." % (X.shape,))
        return X, y

    def _label_index(self, y, classes):
        """Index of each label in ``classes`` (sorted); labels outside raise."""
        idx, bad = _k.label_indices(y, classes)   # one compiled pass when numeric
        if idx is not None:
            return idx
        if bad >= 0:
            raise ValueError(
                f"y contains labels not in classes: {np.unique(y[bad:][~np.isin(y[bad:], classes)])[:10]!r}; "
                f"classes are {classes!r}"
            )
        idx = np.searchsorted(classes, y)
        np.clip(idx, 0, len(classes) - 1, out=idx)
        bad = classes[idx] != y
        if bad.any():
            raise ValueError(
                f"y contains labels not in classes: {np.unique(y[bad])[:10]!r}; "
                f"classes are {classes!r}"
            )
        return idx

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Learn from one chunk of a stream: one pass of SGD over its rows.

        The model after any sequence of ``partial_fit`` calls equals the
        model after one call over the concatenated rows (``shuffle=False``),
        bitwise. ``classes`` is required on the first call.
        """
        if classes is None and self._small_call(X):
            y_small = np.asarray(y)
            if y_small.ndim == 1 and y_small.shape[0] == X.shape[0]:
                idx = self._label_index(y_small, self.classes_).astype(np.float64)
                return self._small_partial_fit(X, idx, sample_weight)
        return self._transaction(X, lambda: self._partial_fit(X, y, classes, sample_weight))

    def learn_one(self, x, y, sample_weight=1.0, *, classes=None):
        """Learn from one event: ``x`` a 1-D array, a 1-row CSR matrix, or a
        dict of feature name to value (a model fitted on named features;
        missing names are 0), ``y`` its label. The model equals, bitwise, the
        one ``partial_fit`` trains on the same rows; per event the work is
        O(non-zeros of x) (dense models: O(n_features)), with no per-call
        validation beyond the event itself. ``classes`` is needed on the
        first event of an unfitted model, as in ``partial_fit``.
        """
        if "_state" not in self.__dict__:
            if classes is None:
                raise ValueError("classes must be passed on the first call to learn_one "
                                 "(or fit / partial_fit the model first).")
            return self._first_event(x, y, sample_weight, classes=classes)
        if classes is not None and not np.array_equal(self.classes_, unique_labels(classes)):
            raise ValueError(f"`classes={classes!r}` is not the same as the model's "
                             f"classes_ {self.classes_!r}")
        return self._learn_event(x, y, sample_weight)

    def predict_one(self, x):
        """The predicted label of one event (``x`` as in ``learn_one``)."""
        return self._predict_event(x)

    @available_if(lambda self: self._check_proba())
    def predict_proba_one(self, x):
        """Class probabilities of one event, as a dict {label: probability}
        (River's convention), computed as ``predict_proba`` does."""
        proba = self._proba_from_scores(self._decision_one(x)[None, :])[0]
        return dict(zip(self.classes_.tolist(), proba.tolist()))

    def _partial_fit(self, X, y, classes, sample_weight):
        first = "_state" not in self.__dict__
        self._opt = self._validate_params(for_partial_fit=True)
        if first:
            if self.class_weight == "balanced":
                raise ValueError(
                    "class_weight 'balanced' is not supported for partial_fit. In order "
                    "to use 'balanced' weights, use compute_class_weight('balanced', "
                    "classes=classes, y=y) on a large enough sample of the stream and "
                    "pass the resulting weights as the class_weight parameter."
                )
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit.")
        X, y = self._validate_xy(X, y, reset=first)
        if first:
            classes_ = unique_labels(classes)
            if len(classes_) < 2:
                raise ValueError(
                    "The number of classes has to be greater than one; got %d class"
                    % len(classes_)
                )
        else:
            classes_ = self.classes_
            if classes is not None and not np.array_equal(classes_, unique_labels(classes)):
                raise ValueError(
                    f"`classes={classes!r}` is not the same as on last call to "
                    f"partial_fit, was: {classes_!r}"
                )
            if X.dtype != self._state.w.dtype:
                X = X.astype(self._state.w.dtype)
        label_idx = self._label_index(y, classes_)
        sample_weight = _check_sample_weight(sample_weight, X.shape[0], X.dtype,
                                             allow_all_zero=self.early_stopping)
        class_weight = self._class_weight(classes_, y)
        if first:
            self.classes_ = classes_
            k = 1 if len(classes_) == 2 else len(classes_)
            self._new_state(k, X.shape[1], X.dtype, sparse=sp.issparse(X))
            self.t_ = 1.0
        else:
            self._ensure_state_layout()
        self._fit_chunk(X, label_idx, sample_weight, None, class_weight)
        return self

    def fit(self, X, y, coef_init=None, intercept_init=None, sample_weight=None):
        """Fit by SGD for up to ``max_iter`` epochs (scikit-learn's ``fit``)."""
        return self._transaction(
            X, lambda: self._fit(X, y, coef_init, intercept_init, sample_weight)
        )

    def _fit(self, X, y, coef_init, intercept_init, sample_weight):
        self._opt = self._validate_params()
        X, y = self._validate_xy(X, y, reset=True)
        check_classification_targets(y)
        classes, label_idx = np.unique(y, return_inverse=True)
        if len(classes) < 2:
            raise ValueError(
                "The number of classes has to be greater than one; got %d class"
                % len(classes)
            )
        k = 1 if len(classes) == 2 else len(classes)
        d = X.shape[1]
        if self.warm_start and "_state" in self.__dict__ and coef_init is None:
            coef_init = self.coef_.toarray() if sp.issparse(self.coef_) else self.coef_
            if intercept_init is None:
                intercept_init = self.intercept_
        if coef_init is not None:
            coef_init = np.asarray(coef_init, dtype=X.dtype)
            if coef_init.size != k * d or (k > 1 and coef_init.shape != (k, d)):
                raise ValueError("Provided coef_init does not match dataset.")
        if intercept_init is not None:
            intercept_init = np.asarray(intercept_init, dtype=np.float64)
            if intercept_init.size != k:
                raise ValueError("Provided intercept_init does not match dataset.")
        sample_weight = _check_sample_weight(sample_weight, X.shape[0], X.dtype,
                                             allow_all_zero=self.early_stopping)
        class_weight = self._class_weight(classes, y)
        val_mask = self._validation_mask(y, sample_weight)
        self.classes_ = classes
        self._new_state(
            k, d, X.dtype,
            coef=None if coef_init is None else coef_init.reshape(k, d),
            intercept=None if intercept_init is None else intercept_init.reshape(k),
            sparse=sp.issparse(X),
        )
        self.t_ = 1.0
        self._fit_chunk(X, label_idx, sample_weight, self.max_iter, class_weight, val_mask)
        self._finish_fit()
        return self

    def decision_function(self, X):
        """Signed distance to the hyperplane, per class (1-D when binary)."""
        scores = self._decision(X)
        return scores.ravel() if scores.shape[1] == 1 else scores

    def predict(self, X):
        """Predicted class labels."""
        scores = self.decision_function(X)
        if scores.ndim == 1:
            idx = (scores > 0).astype(int)
        else:
            idx = scores.argmax(axis=1)
        return self.classes_[idx]

    def _check_proba(self):
        if self.loss not in ("log_loss", "modified_huber"):
            raise AttributeError(
                "probability estimates are not available for loss=%r" % self.loss
            )
        return True

    @available_if(_check_proba)
    def predict_proba(self, X):
        """Probability estimates (``log_loss`` and ``modified_huber`` only).

        Binary ``log_loss``: the logistic function of the decision function;
        one-vs-rest: normalised binary estimates (Zadrozny and Elkan 2002).
        ``modified_huber``: ``(clip(decision, -1, 1) + 1) / 2``, normalised.
        """
        check_is_fitted(self, "t_")
        scores = self._decision(X)
        return self._proba_from_scores(scores)

    def _proba_from_scores(self, scores):
        if scores.shape[1] == 1:
            scores = scores.ravel()
        binary = scores.ndim == 1
        if self.loss == "log_loss":
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
        """Log of ``predict_proba``."""
        return np.log(self.predict_proba(X))


class SGDRegressor(RegressorMixin, _BaseSGD):
    """Linear regression trained by SGD (squared error, Huber, epsilon-insensitive).

    A drop-in replacement for :class:`sklearn.linear_model.SGDRegressor`
    (scikit-learn 1.9) on streamlr's compiled per-sample loop; see
    :class:`SGDClassifier` for the deliberate differences from scikit-learn
    and the added attributes ``progressive_loss_`` and ``lr_``.
    """

    def __init__(
        self,
        loss="squared_error",
        *,
        penalty="l2",
        alpha=0.0001,
        l1_ratio=0.15,
        fit_intercept=True,
        max_iter=1000,
        tol=1e-3,
        shuffle=True,
        verbose=0,
        epsilon=0.1,
        random_state=None,
        learning_rate="invscaling",
        eta0=0.01,
        power_t=0.25,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=5,
        warm_start=False,
        average=False,
        optimizer="sgd",
        gtol=None,
    ):
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

    def _validate_xy(self, X, y, reset):
        X, y = validate_data(
            self, X, y, accept_sparse="csr", dtype=[np.float64, np.float32],
            order="C", accept_large_sparse=False, reset=reset, y_numeric=True,
            ensure_all_finite=False,  # X: checked by the kernel, see the classifier
        )
        if X.shape[0] == 0:
            raise ValueError("Found array with 0 sample(s) (shape=%s)." % (X.shape,))
        _check_targets_finite(y)
        return X, np.ascontiguousarray(y, dtype=X.dtype)

    def _fit_chunk(self, X, y, sample_weight, max_iter, val_mask=None):
        loss = make_loss(self.loss, self.epsilon)
        cfg = self._config(loss, sp.issparse(X))
        scorer = None
        if val_mask is not None and val_mask.any():
            Xv, yv, swv = X[val_mask], y[val_mask], sample_weight[val_mask]
            _check_validation_rows_finite(Xv)

            def scorer(k):
                coef, icpt = self._state.materialize(False)
                return r2_score(yv, safe_sparse_dot(Xv, coef[0]) + icpt[0], sample_weight=swv)

        seeds = self._seeds(1)
        n_iter = self._train(X, [y], sample_weight, [cfg], loss, max_iter, seeds,
                             val_mask, scorer)
        self.n_iter_ = n_iter
        self.t_ += n_iter * X.shape[0]

    def partial_fit(self, X, y, sample_weight=None):
        """Learn from one chunk of a stream: one pass of SGD over its rows.

        Any chunking of a stream trains bitwise the same model as one call
        (``shuffle=False``)."""
        if self._small_call(X):
            y_small = np.asarray(y)
            if (y_small.ndim == 1 and y_small.shape[0] == X.shape[0]
                    and y_small.dtype.kind in "biuf"):
                y_small = y_small.astype(np.float64)
                _check_targets_finite(y_small)
                return self._small_partial_fit(X, y_small, sample_weight)
        return self._transaction(X, lambda: self._partial_fit(X, y, sample_weight))

    def learn_one(self, x, y, sample_weight=1.0):
        """Learn from one event (``x`` a 1-D array, a 1-row CSR matrix, or a
        dict of feature name to value; ``y`` its target): bitwise the model
        ``partial_fit`` trains on the same rows, at O(non-zeros of x) per event.
        """
        if "_state" not in self.__dict__:
            return self._first_event(x, y, sample_weight)
        return self._learn_event(x, y, sample_weight)

    def predict_one(self, x):
        """The predicted target of one event (``x`` as in ``learn_one``)."""
        return self._predict_event(x)

    def _partial_fit(self, X, y, sample_weight):
        first = "_state" not in self.__dict__
        self._opt = self._validate_params(for_partial_fit=True)
        X, y = self._validate_xy(X, y, reset=first)
        if not first and X.dtype != self._state.w.dtype:
            X = X.astype(self._state.w.dtype)
            y = y.astype(X.dtype)
        sample_weight = _check_sample_weight(sample_weight, X.shape[0], X.dtype)
        if first:
            self._new_state(1, X.shape[1], X.dtype, sparse=sp.issparse(X))
            self.t_ = 1.0
        else:
            self._ensure_state_layout()
        self._fit_chunk(X, y, sample_weight, None)
        return self

    def fit(self, X, y, coef_init=None, intercept_init=None, sample_weight=None):
        """Fit by SGD for up to ``max_iter`` epochs (scikit-learn's ``fit``)."""
        return self._transaction(
            X, lambda: self._fit(X, y, coef_init, intercept_init, sample_weight)
        )

    def _fit(self, X, y, coef_init, intercept_init, sample_weight):
        self._opt = self._validate_params()
        X, y = self._validate_xy(X, y, reset=True)
        d = X.shape[1]
        if self.warm_start and "_state" in self.__dict__ and coef_init is None:
            coef_init = self.coef_.toarray() if sp.issparse(self.coef_) else self.coef_
            if intercept_init is None:
                intercept_init = self.intercept_
        if coef_init is not None:
            coef_init = np.asarray(coef_init, dtype=X.dtype).ravel()
            if coef_init.shape != (d,):
                raise ValueError("Provided coef_init does not match dataset.")
        if intercept_init is not None:
            intercept_init = np.asarray(intercept_init, dtype=np.float64)
            if intercept_init.shape not in ((1,), ()):
                raise ValueError("Provided intercept_init does not match dataset.")
        sample_weight = _check_sample_weight(sample_weight, X.shape[0], X.dtype)
        val_mask = self._validation_mask(y, sample_weight)
        self._new_state(1, d, X.dtype, coef=coef_init,
                        intercept=None if intercept_init is None else intercept_init.reshape(1),
                        sparse=sp.issparse(X))
        self.t_ = 1.0
        self._fit_chunk(X, y, sample_weight, self.max_iter, val_mask)
        self._finish_fit()
        return self

    def predict(self, X):
        """Predicted targets."""
        return self._decision(X).ravel()
