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
* ``zero_in_float32(y, p)``: whether Vowpal Wabbit's rule finds the loss 0,
  in float32 at float32 operands (it then skips the sample): the loss at
  the rounded operands for most losses, the float32 margin 16.6355 on for
  ``LogLoss`` (where 1 + exp(-z) rounds to 1).
* The log-link losses (``Tweedie``: poisson, gamma, tweedie) are functions
  of the margin ``p``, the logarithm of the mean served; ``log_link`` tells
  the engine to serve ``exp(p)``. Their exponentials are kept from
  overflowing by continuing each loss along its tangent beyond a reach of
  ``log(y)`` (see ``Tweedie``); ``valid_target`` and ``domain`` state which
  targets a loss takes.
* ``make_loss(name, epsilon, power, quantile)`` is the only constructor the
  Python layer uses; ``_py_loss`` / ``_py_dloss`` are test hooks.
"""
import numpy as np

from libc.math cimport copysign, exp, expm1, fabs, isfinite, log, log1p


cdef class Loss:
    """Base class: subclasses override ``loss`` and ``dloss``."""

    def __cinit__(self):
        self.domain = "any finite y"

    cdef bint valid_target(self, double y) noexcept nogil:
        return isfinite(y)

    def describe(self):
        """The loss as the estimator's parameters name it (for messages)."""
        return f"loss={self.name!r}"

    def target_error(self, double y, str where=""):
        """The ValueError of a target ``y`` outside the domain."""
        return ValueError(f"{self.describe()} takes targets {self.domain}; got y={y!r}{where}")

    def first_invalid_target(self, const double[::1] y):
        """The index of the first target outside the loss's domain, or -1."""
        cdef Py_ssize_t i, bad = -1
        with nogil:
            for i in range(y.shape[0]):
                if not self.valid_target(y[i]):
                    bad = i
                    break
        return bad

    cdef double loss(self, double y, double p) noexcept nogil:
        return 0.0

    cdef LossGrad loss_dloss(self, double y, double p) noexcept nogil:
        # the default: the two calls (a loss whose two share work overrides it)
        cdef LossGrad r
        r.loss = self.loss(y, p)
        r.dloss = self.dloss(y, p)
        return r

    cdef double dloss(self, double y, double p) noexcept nogil:
        return 0.0

    cdef double invariant_step(self, double y, double p, double a) noexcept nogil:
        # no closed form: the plain (first-order) gradient step
        return -a * self.dloss(y, p)

    cdef bint zero_in_float32(self, double y, double p) noexcept nogil:
        # the loss in double at float32 operands: for the hinge family,
        # squared, Huber, epsilon-insensitive and quantile losses the sign
        # of VW's float32 expression (1 - y p, p - y, ...) is this one's, so
        # a prediction on a kink up to double rounding is on it here too
        return not (self.loss(<float>y, <float>p) > 0.0)

    def _py_invariant_step(self, double y, double p, double a):
        return self.invariant_step(y, p, a)

    def _py_zero_in_float32(self, double y, double p):
        return self.zero_in_float32(y, p)

    def _py_loss(self, double y, double p):
        return self.loss(y, p)

    def _py_dloss(self, double y, double p):
        return self.dloss(y, p)

    def _py_loss_dloss(self, double y, double p):
        cdef LossGrad r = self.loss_dloss(y, p)
        return r.loss, r.dloss

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


cdef inline double _log1pexp_from(double p, double e) noexcept nogil:
    # log(1 + exp(p)) for p > -37 from e = exp(-p), the exponential the log
    # loss's derivative takes: the loop then pays one exp a sample for both
    # (Loss.loss_dloss). Accurate to a few ulps, as log1pexp (whose cut
    # points at 18 and 33.3 it keeps), but not bitwise scikit-learn's value
    # below 18 (there it evaluates log1p(exp(p)) or log(1 + exp(p)))
    if p <= 0:
        return log1p(1 / e)
    if p <= 18:
        return p + log1p(e)
    if p <= 33.3:
        return p + e
    return p


