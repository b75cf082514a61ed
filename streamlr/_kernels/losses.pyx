"""Per-sample losses of the SGD estimators, with scikit-learn's exact definitions.

Design
------
* ``Loss`` is the virtual interface the sample loop calls once per sample:
  ``loss(y, p)`` and ``dloss(y, p)`` = d loss / d p (the sign convention of
  scikit-learn's ``cy_gradient``). Everything is ``double``.
* ``p`` is the raw linear prediction ``w . x + b``. Classification losses take
  ``y`` in {-1, +1}, except ``LogLoss`` which, as scikit-learn's half-binomial
  loss, takes ``y`` in {0, 1}.
* The +-1e12 clip of ``dloss`` belongs to plain SGD and is applied by the loop,
  not here.
* ``invariant_step(y, p, a)``: how far the prediction moves when the gradient
  flow ``dp/dh = -a * dloss(y, p)`` runs for ``h`` in [0, 1] (Karampatziakis
  and Langford 2011): the importance-invariant update of Vowpal Wabbit's rule
  (``streamlr.optim.Normalized``), for ``a > 0``. Closed forms for every loss
  here (the logistic one solves its equation by Newton's method, to double
  precision); the base class's first-order step ``-a * dloss`` is the
  fallback of a loss without one.
* ``make_loss(name, epsilon)`` is the only constructor the Python layer uses;
  ``_py_loss`` / ``_py_dloss`` are test hooks.
"""
import numpy as np

from libc.math cimport copysign, exp, expm1, fabs, log, log1p


cdef class Loss:
    """Base class: subclasses override ``loss`` and ``dloss``."""

    cdef double loss(self, double y, double p) noexcept nogil:
        return 0.0

    cdef double dloss(self, double y, double p) noexcept nogil:
        return 0.0

    cdef double invariant_step(self, double y, double p, double a) noexcept nogil:
        # no closed form: the plain (first-order) gradient step
        return -a * self.dloss(y, p)

    def _py_invariant_step(self, double y, double p, double a):
        return self.invariant_step(y, p, a)

    def _py_loss(self, double y, double p):
        return self.loss(y, p)

    def _py_dloss(self, double y, double p):
        return self.dloss(y, p)

    def loss_array(self, const double[::1] y, const double[::1] p):
        """The loss of each (y, p) pair, as a NumPy array."""
        out = np.empty(y.shape[0])
        cdef double[::1] o = out
        cdef Py_ssize_t i
        with nogil:
            for i in range(y.shape[0]):
                o[i] = self.loss(y[i], p[i])
        return out

    def dloss_array(self, const double[::1] y, const double[::1] p):
        """d loss / d p of each (y, p) pair, as a NumPy array (no clipping)."""
        out = np.empty(y.shape[0])
        cdef double[::1] o = out
        cdef Py_ssize_t i
        with nogil:
            for i in range(y.shape[0]):
                o[i] = self.dloss(y[i], p[i])
        return out


cdef class Hinge(Loss):
    """max(0, threshold - y p); threshold 0 is the perceptron loss."""
    cdef double threshold

    def __init__(self, double threshold=1.0):
        self.threshold = threshold
        self.is_hinge = True

    cdef double loss(self, double y, double p) noexcept nogil:
        cdef double z = p * y
        return self.threshold - z if z <= self.threshold else 0.0

    cdef double dloss(self, double y, double p) noexcept nogil:
        return -y if p * y <= self.threshold else 0.0

    cdef double invariant_step(self, double y, double p, double a) noexcept nogil:
        # p moves at speed a y until the margin y p reaches the threshold.
        # The perceptron's (threshold 0) flow stops on the boundary, where
        # it would stay: it takes the first-order step instead.
        cdef double gap = self.threshold - p * y, yy = y * y
        if self.threshold <= 0.0:
            return -a * self.dloss(y, p)
        if gap <= 0.0 or yy == 0.0:
            return 0.0
        return a * y if a * yy < gap else gap / y


cdef class SquaredHinge(Loss):
    """max(0, threshold - y p)^2."""
    cdef double threshold

    def __init__(self, double threshold=1.0):
        self.threshold = threshold

    cdef double loss(self, double y, double p) noexcept nogil:
        cdef double z = self.threshold - p * y
        return z * z if z > 0 else 0.0

    cdef double dloss(self, double y, double p) noexcept nogil:
        cdef double z = self.threshold - p * y
        return -2 * y * z if z > 0 else 0.0

    cdef double invariant_step(self, double y, double p, double a) noexcept nogil:
        # the gap threshold - y p decays as exp(-2 a y^2 h)
        cdef double gap = self.threshold - p * y, yy = y * y
        if gap <= 0.0 or yy == 0.0:
            return 0.0
        return -gap * expm1(-2.0 * a * yy) / y


