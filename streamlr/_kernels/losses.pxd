# Loss interface of the kernels: one virtual call per sample, in double.
# Overridable cdef methods are never fused (cython/cython#3607).
from libc.math cimport exp, log, log1p

# Loss.kind: the losses the plain SGD loop evaluates inline (LOSS_LOG: the
# functions below, the very ones LogLoss's methods call, so the same bits),
# saving two virtual calls per sample on the chain from one row's prediction
# to the next row's; every other loss is LOSS_OTHER (its virtual methods)
cdef enum:
    LOSS_OTHER = 0
    LOSS_LOG = 1


cdef inline double log1pexp(double x) noexcept nogil:
    # log(1 + exp(x)) without overflow; the cut points are scikit-learn's, so
    # the value is the same to the last bit.
    if x <= -37:
        return exp(x)
    if x <= -2:
        return log1p(exp(x))
    if x <= 18:
        return log(1. + exp(x))
    if x <= 33.3:
        return x + exp(-x)
    return x


cdef inline double log_loss_value(double y, double p) noexcept nogil:
    # LogLoss.loss: binomial log loss, y in {0, 1}
    return log1pexp(p) - y * p


cdef inline double log_loss_dloss(double y, double p) noexcept nogil:
    # LogLoss.dloss: expit(p) - y, written to avoid overflowing exp for very
    # negative p
    cdef double e
    if p > -37:
        e = exp(-p)
        return ((1 - y) - y * e) / (1 + e)
    return exp(p) - y


cdef class Loss:
    # True for the hinge family (hinge, perceptron): the passive-aggressive
    # rules then take the sign of the update from y.
    cdef readonly bint is_hinge
    # True for the log link (poisson, gamma, tweedie): the prediction served
    # is exp(p), the loss a function of the margin p
    cdef readonly bint log_link
    # the targets the loss is defined for, as text ("y >= 0"; "" for any finite y)
    cdef readonly str domain
    # the loss= string it was made for, and its parameters (for messages)
    cdef public str name
    # LOSS_LOG for LogLoss, else LOSS_OTHER (the enum above)
    cdef readonly int kind
    cdef double loss(self, double y, double p) noexcept nogil
    cdef double dloss(self, double y, double p) noexcept nogil
    # the move of the prediction under the loss's gradient flow
    # dp/dh = -a * dloss(y, p) for h in [0, 1] (importance-invariant updates)
    cdef double invariant_step(self, double y, double p, double a) noexcept nogil
    # whether y lies in the loss's domain (every finite y for most losses)
    cdef bint valid_target(self, double y) noexcept nogil
