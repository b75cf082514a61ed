"""The per-sample SGD loop: one epoch over a set of rows, for one binary problem.

Design
------
Layers, from the outside in:

* ``sgd_epoch`` (def): unpacks memoryviews into pointers, releases the GIL,
  runs ``_epoch`` and returns its status and sums. No validation here: the
  estimators validate once per call, before any state changes.
* ``_epoch`` (nogil): the only per-sample loop. A row reaches it as
  *(values, indices, nnz)* through ``row_at``; ``indices == NULL`` marks a
  dense C-contiguous row, which the helpers below walk without an index
  gather. Dense and CSR rows, float32 and float64 (fused ``floating``) share
  this one loop body.
* Row helpers ``_dot``, ``_add``, ``_add_average``, ``_l1_truncate``: the
  only code that touches coordinates, each O(nnz of the row).

State
-----
The weight vector is kept as ``wscale * w`` (Bottou's trick, as in
scikit-learn): the L2 shrinkage of every sample is one multiplication of
``wscale``, so a sparse row costs O(nnz), never O(n_features). Averaged SGD
keeps ``(aw, average_a, average_b)`` so that the averaged vector is
``(aw + average_a * w) / average_b`` (Bottou 2012, "Stochastic gradient
descent tricks"). L1 uses the cumulative-penalty truncation of Tsuruoka,
Tsujii and Ananiadou (2009): ``u`` is the total penalty any weight could have
received, ``q[j]`` what weight ``j`` did receive.

All of it lives in arrays owned by the estimator (``w``, ``aw``, ``q`` and the
scalar slots of ``scal``), and this module writes the final values back, so a
stream split into any sequence of calls gives bitwise the same model as one
call. Arithmetic follows scikit-learn 1.9's ``_plain_sgd`` operation by
operation (including its float32 rounding points) so that results agree with
it to floating-point noise.
"""
from cython cimport floating
from libc.math cimport fabs, isfinite, log, pow, sqrt

from streamlr._kernels.losses cimport Loss
from streamlr._kernels.schedules cimport (
    SchedProgram, sched_rate, plateau_observe, plateau_step,
)
from streamlr._kernels.optimizers cimport (
    OPT_SGD, OPT_MOMENTUM, OPT_ADAGRAD, OPT_RMSPROP, OPT_ADADELTA, OPT_ADAM,
    OPT_ADAMAX, OPT_NADAM, OPT_FTRL, StepInfo, opt_step, per_sample_constants,
)

# Slots of the per-problem scalar state row (float64), and the codes of the
# penalties and learning-rate rules (scikit-learn's). C enums for the loop,
# re-exported below for the Python layer.
cdef enum:
    SLOT_WSCALE = 0
    SLOT_INTERCEPT = 1
    SLOT_AVG_A = 2
    SLOT_AVG_B = 3
    SLOT_AVG_INTERCEPT = 4
    SLOT_L1_U = 5
    SLOT_SQNORM = 6
    SLOT_L1NORM = 7
    SLOT_T = 8
    SLOT_LOSS_SUM = 9
    SLOT_N_SEEN = 10
    SLOT_MU_PRODUCT = 11
    N_SLOTS = 12

cdef enum:
    PENALTY_NONE = 0
    PENALTY_L1 = 1
    PENALTY_L2 = 2
    PENALTY_ELASTICNET = 3

cdef enum:
    LR_CONSTANT = 1
    LR_OPTIMAL = 2
    LR_INVSCALING = 3
    LR_ADAPTIVE = 4
    LR_PA1 = 5
    LR_PA2 = 6
    LR_SCHEDULE = 7     # a streamlr.schedules object, compiled to a node table

SLOTS = {"wscale": SLOT_WSCALE, "intercept": SLOT_INTERCEPT,
         "average_a": SLOT_AVG_A, "average_b": SLOT_AVG_B,
         "average_intercept": SLOT_AVG_INTERCEPT, "l1_u": SLOT_L1_U,
         "sq_norm": SLOT_SQNORM, "l1_norm": SLOT_L1NORM, "t": SLOT_T,
         "loss_sum": SLOT_LOSS_SUM, "n_seen": SLOT_N_SEEN,
         "mu_product": SLOT_MU_PRODUCT}
OPTIMIZERS = {"sgd": OPT_SGD, "momentum": OPT_MOMENTUM, "adagrad": OPT_ADAGRAD,
              "rmsprop": OPT_RMSPROP, "adadelta": OPT_ADADELTA, "adam": OPT_ADAM,
              "adamax": OPT_ADAMAX, "nadam": OPT_NADAM, "ftrl": OPT_FTRL}
NUM_SLOTS = N_SLOTS
PENALTIES = {None: PENALTY_NONE, "l1": PENALTY_L1, "l2": PENALTY_L2,
             "elasticnet": PENALTY_ELASTICNET}