cdef class LogLoss(Loss):
    """Binomial log loss, y in {0, 1}: log(1 + exp(p)) - y p."""

    cdef double loss(self, double y, double p) noexcept nogil:
        # the same arithmetic as loss_dloss, so every path reports the same bits
        if p <= -37:
            return exp(p) - y * p
        return _log1pexp_from(p, exp(-p)) - y * p

    cdef double dloss(self, double y, double p) noexcept nogil:
        # expit(p) - y, written to avoid overflowing exp for very negative p
        cdef double e
        if p > -37:
            e = exp(-p)
            return ((1 - y) - y * e) / (1 + e)
        return exp(p) - y

    cdef bint zero_in_float32(self, double y, double p) noexcept nogil:
        # VW's float32 log(1 + exp(-z)) at the margin z (its labels -1, 1)
        # is 0 when exp(-z) <= 2^-24 (1 + exp(-z) rounds to 1): from the
        # float32 margin 16.635532 (24 log 2 rounded up to float32) on
        cdef float z
        if y == 1.0:
            z = <float>p
        elif y == 0.0:
            z = -<float>p
        else:
            return Loss.zero_in_float32(self, y, p)
        return z >= <float>16.63553237915039

    cdef LossGrad loss_dloss(self, double y, double p) noexcept nogil:
        # loss and dloss above, bit for bit, from one exp
        cdef double e
        cdef LossGrad r
        if p <= -37:
            e = exp(p)
            r.dloss = e - y
            r.loss = e - y * p
            return r
        e = exp(-p)
        r.dloss = ((1 - y) - y * e) / (1 + e)
        r.loss = _log1pexp_from(p, e) - y * p
        return r

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


# The log-link losses are exact within LOG_REACH (natural-log units, divided
# by the largest exponent of the loss) of log(y), the margin of a perfect
# prediction; beyond it, on the side where the loss grows exponentially, they
# continue along their tangent (as Huber's loss continues the square).
cdef double LOG_REACH = 30.0


cdef inline double _log_expm1(double x) noexcept nogil:
    # log(exp(x) - 1) for x > 0, without overflow
    if x > 30.0:
        return x + log1p(-exp(-x))
    return log(expm1(x))


cdef int TWEEDIE_FLOW_STEPS = 16


cdef double _tweedie_flow(double d0, double b, double e) noexcept nogil:
    # The move of d under dd/dh = -b e^((1-k) d) expm1(d), h in [0, 1] (the
    # Tweedie flow for y > 0, power k not 1 or 2), which has no closed form.
    # In w = e^(-e d), e the exponent of the term that dominates on d's side
    # of the minimum d = 0 (2 - k above, 1 - k below), the rate is bounded:
    # dw/dh = e b (1 - e^(-d)) above, e b expm1(d) below. Exponential Euler
    # steps in w (exact for the linearised rate, so stable however stiff);
    # the flow approaches d = 0 and never passes it: a step that would ends
    # there.
    cdef double w = exp(-e * d0), d = d0, tau = 1.0 / TWEEDIE_FLOW_STEPS, f, fp, wn, dn
    cdef int _i
    if d0 == 0.0:
        return 0.0
    if -e * d0 > 600.0:
        # far out on a side where the rate vanishes (k > 2 above, k < 1
        # below): it barely changes, the first-order step is the flow
        if d0 > 0.0:
            f = -b * exp(e * d0) * expm1(-d0)
        else:
            f = b * exp(e * d0) * expm1(d0)
        return -d0 if fabs(f) > fabs(d0) else -f
    for _i in range(TWEEDIE_FLOW_STEPS):
        if d > 0.0:
            f = -e * b * expm1(-d)
            fp = -b * exp(-d) / w
        else:
            f = e * b * expm1(d)
            fp = -b * exp(d) / w
        wn = w - f / fp * -expm1(tau * fp)
        if not wn > 0.0:
            return -d0
        dn = -log(wn) / e
        if not dn * d0 > 0.0:
            return -d0
        w, d = wn, dn
    return d - d0


