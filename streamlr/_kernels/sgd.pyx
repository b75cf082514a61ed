"""The compiled core of streamlr: one per-sample loop and the engine around it.

Layout (each file is included here, so that every build of this module —
baseline and AVX2 — carries its own copy of all of it):

* ``rows.pxi``       row access (dense and CSR rows through one pointer
                     triple) and the read-only coordinate helpers (``_dot``);
* ``plain_sgd.pxi``  scikit-learn's plain SGD update on the scaled weights,
                     averaging, the L1 cumulative penalty;
* ``optimizers.pxd`` the update rules of the other optimizers (one dispatch
                     per row, never per coordinate);
* ``drift.pxi``      the reaction to a drift its detector (drift.pxd) flags:
                     restart the optimizer and the schedule, or reset;
* ``loop.pxi``       ``_epoch``, the only per-sample loop, on three structs
                     (Problem, Rows, Pass);
* ``multinomial.pxi`` the softmax model's own loop (K class rows learning one
                     cross-entropy), beside ``_epoch``, and its engine side;
* ``progress.pxi``   ``Progress``: the counters and history of a model;
* ``engine.pxi``     ``Engine``: binds a model's arrays once; every training
                     call goes through it (snapshot, loop, finiteness check,
                     rollback, bookkeeping); with ``events.pxi`` (the input
                     and the learning call of events), ``snapshot.pxi`` (the
                     snapshot's copies), ``predict.pxi`` (predictions) and
                     ``pending.pxi`` (delayed labels: a remembered event learned);
* ``materialize.pxi`` coef_ from the state (one formula per coordinate,
                     shared with the predictions), schedule test hooks;
* ``labels.pxi``     per-call label and CSR-structure utilities.

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

All of it lives in arrays owned by the model (``ModelState``), and the loop
writes the final values back, so a stream split into any sequence of calls
gives bitwise the same model as one call. Arithmetic follows scikit-learn
1.9's ``_plain_sgd`` operation by operation (including its float32 rounding
points) so that results agree with it to floating-point noise.
"""
cimport numpy as cnp
from cpython.dict cimport PyDict_Next, PyDict_Size
from cpython.ref cimport PyObject
from cython cimport floating
from libc.float cimport FLT_MAX, DBL_MAX
from libc.stdlib cimport free, malloc, realloc
from libc.string cimport memcmp, memcpy, memset
from libc.math cimport INFINITY, NAN, exp, fabs, floor, fmax, fmin, fmod, isfinite, log, pow, sqrt

from streamlr._kernels._hashing cimport EventHasher
from streamlr._kernels.losses cimport Loss, LossGrad
from streamlr._kernels.drift cimport (
    Drift, drift_bind, drift_rows_to_check, drift_update, drift_used,
)
from streamlr._kernels.schedules cimport (
    SchedProgram, sched_monotone, sched_rate, plateau_observe, plateau_step,
)
from streamlr._kernels.optimizers cimport (
    MAX_OPTIMIZERS, OPT_NORMALIZED, OPT_SCHEDULEFREE_ADAMW, OPT_SCHEDULEFREE_SGD, OPT_SGD,
    StepF32, StepF64, StepInfo, VW_ADAPTIVE, VW_CACHE, VW_INVARIANT, VW_NORMALIZED, VW_POWER_T,
    fill_step_tables, finish_sample, optimizer_codes, per_sample_constants,
    schedulefree_constants, two_phase_rule, vw_apply, vw_average, vw_prepare,
)

import sys as _sys

import numpy as _np

cnp.import_array()

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
    SLOT_RULE = 12      # the update rule's own scalars (RULE_SCALARS of them)
    RULE_SCALARS = 8
    # the rate race (race.pxi): per copy, and per binary problem in its first copy's row
    SLOT_RACE_LOSS = 20         # the copy's discounted loss
    SLOT_RACE_STATUS = 21       # 0 racing, 1 never served again, 2 out (diverged), 3 asleep
    SLOT_RACE_SHARE = 22        # the copy's share of what is served now
    SLOT_RACE_DEFAULT = 23      # first copy: the copy that serves before any evidence
    SLOT_SERVED_LOSS = 24       # first copy: progressive loss of what was served, summed
    SLOT_SERVED_N = 25          # first copy: samples served
    SLOT_RACE_COUNT = 26        # first copy: the discounted count of rows
    SLOT_RACE_ZERO_LOSS = 27    # first copy: the largest loss of predicting 0 so far
    SLOT_CLOCK0 = 28            # the optimizer's and the schedule's clock is t - this
                                # (a restart on drift sets it: drift.pxi)
    SLOT_RACE_OPENED = 29       # first copy: SLOT_SERVED_N when the race last (re)opened
                                # (a restart on drift re-opens it: race.pxi)
    N_SLOTS = 30

cdef enum:
    PENALTY_NONE = 0
    PENALTY_L1 = 1
    PENALTY_L2 = 2
    PENALTY_ELASTICNET = 3

