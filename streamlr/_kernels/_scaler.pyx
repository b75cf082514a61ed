"""One event of ``streamlr.preprocessing.StandardScaler``: the running mean,
variance and scale updated in place, and the event standardised.

The update is scikit-learn's ``StandardScaler.partial_fit`` on a one-row
dense array, operation for operation (the same float64 operations in the same
order, no fused multiply-add), so that learning events one by one gives,
bitwise, the state that ``partial_fit`` on the same rows one by one gives.
Everything that one-row formula does not cover is left to ``partial_fit``:
:func:`learn_event` returns ``False`` without changing anything when the event
has a non-finite value or the state is not the plain one (per-feature counts
after missing values, arrays that are not writable float64 vectors).
"""
cimport numpy as cnp
from libc.math cimport isfinite, sqrt, trunc
from libc.string cimport memcpy

import numpy as np

cdef extern from "numpy/arrayobject.h":
    object PyArray_Scalar(void* data, cnp.dtype descr, object base)

cnp.import_array()

# float64's machine epsilon: scikit-learn detects near-constant features with it
cdef double EPS = 2.220446049250313e-16
_F64 = np.float64
cdef object _NDARRAY = np.ndarray
cdef cnp.dtype _F64_DTYPE = np.dtype(np.float64)


cdef inline double* _vector(object a, Py_ssize_t d):
    """The data of a writable, C-contiguous float64 vector of length d, or NULL."""
    if type(a) is not _NDARRAY:
        return NULL
    cdef cnp.ndarray v = <cnp.ndarray>a
    if (cnp.PyArray_NDIM(v) != 1 or v.shape[0] != d or cnp.PyArray_TYPE(v) != cnp.NPY_FLOAT64
            or not cnp.PyArray_IS_C_CONTIGUOUS(v) or not cnp.PyArray_ISWRITEABLE(v)):
        return NULL
    return <double*>cnp.PyArray_DATA(v)


cdef inline cnp.ndarray _row(object x):
    """x as a C-contiguous float64 vector (no copy when it is one)."""
    cdef cnp.ndarray a
    if type(x) is _NDARRAY:
        a = <cnp.ndarray>x
        if (cnp.PyArray_TYPE(a) == cnp.NPY_FLOAT64 and cnp.PyArray_NDIM(a) == 1
                and cnp.PyArray_IS_C_CONTIGUOUS(a)):
            return a
    a = np.ascontiguousarray(x, dtype=np.float64)
    if cnp.PyArray_NDIM(a) == 2 and a.shape[0] == 1:
        a = a.reshape(-1)
    if cnp.PyArray_NDIM(a) != 1:
        raise ValueError(f"x must be one row (a 1-D array); got shape {(<object>a).shape}")
    return a


def as_row(x):
    """x as a C-contiguous float64 vector (no copy when it is one)."""
    return _row(x)


cdef object _buffer(dict state, str key, Py_ssize_t d):
    """The scaler's own float64 buffer ``key`` of length d (made once)."""
    buf = state.get(key)
    if type(buf) is _NDARRAY and (<cnp.ndarray>buf).shape[0] == d:
        return buf
    buf = np.empty(d)
    state[key] = buf
    return buf