LEARNING_RATES = {"constant": LR_CONSTANT, "optimal": LR_OPTIMAL,
                  "invscaling": LR_INVSCALING, "adaptive": LR_ADAPTIVE,
                  "pa1": LR_PA1, "pa2": LR_PA2}
LR_SCHEDULE_CODE = LR_SCHEDULE

# scikit-learn clips the loss derivative of plain SGD to this magnitude.
cdef double MAX_DLOSS = 1e12

# Software prefetch for writing: a hint, it never changes a value. GCC and
# Clang have the builtin; other compilers get nothing. Call it in the loop
# body itself: GCC deletes calls to a non-inlined helper that does nothing but
# prefetch (it counts as a function without side effects).
cdef extern from *:
    """
    #if defined(__GNUC__) || defined(__clang__)
    #define streamlr_prefetch_w(p) __builtin_prefetch((const void*)(p), 1, 3)
    #else
    #define streamlr_prefetch_w(p) ((void)(p))
    #endif
    """
    void streamlr_prefetch_w(const void* p) noexcept nogil

# A CSR pass asks for the weight blocks of the row this many rows ahead. A
# hashed row touches ~40 random cache lines of a weight vector (and, for Adam,
# its interleaved moments) bigger than the caches; without the hint the
# gather of each row waits on memory, because the previous row's loss,
# exp/log and update fill the out-of-order window before the next row's
# loads issue. Measured (2^20 columns, 40 non-zeros): plain SGD ~10%, Adam
# ~1.7x faster; 1 to 4 rows ahead do about equally well.
# Below PREFETCH_MIN_BYTES of weights and slots the hints only cost
# instructions (plain SGD, 40 non-zeros: 10% slower on 2^10 columns, 6% on
# 2^17 and 2^18, even on 2^19 = 4 MiB, 10-13% faster on 2^20; Adam's 24-byte
# blocks: 13% faster at 3 MiB, 1.6x at 12 MiB, 1.8x at 24 MiB).
cdef enum:
    PREFETCH_ROWS = 2
    PREFETCH_MIN_BYTES = 4 << 20


cdef struct Scalars:
    double wscale
    double intercept
    double average_a
    double average_b
    double average_intercept
    double u
    double sq_norm
    double l1_norm
    double loss_sum     # progressive loss, summed sample by sample over all calls
    double n_seen
    double mu_product   # NAdam's running product of momentum coefficients


cdef class Config:
    """Hyperparameters of one binary problem, read by the nogil loop."""
    cdef public int penalty
    cdef public double alpha
    cdef public double l1_ratio
    cdef public bint fit_intercept
    cdef public int learning_rate
    cdef public double eta0
    cdef public double power_t
    cdef public double optimal_init
    cdef public double weight_pos
    cdef public double weight_neg
    cdef public double intercept_decay
    cdef public long long average
    cdef public int optimizer
    cdef public int n_slots
    cdef public Py_ssize_t n_features
    cdef public Py_ssize_t coord_stride   # S: weight of coordinate j at w[j * S]
    cdef public Py_ssize_t slot_stride    # T: its slot s at w[j * S + (s + 1) * T]
    cdef double hp[8]          # the optimizer's hyperparameters, for weights
    cdef double hp_int[8]      # ... for the intercept (no decay, no l1/l2)
    cdef double log_hp[2]      # log(hp[0]), log(hp[1]): the decay rates' logs,
                               # taken here once, not per sample

    def __init__(self, *, int penalty, double alpha, double l1_ratio,
                 bint fit_intercept, int learning_rate, double eta0,
                 double power_t, double optimal_init, double weight_pos,
                 double weight_neg, double intercept_decay, long long average,
                 int optimizer=OPT_SGD, hp=(), hp_intercept=(), int n_slots=0,
                 Py_ssize_t n_features=-1, Py_ssize_t coord_stride=1,
                 Py_ssize_t slot_stride=1):
        if len(hp) > 8 or len(hp_intercept) > 8:
            raise ValueError("at most 8 optimizer hyperparameters")
        self.optimizer = optimizer
        self.n_slots = n_slots
        self.n_features = n_features
        self.coord_stride = coord_stride
        self.slot_stride = slot_stride
        for i in range(8):
            self.hp[i] = hp[i] if i < len(hp) else 0.0
            self.hp_int[i] = hp_intercept[i] if i < len(hp_intercept) else 0.0
        self.log_hp[0] = log(self.hp[0])
        self.log_hp[1] = log(self.hp[1])
        self.penalty = penalty
        self.alpha = alpha
        # Tsuruoka's split of the penalty, as scikit-learn fixes it
        if penalty == PENALTY_L2:
            l1_ratio = 0.0
        elif penalty == PENALTY_L1:
            l1_ratio = 1.0
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.learning_rate = learning_rate
        self.eta0 = eta0
        self.power_t = power_t
        self.optimal_init = optimal_init
        self.weight_pos = weight_pos
        self.weight_neg = weight_neg
        self.intercept_decay = intercept_decay
        self.average = average