# How the loop gets its rate. Every schedule, the scikit-learn strings
# "constant", "optimal" and "invscaling" included, is a node table evaluated
# by sched_rate (schedules.pxd); "adaptive" is a constant rate that fit
# divides between epochs; pa1/pa2 are update rules of their own.
cdef enum:
    LR_ADAPTIVE = 4
    LR_PA1 = 5
    LR_PA2 = 6
    LR_SCHEDULE = 7

SLOTS = {"wscale": SLOT_WSCALE, "intercept": SLOT_INTERCEPT,
         "average_a": SLOT_AVG_A, "average_b": SLOT_AVG_B,
         "average_intercept": SLOT_AVG_INTERCEPT, "l1_u": SLOT_L1_U,
         "sq_norm": SLOT_SQNORM, "l1_norm": SLOT_L1NORM, "t": SLOT_T,
         "loss_sum": SLOT_LOSS_SUM, "n_seen": SLOT_N_SEEN,
         "mu_product": SLOT_MU_PRODUCT, "rule": SLOT_RULE,
         "race_loss": SLOT_RACE_LOSS, "race_status": SLOT_RACE_STATUS,
         "race_share": SLOT_RACE_SHARE, "race_default": SLOT_RACE_DEFAULT,
         "served_loss": SLOT_SERVED_LOSS, "served_n": SLOT_SERVED_N,
         "race_count": SLOT_RACE_COUNT, "race_zero_loss": SLOT_RACE_ZERO_LOSS,
         "clock0": SLOT_CLOCK0, "race_opened": SLOT_RACE_OPENED}
# how many scalars an update rule may keep per problem (Optimizer.scalar_state)
NUM_RULE_SCALARS = RULE_SCALARS
OPTIMIZERS = optimizer_codes()
NUM_SLOTS = N_SLOTS
PENALTIES = {None: PENALTY_NONE, "l1": PENALTY_L1, "l2": PENALTY_L2,
             "elasticnet": PENALTY_ELASTICNET}
# the scikit-learn learning_rate strings and the kernel rule each runs
LEARNING_RATES = {"constant": LR_SCHEDULE, "optimal": LR_SCHEDULE,
                  "invscaling": LR_SCHEDULE, "adaptive": LR_ADAPTIVE,
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
    #define streamlr_prefetch_r(p) __builtin_prefetch((const void*)(p), 0, 3)
    #else
    #define streamlr_prefetch_w(p) ((void)(p))
    #define streamlr_prefetch_r(p) ((void)(p))
    #endif
    """
    void streamlr_prefetch_w(const void* p) noexcept nogil
    void streamlr_prefetch_r(const void* p) noexcept nogil

# A CSR pass asks for the weight blocks of the row this many rows ahead
# (from within the dot product of the current row: _dot_prefetch, rows.pxi). A
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
# A dense pass reads the values of the row about DENSE_PREFETCH_BYTES ahead
# (at most DENSE_PREFETCH_MAX_ROWS rows; none for longer rows, where the
# per-row gaps matter less and were not measured): the hardware's stream prefetcher
# alone leaves the loop waiting on memory, because each row's loss and update
# stall the loads of the next. Measured (200,000 x 100, scikit-learn's
# defaults, Intel Xeon under load, CPU time): float64 about 1.4x, float32 1.2x
# faster at 12-16 rows ahead; 2-4 rows ahead gained about half of that, and
# non-temporal hints lost it all.
cdef enum:
    PREFETCH_ROWS = 2
    PREFETCH_MIN_BYTES = 4 << 20
    DENSE_PREFETCH_BYTES = 12 << 10
    DENSE_PREFETCH_MAX_ROWS = 16


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
    double rule[RULE_SCALARS]   # the update rule's scalar state (Optimizer.scalar_state)
    double clock0       # updates before the optimizer's clock last restarted


cdef class Config:
    """Hyperparameters of one binary problem, read by the nogil loop."""
    cdef public int penalty
    cdef public double alpha
    cdef public double l1_ratio
    cdef public bint fit_intercept
    cdef public int learning_rate
    cdef public double eta0           # the rate of adaptive, the step bound of pa1/pa2
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
    cdef bint grad_at_y        # schedule-free: the gradient is taken at
    cdef double y_beta         # y = (1 - y_beta) z + y_beta x, not at the served x

    def __init__(self, *, int penalty, double alpha, double l1_ratio,
                 bint fit_intercept, int learning_rate, double eta0, double weight_pos,
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
        self.grad_at_y = (optimizer == OPT_SCHEDULEFREE_SGD
                          or optimizer == OPT_SCHEDULEFREE_ADAMW)
        self.y_beta = self.hp[0]
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
        self.weight_pos = weight_pos
        self.weight_neg = weight_neg
        self.intercept_decay = intercept_decay
        self.average = average


include "rows.pxi"
include "cross.pxi"
include "plain_sgd.pxi"
include "drift.pxi"
include "loop.pxi"
include "race.pxi"
include "progress.pxi"
include "materialize.pxi"
include "dot.pxi"
include "engine.pxi"
include "events.pxi"
include "multinomial.pxi"
include "pending.pxi"
include "snapshot.pxi"
include "predict.pxi"
include "labels.pxi"