def learn_event(est, x, double weight, bint weighted, bint buffered, bint undo=False):
    """Update a fitted dense scaler ``est`` (its ``__dict__``) with one event.

    ``weight`` is the event's sample weight when ``weighted`` (scikit-learn's
    weighted formula), else ignored (its unweighted formula). Returns None,
    with nothing changed, when the event or the state is one that
    ``partial_fit`` must handle; else True, or, when ``buffered``, the event
    standardised with the updated state in the scaler's own buffer (valid
    until its next buffered call). With ``undo``, the state before the
    update is kept in the scaler's own buffer first, for :func:`undo_event`.
    """
    cdef dict state = est.__dict__
    cdef cnp.ndarray row = _row(x)
    cdef Py_ssize_t d = row.shape[0], j
    cdef const double* xv = <const double*>cnp.PyArray_DATA(row)
    n_obj = state.get("n_samples_seen_")
    if type(n_obj) is not _F64 and type(n_obj) is not float and type(n_obj) is not int:
        return None
    if d != state.get("n_features_in_", -1):
        raise ValueError(f"x has {d} features, but StandardScaler is expecting "
                         f"{state.get('n_features_in_')} features as input.")
    cdef bint with_mean = est.with_mean, with_std = est.with_std
    cdef double* mean = NULL
    cdef double* var = NULL
    cdef double* scale = NULL
    cdef double* o = NULL
    mean_obj = state.get("mean_")
    if mean_obj is not None:
        mean = _vector(mean_obj, d)
        if mean == NULL:
            return None
    var_obj = state.get("var_")
    if var_obj is not None:
        var = _vector(var_obj, d)
        scale = _vector(state.get("scale_"), d)
        if var == NULL or scale == NULL or mean == NULL:
            return None
    if (with_mean and mean == NULL) or (with_std and scale == NULL):
        return None
    for j in range(d):
        if not isfinite(xv[j]):
            return None
    if weighted and not (weight > 0.0 and isfinite(weight)):
        return None
    out = None
    if buffered:
        out = _buffer(state, "_learn_buffer", d)
        o = <double*>cnp.PyArray_DATA(<cnp.ndarray>out)
    cdef double c = <double>n_obj, w, n
    if not weighted:
        c = trunc(c)    # the counts' int64 cast of an unweighted partial_fit
        w = 1.0
    else:
        w = weight
    if c <= 0.0 and mean != NULL:
        return None    # scikit-learn's first-chunk branch: partial_fit's
    # without mean and variance, partial_fit counts rows, whatever their weight
    n = c + w if mean != NULL else c + 1.0
    if undo:
        _keep(state, n_obj, mean, var, scale, d)
    if mean != NULL and var != NULL and not weighted:
        _update_unweighted(xv, mean, var, scale, d, c, n,
                           o if with_mean and with_std else NULL)
        if o != NULL and with_mean and with_std:
            o = NULL    # written by the update
    elif mean != NULL:
        _update(xv, mean, var, scale, d, c, w, n, weighted)
    # a NumPy float64, as partial_fit leaves it (made from the C double
    # directly: calling np.float64 costs more than the whole update)
    state["n_samples_seen_"] = PyArray_Scalar(&n, _F64_DTYPE, None)
    if o != NULL:
        transform_into(row, mean, scale, o, d, with_mean, with_std)
    return out if buffered else True


cdef void _keep(dict state, object n_obj, const double* mean, const double* var,
                const double* scale, Py_ssize_t d) except *:
    """The state before an update, in the scaler's undo buffer."""
    cdef double* u = <double*>cnp.PyArray_DATA(<cnp.ndarray>_buffer(state, "_undo_buffer", 3 * d))
    if mean != NULL:
        memcpy(u, mean, d * sizeof(double))
    if var != NULL:
        memcpy(u + d, var, d * sizeof(double))
        memcpy(u + 2 * d, scale, d * sizeof(double))
    state["_undo_count"] = n_obj


def undo_event(est):
    """Put back the state :func:`learn_event` kept with ``undo`` (the arrays
    are the same objects, written in place, so views of them stay valid)."""
    cdef dict state = est.__dict__
    n_obj = state.pop("_undo_count")
    cdef Py_ssize_t d = state["n_features_in_"]
    cdef double* u = <double*>cnp.PyArray_DATA(<cnp.ndarray>state["_undo_buffer"])
    cdef double* a
    mean_obj = state.get("mean_")
    if mean_obj is not None:
        a = _vector(mean_obj, d)
        memcpy(a, u, d * sizeof(double))
    var_obj = state.get("var_")
    if var_obj is not None:
        a = _vector(var_obj, d)
        memcpy(a, u + d, d * sizeof(double))
        a = _vector(state["scale_"], d)
        memcpy(a, u + 2 * d, d * sizeof(double))
    state["n_samples_seen_"] = n_obj


