"""Preprocessing for streams: a standard scaler that also learns one event at a time.

Public name: :class:`StandardScaler`.
"""
import copy

import numpy as np
import scipy.sparse as sp
from sklearn.preprocessing import StandardScaler as _SkStandardScaler

from ._kernels import _scaler

__all__ = ["StandardScaler"]


class StandardScaler(_SkStandardScaler):
    r"""Standardise features by a running mean and variance, in batches or per event.

    scikit-learn's :class:`sklearn.preprocessing.StandardScaler` (the same
    parameters, fitted attributes, ``fit``, ``partial_fit``, ``transform``,
    ``inverse_transform``, ``get_feature_names_out``, dense and sparse input,
    ``sample_weight``), with a compiled per-event path: :meth:`learn_one`
    updates ``mean_``, ``var_``, ``scale_`` and ``n_samples_seen_`` in place
    from one event and :meth:`transform_one` standardises one event, both
    without per-call validation beyond the event itself.

    Parameters
    ----------
    copy : bool, default=True
        If False, ``transform`` scales a dense float array in place.
    with_mean : bool, default=True
        Centre the data before scaling (refused for sparse input, as in
        scikit-learn).
    with_std : bool, default=True
        Scale the data to unit variance.

    Attributes
    ----------
    scale_ : ndarray of shape (n_features,) or None
        Per-feature scale, :math:`\sqrt{\mathrm{var}}`, 1 for (near) constant
        features; None when ``with_std=False``.
    mean_ : ndarray of shape (n_features,) or None
        Running mean; None when ``with_mean=False`` and ``with_std=False``.
    var_ : ndarray of shape (n_features,) or None
        Running (population) variance; None when ``with_std=False``.
    n_features_in_ : int
        Number of features seen during the first fit.
    feature_names_in_ : ndarray of shape (n_features,)
        Feature names (a DataFrame's columns, or the keys of the first dict
        event), when there are any.
    n_samples_seen_ : float or ndarray of shape (n_features,)
        The (weighted) number of samples seen per feature; one number when no
        value was missing.

    See Also
    --------
    streamlr.pipeline.make_pipeline : Chain this scaler and an estimator,
        in batches or per event.
    sklearn.preprocessing.StandardScaler : The batch scaler this one extends.

    Notes
    -----
    After :math:`n` (weighted) samples with mean :math:`m` and variance
    :math:`v`, an event :math:`x` of weight :math:`w` gives

    .. math::

        m' = \frac{n m + w x}{n + w}, \qquad
        v' = \frac{n v + \frac{n w}{n + w} (m - x)^2}{n + w},

    per feature, computed as scikit-learn's incremental formula (Chan, Golub
    and LeVeque's update) computes it, operation for operation in float64 and without fused
    multiply-adds: ``learn_one`` on events one by one gives, bitwise, the
    state that scikit-learn's ``partial_fit`` on the same one-row arrays
    gives. ``partial_fit`` on chunks agrees with it to rounding (the batch
    sums are ordered differently). An event with a missing (NaN) value, a
    sparse event, or a state with per-feature counts is learnt through
    ``partial_fit`` itself (slower, the same result). Events are read as
    float64; ``transform_one`` returns float64.

    The in-place update means that an array taken from ``mean_``, ``var_`` or
    ``scale_`` before ``learn_one`` sees the new values (``partial_fit``
    replaces them instead).

    Examples
    --------
    >>> import numpy as np
    >>> from streamlr.preprocessing import StandardScaler
    >>> scaler = StandardScaler()
    >>> for x in np.array([[0.0, 1.0], [2.0, 1.0], [4.0, 1.0]]):
    ...     _ = scaler.learn_one(x)
    >>> scaler.mean_, scaler.var_
    (array([2., 1.]), array([2.66666667, 0.        ]))
    >>> scaler.transform_one(np.array([4.0, 1.0]))
    array([1.22474487, 0.        ])
    """

    # -- one event ----------------------------------------------------------------------

    def learn_one(self, x, sample_weight=None):
        """Update the running statistics with one event.

        Parameters
        ----------
        x : 1-D array, 1-row matrix, or dict
            The event. A dict maps feature names to values: the first dict
            event sets ``feature_names_in_`` (its keys, in order); later ones
            may omit names (read as 0) but not add any.
        sample_weight : float, optional
            The event's weight (scikit-learn's weighted update); None is the
            unweighted update.

        Returns
        -------
        self
            The updated scaler (bitwise what ``partial_fit`` on the event as
            a one-row array gives).
        """
        if type(x) is np.ndarray and "n_samples_seen_" in self.__dict__:
            weighted = sample_weight is not None
            if _scaler.learn_event(self, x, float(sample_weight) if weighted else 1.0, weighted,
                                   False) is not None:
                return self
        return self._learn_slow(x, sample_weight)

    def _learn_slow(self, x, sample_weight):
        """learn_one through partial_fit: the first event, dicts, sparse
        events, events with missing values, per-feature counts."""
        first = "n_samples_seen_" not in self.__dict__
        names = None
        if type(x) is dict:
            if first:
                names = list(x)
                self._name_index = {k: j for j, k in enumerate(names)}
            x = self._dict_row(x)
        if sp.issparse(x):
            X = sp.csr_matrix(x)
            if X.shape[0] != 1:
                raise ValueError(f"x must be one row; got a sparse matrix of shape {X.shape}")
        else:
            X = _scaler.as_row(x).reshape(1, -1)
        sw = None if sample_weight is None else np.asarray([sample_weight], dtype=np.float64)
        self.partial_fit(X, sample_weight=sw)
        if names is not None:
            self.feature_names_in_ = np.asarray(names, dtype=object)
        return self

    def _dict_row(self, x):
        """A dict event as a dense float64 row, in the order of the first
        dict event's keys (missing names are 0)."""
        index = self.__dict__.get("_name_index")
        if index is None:
            if "n_samples_seen_" in self.__dict__:
                raise ValueError("x is a dict, but the scaler was fitted without feature "
                                 "names; pass a 1-D array")
            return np.asarray([list(x.values())], dtype=np.float64).reshape(-1)
        row = np.zeros(len(index))
        for key, value in x.items():
            j = index.get(key)
            if j is None:
                raise ValueError(f"x has a feature the scaler was not fitted with: {key!r}")
            row[j] = value
        return row

    def transform_one(self, x):
        """Standardise one event with the current statistics.

        Parameters
        ----------
        x : 1-D array or dict
            The event, as :meth:`learn_one` takes it.

        Returns
        -------
        ndarray of shape (n_features,) or dict
            The standardised event (float64): a dict of every fitted feature
            name for a dict event, else a 1-D array.
        """
        if "n_samples_seen_" not in self.__dict__:
            raise _not_fitted(self)
        if type(x) is dict:
            out = self._transform_row(self._dict_row(x))
            return dict(zip(self._name_index, out.tolist(), strict=True))
        return self._transform_row(x)

    def _transform_row(self, x, buffered=False):
        out = _scaler.transform_event(self, x, buffered)
        if out is None:
            out = self.transform(_scaler.as_row(x).reshape(1, -1)).reshape(-1)
            out = np.asarray(out, dtype=np.float64)
        return out

    def _learn_transform_one(self, x, journal=None):
        """learn_one, then the event standardised (in the scaler's own
        buffer, valid until its next such call, unless x is a dict): the
        pipeline's step, in one kernel call. With a ``journal`` (a list),
        what undoes the update is appended to it first (see
        :func:`undo_learning`)."""
        if type(x) is np.ndarray and "n_samples_seen_" in self.__dict__:
            out = _scaler.learn_event(self, x, 1.0, False, True, journal is not None)
            if out is not None:
                if journal is not None:
                    journal.append((self, None))
                return out
        if journal is not None:
            journal.append((self, saved_state(self)))
        self._learn_slow(x, None)
        if type(x) is dict:
            return self.transform_one(x)
        return self._transform_row(x)


def saved_state(est):
    """A copy of ``est``'s attributes that :func:`undo_learning` can put back."""
    return copy.deepcopy(est.__dict__)


def undo_learning(journal):
    """Put back, latest first, the steps' states recorded in ``journal``:
    ``(step, None)`` for a :class:`StandardScaler` event learnt in place
    (its kernel kept the state before it), ``(step, saved_state(step))``
    for anything else."""
    for est, saved in reversed(journal):
        if saved is None:
            _scaler.undo_event(est)
        else:
            est.__dict__.clear()
            est.__dict__.update(saved)


def _not_fitted(est):
    from sklearn.exceptions import NotFittedError

    return NotFittedError(f"This {type(est).__name__} instance is not fitted yet. Call 'fit', "
                          "'partial_fit' or 'learn_one' with appropriate arguments before "
                          "using this estimator.")
