"""The learning core of the estimators, without scikit-learn or SciPy.

``LearnerCore`` (model state, transactions, the general and small-call
paths, decision values), ``ClassifierCore`` (targets, class weights and
counts, one streaming chunk) and ``RegressorCore`` hold what
``SGDClassifier``/``SGDRegressor`` do once their inputs are checked; the
estimators add scikit-learn's API (validation, ``fit``, scores) on top.
The command line's headless learner (``_headless``) shares this core, so
that ``streamlr train`` learns by the same calls without importing
scikit-learn, SciPy or pandas.
"""
import numpy as np

from .. import _registry
from .._crossed import CrossedRows
from .._kernels import kernel as _k
from . import _driver, _params
from ._input import (
    as_kernel_input,
    check_sample_weight,
    check_targets_finite,
    check_validation_rows_finite,
    is_sparse,
)
from ._state import ModelState

# partial_fit and predict calls with at most this many rows take the
# bound engine's compiled path (the same loop, without per-call set-up)
SMALL_CALL_ROWS = 64


def _not_fitted(est, name):
    return AttributeError(f"{type(est).__name__} has no attribute {name!r} (not fitted)")


class LearnerCore:
    """The model's state and the ways into the engine, shared by the estimators."""

    _is_classifier = False
    # a failed call puts every coordinate back (False: the caller drops the
    # model after a failure, so a call over every column copies none)
    _undo_all_coordinates = True

    def _fitted_model(self, name):
        model = self.__dict__.get("_model")
        if model is None:
            raise _not_fitted(self, name)
        return model

    def _progressive_loss(self):
        total, n = self._model.progressive_totals()
        return total / n if n else float("nan")

    def _new_model(self, optimizer, n_problems, n_features, dtype, coef=None, intercept=None,
                   sparse=False):
        # the layout follows the first call's input: interleaved for CSR
        # streams, one array per slot for dense ones (both work for both)
        members = _params.race_members(self, optimizer)
        self._model = ModelState(
            n_problems, n_features, dtype, average=int(self.average),
            l1=self.penalty in ("l1", "elasticnet"), optimizer=optimizer, coef=coef,
            intercept=intercept, interleaved=sparse, members=members,
            default_copy=0 if members is None else _params.race_default(self, optimizer, members))

    def _prepare_model(self, optimizer):
        model = self._model
        model.prepare(optimizer, self.average, self.penalty in ("l1", "elasticnet"),
                      model.progress.t, _params.race_members(self, optimizer))

    def _transaction(self, fn):
        return _driver.Transaction(self).run(fn)

    def _event_engine(self):
        """The bound engine of events, or None when it cannot be bound (a
        hyperparameter is invalid: predictions do not validate them, and
        then take the same routine through the model's state)."""
        try:
            return _driver.current_engine(self)
        except (ValueError, TypeError):
            return None

    def _small_call(self, X):
        """Whether a call goes through the bound engine: a fitted model
        (without feature names) and a few rows of a plain ndarray or CSR
        matrix."""
        d = self.__dict__
        if "_model" not in d or "feature_names_in_" in d:
            return False
        if type(X) is np.ndarray:
            return X.ndim == 2 and 0 < X.shape[0] <= SMALL_CALL_ROWS and X.dtype.kind in "biuf"
        return (is_sparse(X) and X.format == "csr" and X.ndim == 2
                and 0 < X.shape[0] <= SMALL_CALL_ROWS and X.dtype.kind in "biuf")

    def _split_crossed(self, X):
        """(X, rows): rows whose interactions the loop crosses as
        ``(their own features, the CrossedRows)``; a call of a few rows (the
        bound engine's) takes them crossed, as a matrix, and anything else
        is as it is (rows None)."""
        if not isinstance(X, CrossedRows):
            return X, None
        if self._small_call(X.X):
            return X.materialize(), None
        return X.X, X

    def _small_partial_fit(self, X, targets, sample_weight):
        """partial_fit of a few rows on the bound engine: the same loop and
        arithmetic as the general path (so the same model, bitwise), without
        its per-call set-up. ``targets``: float64 label indices or values."""
        _driver.learn_rows(self, X, targets, sample_weight)
        return self

    def _decision_small(self, X):
        """Decision values of a few rows: no validation of the estimator's
        attributes beyond the number of features; None when that differs
        (the general path then raises what is wrong). Through the bound
        engine's view of the state when the rows are in the model's dtype
        (no per-call set-up), else through the model's state: the same
        routine either way."""
        model = self._model
        engine = self._event_engine()
        if engine is None or X.dtype != (np.float32 if engine.f32 else np.float64):
            if X.shape[1] != model.w.shape[1]:
                return None
            return self._decide_rows(X, check_finite=True)
        n, d = X.shape
        if d != engine.n_features:
            return None
        values, indices, indptr = as_kernel_input(X)
        out = np.empty((n, engine.n_outputs))
        engine.decision_rows(values, indices, indptr, n, model.averaged(), model.average, out)
        return out.astype(X.dtype, copy=False)

    def _decide_rows(self, X, check_finite, rounded=True, crossed=None):
        """Decision values (n, n_outputs) of a plain ndarray or CSR matrix by
        the one prediction routine (``_kernels/dot.pxi``), as the single
        events compute them: bitwise a function of the model and the row.
        The output's dtype is NumPy's promotion of X's and the model's
        (float32 only for float32 rows and a float32 model); ``rounded=False``:
        the float64 values before that rounding (a float32 race's, as the
        single-event calls return them). ``crossed``: the CrossedRows whose
        own features X holds, crossed row by row."""
        model = self._model
        dtype = np.result_type(X.dtype, model.w.dtype)
        if dtype != np.float32:
            dtype = np.dtype(np.float64)
        values, indices, indptr = as_kernel_input(X, dtype)
        n = X.shape[0]
        out = np.empty((n, model.n_outputs))
        _k.decision_rows(model, values, indices, indptr, n, model.averaged(), model.average,
                         out, check_finite, None if crossed is None else crossed.spec(values.dtype))
        return out.astype(dtype, copy=False) if rounded else out

    def _train_chunk(self, tx, optimizer, X, targets, sample_weight, configs, loss, max_iter,
                     val_mask=None, scorer=None):
        call = _driver.Call(self, optimizer, X, targets, sample_weight, configs, loss, max_iter,
                            val_mask, scorer)
        return _driver.train(tx, call)

    def _configs(self, optimizer, loss, sparse, weights):
        return _params.make_configs(self, optimizer, loss, sparse, self._model, weights)

