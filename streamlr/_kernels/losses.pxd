# Loss interface of the kernels: one virtual call per sample, in double.
# Overridable cdef methods are never fused (cython/cython#3607).

# a loss and its derivative at the same point (Loss.loss_dloss): a struct of
# two doubles comes back in two registers, not through memory
cdef struct LossGrad:
    double loss
    double dloss


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
    cdef double loss(self, double y, double p) noexcept nogil
    cdef double dloss(self, double y, double p) noexcept nogil
    # both at once, bit for bit the two calls (the per-sample loop needs both
    # at the same p)
    cdef LossGrad loss_dloss(self, double y, double p) noexcept nogil
    # the move of the prediction under the loss's gradient flow
    # dp/dh = -a * dloss(y, p) for h in [0, 1] (importance-invariant updates)
    cdef double invariant_step(self, double y, double p, double a) noexcept nogil
    # whether the loss at (y, p) is 0 as Vowpal Wabbit finds it: in float32,
    # at the target and the prediction rounded to float32 (its rule skips
    # such a sample: ``streamlr.optim.Normalized``)
    cdef bint zero_in_float32(self, double y, double p) noexcept nogil
    # whether y lies in the loss's domain (every finite y for most losses)
    cdef bint valid_target(self, double y) noexcept nogil
