# Per-coordinate update rules of the optimizers other than plain SGD.
#
# Design
# ------
# * One inline function per optimizer, fused over the weight dtype, that
#   updates the coordinates of one row. The row arrives as (x, idx, nnz);
#   idx == NULL marks a dense row, where every coordinate is updated, as
#   PyTorch does with batch size 1. The gradient of coordinate j is
#   ``g = gscale * x[k] + l2 * w[j]`` (gscale = dloss * weights; l2 is the
#   L2 part of the penalty, PyTorch's ``weight_decay``).
# * Layout: the weight of coordinate j is ``w[j * S]`` and its slot s is
#   ``w[j * S + (s + 1) * T]``. Models that learn from CSR rows interleave
#   (S = 1 + slots, T = 1: one cache line per coordinate, as Vowpal Wabbit
#   does); models that learn from dense rows keep one array per slot (S = 1,
#   T = n_features: contiguous loops the compiler vectorises). A race of
#   different rules on CSR rows gives each copy its own rule's S (plain SGD
#   1, Adam 3: ModelState.block_layout), each problem's S in its Config.
#   The intercept is updated by the same functions with nnz = 1 and its
#   own block.
# * ``step`` is the 1-based update count (PyTorch's ``state["step"]``), the
#   estimator's global t. ``gap`` (from ``stamp``) is how many updates a
#   coordinate of a sparse row missed; exact catch-ups use it.
# * ``opt_step`` (loop.pxi) is the only dispatch: one indirect call per row
#   through the tables ``fill_step_tables`` fills, never per coordinate. Each
#   rule is compiled on its own, so adding one does not change the code of
#   the others (an if/elif chain inlined into the loop did: one more rule
#   slowed Adam by ~6%). Adding an optimizer = its ``OPT_*`` code, its step
#   function, its two table entries in ``fill_step_tables`` (and a branch in
#   ``per_sample_constants`` if it has per-sample factors), one entry of
#   ``optimizer_codes``; then its spec class with its registry row in the
#   ``streamlr/_optim_*.py`` module of its family.
# * Two-phase rules (``two_phase_rule``): a rule whose step needs sums over
#   every coordinate of the problem, the intercept included (Prodigy's d).
#   ``_opt_sample`` calls its step function twice per row: with
#   ``si.phase == 1`` over the coefficients, then the intercept, to gather
#   its sums into ``si.acc``; then ``finish_sample`` turns them into the
#   rule's scalars (``si.rule``), says whether to step (a skipped sample
#   gets no L1 step either) and may set ``si.lr`` to the rate it steps at
#   (the L1 step's); then with ``si.phase == 2`` (coefficients, later the
#   intercept) to move the weights. Adding one: its code in
#   ``two_phase_rule`` and a branch in ``finish_sample``. The other rules
#   never read ``phase`` or ``acc``; the check is one comparison per row.
# * The schedule-free rules take the gradient at y, not at the served
#   weights: the loop gets the margin at y and their per-sample factors
#   (``schedulefree_constants``) through pointers (loop.pxi), out of the
#   inlined path of the other rules.
# * One rule needs the loss itself, not only its gradient: Vowpal Wabbit's
#   (OPT_NORMALIZED) passes over the row twice too, the intercept included,
#   but its step in between is the loss's importance-invariant update, a
#   function of the label and the prediction (``Loss.invariant_step``).
#   Its passes are ``vw_prepare`` and ``vw_apply`` below;
#   ``_normalized_sample`` (loop.pxi) runs them, and ``_epoch`` calls it
#   instead of ``_opt_sample`` (one comparison per row for the others).
#
# Formulas and their PyTorch twins are in the docstrings of streamlr.optim.

from cython cimport floating
from libc.math cimport fabs, isfinite, log, pow, sqrt

cdef enum:
    OPT_SGD = 0          # plain SGD: scikit-learn's loop, not dispatched here
    OPT_MOMENTUM = 1
    OPT_ADAGRAD = 2
    OPT_RMSPROP = 3
    OPT_ADADELTA = 4
    OPT_ADAM = 5
    OPT_ADAMAX = 6
    OPT_NADAM = 7
    OPT_FTRL = 8
    OPT_RADAM = 9
    OPT_COCOB = 10
    OPT_PRODIGY = 11
    OPT_SCHEDULEFREE_SGD = 12
    OPT_SCHEDULEFREE_ADAMW = 13
    OPT_NORMALIZED = 14  # Vowpal Wabbit's: run by _normalized_sample (loop.pxi), not the tables


cdef inline dict optimizer_codes():
    """The kernel rule of each optimizer name (a spec's ``_kernel``): what
    ``streamlr._kernels.kernel.OPTIMIZERS`` exports."""
    return {"sgd": OPT_SGD, "momentum": OPT_MOMENTUM, "adagrad": OPT_ADAGRAD,
            "rmsprop": OPT_RMSPROP, "adadelta": OPT_ADADELTA, "adam": OPT_ADAM,
            "adamax": OPT_ADAMAX, "nadam": OPT_NADAM, "ftrl": OPT_FTRL, "radam": OPT_RADAM,
            "cocob": OPT_COCOB, "prodigy": OPT_PRODIGY,
            "schedulefree_sgd": OPT_SCHEDULEFREE_SGD,
            "schedulefree_adamw": OPT_SCHEDULEFREE_ADAMW, "normalized": OPT_NORMALIZED}


cdef struct StepInfo:
    # per-sample quantities shared by all coordinates of the row
    double lr
    double step          # 1-based update count
    double gscale        # dloss * class_weight * sample_weight
    double l2            # L2 coefficient added to the gradient
    double c1            # rule-specific per-sample constants
    double c2
    double c3
    double c4            # (schedule-free: the L1 strength, set by _opt_sample)
    double* rule         # the rule's scalar state of the problem (Optimizer.scalar_state)
    int phase            # two-phase rules: 1 gathers si.acc, 2 moves the weights
    double acc[4]        # two-phase rules: the sums phase 1 gathers over the problem


cdef inline floating* _blk(floating* w, Py_ssize_t S, const int* idx,
                           Py_ssize_t k) noexcept nogil:
    # the block (weight, slots...) of the k-th coordinate of the row
    return w + (k if idx == NULL else idx[k]) * S


cdef inline double _gap(long long* stamp, const int* idx, Py_ssize_t k,
                        double step) noexcept nogil:
    # updates missed by the coordinate since its last touch (0 for dense rows)
    if stamp == NULL:
        return 0.0
    return step - 1.0 - <double>stamp[k if idx == NULL else idx[k]]