class ClassifierCore(LearnerCore):
    """The classifier's targets and its streaming chunk (``partial_fit`` after its checks)."""

    _is_classifier = True

    def _negative_target(self):
        return _registry.loss(self.loss).negative_target

    def _encode(self, label_idx, k):
        """Targets of binary problem k in the loss's encoding."""
        pos = 1 if len(self.classes_) == 2 else k
        return _k.encode_targets(np.ascontiguousarray(label_idx, dtype=np.intp), pos,
                                 self._negative_target(), self._model.w.dtype)

    def _softmax(self):
        """Whether the model is one softmax over three classes or more."""
        return self.multi_class == "multinomial" and len(self.classes_) > 2

    def _target_encoding(self):
        """(mode, negative target, label -> index, classes) for the engine."""
        mode = 1 if len(self.classes_) == 2 else (3 if self._softmax() else 2)
        labels = {c: i for i, c in enumerate(self.classes_.tolist())}
        return mode, self._negative_target(), labels, tuple(self.classes_)

    def _class_weight(self, classes, y, streaming=False):
        if self.class_weight is None:  # the common case, without a pass over y
            return np.ones(len(classes))
        if streaming and _params.streaming_balanced(self):
            return np.ones(len(classes))    # per sample instead: _balanced_weights
        from sklearn.utils import compute_class_weight

        return compute_class_weight(self.class_weight, classes=classes, y=y)

    def _class_counts_state(self):
        """The model's class counts (zeros for a model saved before them)."""
        model = self._model
        if model.class_counts.shape != (len(self.classes_),):
            model.class_counts = np.zeros(len(self.classes_), dtype=np.int64)
        return model.class_counts

    def _count_classes(self, label_idx, sample_weight):
        """Count a streaming chunk's classes (a new array: a failed call puts
        the old one back) and return its sample weights in the model's
        dtype: with class_weight="balanced", each times n / (K n_c) of the
        running counts, this sample included, in float64 as the event path
        computes it (events.pxi, _count_classes)."""
        counts = self._class_counts_state()
        K = len(counts)
        label_idx = np.asarray(label_idx, dtype=np.intp)
        if _params.streaming_balanced(self):
            seen = np.zeros(len(label_idx), dtype=np.int64)
            for c in np.unique(label_idx):
                mask = label_idx == c
                seen[mask] = counts[c] + np.arange(1, mask.sum() + 1)
            n = counts.sum() + np.arange(1, len(label_idx) + 1)
            weight = n.astype(np.float64) / (float(K) * seen.astype(np.float64))
            sample_weight = (sample_weight * weight).astype(self._model.w.dtype)
        self._model.class_counts = counts + np.bincount(label_idx, minlength=K)
        return sample_weight

    def _problem_weights(self, class_weight):
        if len(self.classes_) == 2:
            return [(class_weight[1], class_weight[0])]
        return [(cw, 1.0) for cw in class_weight]

    def _event_problem_weights(self):
        return self._problem_weights(self._class_weight(self.classes_, self.classes_, True))

    def _label_index(self, y, classes):
        """Index of each label in ``classes`` (sorted); labels outside raise."""
        idx, bad = _k.label_indices(y, classes)   # one compiled pass when numeric
        if idx is not None:
            return idx
        if bad >= 0:
            unknown = np.unique(y[bad:][~np.isin(y[bad:], classes)])[:10]
            raise ValueError(f"y contains labels not in classes: {unknown!r}; "
                             f"classes are {classes!r}")
        idx = np.searchsorted(classes, y)
        np.clip(idx, 0, len(classes) - 1, out=idx)
        bad = classes[idx] != y
        if bad.any():
            raise ValueError(f"y contains labels not in classes: {np.unique(y[bad])[:10]!r}; "
                             f"classes are {classes!r}")
        return idx

    def _fit_chunk(self, tx, optimizer, X, label_idx, sample_weight, max_iter, class_weight,
                   val_mask=None, targets=None):
        """``targets``: each problem's encoded targets, if already made
        (else from ``label_idx``); ``sample_weight`` None: all 1."""
        loss = _params.make_loss(self)
        configs = self._configs(optimizer, loss, is_sparse(X),
                                self._problem_weights(class_weight))
        if self._softmax():
            return self._fit_softmax_chunk(tx, optimizer, X, label_idx, sample_weight, configs,
                                           loss, max_iter, val_mask)
        if targets is None:
            targets = [self._encode(label_idx, k) for k in range(self._model.n_outputs)]
        scorer = None
        if val_mask is not None and val_mask.any():
            Xv, swv = X[val_mask], sample_weight[val_mask]
            check_validation_rows_finite(Xv)
            tv = [t[val_mask] for t in targets]

            def scorer(k):
                # accuracy of the current binary model on its own labels
                from sklearn.utils.extmath import safe_sparse_dot

                coef, icpt = self._model.materialize(False)
                pred = safe_sparse_dot(Xv, coef[k]) + icpt[k] > 0
                return float(np.average(pred == (tv[k] > 0), weights=swv))

        return self._train_chunk(tx, optimizer, X, targets, sample_weight, configs, loss, max_iter,
                                 val_mask, scorer)

    def _fit_softmax_chunk(self, tx, optimizer, X, label_idx, sample_weight, configs, loss,
                           max_iter, val_mask):
        # the softmax model's targets: the label index of each row
        labels = np.ascontiguousarray(label_idx, dtype=self._model.w.dtype)
        scorer = None
        if val_mask is not None and val_mask.any():
            Xv, swv, lv = X[val_mask], sample_weight[val_mask], label_idx[val_mask]
            check_validation_rows_finite(Xv)

            def scorer(k):
                # accuracy of the current softmax model
                from sklearn.utils.extmath import safe_sparse_dot

                coef, icpt = self._model.materialize(False)
                pred = np.asarray(safe_sparse_dot(Xv, coef.T)) + icpt
                return float(np.average(pred.argmax(axis=1) == lv, weights=swv))

        call = _driver.Call(self, optimizer, X, [labels], sample_weight, configs, loss, max_iter,
                            val_mask, scorer)
        call.softmax = True
        return _driver.train(tx, call)

    def _learn_chunk(self, tx, optimizer, X, y, classes_, sample_weight, first):
        """Learn a checked streaming chunk (X in the model's dtype, ``classes_``
        sorted): its class counts and weights, the model made by the first
        call, one pass of the engine."""
        balanced = _params.streaming_balanced(self)
        # two classes: the targets straight from the labels (one compiled
        # pass, no index array); else, or for an unknown label, the indices
        targets, n_pos, label_idx = None, 0, None
        if len(classes_) == 2 and not balanced:
            targets, n_pos, _ = _k.binary_targets(y, classes_, self._negative_target(), X.dtype)
        if targets is None:
            label_idx = self._label_index(y, classes_)
        # balanced: the weights are computed in float64, then the model's
        # dtype; None (all 1) stays None down to the loop
        if sample_weight is not None or balanced:
            sample_weight = check_sample_weight(sample_weight, X.shape[0],
                                                np.float64 if balanced else X.dtype,
                                                allow_all_zero=self.early_stopping)
        class_weight = self._class_weight(classes_, y, streaming=True)
        if first:
            self.classes_ = classes_
            k = 1 if len(classes_) == 2 else len(classes_)
            self._new_model(optimizer, k, X.shape[1], X.dtype, sparse=is_sparse(X))
            self._model.class_counts = np.zeros(len(classes_), dtype=np.int64)
        else:
            self._prepare_model(optimizer)
        if targets is not None:
            n_rows = X.shape[0]
            self._model.class_counts = self._class_counts_state() + np.array(
                [n_rows - n_pos, n_pos], dtype=np.int64)
        else:
            sample_weight = self._count_classes(label_idx, sample_weight)
        self._fit_chunk(tx, optimizer, X, label_idx, sample_weight, None, class_weight,
                        targets=None if targets is None else [targets])
        return self