# ---------------------------------------------------------------------------
# Row access and the coordinate helpers: the only code that knows the format.
# ---------------------------------------------------------------------------

cdef inline void row_at(const floating* values, const int* indices,
                        const int* indptr, Py_ssize_t n_features, Py_ssize_t r,
                        const floating** v, const int** idx,
                        Py_ssize_t* nnz) noexcept nogil:
    if indptr == NULL:          # dense: contiguous, no index array
        v[0] = values + r * n_features
        idx[0] = NULL
        nnz[0] = n_features
    else:
        v[0] = values + indptr[r]
        idx[0] = indices + indptr[r]
        nnz[0] = indptr[r + 1] - indptr[r]


cdef inline floating _dot(const floating* w, Py_ssize_t S, double wscale,
                          const floating* v, const int* idx, Py_ssize_t nnz) noexcept nogil:
    # Products in the input precision (as scikit-learn), summed in double over
    # eight independent chains, so the sum is not bound by the latency of one
    # register. It differs from scikit-learn's sequential sum only in the last
    # bits of a double (float32: almost never after the final rounding).
    # S is the stride between weights (optimizer state interleaved, else 1);
    # every path sums in the same order, so the layout never changes a result.
    cdef double a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0
    cdef double a4 = 0.0, a5 = 0.0, a6 = 0.0, a7 = 0.0
    cdef Py_ssize_t k, m = nnz - nnz % 8
    if idx == NULL and S == 1:
        for k in range(0, m, 8):
            a0 += w[k] * v[k]
            a1 += w[k + 1] * v[k + 1]
            a2 += w[k + 2] * v[k + 2]
            a3 += w[k + 3] * v[k + 3]
            a4 += w[k + 4] * v[k + 4]
            a5 += w[k + 5] * v[k + 5]
            a6 += w[k + 6] * v[k + 6]
            a7 += w[k + 7] * v[k + 7]
        for k in range(m, nnz):
            a0 += w[k] * v[k]
    elif idx == NULL:
        for k in range(0, m, 8):
            a0 += w[k * S] * v[k]
            a1 += w[(k + 1) * S] * v[k + 1]
            a2 += w[(k + 2) * S] * v[k + 2]
            a3 += w[(k + 3) * S] * v[k + 3]
            a4 += w[(k + 4) * S] * v[k + 4]
            a5 += w[(k + 5) * S] * v[k + 5]
            a6 += w[(k + 6) * S] * v[k + 6]
            a7 += w[(k + 7) * S] * v[k + 7]
        for k in range(m, nnz):
            a0 += w[k * S] * v[k]
    elif S == 1:
        # CSR rows on unit stride (plain SGD, dense-layout models): no index
        # multiply; the same sums in the same order as the general case
        for k in range(0, m, 8):
            a0 += w[idx[k]] * v[k]
            a1 += w[idx[k + 1]] * v[k + 1]
            a2 += w[idx[k + 2]] * v[k + 2]
            a3 += w[idx[k + 3]] * v[k + 3]
            a4 += w[idx[k + 4]] * v[k + 4]
            a5 += w[idx[k + 5]] * v[k + 5]
            a6 += w[idx[k + 6]] * v[k + 6]
            a7 += w[idx[k + 7]] * v[k + 7]
        for k in range(m, nnz):
            a0 += w[idx[k]] * v[k]
    else:
        for k in range(0, m, 8):
            a0 += w[idx[k] * S] * v[k]
            a1 += w[idx[k + 1] * S] * v[k + 1]
            a2 += w[idx[k + 2] * S] * v[k + 2]
            a3 += w[idx[k + 3] * S] * v[k + 3]
            a4 += w[idx[k + 4] * S] * v[k + 4]
            a5 += w[idx[k + 5] * S] * v[k + 5]
            a6 += w[idx[k + 6] * S] * v[k + 6]
            a7 += w[idx[k + 7] * S] * v[k + 7]
        for k in range(m, nnz):
            a0 += w[idx[k] * S] * v[k]
    # wscale is exactly 1.0 without an L2 penalty: skip the multiplication
    # (exact either way) to shorten the chain from one row's update to the
    # next row's prediction
    a0 = ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7))
    return <floating>(a0 if wscale == 1.0 else a0 * wscale)


cdef inline bint _indices_in_range(const int* idx, Py_ssize_t nnz,
                                   Py_ssize_t n_features) noexcept nogil:
    # one unsigned compare per index (a negative index wraps to a huge one);
    # no early exit, so the loop vectorises
    cdef Py_ssize_t k
    cdef unsigned int bad = 0, limit = <unsigned int>n_features
    for k in range(nnz):
        bad |= (<unsigned int>idx[k]) >= limit
    return bad == 0