# SGD with momentum (torch.optim.SGD). hp: momentum, dampening, nesterov.
# Block: w, momentum_buffer. Lazy on sparse rows: the buffer of an untouched
# coordinate neither decays nor moves its weight.
cdef inline void step_momentum(floating* w, Py_ssize_t S, Py_ssize_t T,
                               const floating* x, const int* idx, Py_ssize_t nnz,
                               const double* hp, StepInfo* si,
                               long long* stamp) noexcept nogil:
    cdef double m = hp[0], damp = 1.0 - hp[1], g, buf
    cdef bint nesterov = hp[2] != 0, first = si.step == 1.0
    cdef floating* b
    cdef Py_ssize_t k
    for k in range(nnz):
        b = _blk(w, S, idx, k)
        g = si.gscale * x[k] + si.l2 * b[0]
        buf = g if first else m * b[T] + damp * g
        b[T] = buf
        if nesterov:
            g = g + m * buf
        else:
            g = buf
        b[0] = b[0] - si.lr * g


# Adagrad (torch.optim.Adagrad, lr_decay=0). hp: initial_accumulator_value, eps.
# Block: w, sum. Exact on sparse rows: an untouched coordinate has g = 0.
cdef inline void step_adagrad(floating* w, Py_ssize_t S, Py_ssize_t T,
                              const floating* x, const int* idx, Py_ssize_t nnz,
                              const double* hp, StepInfo* si,
                              long long* stamp) noexcept nogil:
    cdef double eps = hp[1], g
    cdef floating* b
    cdef Py_ssize_t k
    for k in range(nnz):
        b = _blk(w, S, idx, k)
        g = si.gscale * x[k] + si.l2 * b[0]
        b[T] = b[T] + g * g
        b[0] = b[0] - si.lr * g / (sqrt(<double>b[T]) + eps)


# RMSprop (torch.optim.RMSprop). hp: alpha, eps, momentum, centered.
# Block: w, square_avg, then momentum_buffer if momentum > 0, then grad_avg if
# centered. Sparse rows: the averages' decay over missed updates is caught up
# exactly (alpha ** gap); with momentum the buffer is lazy.
cdef inline void step_rmsprop(floating* w, Py_ssize_t S, Py_ssize_t T,
                              const floating* x, const int* idx, Py_ssize_t nnz,
                              const double* hp, StepInfo* si,
                              long long* stamp) noexcept nogil:
    cdef double alpha = hp[0], eps = hp[1], mom = hp[2], g, ga, avg, gap, dec
    cdef bint centered = hp[3] != 0
    cdef Py_ssize_t k, i_gav = 3 if mom > 0 else 2
    cdef floating* b
    for k in range(nnz):
        b = _blk(w, S, idx, k)
        g = si.gscale * x[k] + si.l2 * b[0]
        gap = _gap(stamp, idx, k, si.step)
        dec = pow(alpha, gap) if gap > 0 else 1.0
        b[T] = alpha * (b[T] * dec) + (1.0 - alpha) * g * g
        if centered:
            b[i_gav * T] = alpha * (b[i_gav * T] * dec) + (1.0 - alpha) * g
            ga = b[i_gav * T]
            avg = sqrt(b[T] - ga * ga) + eps
        else:
            avg = sqrt(<double>b[T]) + eps
        if mom > 0:
            b[2 * T] = mom * b[2 * T] + g / avg
            b[0] = b[0] - si.lr * b[2 * T]
        else:
            b[0] = b[0] - si.lr * (g / avg)


# Adadelta (torch.optim.Adadelta). hp: rho, eps. Block: w, square_avg,
# acc_delta. Exact on sparse rows: both averages decay by rho ** gap on the
# next touch.
cdef inline void step_adadelta(floating* w, Py_ssize_t S, Py_ssize_t T,
                               const floating* x, const int* idx, Py_ssize_t nnz,
                               const double* hp, StepInfo* si,
                               long long* stamp) noexcept nogil:
    cdef double rho = hp[0], eps = hp[1], g, ad, delta, gap, dec
    cdef floating* b
    cdef Py_ssize_t k
    for k in range(nnz):
        b = _blk(w, S, idx, k)
        g = si.gscale * x[k] + si.l2 * b[0]
        gap = _gap(stamp, idx, k, si.step)
        dec = pow(rho, gap) if gap > 0 else 1.0
        b[T] = rho * (b[T] * dec) + (1.0 - rho) * g * g
        ad = b[2 * T] * dec
        delta = sqrt(ad + eps) / sqrt(<double>b[T] + eps) * g
        b[2 * T] = rho * ad + (1.0 - rho) * delta * delta
        b[0] = b[0] - si.lr * delta


# Adam / AdamW / AMSGrad (torch.optim.Adam, AdamW). hp: beta1, beta2, eps,
# amsgrad, bias_correction, weight_decay (AdamW's decoupled decay, 0 for Adam).
# Block: w, exp_avg, exp_avg_sq, then max_exp_avg_sq if amsgrad. Lazy on
# sparse rows (torch.optim.SparseAdam's semantics): untouched moments do not
# decay. Per-sample constants: c1 = lr / (1 - beta1^t) (or lr),
# c2 = sqrt(1 - beta2^t) (or 1).
# Rows of a sparse (or interleaved) Adam step are cut into chunks of this
# many coordinates, held in stack buffers (see step_adam).
cdef enum:
    ADAM_CHUNK = 64

cdef inline void step_adam(floating* w, Py_ssize_t S, Py_ssize_t T,
                           const floating* x, const int* idx, Py_ssize_t nnz,
                           const double* hp, StepInfo* si,
                           long long* stamp) noexcept nogil:
    cdef double b1 = hp[0], b2 = hp[1], eps = hp[2], decay = 1.0 - si.lr * hp[5]
    cdef double a1 = 1.0 - b1, a2 = 1.0 - b2, gs = si.gscale, l2 = si.l2
    cdef double c1 = si.c1, inv_c2 = 1.0 / si.c2
    cdef bint amsgrad = hp[3] != 0
    cdef double g, m, v, wj
    cdef floating* b
    cdef floating* ma = w + T
    cdef floating* va = w + 2 * T
    cdef Py_ssize_t k, k0, k1
    cdef double wbuf[ADAM_CHUNK]
    cdef double mbuf[ADAM_CHUNK]
    cdef double vbuf[ADAM_CHUNK]
    cdef bint distinct
    if idx == NULL and S == 1 and not amsgrad:
        # dense row, one array per slot: a branch-free loop the compiler vectorises
        for k in range(nnz):
            wj = w[k]
            g = gs * x[k] + l2 * wj
            m = ma[k]
            m = m + a1 * (g - m)
            v = b2 * va[k] + a2 * g * g
            ma[k] = m
            va[k] = v
            w[k] = wj * decay - c1 * ma[k] / (sqrt(<double>va[k]) * inv_c2 + eps)
        return
    if not amsgrad:
        # Sparse or interleaved rows: the scattered blocks defeat the
        # vectoriser, and the scalar sqrt and division of each coordinate were
        # most of the compute. Each chunk takes three passes: gather the
        # moments' update (scalar), the new weights (contiguous buffers: the
        # compiler vectorises the sqrt and the division, which IEEE rounds
        # exactly as the scalar ones), scatter the weights. Every value is the
        # one the single loop below computes, operation for operation. A
        # column repeated within a chunk (a non-canonical CSR row) would read a
        # weight before its first update is written: such chunks take the
        # single loop.
        k0 = 0
        while k0 < nnz:
            k1 = min(k0 + ADAM_CHUNK, nnz)
            distinct = True
            if idx != NULL:
                for k in range(k0 + 1, k1):
                    distinct &= idx[k] > idx[k - 1]
            if not distinct:
                _adam_coords(w, S, T, x, idx, k0, k1, gs, l2, a1, b2, a2,
                             decay, c1, inv_c2, eps, False)
                k0 = k1
                continue
            for k in range(k0, k1):
                b = _blk(w, S, idx, k)
                wj = b[0]
                g = gs * x[k] + l2 * wj
                m = b[T]
                m = m + a1 * (g - m)
                b[T] = m
                b[2 * T] = b2 * b[2 * T] + a2 * g * g
                wbuf[k - k0] = wj
                mbuf[k - k0] = b[T]         # as stored (float32 weights: rounded)
                vbuf[k - k0] = b[2 * T]
            for k in range(k1 - k0):
                wbuf[k] = wbuf[k] * decay - c1 * mbuf[k] / (sqrt(vbuf[k]) * inv_c2 + eps)
            for k in range(k0, k1):
                _blk(w, S, idx, k)[0] = <floating>wbuf[k - k0]
            k0 = k1
        return
    _adam_coords(w, S, T, x, idx, 0, nnz, gs, l2, a1, b2, a2, decay, c1, inv_c2,
                 eps, amsgrad)