class RegressorCore(LearnerCore):
    """The regressor's targets, link and streaming chunk (``partial_fit`` after its checks)."""

    def _target_encoding(self):
        return 0, 0.0, None, None

    def _event_problem_weights(self):
        return [(1.0, 1.0)]

    def _fit_chunk(self, tx, optimizer, X, y, sample_weight, max_iter, val_mask=None):
        loss = _params.make_loss(self)
        configs = self._configs(optimizer, loss, is_sparse(X), [(1.0, 1.0)])
        scorer = None
        if val_mask is not None and val_mask.any():
            Xv, yv, swv = X[val_mask], y[val_mask], sample_weight[val_mask]
            check_validation_rows_finite(Xv)

            def scorer(k):
                from sklearn.utils.extmath import safe_sparse_dot

                coef, icpt = self._model.materialize(False)
                return self._score_values(yv, self._link(safe_sparse_dot(Xv, coef[0]) + icpt[0]),
                                          swv)

        return self._train_chunk(tx, optimizer, X, [y], sample_weight, configs, loss, max_iter,
                                 val_mask, scorer)

    def _log_link(self):
        return _registry.loss(self.loss).link == "log"

    def _link(self, d):
        if self._log_link():
            # the C library's exp, as predict_one (the engine) takes it: the
            # same value for the same row, whatever the path
            from .._kernels.losses import exp_link

            d = np.asarray(d)
            mean = exp_link(np.ascontiguousarray(d, dtype=np.float64).ravel())
            return mean.reshape(d.shape).astype(d.dtype, copy=False)
        return d

    def _stream_rows(self, X, y, sample_weight):
        """``partial_fit`` of rows of a kind the estimator takes (hashed
        already): a few rows through the bound engine, else one transaction
        of ``_partial_fit``, crossed rows crossed by the loop."""
        X, crossed = self._split_crossed(X)
        if self._small_call(X):
            y_small = np.asarray(y)
            if (y_small.ndim == 1 and y_small.shape[0] == X.shape[0]
                    and y_small.dtype.kind in "biuf"):
                y_small = y_small.astype(np.float64)
                check_targets_finite(y_small)
                return self._small_partial_fit(X, y_small, sample_weight)
        return self._transaction(
            lambda tx: self._partial_fit(tx.crossing(crossed), X, y, sample_weight))

    def _learn_chunk(self, tx, optimizer, X, y, sample_weight, first):
        """Learn a checked streaming chunk: the model made by the first call,
        one pass of the engine."""
        if not first and X.dtype != self._model.w.dtype:
            X = X.astype(self._model.w.dtype)
            y = y.astype(X.dtype)
        if sample_weight is not None:   # None (all 1) stays None down to the loop
            sample_weight = check_sample_weight(sample_weight, X.shape[0], X.dtype)
        if first:
            self._new_model(optimizer, 1, X.shape[1], X.dtype, sparse=is_sparse(X))
        else:
            self._prepare_model(optimizer)
        self._fit_chunk(tx, optimizer, X, y, sample_weight, None)
        return self