cdef inline double _sqnorm(const floating* v, Py_ssize_t nnz) noexcept nogil:
    cdef double acc = 0.0, z
    cdef Py_ssize_t k
    for k in range(nnz):
        z = v[k]
        acc += z * z
    return acc


cdef inline void _add(floating* w, Scalars* s, const floating* v,
                      const int* idx, Py_ssize_t nnz, floating c,
                      bint track_norms) noexcept nogil:
    # w += c * x in the scaled representation
    cdef floating wscale = <floating>s.wscale
    # c / 1.0 == c exactly: without an L2 penalty this saves a division on the
    # path from the loss derivative to the next row's prediction
    cdef floating step = c if wscale == 1 else c / wscale
    cdef double l2 = 0.0, l1 = 0.0, val
    cdef Py_ssize_t k, j
    if not track_norms:
        if idx == NULL:
            for k in range(nnz):
                w[k] = w[k] + <double>v[k] * step
        else:
            for k in range(nnz):
                j = idx[k]
                w[j] = w[j] + <double>v[k] * step
        return
    # scikit-learn's running norms, used only by the tol stopping rule: they
    # cover the coordinates of the last row added (all of them when dense)
    for k in range(nnz):
        j = k if idx == NULL else idx[k]
        val = v[k]
        w[j] = w[j] + val * step
        l2 += w[j] * w[j]
        l1 += fabs(w[j])
    s.sq_norm = l2 * (wscale * wscale)
    s.l1_norm = l1 * wscale


cdef inline void _add_average(floating* aw, Scalars* s, const floating* v,
                              const int* idx, Py_ssize_t nnz, floating c,
                              floating num_iter) noexcept nogil:
    # Bottou's sparse averaging: aw only moves on the row's coordinates
    cdef double mu = 1.0 / num_iter
    cdef double wscale = s.wscale
    cdef double coef = -c / wscale
    cdef Py_ssize_t k, j
    for k in range(nnz):
        j = k if idx == NULL else idx[k]
        aw[j] += (s.average_a * <double>v[k] * coef)
    if num_iter > 1:
        s.average_b /= (1.0 - mu)
    s.average_a += mu * s.average_b * wscale


cdef inline void _reset_wscale(floating* w, floating* aw, Scalars* s,
                               Py_ssize_t n_features) noexcept nogil:
    # fold wscale (and the averaging coefficients) into the arrays: O(n_features),
    # but only when wscale underflows, as scikit-learn does
    cdef Py_ssize_t j
    cdef floating a, binv, ws
    if aw != NULL:
        a = <floating>s.average_a
        binv = <floating>(1.0 / s.average_b)
        for j in range(n_features):
            aw[j] = (aw[j] + a * w[j]) * binv
        s.average_a = 0.0
        s.average_b = 1.0
    ws = <floating>s.wscale
    for j in range(n_features):
        w[j] *= ws
    s.wscale = 1.0


cdef inline void _scale(floating* w, floating* aw, Scalars* s, floating c,
                        Py_ssize_t n_features, double threshold) noexcept nogil:
    s.wscale *= c
    s.sq_norm *= (c * c)
    s.l1_norm *= fabs(c)
    if s.wscale < threshold:
        _reset_wscale(w, aw, s, n_features)


cdef inline void _l1_truncate(floating* w, floating* q, Scalars* s,
                              const int* idx, Py_ssize_t nnz) noexcept nogil:
    # Tsuruoka et al. (2009): clip each touched weight towards zero by the
    # penalty it has not received yet, never across zero
    cdef double wscale = s.wscale, u = s.u, z
    cdef Py_ssize_t k, j
    for k in range(nnz):
        j = k if idx == NULL else idx[k]
        z = w[j]
        if wscale * z > 0.0:
            w[j] = max(0.0, w[j] - ((u + q[j]) / wscale))
        elif wscale * z < 0.0:
            w[j] = min(0.0, w[j] + ((u - q[j]) / wscale))
        q[j] += wscale * (w[j] - z)


# ---------------------------------------------------------------------------
# The loop.
# ---------------------------------------------------------------------------

cdef inline double _n_avg(double step, long long average) noexcept nogil:
    # number of iterates in the average after update number `step` (1-based)
    cdef double n = step - average + 1
    return n if n > 0 else 0.0