cdef inline void _adam_coords(floating* w, Py_ssize_t S, Py_ssize_t T,
                              const floating* x, const int* idx, Py_ssize_t k0,
                              Py_ssize_t k1, double gs, double l2, double a1,
                              double b2, double a2, double decay, double c1,
                              double inv_c2, double eps, bint amsgrad) noexcept nogil:
    # Adam on coordinates k0..k1-1 of the row, one at a time (the reference
    # order of operations; AMSGrad and rows with repeated columns)
    cdef double g, m, v, wj
    cdef floating* b
    cdef Py_ssize_t k
    for k in range(k0, k1):
        b = _blk(w, S, idx, k)
        wj = b[0]
        g = gs * x[k] + l2 * wj
        m = b[T]
        m = m + a1 * (g - m)          # torch's lerp_
        v = b2 * b[2 * T] + a2 * g * g
        b[T] = m
        b[2 * T] = v
        if amsgrad:
            if b[2 * T] > b[3 * T]:
                b[3 * T] = b[2 * T]
            v = b[3 * T]
        else:
            v = b[2 * T]
        b[0] = wj * decay - c1 * b[T] / (sqrt(v) * inv_c2 + eps)


# Adamax (torch.optim.Adamax). hp: beta1, beta2, eps. Block: w, exp_avg,
# exp_inf. Lazy on sparse rows. c1 = lr / (1 - beta1^t).
cdef inline void step_adamax(floating* w, Py_ssize_t S, Py_ssize_t T,
                             const floating* x, const int* idx, Py_ssize_t nnz,
                             const double* hp, StepInfo* si,
                             long long* stamp) noexcept nogil:
    cdef double b1 = hp[0], b2 = hp[1], eps = hp[2], g, m, u, a
    cdef floating* b
    cdef Py_ssize_t k
    for k in range(nnz):
        b = _blk(w, S, idx, k)
        g = si.gscale * x[k] + si.l2 * b[0]
        m = b[T]
        b[T] = m + (1.0 - b1) * (g - m)
        u = b2 * b[2 * T]
        a = fabs(g) + eps
        b[2 * T] = u if u > a else a
        b[0] = b[0] - si.c1 * b[T] / b[2 * T]


# NAdam (torch.optim.NAdam). hp: beta1, beta2, eps, momentum_decay. Block:
# w, exp_avg, exp_avg_sq; mu_product is a per-problem scalar of the loop.
# Lazy on sparse rows. c1 = lr (1 - mu) / (1 - mu_product),
# c2 = lr mu_next / (1 - mu_product mu_next), c3 = 1 - beta2^t.
cdef inline void step_nadam(floating* w, Py_ssize_t S, Py_ssize_t T,
                            const floating* x, const int* idx, Py_ssize_t nnz,
                            const double* hp, StepInfo* si,
                            long long* stamp) noexcept nogil:
    cdef double b1 = hp[0], b2 = hp[1], eps = hp[2], g, m, denom
    cdef floating* b
    cdef Py_ssize_t k
    for k in range(nnz):
        b = _blk(w, S, idx, k)
        g = si.gscale * x[k] + si.l2 * b[0]
        m = b[T]
        b[T] = m + (1.0 - b1) * (g - m)
        b[2 * T] = b2 * b[2 * T] + (1.0 - b2) * g * g
        denom = sqrt(<double>b[2 * T] / si.c3) + eps
        b[0] = b[0] - si.c1 * g / denom - si.c2 * b[T] / denom


# RAdam (torch.optim.RAdam; Liu et al. 2020). hp: beta1, beta2, eps. Block:
# w, exp_avg, exp_avg_sq. Lazy on sparse rows, as Adam. Per-sample constants
# (the rectification depends on t only): c2 = 1 once the variance is
# tractable (rho_t > 5), then c1 = lr r_t sqrt(1 - beta2^t) / (1 - beta1^t)
# and the step divides by sqrt(v) + eps; else c2 = 0, c1 = lr / (1 - beta1^t)
# and the step is the bias-corrected momentum alone.
cdef inline void step_radam(floating* w, Py_ssize_t S, Py_ssize_t T,
                            const floating* x, const int* idx, Py_ssize_t nnz,
                            const double* hp, StepInfo* si,
                            long long* stamp) noexcept nogil:
    cdef double b2 = hp[1], eps = hp[2], a1 = 1.0 - hp[0], a2 = 1.0 - hp[1]
    cdef double gs = si.gscale, l2 = si.l2, c1 = si.c1, g, m, wj
    cdef bint rectified = si.c2 != 0
    cdef floating* b
    cdef floating* ma = w + T
    cdef floating* va = w + 2 * T
    cdef Py_ssize_t k
    if idx == NULL and S == 1:
        # dense row, one array per slot: branch-free loops the compiler
        # vectorises; the same operations, in the same order, as the loop below
        if rectified:
            for k in range(nnz):
                wj = w[k]
                g = gs * x[k] + l2 * wj
                m = ma[k]
                ma[k] = m + a1 * (g - m)
                va[k] = b2 * va[k] + a2 * g * g
                w[k] = wj - c1 * ma[k] / (sqrt(<double>va[k]) + eps)
        else:
            for k in range(nnz):
                wj = w[k]
                g = gs * x[k] + l2 * wj
                m = ma[k]
                ma[k] = m + a1 * (g - m)
                va[k] = b2 * va[k] + a2 * g * g
                w[k] = wj - c1 * ma[k]
        return
    for k in range(nnz):
        b = _blk(w, S, idx, k)
        wj = b[0]
        g = gs * x[k] + l2 * wj
        m = b[T]
        b[T] = m + a1 * (g - m)          # torch's lerp_
        b[2 * T] = b2 * b[2 * T] + a2 * g * g
        if rectified:
            b[0] = wj - c1 * b[T] / (sqrt(<double>b[2 * T]) + eps)
        else:
            b[0] = wj - c1 * b[T]


