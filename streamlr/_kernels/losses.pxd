# Loss interface of the kernels: one virtual call per sample, in double.
# Overridable cdef methods are never fused (cython/cython#3607).

cdef class Loss:
    # True for the hinge family (hinge, perceptron): the passive-aggressive
    # rules then take the sign of the update from y.
    cdef readonly bint is_hinge
    cdef double loss(self, double y, double p) noexcept nogil
    cdef double dloss(self, double y, double p) noexcept nogil
    # the move of the prediction under the loss's gradient flow
    # dp/dh = -a * dloss(y, p) for h in [0, 1] (importance-invariant updates)
    cdef double invariant_step(self, double y, double p, double a) noexcept nogil