cdef inline bint _opt_sample(
    floating* w, Py_ssize_t S, Py_ssize_t T, floating* aw, double* oint, long long* stamp,
    Scalars* s, const floating* v, const int* idx, Py_ssize_t nnz,
    double gscale, double eta, double step, Config cfg,
) noexcept nogil:
    """One update of a non-SGD optimizer; False if it became non-finite.
    ``w`` holds weights and slots in the layout (S, T) of optimizers.pxd."""
    cdef StepInfo si
    cdef Py_ssize_t k, j
    cdef double n_prev, n_mid, n_now, thr, one = 1.0, z
    cdef double l1_ratio = cfg.l1_ratio
    cdef bint has_l1 = cfg.penalty == PENALTY_L1 or cfg.penalty == PENALTY_ELASTICNET
    cdef bint averaging = cfg.average > 0
    if not isfinite(gscale):
        return False
    si.lr = eta
    si.step = step
    si.gscale = gscale
    si.l2 = cfg.alpha * (1.0 - l1_ratio) if cfg.penalty >= PENALTY_L2 else 0.0
    per_sample_constants(cfg.optimizer, cfg.hp, cfg.log_hp, &si, &s.mu_product)

    if averaging and stamp != NULL:
        # lazy average: a coordinate untouched since stamp[j] kept its weight
        # for the updates in between; fold them into its running mean
        n_mid = _n_avg(step - 1, cfg.average)
        for k in range(nnz):
            j = k if idx == NULL else idx[k]
            n_prev = _n_avg(<double>stamp[j], cfg.average)
            if n_mid > n_prev:
                aw[j] += (n_mid - n_prev) / n_mid * (w[j * S] - aw[j])

    opt_step(cfg.optimizer, w, S, T, v, idx, nnz, cfg.hp, &si, stamp)

    if has_l1:
        # proximal step of the L1 part of the penalty on the touched weights
        thr = eta * cfg.alpha * l1_ratio
        for k in range(nnz):
            j = (k if idx == NULL else idx[k]) * S
            z = w[j]
            w[j] = z - thr if z > thr else (z + thr if z < -thr else 0.0)

    if averaging:
        n_now = _n_avg(step, cfg.average)
        if n_now > 0:
            for k in range(nnz):
                j = k if idx == NULL else idx[k]
                aw[j] += (w[j * S] - aw[j]) / n_now
    if stamp != NULL:
        for k in range(nnz):
            stamp[k if idx == NULL else idx[k]] = <long long>step

    if cfg.fit_intercept:
        # the intercept: a weight with x = 1, without penalty or decay; its
        # block is oint = (intercept, slots...)
        si.l2 = 0.0
        si.gscale = gscale
        oint[0] = s.intercept
        opt_step(cfg.optimizer, oint, 1, 1, &one, NULL, 1, cfg.hp_int, &si, NULL)
        s.intercept = oint[0]
        if not isfinite(s.intercept):
            return False
        if 0 < cfg.average <= step:
            s.average_intercept += ((s.intercept - s.average_intercept)
                                    / (step - cfg.average + 1))
    return True