cdef class ModifiedHuber(Loss):
    """Zhang's (2004) quadratically smoothed hinge: (1 - yp)^2 on [-1, 1], -4yp below."""

    cdef double loss(self, double y, double p) noexcept nogil:
        cdef double z = p * y
        if z >= 1.0:
            return 0.0
        if z >= -1.0:
            return (1.0 - z) * (1.0 - z)
        return -4.0 * z

    cdef double dloss(self, double y, double p) noexcept nogil:
        cdef double z = p * y
        if z >= 1.0:
            return 0.0
        if z >= -1.0:
            return 2.0 * (1.0 - z) * -y
        return -4.0 * y

    cdef double invariant_step(self, double y, double p, double a) noexcept nogil:
        # the margin z = y p grows at speed 4 a y^2 below -1, then 1 - z
        # decays as exp(-2 a y^2 h)
        cdef double z = p * y, yy = y * y, h
        if z >= 1.0 or yy == 0.0:
            return 0.0
        if z >= -1.0:
            return -(1.0 - z) * expm1(-2.0 * a * yy) / y
        h = (-1.0 - z) / (4.0 * a * yy)   # time to reach -1
        if h >= 1.0:
            return 4.0 * a * y
        return ((-1.0 - z) - 2.0 * expm1(-2.0 * a * yy * (1.0 - h))) / y


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


cdef inline double _logistic_flow(double z, double a) noexcept nogil:
    # The root D of D + e^z (e^D - 1) = a (a > 0): how far the margin z moves
    # under dz/dh = a / (1 + e^z) in unit time. The left side is increasing
    # and convex in D, so Newton's method from an upper bound decreases
    # monotonically to the root; it stops when a step no longer decreases D
    # (the root to rounding). Upper bounds: a / (1 + e^z) (the first-order
    # step, since e^D - 1 >= D) and log1p(a e^-z) (since D >= 0). For z > 0
    # the equation is divided by e^z, which cannot then overflow.
    cdef double c, d, D, Dn, g, gp
    cdef int _it
    if z > 0.0:
        c = exp(-z)
        D = a * c / (1.0 + c)
        g = log1p(a * c)
    else:
        d = exp(z)
        D = a / (1.0 + d)
        g = log1p(a / d) if d > 0.0 else D
    if g < D:
        D = g
    for _it in range(100):
        if z > 0.0:
            g = expm1(D) + (D - a) * c
            gp = exp(D) + c
        else:
            g = D + d * expm1(D) - a
            gp = 1.0 + d * exp(D)
        if not g > 0.0:
            break
        Dn = D - g / gp
        if not Dn < D:
            break
        D = Dn
    return D


cdef class LogLoss(Loss):
    """Binomial log loss, y in {0, 1}: log(1 + exp(p)) - y p."""

    cdef double loss(self, double y, double p) noexcept nogil:
        return log1pexp(p) - y * p

    cdef double dloss(self, double y, double p) noexcept nogil:
        # expit(p) - y, written to avoid overflowing exp for very negative p
        cdef double e
        if p > -37:
            e = exp(-p)
            return ((1 - y) - y * e) / (1 + e)
        return exp(p) - y

    cdef double invariant_step(self, double y, double p, double a) noexcept nogil:
        # y in {0, 1}: the margin z = s p (s = 2 y - 1) follows
        # dz/dh = a / (1 + e^z), whose solution is z + e^z growing by a
        # (Vowpal Wabbit approximates it through Lambert's W); other targets
        # take the first-order step
        cdef double sgn
        if y == 1.0:
            sgn = 1.0
        elif y == 0.0:
            sgn = -1.0
        else:
            return -a * self.dloss(y, p)
        return sgn * _logistic_flow(sgn * p, a)


cdef class SquaredError(Loss):
    """0.5 (p - y)^2."""

    cdef double loss(self, double y, double p) noexcept nogil:
        return 0.5 * (p - y) * (p - y)

    cdef double dloss(self, double y, double p) noexcept nogil:
        return p - y

    cdef double invariant_step(self, double y, double p, double a) noexcept nogil:
        # the residual p - y decays as exp(-a h)
        return (p - y) * expm1(-a)


