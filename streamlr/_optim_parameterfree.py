"""Parameter-free rules, which learn without a tuned rate: COCOB, Prodigy.

Private: import the classes from `streamlr.optim`.
"""
import math

import numpy as np

from ._optim_base import Optimizer
from ._registry import register_optimizer
from ._spec import check_betas, check_bool, check_real


@register_optimizer(
    strings={"cocob": {}},
    torch="parameterfree.COCOB",
    # its weight_decay is coupled (added to the gradient): the estimator's
    # penalty="l2", which the oracle adds to the loss
    torch_kwargs=lambda s: {"alpha": s.alpha, "eps": s.eps},
)
class COCOB(Optimizer):
    r"""COCOB-Backprop, coin betting without a learning rate (``parameterfree.COCOB``).

    The string ``"cocob"`` is ``COCOB()``. COCOB has no rate: the estimator's
    ``learning_rate`` and ``eta0`` are ignored, and a schedule object as
    ``learning_rate`` raises ``ValueError``.

    Parameters
    ----------
    alpha : float, default=100.0
        The bound :math:`\alpha` on the first bets, >= 0 (about the number of
        warm-up updates). The ``alpha`` of ``parameterfree.COCOB``.
    eps : float, default=1e-8
        The initial scale :math:`L_0` of the gradients, > 0. The ``eps`` of
        ``parameterfree.COCOB``.

    Notes
    -----
    Per coordinate, each coordinate betting on its own (Orabona and Tommasi
    2017, algorithm 2), from the starting weight :math:`x_0` with
    :math:`\theta = G = R = 0` and :math:`L = \epsilon`:

    .. math::
        L \leftarrow \max(L, |g|), \quad
        \theta \leftarrow \theta - g, \quad
        G \leftarrow G + |g|, \quad
        R \leftarrow \max(R - g\,(w - x_0), 0),

        w \leftarrow x_0 + \frac{(R + L)\,\theta}{L \max(G + L, \alpha L)}

    in the order of ``parameterfree.COCOB``. :math:`x_0` is recorded at a
    coordinate's first update with :math:`G = 0` (all its gradients so far
    were 0, so it still holds its starting weight, ``coef_init`` or a warm
    start included). The reference's ``weight_decay`` (coupled: added to the
    gradient) is the estimator's ``penalty="l2"``. With ``penalty="l1"`` or
    ``"elasticnet"``, the L1 part is the proximal step that follows every
    rule's update, of size ``rate * alpha * l1_ratio`` with the rate of the
    ``learning_rate`` string (``eta0`` for ``"constant"`` and ``"optimal"``):
    the one place where a rate enters (the reference has no L1). The
    intercept is updated by
    the same rule, with x = 1 and no penalty.

    Sparse rows: exact (with ``penalty=None``): an untouched coordinate has
    g = 0, which leaves :math:`L, \theta, G, R` and its weight as they are.
    State: ``sum_negative_gradients`` (:math:`\theta`), ``grad_norm_sum``
    (:math:`G`), ``L``, ``reward`` (:math:`R`), ``x0``, the reference's names.

    References
    ----------
    F. Orabona and T. Tommasi, "Training Deep Networks without Learning Rates
    Through Coin Betting", NeurIPS 2017.

    Examples
    --------
    >>> from streamlr import SGDRegressor
    >>> from streamlr.optim import COCOB
    >>> reg = SGDRegressor(optimizer=COCOB(), penalty=None)
    >>> COCOB().slots()
    ('sum_negative_gradients', 'grad_norm_sum', 'L', 'reward', 'x0')
    """

    _kernel = "cocob"
    sign_odd_slots = ("sum_negative_gradients", "x0")
    exact_on_sparse = True
    takes_rate = False

    def __init__(self, alpha=100.0, eps=1e-8):
        self.alpha = alpha
        self.eps = eps
        self._validate()

    def _validate(self):
        check_real("alpha", self.alpha, low=0.0, what="alpha")
        check_real("eps", self.eps, low=0.0, low_open=True, what="epsilon")

    def slots(self):
        return ("sum_negative_gradients", "grad_norm_sum", "L", "reward", "x0")

    def initial_values(self):
        return (0.0, 0.0, float(self.eps), 0.0, 0.0)

    def hyperparameters(self, intercept=False):
        return (float(self.alpha), float(self.eps))


