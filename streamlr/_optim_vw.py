"""Vowpal Wabbit's default update rule: Normalized.

Private: import the class from `streamlr.optim`.
"""
import numpy as np

from ._optim_base import Optimizer
from ._registry import register_optimizer
from ._spec import check_bool, check_real


@register_optimizer(strings={"vw": {}})
class Normalized(Optimizer):
    r"""Vowpal Wabbit's default update: adaptive, normalized and importance invariant.

    The string ``"vw"`` is ``Normalized()``: the update of Vowpal Wabbit 9
    run with its defaults (``--adaptive --normalized --invariant``, rate
    ``-l 0.5``), which needs no tuned rate and is invariant to the scale of
    each feature. When ``learning_rate`` is a string it is ignored (``eta0``
    too) and the rule runs at VW's default rate (`default_rate`: 0.5, and 10
    when not both adaptive and normalized, as VW); a schedule object as
    ``learning_rate`` sets the rate instead (VW's ``-l``) for each update.

    Parameters
    ----------
    adaptive : bool, default=True
        Per-coordinate rates from the sum of squared gradients (VW's
        ``--adaptive``).
    normalized : bool, default=True
        Steps scaled by the largest magnitude each feature has taken (VW's
        ``--normalized``).
    invariant : bool, default=True
        The loss's importance-invariant update instead of a gradient step
        (VW's ``--invariant``).
    power_t : float, default=0.5
        The exponent :math:`p >= 0` of the rates (VW's ``--power_t``): of the
        sum of squared gradients when adaptive, of the importance seen
        otherwise.

    See Also
    --------
    Adagrad : Per-coordinate rates without normalization.

    Notes
    -----
    A sample :math:`(x, y)` of importance :math:`h` (``sample_weight``
    times the class weight), with prediction :math:`\hat y` and loss
    derivative :math:`\ell'(\hat y)`, visits the nonzero entries
    :math:`x_i` of its row and the intercept (VW's ``Constant`` feature,
    :math:`x = 1`) twice. With :math:`q = p - 1`, or :math:`q = -1`
    without adaptive rates at :math:`p = 0.5` (VW 9 computes :math:`q`
    before reading its flags: without adaptive rates and at another
    :math:`p` it keeps :math:`p - 1`, which this rule follows), the first
    pass updates, for each of them,

    .. math::
        G_i \leftarrow G_i + h\,\ell'(\hat y)^2 x_i^2, \qquad
        N_i \leftarrow \max(N_i, |x_i|), \qquad
        r_i = G_i^{-p}\,(N_i^2)^{q},

    rescaling :math:`w_i` by :math:`(N_{old}/|x_i|)^{-2q}` when
    :math:`N_i` grows from :math:`N_{old} > 0` (as if the new scale had
    been the old one), and the problem's sums

    .. math::
        W \leftarrow W + h, \qquad
        S \leftarrow S + h \sum_i x_i^2 / N_i^2, \qquad
        m = (S / W)^{q}, \qquad
        \pi = m \sum_i x_i^2 r_i,

    where :math:`\pi` is how far the prediction moves per unit of update.
    The update :math:`u` then comes from the loss at the scale
    :math:`a = \eta\,h\,\pi` (:math:`\eta` the rate): with ``invariant``, the
    prediction moves by :math:`\Delta` where the gradient flow
    :math:`d\hat y/ds = -a\,\ell'(\hat y)` takes it in unit time
    (Karampatziakis and Langford 2011), :math:`u = \Delta / \pi`; without,
    :math:`u = -\eta h \ell'(\hat y)`. The second pass moves each weight by

    .. math::
        w_i \leftarrow w_i + u\,m\,x_i\,r_i,

    so the prediction moves by exactly :math:`\Delta`. ``adaptive=False``
    drops :math:`G` (:math:`r_i` without it) and scales :math:`\eta` by
    :math:`(t + h)^{-p}`, :math:`t` the importance seen before (plus 1 when
    neither adaptive nor normalized: VW's ``initial_t``);
    ``normalized=False`` drops :math:`N`, :math:`S` and :math:`m`. With
    all three off this is VW's ``--sgd``. VW's squared loss is
    :math:`(\hat y - y)^2`, twice ``squared_error``'s: the adaptive rule at
    :math:`p = 0.5` does not see it (it is then invariant to the scale of
    the loss), the others do (without adaptive rates VW's rate
    :math:`\eta` is this rule's :math:`2\eta`). Its logistic and hinge
    losses are these ones (labels -1 and 1).

    The invariant updates are closed forms for every loss (hinge, squared
    hinge, modified Huber, squared error, Huber, epsilon-insensitive and its
    square); the logistic one solves
    :math:`D + e^{z}(e^{D} - 1) = a` (:math:`z = y\hat y` the margin) by
    Newton's method to double precision, where VW approximates it (its
    Lambert-W formula is within about 1e-4). A loss without a closed form
    takes the first-order step :math:`u = -\eta h \ell'(\hat y)`, and so
    does the perceptron (its flow stops on the decision boundary and would
    stay there).

    Like VW: a sample whose loss or gradient is 0 changes nothing but
    :math:`t` (but for a zero prediction with a nonzero gradient: the
    perceptron's loss is 0 on the decision boundary, where every model
    starts), nor one whose :math:`h\,\ell'(\hat y)^2` underflows to 0
    (a gradient below about 1e-162 where the loss is still positive, as a
    logistic margin between about 372 and 745), a sample that takes a
    coordinate's :math:`G` no further than 0 (its
    :math:`h\,\ell'(\hat y)^2 x_i^2` underflows on its first visit: its
    rate, and :math:`\pi`, are infinite) updates :math:`G`, :math:`N`,
    :math:`W` and :math:`S` but takes no step (VW's update is 0 then), one
    of weight <= 0 nothing at all (VW requires positive
    importances), a row without nonzero entries (nor intercept) only
    :math:`W` and :math:`t`, and zero values
    are never touched (VW's parser drops them), so a CSR row updates the
    model exactly as its dense row does, with or without explicitly stored
    zeros (also with penalties). Predictions are not clipped to the labels
    seen (VW clips them unless given ``--min_prediction``/``--max_prediction``).
    VW computes in float32; this rule computes in float64 (float32 weights
    store their state in float32) but finds a loss 0 as VW does: at the
    prediction and target rounded to float32, in float32 (a logistic margin
    of 16.6355 or more; a hinge margin of 1 or more). An invariant step that
    stops on a kink of the loss (the hinge's margin 1, the quantile's
    :math:`\hat y = y`) leaves that row, and rows proportional to it, on the
    kink in exact arithmetic: they are skipped, as in VW, where a double
    loss of 1e-16 would grow :math:`N` and rescale the weight. (VW's own
    float32 prediction can land an ulp short of the kink and learn from
    that rounding; this rule does not follow it there.) A column stored
    twice in a CSR row (unsummed duplicates, or VW's ``|a b b``) is VW's
    feature seen twice: each occurrence updates :math:`G`, :math:`N` and the
    sums in turn and moves the weight, at the rate after them all.

    Penalties act at the update's own rate :math:`\bar\eta = -u /
    \ell'(\hat y)`, as VW's ``--l2``: the L2 part multiplies the touched
    coefficients by :math:`1 - \alpha (1 - \rho) \bar\eta` before the step
    (VW scales every weight, the intercept included, through a global
    factor; the equality holds on rows without zeros with
    ``fit_intercept=False``); the L1 part is a proximal step of
    :math:`\bar\eta\,\alpha\rho` on the touched coefficients after it (VW's
    ``--l1`` truncates lazily instead). The intercept is never penalized.

    State: ``sum_sq_grad`` (:math:`G`, when adaptive) and ``max_abs_x``
    (:math:`N`, when normalized) per coordinate, with their
    ``_intercept`` twins; per binary problem ``total_weight`` (:math:`W`)
    and ``normalized_sum_norm_x`` (:math:`S`), VW's names, and
    ``weighted_t`` (:math:`t`, VW's ``t``: the importance seen, from its
    ``initial_t``).

    References
    ----------
    S. Ross, P. Mineiro and J. Langford, "Normalized Online Learning", UAI
    2013. N. Karampatziakis and J. Langford, "Online Importance Weight
    Aware Updates", UAI 2011. J. Duchi, E. Hazan and Y. Singer, "Adaptive
    Subgradient Methods for Online Learning and Stochastic Optimization",
    JMLR 2011. Vowpal Wabbit 9, ``gd.cc`` and ``loss_functions.cc``.

    Examples
    --------
    >>> import numpy as np
    >>> from streamlr import SGDRegressor
    >>> from streamlr.optim import Normalized
    >>> X = np.array([[1.0, 200.0], [2.0, -100.0], [0.5, 300.0]])
    >>> reg = SGDRegressor(optimizer="vw", penalty=None).partial_fit(X, [1.0, 2.0, 0.5])
    >>> reg.optimizer_state_["max_abs_x"]
    array([  2., 300.])
    >>> Normalized(invariant=False).slots()
    ('sum_sq_grad', 'max_abs_x')
    """

    _kernel = "normalized"
    exact_on_sparse = True

    @property
    def default_rate(self):
        """VW's default ``-l``: 0.5 for its default (adaptive and normalized) update, 10 otherwise."""
        return 0.5 if (self.adaptive and self.normalized) else 10.0

    def __init__(self, adaptive=True, normalized=True, invariant=True, power_t=0.5):
        self.adaptive = adaptive
        self.normalized = normalized
        self.invariant = invariant
        self.power_t = power_t
        self._validate()

    def _validate(self):
        check_bool("adaptive", self.adaptive)
        check_bool("normalized", self.normalized)
        check_bool("invariant", self.invariant)
        check_real("power_t", self.power_t, low=0.0)

    def slots(self):
        return (("sum_sq_grad",) if self.adaptive else ()) + (
            ("max_abs_x",) if self.normalized else ())

    def hyperparameters(self, intercept=False):
        return (float(bool(self.adaptive)), float(bool(self.normalized)),
                float(bool(self.invariant)), float(self.power_t))

    def scalar_state(self):
        # VW's initial_t is 1 for the plain rule (neither adaptive nor normalized)
        t0 = 0.0 if (self.adaptive or self.normalized) else 1.0
        return (("total_weight", 0.0), ("normalized_sum_norm_x", 0.0), ("weighted_t", t0))

    def mix_scalar_state(self, copies, base, state):
        # VW's merge adds total_weight and normalized_sum_norm_x (and t): each
        # counts every copy's samples since base, as the model's t does
        out = {}
        for name, initial in self.scalar_state():
            start = base[name] if base is not None else initial
            out[name] = start + np.sum([c[name] - start for c in copies], axis=0)
        return out