cdef class Huber(Loss):
    """0.5 r^2 for |r| <= epsilon, epsilon (|r| - epsilon / 2) beyond; r = y - p."""
    cdef double epsilon

    def __init__(self, double epsilon):
        self.epsilon = epsilon

    cdef double loss(self, double y, double p) noexcept nogil:
        cdef double r = fabs(y - p)
        if r <= self.epsilon:
            return 0.5 * r * r
        return self.epsilon * (r - 0.5 * self.epsilon)

    cdef double dloss(self, double y, double p) noexcept nogil:
        cdef double r = p - y
        if fabs(r) <= self.epsilon:
            return r
        return self.epsilon if r >= 0 else -self.epsilon

    cdef double invariant_step(self, double y, double p, double a) noexcept nogil:
        # |p - y| shrinks at speed a epsilon down to epsilon, then decays as
        # exp(-a h) for the rest of the time
        cdef double r = p - y, ar = fabs(r), eps = self.epsilon, h
        if ar <= eps:
            return r * expm1(-a)
        h = (ar - eps) / (a * eps)          # time to reach epsilon
        if h >= 1.0:
            return -copysign(a * eps, r)
        return -copysign((ar - eps) - eps * expm1(-a * (1.0 - h)), r)


cdef class EpsilonInsensitive(Loss):
    """max(0, |y - p| - epsilon), the SVR loss."""
    cdef double epsilon

    def __init__(self, double epsilon):
        self.epsilon = epsilon

    cdef double loss(self, double y, double p) noexcept nogil:
        cdef double r = fabs(y - p) - self.epsilon
        return r if r > 0 else 0.0

    cdef double dloss(self, double y, double p) noexcept nogil:
        if y - p > self.epsilon:
            return -1.0
        if p - y > self.epsilon:
            return 1.0
        return 0.0

    cdef double invariant_step(self, double y, double p, double a) noexcept nogil:
        # p moves at speed a towards y until |p - y| = epsilon
        cdef double r = p - y, excess = fabs(r) - self.epsilon
        if excess <= 0.0:
            return 0.0
        return -copysign(a if a < excess else excess, r)


cdef class SquaredEpsilonInsensitive(Loss):
    """max(0, |y - p| - epsilon)^2."""
    cdef double epsilon

    def __init__(self, double epsilon):
        self.epsilon = epsilon

    cdef double loss(self, double y, double p) noexcept nogil:
        cdef double r = fabs(y - p) - self.epsilon
        return r * r if r > 0 else 0.0

    cdef double dloss(self, double y, double p) noexcept nogil:
        cdef double z = y - p
        if z > self.epsilon:
            return -2 * (z - self.epsilon)
        if z < -self.epsilon:
            return 2 * (-z - self.epsilon)
        return 0.0

    cdef double invariant_step(self, double y, double p, double a) noexcept nogil:
        # the excess |p - y| - epsilon decays as exp(-2 a h)
        cdef double r = p - y, excess = fabs(r) - self.epsilon
        if excess <= 0.0:
            return 0.0
        return -copysign(-excess * expm1(-2.0 * a), r)


# name -> (class, takes epsilon?, positional args)
_LOSSES = {
    "hinge": (Hinge, False, (1.0,)),
    "perceptron": (Hinge, False, (0.0,)),
    "squared_hinge": (SquaredHinge, False, (1.0,)),
    "modified_huber": (ModifiedHuber, False, ()),
    "log_loss": (LogLoss, False, ()),
    "squared_error": (SquaredError, False, ()),
    "huber": (Huber, True, ()),
    "epsilon_insensitive": (EpsilonInsensitive, True, ()),
    "squared_epsilon_insensitive": (SquaredEpsilonInsensitive, True, ()),
}

LOSS_NAMES = tuple(_LOSSES)


def make_loss(str name, double epsilon=0.1):
    """Return the compiled loss called ``name`` (scikit-learn's loss names)."""
    try:
        cls, takes_eps, args = _LOSSES[name]
    except KeyError:
        raise ValueError(
            f"Unknown loss {name!r}; expected one of {sorted(_LOSSES)}"
        ) from None
    return cls(epsilon) if takes_eps else cls(*args)