# FTRL-Proximal (McMahan et al. 2013, algorithm 1); the rate is FTRL's alpha.
# hp: beta, l1, l2. Block: w, z, n. Exact on sparse rows for a constant rate:
# an untouched coordinate has g = 0, so z, n and w stay as they are. A rate
# of 0 is no step (FTRL's weights divide by it).
cdef inline void step_ftrl(floating* w, Py_ssize_t S, Py_ssize_t T,
                           const floating* x, const int* idx, Py_ssize_t nnz,
                           const double* hp, StepInfo* si,
                           long long* stamp) noexcept nogil:
    cdef double beta = hp[0], l1 = hp[1], l2 = hp[2], a = si.lr
    cdef double g, n, n_new, sigma, z
    cdef floating* b
    cdef Py_ssize_t k
    if a <= 0.0:
        return      # a zero rate (e.g. the start of a warmup) leaves FTRL as it is
    for k in range(nnz):
        b = _blk(w, S, idx, k)
        g = si.gscale * x[k] + si.l2 * b[0]
        n = b[2 * T]
        n_new = n + g * g
        sigma = (sqrt(n_new) - sqrt(n)) / a
        z = b[T] + g - sigma * b[0]
        b[T] = z
        b[2 * T] = n_new
        if fabs(z) <= l1:
            b[0] = 0.0
        else:
            b[0] = -(z - (l1 if z > 0 else -l1)) / ((beta + sqrt(n_new)) / a + l2)


# COCOB-Backprop (Orabona & Tommasi 2017), per coordinate, as the
# parameterfree package's COCOB. hp: alpha, eps. Block: w,
# sum_negative_gradients, grad_norm_sum, L (starts at eps), reward, x0. No
# rate: si.lr is never read. x0 is the weight the coordinate started from; it
# is recorded when grad_norm_sum is still 0 (every gradient so far was 0, so
# the weight has not moved from it). Exact on sparse rows: an untouched
# coordinate has g = 0, which leaves its state and its weight as they are.
cdef inline void step_cocob(floating* w, Py_ssize_t S, Py_ssize_t T,
                            const floating* x, const int* idx, Py_ssize_t nnz,
                            const double* hp, StepInfo* si,
                            long long* stamp) noexcept nogil:
    cdef double alpha = hp[0], g, ag, lmax, wealth, den, a
    cdef floating* b
    cdef Py_ssize_t k
    for k in range(nnz):
        b = _blk(w, S, idx, k)
        g = si.gscale * x[k] + si.l2 * b[0]
        if b[2 * T] == 0:
            b[5 * T] = b[0]              # the starting point of the bets
        ag = fabs(g)
        if ag > b[3 * T]:
            b[3 * T] = ag                # L: the largest |g| seen (at least eps)
        b[T] = b[T] - g                  # sum of the negative gradients
        b[2 * T] = b[2 * T] + ag         # sum of |g|
        wealth = b[4 * T] - g * (b[0] - b[5 * T])
        b[4 * T] = wealth if wealth > 0.0 else 0.0   # the reward, never below 0
        lmax = b[3 * T]
        den = b[2 * T] + lmax
        a = alpha * lmax
        den = (den if den > a else a) * lmax
        b[0] = (b[4 * T] + lmax) * b[T] / den + b[5 * T]


# Vowpal Wabbit's default update (gd.cc: --adaptive --normalized --invariant;
# Ross, Mineiro & Langford 2013; Karampatziakis & Langford 2011), the rule of
# ``Normalized``. hp: adaptive, normalized, invariant, power_t. Block: w, then
# sum_sq_grad (G, if adaptive), then max_abs_x (N, if normalized). A row is two
# passes over its nonzero entries and the intercept (x = 1): ``vw_prepare``
# updates G and N, rescales a weight whose N grows, and sums the row's
# x^2 rate(G, N) and x^2 / N^2; the loop turns these into the update ``u``
# (the loss's invariant update); ``vw_apply`` moves each weight by
# u mult x rate(G, N). A zero value is skipped (VW's parser drops it), so a
# CSR row equals its dense row, explicit zeros or not.

cdef enum:
    VW_ADAPTIVE = 0      # hp indices
    VW_NORMALIZED = 1
    VW_INVARIANT = 2
    VW_POWER_T = 3

cdef inline double vw_norm_power(const double* hp) noexcept nogil:
    # the exponent q of N^2 in the rate (and of the global average): power_t
    # - 1, also without adaptive rates, as VW 9 computes it (gd_setup sets
    # it before reading the flags), except at power_t = 0.5 without them,
    # where VW's square-root path takes -1
    if hp[VW_ADAPTIVE] == 0 and hp[VW_POWER_T] == 0.5:
        return -1.0
    return hp[VW_POWER_T] - 1.0


cdef inline double vw_rate(double G, double N, const double* hp) noexcept nogil:
    # the rate factor of a coordinate: G^-power_t (adaptive) times
    # (N^2)^q (normalized); power_t = 0.5 takes sqrt instead of pow
    cdef double r = 1.0, pt = hp[VW_POWER_T]
    cdef bint adaptive = hp[VW_ADAPTIVE] != 0
    if pt == 0.5:
        if adaptive:
            r = 1.0 / sqrt(G)
            if hp[VW_NORMALIZED] != 0:
                r = r / N
        elif hp[VW_NORMALIZED] != 0:
            r = 1.0 / (N * N)
        return r
    if adaptive:
        r = pow(G, -pt)
    if hp[VW_NORMALIZED] != 0:
        r = r * pow(N * N, vw_norm_power(hp))
    return r


cdef inline double vw_average(double total_weight, double sum_norm_x,
                              const double* hp) noexcept nogil:
    # VW's global normalizer: (sum_norm_x / total_weight)^q, the correction
    # for rows whose features are not all at their largest scale
    if sum_norm_x <= 0.0:
        return 1.0
    if hp[VW_POWER_T] == 0.5:
        if hp[VW_ADAPTIVE] != 0:
            return sqrt(total_weight / sum_norm_x)
        return total_weight / sum_norm_x
    return pow(sum_norm_x / total_weight, vw_norm_power(hp))