cdef void _update_unweighted(const double* xv, double* mean, double* var, double* scale,
                             Py_ssize_t d, double c, double n, double* o) noexcept:
    """The unweighted one-row update, written so that it vectorises: the
    one-row variance term of scikit-learn's formula is exactly 0 for a finite
    row (x - x / 1), and the per-event ratios are hoisted (the same values).
    With o, also the standardised event (centred and scaled)."""
    cdef double ratio = c / 1.0
    cdef double k = ratio / n
    cdef double ne = n * EPS
    cdef double last_sum, m, t, v, root, bound
    cdef Py_ssize_t j
    for j in range(d):
        last_sum = mean[j] * c
        m = (last_sum + xv[j]) / n
        t = last_sum / ratio - xv[j]
        v = (var[j] * c + 0.0 + k * (t * t)) / n
        t = n * m * EPS
        bound = ne * v + t * t
        root = sqrt(v)
        root = 1.0 if v <= bound else root
        mean[j] = m
        var[j] = v
        scale[j] = root
    if o != NULL:
        for j in range(d):
            o[j] = (xv[j] - mean[j]) / scale[j]


cdef void _update(const double* xv, double* mean, double* var, double* scale, Py_ssize_t d,
                  double c, double w, double n, bint weighted) noexcept:
    """The general one-row update (weighted, or the mean alone)."""
    cdef double last_sum, s, t, m, new_unnorm, v
    cdef double ratio = c / w
    cdef Py_ssize_t j
    for j in range(d):
        last_sum = mean[j] * c
        s = w * xv[j] if weighted else xv[j]
        m = (last_sum + s) / n
        if var != NULL:
            t = xv[j] - s / w
            if weighted:
                new_unnorm = w * (t * t)
                t = w * t
                new_unnorm = new_unnorm - (t * t) / w
            else:
                new_unnorm = t * t - (t * t) / w
            t = last_sum / ratio - s
            v = (var[j] * c + new_unnorm + ratio / n * (t * t)) / n
            var[j] = v
            t = n * m * EPS
            scale[j] = 1.0 if v <= n * EPS * v + t * t else sqrt(v)
        mean[j] = m


cdef inline void transform_into(cnp.ndarray row, const double* mean, const double* scale,
                                double* o, Py_ssize_t d, bint with_mean, bint with_std) noexcept:
    cdef const double* xv = <const double*>cnp.PyArray_DATA(row)
    cdef Py_ssize_t j
    cdef double v
    for j in range(d):
        v = xv[j]
        if with_mean:
            v = v - mean[j]
        if with_std:
            v = v / scale[j]
        o[j] = v


def transform_event(est, x, bint buffered):
    """The event standardised with ``est``'s state as it is: a new array, or,
    when ``buffered``, the scaler's own buffer (valid until its next buffered
    call); None when the state is not the plain dense one (the caller then
    uses ``transform``)."""
    cdef dict state = est.__dict__
    cdef cnp.ndarray row = _row(x)
    cdef Py_ssize_t d = row.shape[0]
    if d != state.get("n_features_in_", -1):
        raise ValueError(f"x has {d} features, but StandardScaler is expecting "
                         f"{state.get('n_features_in_')} features as input.")
    cdef bint with_mean = est.with_mean, with_std = est.with_std
    cdef double* mean = NULL
    cdef double* scale = NULL
    if with_mean:
        mean = _vector(state.get("mean_"), d)
        if mean == NULL:
            return None
    if with_std:
        scale = _vector(state.get("scale_"), d)
        if scale == NULL:
            return None
    out = _buffer(state, "_transform_buffer", d) if buffered else np.empty(d)
    transform_into(row, mean, scale, <double*>cnp.PyArray_DATA(<cnp.ndarray>out), d,
                   with_mean, with_std)
    return out