cdef Py_ssize_t _epoch(
    floating* w, floating* aw, floating* q, Scalars* s,
    double* oint, long long* stamp,
    const floating* values, const int* indices, const int* indptr,
    Py_ssize_t n_features, const floating* y, const floating* sample_weight,
    const Py_ssize_t* order, Py_ssize_t n_rows,
    Loss loss, Config cfg, double* t, double eta_adaptive,
    bint track_objective, double* sums, double* last_eta,
    const SchedProgram* prog, bint plateau_streaming, int* last_plateau,
) noexcept nogil:
    """Visit ``order[:n_rows]`` once. Returns n_rows, or -(i + 1) when sample
    i produced a non-finite prediction, step or intercept (the state is then
    partly updated: the caller restores its snapshot)."""
    cdef Py_ssize_t i, r, nnz
    cdef const floating* v
    cdef const int* idx
    cdef floating yi, sw, class_weight, norm
    cdef double p, eta = cfg.eta0, update, dloss, cur_loss, sq, intercept_update
    cdef double threshold = 1e-9 if floating is double else 1e-6
    cdef int lr = cfg.learning_rate, penalty = cfg.penalty
    cdef double alpha = cfg.alpha, l1_ratio = cfg.l1_ratio
    # running sums, continued from the caller's: a pass split into several
    # calls adds them up in exactly the same order as one call
    cdef double sumloss = sums[0], objective = sums[1]
    cdef int plateau = -1
    cdef bint has_l1 = penalty == PENALTY_L1 or penalty == PENALTY_ELASTICNET
    cdef Py_ssize_t S = cfg.coord_stride   # see optimizers.pxd: the state layout
    cdef Py_ssize_t rn, k, pf_last = cfg.n_slots * cfg.slot_stride
    cdef const floating* pb
    cdef bint prefetch = (indptr != NULL and n_rows > PREFETCH_ROWS and
                          n_features * (1 + cfg.n_slots) * sizeof(floating) >= PREFETCH_MIN_BYTES)
    if lr == LR_ADAPTIVE:
        eta = eta_adaptive

    for i in range(n_rows):
        r = order[i]
        if prefetch and i + PREFETCH_ROWS < n_rows:
            # the weight of each coordinate, and its last optimizer slot (the
            # end of an interleaved block, which may lie on the next line)
            rn = order[i + PREFETCH_ROWS]
            for k in range(indptr[rn], indptr[rn + 1]):
                pb = w + indices[k] * S
                streamlr_prefetch_w(pb)
                if pf_last > 0:
                    streamlr_prefetch_w(pb + pf_last)
        row_at(values, indices, indptr, n_features, r, &v, &idx, &nnz)
        if idx != NULL and not _indices_in_range(idx, nnz, n_features):
            # the caller validated the row pointer, not the column indices:
            # a row is checked before it is used (it is in cache for the dot)
            sums[0] = sumloss
            sums[1] = objective
            return -(i + 1)
        yi = y[r]
        sw = sample_weight[r]

        p = _dot(w, S, s.wscale, v, idx, nnz) + s.intercept
        if not isfinite(p):
            sums[0] = sumloss
            sums[1] = objective
            return -(i + 1)
        if lr == LR_OPTIMAL:
            eta = 1.0 / (alpha * (cfg.optimal_init + t[0] - 1))
        elif lr == LR_INVSCALING:
            eta = cfg.eta0 / pow(t[0], cfg.power_t)
        elif lr == LR_SCHEDULE:
            # the schedule's clock is the number of updates already made
            plateau = -1
            eta = sched_rate(prog, 0, t[0] - 1.0, &plateau)
            last_plateau[0] = plateau

        # progressive loss: measured before learning from the sample; the
        # running total lives in the state, so chunking cannot change it
        cur_loss = loss.loss(yi, p)
        sumloss += cur_loss
        s.loss_sum += cur_loss
        s.n_seen += 1
        if plateau >= 0 and plateau_streaming:
            plateau_observe(prog, plateau, cur_loss)
        if track_objective:
            objective += cur_loss
            if lr != LR_PA1 and lr != LR_PA2 and penalty > 0:
                norm = <floating>sqrt(s.sq_norm)
                objective += alpha * ((1 - l1_ratio) * 0.5 * norm ** 2
                                      + l1_ratio * <floating>s.l1_norm)

        class_weight = <floating>(cfg.weight_pos if yi > 0.0 else cfg.weight_neg)

        if cfg.optimizer != OPT_SGD:
            if not _opt_sample(w, S, cfg.slot_stride, aw, oint, stamp, s, v, idx, nnz,
                               loss.dloss(yi, p) * (class_weight * sw), eta,
                               t[0], cfg):
                sums[0] = sumloss
                sums[1] = objective
                return -(i + 1)
            last_eta[0] = eta
            t[0] += 1
            continue

        if lr == LR_PA1:
            sq = _sqnorm(v, nnz)
            if sq == 0:
                # scikit-learn skips the sample without a tick of t; the
                # estimator keeps this t (slot "t") for the next call
                continue
            update = min(cfg.eta0, loss.loss(yi, p) / sq)
        elif lr == LR_PA2:
            sq = _sqnorm(v, nnz)
            update = loss.loss(yi, p) / (sq + 0.5 / cfg.eta0)
        else:
            dloss = loss.dloss(yi, p)
            if dloss < -MAX_DLOSS:
                dloss = -MAX_DLOSS
            elif dloss > MAX_DLOSS:
                dloss = MAX_DLOSS
            update = -eta * dloss
        if lr == LR_PA1 or lr == LR_PA2:
            if loss.is_hinge:
                update *= yi
            elif yi - p < 0:
                update *= -1
        update *= class_weight * sw
        if not isfinite(update):
            sums[0] = sumloss
            sums[1] = objective
            return -(i + 1)

        if penalty >= PENALTY_L2:
            # never scale to a negative value when eta * alpha is too large
            _scale(w, aw, s, <floating>max(0.0, 1.0 - ((1.0 - l1_ratio) * eta * alpha)),
                   n_features, threshold)
        if update != 0.0:
            _add(w, s, v, idx, nnz, <floating>update, track_objective)
        if cfg.fit_intercept:
            intercept_update = update
            if intercept_update != 0:
                s.intercept += intercept_update * cfg.intercept_decay
                if not isfinite(s.intercept):
                    sums[0] = sumloss
                    sums[1] = objective
                    return -(i + 1)

        if 0 < cfg.average <= t[0]:
            _add_average(aw, s, v, idx, nnz, <floating>update,
                         <floating>(t[0] - cfg.average + 1))
            s.average_intercept += ((s.intercept - s.average_intercept)
                                    / (t[0] - cfg.average + 1))

        if has_l1:
            s.u += l1_ratio * eta * alpha
            _l1_truncate(w, q, s, idx, nnz)

        last_eta[0] = eta
        t[0] += 1
    sums[0] = sumloss
    sums[1] = objective
    return n_rows