def _prodigy_twin(s):
    # prodigyopt.Prodigy's keywords (besides lr) for a spec: decoupled decay
    # (the bias, in its own group, gets none), unbounded growth of d
    return {"betas": tuple(s.betas), "beta3": s.beta3, "eps": s.eps, "d0": s.d0,
            "d_coef": s.d_coef, "weight_decay": s.weight_decay, "decouple": True,
            "use_bias_correction": s.use_bias_correction,
            "safeguard_warmup": s.safeguard_warmup, "growth_rate": float("inf")}


@register_optimizer(strings={"prodigy": {}}, torch="prodigyopt.Prodigy",
                    torch_kwargs=_prodigy_twin)
class Prodigy(Optimizer):
    r"""Prodigy, Adam with a learned step size (``prodigyopt.Prodigy``).

    The string ``"prodigy"`` is ``Prodigy()``. Prodigy needs no tuned rate:
    with a ``learning_rate`` string (which is then ignored, ``eta0`` too) it
    runs at the reference's ``lr=1.0``. A schedule object as
    ``learning_rate`` sets ``lr`` sample by sample (a warmup, a cosine decay),
    as a PyTorch scheduler stepped after each sample would.

    Parameters
    ----------
    betas : tuple of (float, float), default=(0.9, 0.999)
        The decay rates :math:`\beta_1, \beta_2` of the moments, in [0, 1).
        The ``betas`` of ``prodigyopt.Prodigy``.
    beta3 : float or None, default=None
        The decay rate :math:`\beta_3` of the statistics that estimate
        :math:`d`, in [0, 1); None for :math:`\sqrt{\beta_2}`.
    eps : float, default=1e-8
        The term :math:`\epsilon` (times :math:`d`) added to the
        denominator, > 0.
    d0 : float, default=1e-6
        The initial estimate :math:`d_0` of the distance to the solution, > 0.
    d_coef : float, default=1.0
        The factor :math:`c` of the estimate of :math:`d`, > 0.
    weight_decay : float, default=0.0
        Decoupled weight decay :math:`\lambda` (AdamW's), >= 0; never on the
        intercept. The reference's ``weight_decay`` with ``decouple=True``;
        its coupled form is the estimator's ``penalty="l2"``.
    use_bias_correction : bool, default=False
        Correct the bias of the moments, at Prodigy's own step count.
    safeguard_warmup : bool, default=False
        Leave the rate out of the statistics of :math:`d` (the reference's
        remedy for a warmup that starts near 0).

    See Also
    --------
    COCOB : Coin betting, another rule without a learning rate.
    Adam : The update that Prodigy scales.

    Notes
    -----
    One sample at rate :math:`\eta_t` (1.0 unless a schedule object sets
    it), with gradient :math:`g` and :math:`p_0` the weights the model
    started from. :math:`d`, :math:`d_{max}` (both :math:`d_0` at first),
    the numerator :math:`r` and the step count :math:`k` are one number per
    binary problem, shared by its coefficients and its intercept. With
    :math:`\delta = d\,\eta_t` (times
    :math:`\sqrt{1-\beta_2^{k+1}} / (1-\beta_1^{k+1})` with
    ``use_bias_correction``), first, over every coordinate:

    .. math::
        m \leftarrow \beta_1 m + d (1-\beta_1) g, \quad
        v \leftarrow \beta_2 v + d^2 (1-\beta_2) g^2, \quad
        s \leftarrow \beta_3 s + \frac{d}{d_0} \delta\, g,

        r \leftarrow \beta_3 r + \frac{d}{d_0} \delta \sum_j g_j (p_{0,j} - w_j)

    (with ``safeguard_warmup``, :math:`s` grows by
    :math:`\frac{d}{d_0} d\, g`). A sample with :math:`\sum_j |s_j| = 0`
    (every gradient so far was 0) stops here, as in the reference: :math:`r`
    and :math:`k` keep their values and no weight moves (no L1 step
    either). Else

    .. math::
        d_{max} \leftarrow \max\Big(d_{max}, \frac{c\, r}{\sum_j |s_j|}\Big), \quad
        d \leftarrow d_{max}, \quad k \leftarrow k + 1,

        w \leftarrow w - \lambda \delta w - \delta \frac{m}{\sqrt{v} + d \epsilon}

    with :math:`\delta` of the sample's start (with :math:`\beta_1 = 0`
    there is no :math:`m`: the step is :math:`\delta d g / (\sqrt v + d
    \epsilon)`). A sample at :math:`\eta_t = 0` (a warmup's start) changes
    nothing, as in the reference. The sums run over the coefficients and the
    intercept (x = 1, no penalty, no decay).
    ``penalty="l2"`` adds :math:`\alpha w` to :math:`g` (the reference's
    coupled decay); the L1 part of ``"l1"``/``"elasticnet"`` is a proximal
    step of size :math:`\delta \alpha\, \mathrm{l1\_ratio}` after the step.

    Sparse rows: lazy. A CSR row updates its stored coordinates and the
    intercept; an untouched coordinate keeps its weight, :math:`m`,
    :math:`v` and :math:`s` (they neither decay nor move), and its
    :math:`|s_j|` stays in the sum :math:`\sum_j |s_j|`, which the model
    keeps as ``s_abs_sum``, moved by the changes of the touched
    coordinates (a dense row counts it again). Storing every zero of a row
    gives the dense update, up to the rounding of that running sum.

    State: the slots ``exp_avg`` (:math:`m`, absent when
    :math:`\beta_1 = 0`), ``exp_avg_sq`` (:math:`v`), ``s``, ``p0``; the
    scalars ``d``, ``d_max``, ``d_numerator`` (:math:`r`), ``k`` and
    ``s_abs_sum``, one per binary problem.

    References
    ----------
    K. Mishchenko and A. Defazio, "Prodigy: An Expeditiously Adaptive
    Parameter-Free Learner", ICML 2024.

    Examples
    --------
    >>> from streamlr import SGDClassifier
    >>> from streamlr.optim import Prodigy
    >>> from streamlr.schedules import CosineAnnealing
    >>> clf = SGDClassifier(optimizer=Prodigy(), learning_rate=CosineAnnealing(1.0, 10_000))
    >>> Prodigy().slots()
    ('exp_avg', 'exp_avg_sq', 's', 'p0')
    >>> [name for name, _ in Prodigy().scalar_state()]
    ['d', 'd_max', 'd_numerator', 'k', 's_abs_sum']
    """

    _kernel = "prodigy"
    default_rate = 1.0
    starts_at_weights = ("p0",)
    sign_odd_slots = ("exp_avg", "s", "p0")

    def __init__(self, betas=(0.9, 0.999), beta3=None, eps=1e-8, d0=1e-6, d_coef=1.0,
                 weight_decay=0.0, use_bias_correction=False, safeguard_warmup=False):
        self.betas = betas
        self.beta3 = beta3
        self.eps = eps
        self.d0 = d0
        self.d_coef = d_coef
        self.weight_decay = weight_decay
        self.use_bias_correction = use_bias_correction
        self.safeguard_warmup = safeguard_warmup
        self._validate()

    def _validate(self):
        check_betas(self.betas)
        if self.beta3 is not None:
            check_real("beta3", self.beta3, low=0.0, high=1.0, high_open=True)
        check_real("eps", self.eps, low=0.0, low_open=True, what="epsilon")
        check_real("d0", self.d0, low=0.0, low_open=True)
        check_real("d_coef", self.d_coef, low=0.0, low_open=True)
        check_real("weight_decay", self.weight_decay, low=0.0)
        check_bool("use_bias_correction", self.use_bias_correction)
        check_bool("safeguard_warmup", self.safeguard_warmup)

    def slots(self):
        return (("exp_avg",) if check_betas(self.betas)[0] > 0 else ()) + ("exp_avg_sq", "s", "p0")

    def scalar_state(self):
        d0 = float(self.d0)
        return (("d", d0), ("d_max", d0), ("d_numerator", 0.0), ("k", 0.0), ("s_abs_sum", 0.0))

    def hyperparameters(self, intercept=False):
        b1, b2 = check_betas(self.betas)
        beta3 = math.sqrt(b2) if self.beta3 is None else float(self.beta3)
        flags = int(bool(self.use_bias_correction)) + 2 * int(bool(self.safeguard_warmup))
        return (b1, b2, beta3, float(self.eps), float(self.d0), float(self.d_coef),
                0.0 if intercept else float(self.weight_decay), float(flags))

    def mix_scalar_state(self, copies, base, state):
        # d, d_max, d_numerator: the copies' mean; k counts every copy's steps
        # since base (as the model's t); s_abs_sum is the sum of the averaged |s|
        out = super().mix_scalar_state(copies, base, state)
        start = base["k"] if base is not None else 0.0
        out["k"] = start + np.sum([c["k"] - start for c in copies], axis=0)
        out["s_abs_sum"] = (np.abs(np.asarray(state["s"], dtype=np.float64)).sum(axis=1)
                            + np.abs(np.asarray(state["s_intercept"], dtype=np.float64)))
        return out