cdef class Tweedie(Loss):
    """Half Tweedie deviance with the log link (poisson: power 1, gamma: 2).

    With mu = exp(p) and k the power, the half deviance (scikit-learn's
    ``HalfTweedieLoss`` plus its constant, so that a perfect prediction has
    loss 0) is

        y^(2-k) / ((1-k)(2-k)) - y mu^(1-k) / (1-k) + mu^(2-k) / (2-k),

    y log(y / mu) - y + mu for k = 1, log(mu / y) + y / mu - 1 for k = 2 and
    (y - mu)^2 / 2 for k = 0; y^(2-k) is max(y, 0)^(2-k) for k < 0 (as in
    scikit-learn's mean_tweedie_deviance).
    It is evaluated in d = p - log(y) (d = p for y <= 0), as
    y^(2-k) (expm1((2-k) d) / (2-k) - expm1((1-k) d) / (1-k)), which keeps
    its precision near the minimum. Beyond |d| = reach = 30 / max(1, |1-k|,
    |2-k|), on each side where an exponential term grows (above for k < 2,
    below for k > 1 and y > 0), it continues along its tangent: the gradient
    stays within about e^30 max(1, y^(2-k)), and exp never overflows.

    Its importance-invariant step is exact for poisson, gamma and y = 0; for
    other powers with y > 0 the flow is integrated numerically
    (``_tweedie_flow``: within 0.1% of it for 1 < k < 2, 1% for the other
    powers tested); for y < 0 (k <= 0) it is the larger of the exact moves
    of the loss's two terms alone, a lower bound of the true move.
    """
    cdef readonly double power
    cdef double ea, eb          # the exponents 1 - k and 2 - k
    cdef double reach
    cdef bint up, down          # which sides continue along the tangent

    def __init__(self, double power):
        if not isfinite(power) or 0.0 < power < 1.0:
            raise ValueError(f"the Tweedie power must be <= 0 or >= 1; got {power!r}")
        self.power = power
        self.ea = 1.0 - power
        self.eb = 2.0 - power
        self.reach = LOG_REACH / max(1.0, fabs(self.ea), fabs(self.eb))
        self.up = power < 2.0
        self.down = power > 1.0
        self.log_link = True
        if power <= 0.0:
            self.domain = "any finite y"
        elif power < 2.0:
            self.domain = "y >= 0"
        else:
            self.domain = "y > 0"

    def describe(self):
        if self.name == "tweedie":
            return f"loss='tweedie' with power={self.power!r}"
        return f"loss={self.name!r}"

    cdef bint valid_target(self, double y) noexcept nogil:
        if not isfinite(y):
            return False
        if self.power <= 0.0:
            return True
        return y >= 0.0 if self.power < 2.0 else y > 0.0

    cdef inline double _value(self, double y, double s, double d) noexcept nogil:
        # the half deviance at p = s + d (s = log y for y > 0, else 0)
        cdef double k = self.power
        if y > 0.0:
            if k == 1.0:
                return y * (expm1(d) - d)
            if k == 2.0:
                return expm1(-d) + d
            return exp(self.eb * s) * (expm1(self.eb * d) / self.eb - expm1(self.ea * d) / self.ea)
        # y <= 0 (y < 0 only for k <= 0; outside the domain it stays finite);
        # the normal (k = 0) keeps y^2 / 2, its deviance being (y - mu)^2
        if k == 1.0:
            return exp(d) - y * d
        if k == 2.0:
            return d + y * exp(-d)
        if y == 0.0:    # (the y term alone would be 0 * inf far below for k > 1)
            return exp(self.eb * d) / self.eb
        if k == 0.0:
            return 0.5 * y * y + exp(self.eb * d) / self.eb - y * exp(self.ea * d) / self.ea
        return exp(self.eb * d) / self.eb - y * exp(self.ea * d) / self.ea

    cdef inline double _grad(self, double y, double s, double d) noexcept nogil:
        # d loss / d p at p = s + d
        cdef double k = self.power
        if y > 0.0:
            if k == 1.0:
                return y * expm1(d)
            if k == 2.0:
                return -expm1(-d)
            # y^(2-k) e^((1-k) d) expm1(d), with the factor that cannot overflow
            if d > 0.0:
                return -exp(self.eb * (s + d)) * expm1(-d)
            return exp(self.eb * s + self.ea * d) * expm1(d)
        if k == 1.0:
            return exp(d) - y
        if k == 2.0:
            return 1.0 - y * exp(-d)
        if y == 0.0:
            return exp(self.eb * d)
        return exp(self.eb * d) - y * exp(self.ea * d)

    cdef inline double _edge(self, double y, double d) noexcept nogil:
        # the tangent's point when d lies beyond the reach, else 0
        if self.up and d > self.reach:
            return self.reach
        if self.down and y > 0.0 and d < -self.reach:
            return -self.reach
        return 0.0

    cdef double loss(self, double y, double p) noexcept nogil:
        cdef double s = log(y) if y > 0.0 else 0.0, d = p - s
        cdef double c = self._edge(y, d)
        if c == 0.0:
            return self._value(y, s, d)
        return self._value(y, s, c) + self._grad(y, s, c) * (d - c)

    cdef double dloss(self, double y, double p) noexcept nogil:
        cdef double s = log(y) if y > 0.0 else 0.0, d = p - s
        cdef double c = self._edge(y, d)
        return self._grad(y, s, d if c == 0.0 else c)

    cdef double _flow(self, double y, double s, double d, double a) noexcept nogil:
        # the move of d under dd/dh = -a grad(d) for h in [0, 1], within the reach
        cdef double k = self.power, r1, r2
        if y > 0.0:
            if k == 1.0:
                # e^-p moves linearly towards 1/y: exact (Vowpal Wabbit's
                # Poisson update), in logs so that nothing overflows
                return a * y - log1pexp(d + _log_expm1(a * y))
            if k == 2.0:
                # e^p relaxes to y as exp(-a h): exact
                return log1p(-expm1(-a) * expm1(-d))
            return _tweedie_flow(d, a * exp(self.eb * s), self.eb if d > 0.0 else self.ea)
        if y == 0.0:
            # e^(-(2-k) p) grows linearly: exact
            return -log1pexp(self.eb * d + log(a * self.eb)) / self.eb
        # y < 0 (k <= 0): each of the two terms alone moves p less than both
        # together; the larger of their exact moves (a safe lower bound)
        r1 = -log1pexp(self.eb * d + log(a * self.eb)) / self.eb
        r2 = -log1pexp(self.ea * d + log(-a * y * self.ea)) / self.ea
        return r1 if r1 < r2 else r2

    cdef double invariant_step(self, double y, double p, double a) noexcept nogil:
        # beyond the reach, p first moves at the tangent's constant speed
        # back to it, then follows the flow inside
        cdef double s = log(y) if y > 0.0 else 0.0, d = p - s
        cdef double c = self._edge(y, d), g, tau
        if c == 0.0:
            return self._flow(y, s, d, a)
        g = self._grad(y, s, c)
        tau = (d - c) / (a * g)         # > 0: the tangent slopes away from the minimum
        if not tau < 1.0:
            return -a * g
        return (c - d) + self._flow(y, s, c, a * (1.0 - tau))