cdef enum:
    VW_CHUNK = 64        # coordinates per vector stage of VW's default rate
    VW_CACHE = 1024      # denominators kept from vw_prepare for vw_apply (per row)


cdef inline Py_ssize_t _vw_default_prepare(
        floating* w, Py_ssize_t S, Py_ssize_t T, const floating* x, const int* idx,
        Py_ssize_t nnz, double g2, double* pred_per_update, double* norm_x,
        double* cache) noexcept nogil:
    # vw_prepare at VW's default (rate 1 / (sqrt(G) N)), in chunks of
    # VW_CHUNK nonzero entries: a scalar pass updates G and N (in the row's
    # order: a repeated index sees its earlier update), then sqrt(G) N and
    # x^2 / (sqrt(G) N) are computed over the chunk in vector registers (the
    # same correctly rounded operations on the same operands as one at a
    # time), and the sums grow in the row's order. x^2 / N^2 is exactly 1
    # when |x| == N (and x^2 is finite): no division then. With ``cache``
    # (3 * VW_CACHE doubles), the G, N and sqrt(G) N of the first nonzero
    # entries are kept there for vw_apply; returns how many.
    cdef Py_ssize_t k = 0, m, j, done = 0, cached = 0
    cdef double xv, ax, x2, G, N, ppu = 0.0, nx = 0.0
    cdef double lx[VW_CHUNK]
    cdef double lg[VW_CHUNK]
    cdef double ln[VW_CHUNK]
    cdef double ld[VW_CHUNK]
    cdef double* gs
    cdef double* ns
    cdef double* dn
    cdef floating* b
    while k < nnz:
        if cache != NULL and done + VW_CHUNK <= VW_CACHE:
            gs, ns, dn = cache + done, cache + VW_CACHE + done, cache + 2 * VW_CACHE + done
        else:
            gs, ns, dn = lg, ln, ld
        m = 0
        while k < nnz and m < VW_CHUNK:
            xv = x[k]
            k += 1
            if xv == 0.0:
                continue
            b = _blk(w, S, idx, k - 1)
            ax = fabs(xv)
            if ax < 1.084202e-19:
                ax = 1.084202e-19
            x2 = ax * ax
            b[T] = b[T] + g2 * x2
            G = b[T]
            N = b[2 * T]
            if ax > N:
                if N > 0.0:
                    b[0] = b[0] * (N / ax)
                b[2 * T] = ax
                N = b[2 * T]
            if ax == N and x2 <= 1.7976931348623157e308:
                nx += 1.0
            else:
                nx += x2 / (N * N)
            lx[m] = x2
            gs[m] = G
            ns[m] = N
            m += 1
        for j in range(m):
            dn[j] = sqrt(gs[j]) * ns[j]
        for j in range(m):
            lx[j] = lx[j] / dn[j]
        for j in range(m):
            ppu += lx[j]
        if dn != ld:
            cached = done + m
        done += m
    pred_per_update[0] += ppu
    norm_x[0] += nx
    return cached


cdef inline void _vw_default_apply(floating* w, Py_ssize_t S, Py_ssize_t T, const floating* x,
                                   const int* idx, Py_ssize_t nnz, double step, double shrink,
                                   const double* cache, Py_ssize_t cached) noexcept nogil:
    # vw_apply at VW's default: w <- shrink w + step x / (sqrt(G) N), the
    # denominator taken from vw_prepare's cache when the coordinate's G and N
    # are still the ones it was computed from (not so for an index repeated
    # in the row), the divisions over chunks in vector registers
    cdef Py_ssize_t k = 0, m, j, c = 0
    cdef double xv, G, N
    cdef double num[VW_CHUNK]
    cdef double den[VW_CHUNK]
    cdef floating* bp[VW_CHUNK]
    cdef floating* b
    while k < nnz:
        m = 0
        while k < nnz and m < VW_CHUNK:
            xv = x[k]
            k += 1
            if xv == 0.0:
                continue
            b = _blk(w, S, idx, k - 1)
            if fabs(xv) < 1.084202e-19:
                xv = 1.084202e-19 if xv > 0 else -1.084202e-19
            G = b[T]
            N = b[2 * T]
            if c < cached and G == cache[c] and N == cache[VW_CACHE + c]:
                den[m] = cache[2 * VW_CACHE + c]
            else:
                den[m] = sqrt(G) * N
            num[m] = step * xv
            bp[m] = b
            m += 1
            c += 1
        for j in range(m):
            num[j] = num[j] / den[j]
        for j in range(m):
            bp[j][0] = shrink * bp[j][0] + num[j]


cdef inline Py_ssize_t vw_prepare(floating* w, Py_ssize_t S, Py_ssize_t T, const floating* x,
                                  const int* idx, Py_ssize_t nnz, const double* hp, double g2,
                                  double* pred_per_update, double* norm_x,
                                  double* cache=NULL) noexcept nogil:
    # First pass of a row: G += g2 x^2 (g2 = importance * dloss^2), N grows
    # to |x| (the weight rescaled as if the new scale had been the old one:
    # by (N_old / |x|)^(-2q)), and the sums x^2 rate(G, N) and x^2 / N^2 grow.
    # Returns how many denominators it left in ``cache`` for vw_apply (VW's
    # default rate only; see _vw_default_prepare).
    cdef bint adaptive = hp[VW_ADAPTIVE] != 0, normalized = hp[VW_NORMALIZED] != 0
    cdef Py_ssize_t k, iN = (2 if adaptive else 1) * T
    cdef double xv, ax, x2, n_old, G = 0.0, N = 0.0, q = vw_norm_power(hp), r
    cdef floating* b
    if adaptive and normalized and hp[VW_POWER_T] == 0.5:
        return _vw_default_prepare(w, S, T, x, idx, nnz, g2, pred_per_update, norm_x, cache)
    for k in range(nnz):
        xv = x[k]
        if xv == 0.0:
            continue
        b = _blk(w, S, idx, k)
        ax = fabs(xv)
        if ax < 1.084202e-19:
            ax = 1.084202e-19   # VW's smallest |x| (gd.cc's X_MIN)
        x2 = ax * ax
        if adaptive:
            b[T] = b[T] + g2 * x2
            G = b[T]
        if normalized:
            n_old = b[iN]
            if ax > n_old:
                if n_old > 0.0:
                    r = n_old / ax
                    if q == -0.5:
                        b[0] = b[0] * r
                    elif q == -1.0:
                        b[0] = b[0] * (r * r)
                    else:
                        b[0] = b[0] * pow(r * r, -q)
                b[iN] = ax
            N = b[iN]
            r = ax / N
            norm_x[0] += r * r
        pred_per_update[0] += x2 * vw_rate(G, N, hp)
    return 0


