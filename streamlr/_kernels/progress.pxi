# What a model has done so far: scikit-learn's update counter ``t_``, the
# epochs of the last call (``n_iter_``), the rate of the last update
# (``lr_``) and the history behind ``lr_history_``. Part of the model's state
# (``ModelState.progress``): every training path records into it, the
# general path from Python, the single-event path from C, through the same
# ``_record``. Included by sgd.pyx.

cdef Py_ssize_t HISTORY_ROWS = 1 << 16   # lr_history_ keeps at most this many rows


cdef class Progress:
    """Counters and history of a model (see the module comment).

    The history is a preallocated array, so a call costs O(1); when it is
    full (``HISTORY_ROWS``), every other row is dropped and from then on
    every other row is kept, so a stream of any length keeps a bounded,
    evenly spaced summary. Rows past ``n_rows`` are not part of it, so
    restoring a snapshot (``snapshot``/``restore``, O(1)) undoes a call.
    """
    cdef public double t            # scikit-learn's t_: updates made + 1
    cdef public object n_iter       # n_iter_ of the last call (None before any)
    cdef public double lr           # rate of the last update (NaN before any)
    cdef object rows_array          # (capacity, 3) float64
    cdef double* rows_data
    cdef Py_ssize_t capacity
    cdef public Py_ssize_t n_rows   # rows in use
    cdef public Py_ssize_t calls    # rows offered since the start
    cdef public Py_ssize_t stride   # one row kept in `stride` offered

    def __init__(self, double t=1.0, n_iter=None, double lr=float("nan"), rows=None,
                 Py_ssize_t calls=0, Py_ssize_t stride=1):
        self.t = t
        self.n_iter = n_iter
        self.lr = lr
        rows = _np.empty((0, 3)) if rows is None else _np.asarray(rows, dtype=_np.float64)
        if rows.ndim != 2 or rows.shape[1] != 3:
            raise ValueError("history rows must be an (n, 3) array")
        if stride < 1 or calls < 0:
            raise ValueError("history stride must be >= 1 and calls >= 0")
        self._set_rows(_np.empty((max(16, 2 * rows.shape[0]), 3)), rows.shape[0])
        self.rows_array[: rows.shape[0]] = rows
        self.calls = calls
        self.stride = stride

    cdef _set_rows(self, array, Py_ssize_t n):
        cdef cnp.ndarray a = array
        self.rows_array = a
        self.rows_data = <double*>cnp.PyArray_DATA(a)
        self.capacity = a.shape[0]
        self.n_rows = n

    cdef int _record(self, double t, double lr, double loss) except -1:
        cdef double* h
        self.calls += 1
        if self.calls % self.stride:
            return 0
        if self.n_rows == self.capacity:
            # a new array: a snapshot taken before still sees the old one
            if self.n_rows >= HISTORY_ROWS:
                kept = self.rows_array[1::2].copy()
                self.stride *= 2
            else:
                kept = self.rows_array[: self.n_rows]
            fresh = _np.empty((max(2 * kept.shape[0], 16), 3))
            fresh[: kept.shape[0]] = kept
            self._set_rows(fresh, kept.shape[0])
        h = self.rows_data + 3 * self.n_rows
        h[0] = t
        h[1] = lr
        h[2] = loss
        self.n_rows += 1
        return 0

    def record(self, double t, double lr, double loss):
        """Offer one history row (t, rate, progressive loss)."""
        self._record(t, lr, loss)

    def rows(self):
        """The history rows in use, copied: (n, 3)."""
        return self.rows_array[: self.n_rows].copy()

    def snapshot(self):
        """An O(1) token that ``restore`` takes back to this moment."""
        return (self.t, self.n_iter, self.lr, self.rows_array, self.n_rows, self.calls,
                self.stride)

    def restore(self, token):
        self.t, self.n_iter, self.lr, array, n, self.calls, self.stride = token
        self._set_rows(array, n)

    def copy(self):
        return Progress(self.t, self.n_iter, self.lr, self.rows(), self.calls, self.stride)

    def __reduce__(self):
        return (Progress, (self.t, self.n_iter, self.lr, self.rows(), self.calls, self.stride))

    def __deepcopy__(self, memo):
        return self.copy()