cdef class Quantile(Loss):
    """The pinball loss of quantile q: q (y - p) for y >= p, (1 - q) (p - y) below."""
    cdef readonly double quantile

    def __init__(self, double quantile):
        if not 0.0 < quantile < 1.0:
            raise ValueError(f"the quantile must lie in (0, 1); got {quantile!r}")
        self.quantile = quantile

    cdef double loss(self, double y, double p) noexcept nogil:
        cdef double r = y - p
        return self.quantile * r if r >= 0.0 else (self.quantile - 1.0) * r

    cdef double dloss(self, double y, double p) noexcept nogil:
        # scikit-learn's PinballLoss: -q on the kink
        return -self.quantile if y >= p else 1.0 - self.quantile

    cdef double invariant_step(self, double y, double p, double a) noexcept nogil:
        # p moves towards y at speed a q (from below) or a (1 - q) (from
        # above) and stops there
        cdef double r = y - p, m
        if r > 0.0:
            m = a * self.quantile
            return m if m < r else r
        if r < 0.0:
            m = a * (1.0 - self.quantile)
            return -m if m < -r else r
        return 0.0


# name -> factory(epsilon, power, quantile)
_LOSSES = {
    "hinge": lambda eps, power, q: Hinge(1.0),
    "perceptron": lambda eps, power, q: Hinge(0.0),
    "squared_hinge": lambda eps, power, q: SquaredHinge(1.0),
    "modified_huber": lambda eps, power, q: ModifiedHuber(),
    "log_loss": lambda eps, power, q: LogLoss(),
    "squared_error": lambda eps, power, q: SquaredError(),
    "huber": lambda eps, power, q: Huber(eps),
    "epsilon_insensitive": lambda eps, power, q: EpsilonInsensitive(eps),
    "squared_epsilon_insensitive": lambda eps, power, q: SquaredEpsilonInsensitive(eps),
    "poisson": lambda eps, power, q: Tweedie(1.0),
    "gamma": lambda eps, power, q: Tweedie(2.0),
    "tweedie": lambda eps, power, q: Tweedie(power),
    "quantile": lambda eps, power, q: Quantile(q),
}

LOSS_NAMES = tuple(_LOSSES)


def exp_link(const double[::1] d):
    """The mean ``exp(d)`` of each decision value of a log-link loss, by the C
    library's ``exp``: the one the kernels (``predict_one``, the losses) use,
    so that ``predict`` serves bitwise the same values (NumPy's vectorised
    exp differs from it in the last bit for a few percent of the values)."""
    cdef Py_ssize_t i, n = d.shape[0]
    out = np.empty(n)
    cdef double[::1] o = out
    with nogil:
        for i in range(n):
            o[i] = exp(d[i])
    return out


def make_loss(str name, double epsilon=0.1, double power=1.5, double quantile=0.5):
    """Return the compiled loss called ``name`` (scikit-learn's loss names);
    ``epsilon``, ``power`` and ``quantile`` are the parameters of the losses
    that take them (Huber and the epsilon-insensitive ones, Tweedie, pinball)."""
    try:
        factory = _LOSSES[name]
    except KeyError:
        raise ValueError(
            f"Unknown loss {name!r}; expected one of {sorted(_LOSSES)}"
        ) from None
    loss = factory(epsilon, power, quantile)
    loss.name = name
    return loss