cdef inline void vw_apply(floating* w, Py_ssize_t S, Py_ssize_t T, const floating* x,
                          const int* idx, Py_ssize_t nnz, const double* hp, double step,
                          double shrink, const double* cache=NULL,
                          Py_ssize_t cached=0) noexcept nogil:
    # Second pass: w <- shrink w + step x rate(G, N) on the nonzero entries
    # (step = u * the global normalizer; shrink: the L2 part of the penalty;
    # cache, cached: what vw_prepare returned, at VW's default rate)
    cdef bint adaptive = hp[VW_ADAPTIVE] != 0
    cdef Py_ssize_t k, iN = (2 if adaptive else 1) * T
    cdef double xv, G = 0.0, N = 0.0
    cdef floating* b
    if adaptive and hp[VW_NORMALIZED] != 0 and hp[VW_POWER_T] == 0.5:
        _vw_default_apply(w, S, T, x, idx, nnz, step, shrink, cache, cached)
        return
    for k in range(nnz):
        xv = x[k]
        if xv == 0.0:
            continue
        b = _blk(w, S, idx, k)
        if fabs(xv) < 1.084202e-19:
            xv = 1.084202e-19 if xv > 0 else -1.084202e-19
        if adaptive:
            G = b[T]
        if hp[VW_NORMALIZED] != 0:
            N = b[iN]
        b[0] = shrink * b[0] + step * xv * vw_rate(G, N, hp)
# Prodigy (prodigyopt.Prodigy with lr = the rate and growth_rate = inf;
# Mishchenko & Defazio 2024): Adam's step scaled by d, an estimate of the
# distance to the solution, one per problem for its coefficients and its
# intercept together. A two-phase rule (see the header). hp: beta1, beta2,
# beta3, eps, d0, d_coef, weight_decay (decoupled, 0 for the intercept), flags
# (1: bias correction, 2: safeguard warmup). Block: w, exp_avg (if
# beta1 > 0), exp_avg_sq, s, p0 (the starting weight, which the estimator
# writes when it creates the state). Scalars (si.rule): PRODIGY_* below.
# Phase 1, with the d of the sample's start (c1 = dlr, c2 the factor of s,
# c3 = d (1 - beta1), c4 = d^2 (1 - beta2); per_sample_constants):
#   acc[0] += g (p0 - w); exp_avg = beta1 exp_avg + c3 g;
#   exp_avg_sq = beta2 exp_avg_sq + c4 g^2; s = beta3 s + c2 g;
#   acc[1] += |s| (the sum over the row), acc[2] += |s| - |s before|.
# finish_prodigy: the new d, then c3 = d eps, c4 = -dlr d. Phase 2:
#   w = w - weight_decay dlr w, then w -= dlr exp_avg / (sqrt(exp_avg_sq) + d eps)
#   (beta1 = 0: w += c4 g / (sqrt(exp_avg_sq) + d eps)).
# Lazy on sparse rows: only the row's coordinates (and the intercept) are
# updated; an untouched coordinate keeps its weight, moments and s, and its
# |s| stays in the sum of |s|, which s_abs_sum keeps across rows (a dense row
# recounts it: acc[1]; a sparse row moves it by acc[2]).
cdef enum:
    PRODIGY_D = 0
    PRODIGY_D_MAX = 1
    PRODIGY_NUMERATOR = 2
    PRODIGY_K = 3            # the steps taken (skipped samples do not count)
    PRODIGY_S_ABS_SUM = 4    # the sum of |s| over the problem's coordinates

cdef inline void step_prodigy(floating* w, Py_ssize_t S, Py_ssize_t T,
                              const floating* x, const int* idx, Py_ssize_t nnz,
                              const double* hp, StepInfo* si,
                              long long* stamp) noexcept nogil:
    cdef double b1 = hp[0], b2 = hp[1], b3 = hp[2], gs = si.gscale, l2 = si.l2
    cdef double c1 = si.c1, c2 = si.c2, c3 = si.c3, c4 = si.c4, decay = -hp[6] * si.c1
    cdef double g, wj, s_old, s_new, den, num = 0.0, total = 0.0, change = 0.0
    cdef bint momentum = b1 > 0.0
    cdef Py_ssize_t om = T if momentum else 0
    cdef Py_ssize_t ov = om + T
    cdef Py_ssize_t os = ov + T
    cdef Py_ssize_t op = os + T
    cdef floating* b
    cdef floating* ma
    cdef floating* va
    cdef Py_ssize_t k
    if si.phase == 1:
        if not si.lr > 0.0:
            return      # a rate of 0 skips the sample (finish_prodigy)
        for k in range(nnz):
            b = _blk(w, S, idx, k)
            wj = b[0]
            g = gs * x[k] + l2 * wj
            num += g * (b[op] - wj)
            if momentum:
                b[om] = b1 * b[om] + c3 * g
            b[ov] = b2 * b[ov] + c4 * g * g
            s_old = fabs(<double>b[os])
            b[os] = b3 * b[os] + c2 * g
            s_new = fabs(<double>b[os])     # as stored (float32 slots: rounded)
            total += s_new
            change += s_new - s_old
        si.acc[0] += num
        si.acc[1] += total
        si.acc[2] += change
        return
    if idx == NULL and S == 1:
        # dense row, one array per slot: branch-free loops the compiler
        # vectorises; the same operations, in the same order, as the loop below
        ma = w + om
        va = w + ov
        if momentum:
            for k in range(nnz):
                wj = w[k]
                wj = wj + decay * wj
                w[k] = wj - c1 * (ma[k] / (sqrt(<double>va[k]) + c3))
        else:
            for k in range(nnz):
                wj = w[k]
                g = gs * x[k] + l2 * wj
                wj = wj + decay * wj
                w[k] = wj + c4 * (g / (sqrt(<double>va[k]) + c3))
        return
    for k in range(nnz):
        b = _blk(w, S, idx, k)
        wj = b[0]
        g = gs * x[k] + l2 * wj
        den = sqrt(<double>b[ov]) + c3
        wj = wj + decay * wj
        if momentum:
            b[0] = wj - c1 * (b[om] / den)
        else:
            b[0] = wj + c4 * (g / den)


cdef inline int finish_prodigy(const double* hp, StepInfo* si, bint recount) noexcept nogil:
    # Prodigy between its phases: the new d from the sums of phase 1. Returns
    # 1 to step, 0 for a sample prodigyopt skips, -1 if d is not finite. It
    # skips a sample at a rate of 0 (phase 1 did nothing) and one after which
    # every s is 0 (no gradient yet, or beta3 = 0 and a zero gradient: only
    # phase 1's moments changed).
    cdef double* r = si.rule
    cdef double d = r[PRODIGY_D], denom, num, d_hat
    if not si.lr > 0.0:
        return 0
    denom = si.acc[1] if recount else r[PRODIGY_S_ABS_SUM] + si.acc[2]
    if denom < 0.0:
        denom = 0.0     # the running sum's rounding
    r[PRODIGY_S_ABS_SUM] = denom
    if denom == 0.0:
        return 0
    num = hp[2] * r[PRODIGY_NUMERATOR] + (d / hp[4]) * si.c1 * si.acc[0]
    d_hat = hp[5] * num / denom
    if d_hat > r[PRODIGY_D_MAX]:
        r[PRODIGY_D_MAX] = d_hat
    r[PRODIGY_D] = r[PRODIGY_D_MAX]     # min(d_max, d * growth_rate), growth_rate = inf
    r[PRODIGY_NUMERATOR] = num
    r[PRODIGY_K] += 1.0
    d = r[PRODIGY_D]
    si.c3 = d * hp[3]
    si.c4 = -si.c1 * d
    si.lr = si.c1       # the step's rate dlr: the L1 proximal step's
    return 1 if isfinite(d) and isfinite(num) else -1