def sgd_epoch(
    floating[::1] w,
    floating[::1] aw,
    floating[::1] q,
    double[::1] scal,
    double[::1] ostate_intercept,
    long long[::1] stamp,
    const floating[::1] values,
    const int[::1] indices,
    const int[::1] indptr,
    const floating[::1] y,
    const floating[::1] sample_weight,
    const Py_ssize_t[::1] order,
    Loss loss,
    Config cfg,
    double t,
    double eta_adaptive=0.0,
    bint track_objective=False,
    const int[::1] sched_kinds=None,
    const double[::1] sched_params=None,
    const double[::1] sched_extra=None,
    double[::1] sched_state=None,
    bint plateau_streaming=True,
    double[::1] sums_io=None,
):
    """One pass of plain SGD over the rows ``order`` for one binary problem.

    For each row x with target y (scikit-learn's update, Bottou 2010)::

        p      = w . x + b                         (measured loss: L(y, p))
        eta    = schedule(t)
        g      = clip(dL/dp, -1e12, 1e12) * class_weight * sample_weight
        w     *= max(0, 1 - eta * alpha * (1 - l1_ratio))   (l2, elasticnet)
        w     -= eta * g * x ;  b -= eta * g * intercept_decay
        l1 / elasticnet: cumulative-penalty truncation of the row's weights
        t     += 1

    Parameters
    ----------
    w : raw weights, followed or interleaved by the optimizer's slots in the
        layout (cfg.coord_stride, cfg.slot_stride) of optimizers.pxd.
    aw, q : raw average weights (empty when not averaging), L1 penalties
        received (empty without L1 or with another optimizer).
    scal : float64 scalar state (slots ``SLOT_*``); updated in place.
    ostate_intercept : the intercept's block (its value is mirrored from
        ``scal``, then its slots).
    stamp : per coordinate, the last update that touched it (empty when
        neither averaging nor an exact sparse catch-up needs it).
    values, indices, indptr : CSR arrays, or for a dense C-contiguous matrix
        its ravelled values with empty ``indices`` and ``indptr``.
    y, sample_weight : per-row target (in the loss's encoding) and weight.
    order : the rows to visit, in order.
    t : scikit-learn's update counter (updates done + 1) at the first row.
    sums_io : optional running (loss, objective) sums to continue from and
        update, so that a pass split into several calls is the same as one.

    Returns
    -------
    (status, t, sum_loss, sum_objective, last_eta, last_plateau): status is the number of
    rows visited, or -(i + 1) if row ``order[i]`` made the model non-finite;
    sums are over this call; last_eta is the rate of the last update made
    (NaN if none). The running progressive loss is in the state slots
    ``loss_sum`` and ``n_seen``. last_plateau is the ReduceOnPlateau node
    that set the last rate (-1 if none).
    """
    cdef Py_ssize_t n_features = cfg.n_features if cfg.n_features >= 0 else w.shape[0]
    cdef Py_ssize_t n_rows = order.shape[0]
    cdef Scalars s
    cdef double sums[2]
    cdef double last_eta = float("nan")
    cdef Py_ssize_t status
    cdef SchedProgram prog
    cdef int last_plateau = -1
    if cfg.learning_rate == LR_SCHEDULE:
        if sched_kinds is None or sched_params is None or sched_extra is None or sched_state is None:
            raise ValueError("a compiled schedule is needed with learning rate code LR_SCHEDULE")
        prog = _program(sched_kinds, sched_params, sched_extra, sched_state)
    cdef floating* aw_p = &aw[0] if aw.shape[0] > 0 else NULL
    cdef floating* q_p = &q[0] if q.shape[0] > 0 else NULL
    cdef const int* ind_p = &indices[0] if indices.shape[0] > 0 else NULL
    cdef const int* ptr_p = &indptr[0] if indptr.shape[0] > 0 else NULL
    cdef const floating* val_p = &values[0] if values.shape[0] > 0 else NULL
    cdef double* oint_p = &ostate_intercept[0] if ostate_intercept.shape[0] > 0 else NULL
    cdef long long* stamp_p = &stamp[0] if stamp.shape[0] > 0 else NULL
    if n_rows == 0:
        return 0, t, 0.0, 0.0, last_eta, -1
    if n_features == 0:
        raise ValueError("the weight vector is empty")
    s.wscale = scal[SLOT_WSCALE]
    s.intercept = scal[SLOT_INTERCEPT]
    s.average_a = scal[SLOT_AVG_A]
    s.average_b = scal[SLOT_AVG_B]
    s.average_intercept = scal[SLOT_AVG_INTERCEPT]
    s.u = scal[SLOT_L1_U]
    s.sq_norm = scal[SLOT_SQNORM]
    s.l1_norm = scal[SLOT_L1NORM]
    s.loss_sum = scal[SLOT_LOSS_SUM]
    s.n_seen = scal[SLOT_N_SEEN]
    s.mu_product = scal[SLOT_MU_PRODUCT]
    sums[0] = sums_io[0] if sums_io is not None else 0.0
    sums[1] = sums_io[1] if sums_io is not None else 0.0
    with nogil:
        status = _epoch(&w[0], aw_p, q_p, &s, oint_p, stamp_p,
                        val_p, ind_p, ptr_p, n_features,
                        &y[0], &sample_weight[0], &order[0], n_rows, loss, cfg,
                        &t, eta_adaptive, track_objective, sums, &last_eta,
                        &prog, plateau_streaming, &last_plateau)
    scal[SLOT_WSCALE] = s.wscale
    scal[SLOT_INTERCEPT] = s.intercept
    scal[SLOT_AVG_A] = s.average_a
    scal[SLOT_AVG_B] = s.average_b
    scal[SLOT_AVG_INTERCEPT] = s.average_intercept
    scal[SLOT_L1_U] = s.u
    scal[SLOT_SQNORM] = s.sq_norm
    scal[SLOT_L1NORM] = s.l1_norm
    scal[SLOT_LOSS_SUM] = s.loss_sum
    scal[SLOT_N_SEEN] = s.n_seen
    scal[SLOT_MU_PRODUCT] = s.mu_product
    if sums_io is not None:
        sums_io[0] = sums[0]
        sums_io[1] = sums[1]
    return status, t, sums[0], sums[1], last_eta, last_plateau