cdef inline bint two_phase_rule(int kind) noexcept nogil:
    # the rules whose step needs sums over the whole problem (see the header)
    return kind == OPT_PRODIGY


cdef inline int finish_sample(int kind, const double* hp, StepInfo* si,
                              bint recount) noexcept nogil:
    # a two-phase rule between its phases: 1 to step, 0 to skip the step (and
    # the L1 proximal step), -1 if its scalars are no longer finite. It may set
    # si.lr to the rate it steps at, which the L1 proximal step then takes.
    # ``recount``: every coordinate was in phase 1 (a dense row)
    if kind == OPT_PRODIGY:
        return finish_prodigy(hp, si, recount)
    return 1
# Schedule-free SGD and AdamW (Defazio et al. 2024), as the schedulefree
# package's SGDScheduleFree and AdamWScheduleFree with batch size 1. hp:
# beta (SGD's momentum, AdamW's beta1), beta2, eps, weight_decay,
# warmup_steps, r, weight_lr_power (SGD: beta2 = eps = weight_decay = 0).
# Block: w = x (the averaged point: coef_, every prediction), z, then
# exp_avg_sq for AdamW. The gradient point y = (1 - beta) z + beta x is never
# stored: the loop takes the loss's derivative at y's margin (_epoch), and
# the L2 part of the penalty (and AdamW's weight_decay) at y_j here. Per
# sample (per_sample_constants): c1 = the warmed-up rate gamma, c2 = ckp1 =
# weight / weight_sum, c3 = 1 - beta2^k (AdamW's bias correction); c4 = the
# L1 strength (_opt_sample), whose proximal step acts on z, the SGD sequence.
# The reference moves y in place: y += ckp1 (z - y) + gamma (beta (1 - ckp1)
# - 1) d, z -= gamma d. Written for x = (y - (1 - beta) z) / beta this is
#     z <- z - gamma d,   x <- x + ckp1 (z - x)        (with the new z),
# which is what is computed. Lazy on sparse rows: an untouched coordinate's
# x, z (and exp_avg_sq) do not move (densely, x would drift towards z).
cdef inline double _sf_prox(double z, double thr) noexcept nogil:
    # soft threshold of z by thr >= 0
    if z > thr:
        return z - thr
    if z < -thr:
        return z + thr
    return 0.0


cdef inline void step_sf_sgd(floating* w, Py_ssize_t S, Py_ssize_t T,
                             const floating* x, const int* idx, Py_ssize_t nnz,
                             const double* hp, StepInfo* si,
                             long long* stamp) noexcept nogil:
    cdef double beta = hp[0], gs = si.gscale, l2 = si.l2, lr = si.c1, c = si.c2
    cdef double thr = si.c1 * si.c4, g, z, xj
    cdef floating* b
    cdef floating* za = w + T
    cdef Py_ssize_t k
    if idx == NULL and S == 1 and thr == 0.0:
        # dense row, one array per slot: a branch-free loop the compiler
        # vectorises; the same operations as the loop below
        for k in range(nnz):
            xj = w[k]
            z = za[k]
            g = gs * x[k] + l2 * ((1.0 - beta) * z + beta * xj)
            za[k] = <floating>(z - lr * g)
            w[k] = <floating>(xj + c * (za[k] - xj))
        return
    for k in range(nnz):
        b = _blk(w, S, idx, k)
        xj = b[0]
        z = b[T]
        g = gs * x[k] + l2 * ((1.0 - beta) * z + beta * xj)    # the gradient at y
        z = z - lr * g
        if thr > 0.0:
            z = _sf_prox(z, thr)
        b[T] = <floating>z
        b[0] = <floating>(xj + c * (b[T] - xj))


cdef inline void step_sf_adamw(floating* w, Py_ssize_t S, Py_ssize_t T,
                               const floating* x, const int* idx, Py_ssize_t nnz,
                               const double* hp, StepInfo* si,
                               long long* stamp) noexcept nogil:
    cdef double beta = hp[0], b2 = hp[1], a2 = 1.0 - hp[1], eps = hp[2], wd = hp[3]
    cdef double gs = si.gscale, l2 = si.l2, lr = si.c1, c = si.c2, inv_bc2 = 1.0 / si.c3
    cdef double thr = si.c1 * si.c4, g, z, xj, yj
    cdef floating* b
    cdef floating* za = w + T
    cdef floating* va = w + 2 * T
    cdef Py_ssize_t k
    if idx == NULL and S == 1 and thr == 0.0:
        # dense row, one array per slot: a branch-free loop the compiler
        # vectorises; the same operations as the loop below
        for k in range(nnz):
            xj = w[k]
            z = za[k]
            yj = (1.0 - beta) * z + beta * xj
            g = gs * x[k] + l2 * yj
            va[k] = <floating>(b2 * va[k] + a2 * g * g)
            g = g / (sqrt(<double>va[k] * inv_bc2) + eps) + wd * yj
            za[k] = <floating>(z - lr * g)
            w[k] = <floating>(xj + c * (za[k] - xj))
        return
    for k in range(nnz):
        b = _blk(w, S, idx, k)
        xj = b[0]
        z = b[T]
        yj = (1.0 - beta) * z + beta * xj        # the gradient point
        g = gs * x[k] + l2 * yj
        b[2 * T] = <floating>(b2 * b[2 * T] + a2 * g * g)
        g = g / (sqrt(<double>b[2 * T] * inv_bc2) + eps) + wd * yj
        z = z - lr * g
        if thr > 0.0:
            z = _sf_prox(z, thr)
        b[T] = <floating>z
        b[0] = <floating>(xj + c * (b[T] - xj))


ctypedef void (*StepF64)(double* w, Py_ssize_t S, Py_ssize_t T, const double* x,
                         const int* idx, Py_ssize_t nnz, const double* hp, StepInfo* si,
                         long long* stamp) noexcept nogil
ctypedef void (*StepF32)(float* w, Py_ssize_t S, Py_ssize_t T, const float* x,
                         const int* idx, Py_ssize_t nnz, const double* hp, StepInfo* si,
                         long long* stamp) noexcept nogil

# the most kernel codes the step tables hold
cdef enum:
    MAX_OPTIMIZERS = 32