cdef SchedProgram _program(const int[::1] kinds, const double[::1] params,
                           const double[::1] extra, double[::1] state):
    cdef SchedProgram prog
    prog.kinds = &kinds[0]
    prog.params = &params[0]
    prog.extra = &extra[0]
    prog.state = &state[0]
    return prog


def schedule_rate(const int[::1] kinds, const double[::1] params,
                  const double[::1] extra, double[::1] state, double t):
    """The compiled schedule's rate at t (a test hook: ``_py_rate``)."""
    cdef SchedProgram prog = _program(kinds, params, extra, state)
    cdef int plateau = -1
    return sched_rate(&prog, 0, t, &plateau)


def schedule_plateau_step(const int[::1] kinds, const double[::1] params,
                          const double[::1] extra, double[::1] state, int node,
                          double metric):
    """One ReduceOnPlateau step of node ``node`` on ``metric`` (fit: per epoch)."""
    cdef SchedProgram prog = _program(kinds, params, extra, state)
    plateau_step(&prog, node, metric)


def schedule_plateau_observe(const int[::1] kinds, const double[::1] params,
                             const double[::1] extra, double[::1] state, int node,
                             double loss):
    """Feed one sample's loss to a ReduceOnPlateau node (a test hook)."""
    cdef SchedProgram prog = _program(kinds, params, extra, state)
    plateau_observe(&prog, node, loss)


def materialize_lazy_average(const floating[::1] w, const floating[::1] aw,
                             const long long[::1] stamp, double last_step,
                             long long average, floating[::1] out_aw):
    """Averaged weights of the non-SGD path: each coordinate's running mean
    (up to ``stamp[j]``) brought forward to update ``last_step``."""
    cdef Py_ssize_t j, n = w.shape[0]
    cdef double n_prev, n_last = _n_avg(last_step, average)
    with nogil:
        for j in range(n):
            out_aw[j] = aw[j]
            n_prev = _n_avg(<double>stamp[j], average)
            if n_last > n_prev:
                out_aw[j] = aw[j] + (n_last - n_prev) / n_last * (w[j] - aw[j])


def materialize(const floating[::1] w, const floating[::1] aw, const double[::1] scal,
                floating[::1] out_w, floating[::1] out_aw):
    """Write ``wscale * w`` into ``out_w`` and, when averaging, the averaged
    weights ``(aw + average_a * w) / average_b`` into ``out_aw``, with the
    rounding of scikit-learn's ``reset_wscale``. The state is not changed."""
    cdef Py_ssize_t j, n = w.shape[0]
    cdef floating ws = <floating>scal[SLOT_WSCALE]
    cdef floating a = <floating>scal[SLOT_AVG_A]
    cdef floating binv = <floating>(1.0 / scal[SLOT_AVG_B])
    with nogil:
        for j in range(n):
            out_w[j] = w[j] * ws
        if aw.shape[0] > 0 and out_aw.shape[0] > 0:
            for j in range(n):
                out_aw[j] = (aw[j] + a * w[j]) * binv
include "online.pxi"