cdef inline void fill_step_tables(StepF64* f64, StepF32* f32) noexcept nogil:
    # The step function of each kernel code, per dtype: ``opt_step`` calls
    # through these tables (one indirect call per row, never per coordinate),
    # so each rule is compiled on its own and adding one cannot change the
    # code generated for the others.
    f64[OPT_MOMENTUM] = step_momentum[double]
    f32[OPT_MOMENTUM] = step_momentum[float]
    f64[OPT_ADAGRAD] = step_adagrad[double]
    f32[OPT_ADAGRAD] = step_adagrad[float]
    f64[OPT_RMSPROP] = step_rmsprop[double]
    f32[OPT_RMSPROP] = step_rmsprop[float]
    f64[OPT_ADADELTA] = step_adadelta[double]
    f32[OPT_ADADELTA] = step_adadelta[float]
    f64[OPT_ADAM] = step_adam[double]
    f32[OPT_ADAM] = step_adam[float]
    f64[OPT_ADAMAX] = step_adamax[double]
    f32[OPT_ADAMAX] = step_adamax[float]
    f64[OPT_NADAM] = step_nadam[double]
    f32[OPT_NADAM] = step_nadam[float]
    f64[OPT_FTRL] = step_ftrl[double]
    f32[OPT_FTRL] = step_ftrl[float]
    f64[OPT_RADAM] = step_radam[double]
    f32[OPT_RADAM] = step_radam[float]
    f64[OPT_COCOB] = step_cocob[double]
    f32[OPT_COCOB] = step_cocob[float]
    f64[OPT_PRODIGY] = step_prodigy[double]
    f32[OPT_PRODIGY] = step_prodigy[float]
    f64[OPT_SCHEDULEFREE_SGD] = step_sf_sgd[double]
    f32[OPT_SCHEDULEFREE_SGD] = step_sf_sgd[float]
    f64[OPT_SCHEDULEFREE_ADAMW] = step_sf_adamw[double]
    f32[OPT_SCHEDULEFREE_ADAMW] = step_sf_adamw[float]


cdef inline double _pow_t(double b, double log_b, double t) noexcept nogil:
    # b ** t for a rate 0 <= b < 1 and a step count t; log_b = log(b), taken
    # once per pass by the caller (a log per sample cost a tenth of dense
    # Adam's time). Once b ** t < 1e-17 it only ever enters as 1 - b ** t,
    # which is then exactly 1.0: skip the pow (most of the per-sample cost of
    # Adam on short sparse rows).
    if b == 0.0 or t * log_b < -39.2:
        return 0.0
    return pow(b, t)


cdef inline void per_sample_constants(int kind, const double* hp, const double* log_hp,
                                      StepInfo* si, double* mu_product) noexcept nogil:
    # the per-sample factors of the rules (bias corrections, NAdam's mu,
    # RAdam's rectification); log_hp[i] = log(hp[i]) for the two decay rates
    # hp[0], hp[1]. The schedule-free rules have their own (below).
    cdef double t = si.step, mu, mu_next, b2t, rho_inf, rho_t, d, n
    if kind == OPT_ADAM:
        if hp[4] != 0:
            si.c1 = si.lr / (1.0 - _pow_t(hp[0], log_hp[0], t))
            si.c2 = sqrt(1.0 - _pow_t(hp[1], log_hp[1], t))
        else:
            si.c1 = si.lr
            si.c2 = 1.0
    elif kind == OPT_ADAMAX:
        si.c1 = si.lr / (1.0 - _pow_t(hp[0], log_hp[0], t))
    elif kind == OPT_NADAM:
        mu = hp[0] * (1.0 - 0.5 * pow(0.96, t * hp[3]))
        mu_next = hp[0] * (1.0 - 0.5 * pow(0.96, (t + 1.0) * hp[3]))
        mu_product[0] *= mu
        si.c1 = si.lr * (1.0 - mu) / (1.0 - mu_product[0])
        si.c2 = si.lr * mu_next / (1.0 - mu_product[0] * mu_next)
        si.c3 = 1.0 - _pow_t(hp[1], log_hp[1], t)
    elif kind == OPT_RADAM:
        # rho_inf = 2 / (1 - beta2) - 1, rho_t = rho_inf - 2 t beta2^t / (1 - beta2^t)
        b2t = _pow_t(hp[1], log_hp[1], t)
        rho_inf = 2.0 / (1.0 - hp[1]) - 1.0
        rho_t = rho_inf - 2.0 * t * b2t / (1.0 - b2t)
        si.c1 = si.lr / (1.0 - _pow_t(hp[0], log_hp[0], t))
        if rho_t > 5.0:
            si.c1 = si.c1 * (sqrt((rho_t - 4.0) * (rho_t - 2.0) * rho_inf
                                  / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t))
                             * sqrt(1.0 - b2t))
            si.c2 = 1.0
        else:
            si.c2 = 0.0
    elif kind == OPT_PRODIGY:
        # with the d of the sample's start; the bias correction at Prodigy's
        # own step count k + 1 (skipped samples do not count)
        d = si.rule[PRODIGY_D]
        n = si.rule[PRODIGY_K] + 1.0
        si.c1 = d * si.lr
        if <int>hp[7] & 1:
            si.c1 = si.c1 * (sqrt(1.0 - _pow_t(hp[1], log_hp[1], n))
                             / (1.0 - _pow_t(hp[0], log_hp[0], n)))
        si.c2 = (d / hp[4]) * (d if <int>hp[7] & 2 else si.c1)
        si.c3 = d * (1.0 - hp[0])
        si.c4 = d * d * (1.0 - hp[1])


cdef inline void schedulefree_constants(const double* hp, const double* log_hp,
                                        StepInfo* si) noexcept nogil:
    # The per-sample factors of the schedule-free rules, advancing their
    # scalars si.rule = (k, weight_sum, lr_max) once per sample; hp[4:7] =
    # warmup_steps, r, weight_lr_power. Not a branch of per_sample_constants:
    # the loop calls it through a pointer (loop.pxi), so that it adds no code
    # to the inlined per-sample path of the other rules.
    cdef double k = si.rule[0], weight
    si.c1 = si.lr * ((k + 1.0) / hp[4] if k < hp[4] else 1.0)
    if si.c1 > si.rule[2]:
        si.rule[2] = si.c1
    weight = pow(si.rule[2], hp[6])
    if hp[5] != 0.0:
        weight = pow(k + 1.0, hp[5]) * weight      # (k + 1)^0 is 1: no pow
    si.rule[1] = si.rule[1] + weight
    # the reference's ZeroDivisionError (no weight yet: a zero rate) is 0
    si.c2 = weight / si.rule[1] if si.rule[1] != 0.0 else 0.0
    si.c3 = 1.0 - _pow_t(hp[1], log_hp[1], k + 1.0)
    si.rule[0] = k + 1.0
