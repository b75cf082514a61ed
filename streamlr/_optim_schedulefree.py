"""Schedule-free rules (Defazio et al. 2024): ScheduleFreeSGD, ScheduleFreeAdamW.

Private: import the classes from `streamlr.optim`.

A schedule-free rule keeps two sequences per coordinate: ``z``, the base
(SGD or Adam-normalised) steps, and ``x``, their weighted running average,
which is what the model serves (``coef_``, ``intercept_``, every prediction,
the progressive loss). Gradients are taken at the interpolation
``y = (1 - beta) z + beta x``. The kernel stores ``x`` as the weights and
``z`` (AdamW: and ``exp_avg_sq``) as slots; ``y`` is computed on the fly.
"""
from ._optim_base import Optimizer
from ._registry import register_optimizer
from ._spec import check_betas, check_real


def _check_warmup(value):
    check_real("warmup_steps", value, low=0.0)
    if not float(value).is_integer():
        raise ValueError(f"Invalid warmup_steps value: {value!r} (expected a whole number of steps)")
    return value


class _ScheduleFree(Optimizer):
    """What the two schedule-free rules share: the averaging weights, their
    scalar state, the starting point of z, the default rate."""

    exact_on_sparse = False
    # z starts at the starting weights (coef_init, a warm start), as the
    # reference clones the parameters into z at its first step
    starts_at_weights = ("z",)
    # z is odd; exp_avg_sq (ScheduleFreeAdamW) even
    sign_odd_slots = ("z",)

    def _validate_common(self):
        _check_warmup(self.warmup_steps)
        check_real("r", self.r)
        check_real("weight_lr_power", self.weight_lr_power)

    def scalar_state(self):
        # the reference's group state: its step count k, the sum of the
        # averaging weights, the largest warmed-up rate so far
        return (("k", 0.0), ("weight_sum", 0.0), ("lr_max", -1.0))

    def _averaging(self):
        return (float(self.warmup_steps), float(self.r), float(self.weight_lr_power))


@register_optimizer(
    strings={},
    torch="schedulefree.SGDScheduleFree",
    # the reference's weight_decay (coupled, at y) is the estimator's penalty="l2"
    torch_kwargs=lambda s: ({"momentum": s.momentum, "warmup_steps": s.warmup_steps, "r": s.r,
                             "weight_lr_power": s.weight_lr_power}
                            if s.momentum > 0 else None),
)
class ScheduleFreeSGD(_ScheduleFree):
    r"""Schedule-free SGD (``schedulefree.SGDScheduleFree``, batch size 1).

    No schedule is needed: the model served is an average of the SGD
    iterates, weighted by the rate. When ``learning_rate`` is a string, it
    and ``eta0`` are ignored and the rate is the reference's default
    :math:`\gamma = 1.0`; a schedule object as ``learning_rate`` sets
    :math:`\gamma` (the reference's ``lr``) of each update. ``lr_`` is
    :math:`\gamma`, before the warmup's factor.

    Parameters
    ----------
    momentum : float, default=0.9
        The interpolation :math:`\beta` between the average :math:`x` and the
        SGD sequence :math:`z` at which gradients are taken, in [0, 1). The
        ``momentum`` of ``schedulefree.SGDScheduleFree`` (which needs it > 0;
        0 takes the gradient at :math:`z`).
    warmup_steps : int, default=0
        The rate ramps linearly over this many updates:
        :math:`\gamma_k = \gamma \min(1, (k + 1) / \text{warmup\_steps})`.
    r : float, default=0.0
        The power of the polynomial weighting of the average.
    weight_lr_power : float, default=2.0
        The weight of each iterate in the average grows with the largest rate
        so far to this power.

    See Also
    --------
    ScheduleFreeAdamW : The same averaging on Adam-normalised steps.

    Notes
    -----
    Per update :math:`k = 0, 1, \dots` (the rule's own count, state ``k``),
    with :math:`\gamma_k` the warmed-up rate:

    .. math::
        \gamma_{\max} \leftarrow \max(\gamma_{\max}, \gamma_k), \quad
        c_{k+1} = \frac{(k+1)^r \gamma_{\max}^{p}}{\sum_{i \le k} (i+1)^r
            \gamma_{\max,i}^{p}},

        y = (1-\beta) z + \beta x, \quad g = \nabla \ell(y), \quad
        z \leftarrow z - \gamma_k g, \quad
        x \leftarrow (1 - c_{k+1})\, x + c_{k+1}\, z

    with :math:`p` = ``weight_lr_power`` (:math:`c_{k+1} = 0` while the
    weights sum to 0). The reference stores :math:`y` and moves it by
    :math:`y \leftarrow (1-c) y + c z + \gamma_k (\beta (1-c) - 1) g`; this is
    the same update written for :math:`x = (y - (1-\beta) z) / \beta`.

    ``coef_`` and ``intercept_`` are :math:`x` (the reference's
    ``optimizer.eval()`` point), and every prediction uses it; the gradient
    is taken at :math:`y` (the reference's train mode) and the progressive
    loss at :math:`x`. ``penalty="l2"`` adds :math:`\alpha y` to the
    gradient (the reference's ``weight_decay``); the L1 part of
    ``"l1"``/``"elasticnet"`` is a proximal step on :math:`z` of size
    :math:`\gamma_k \alpha\, \text{l1\_ratio}` (:math:`x` averages the
    proximal iterates). The intercept follows the same rule, with x = 1 and
    no penalty. :math:`z` starts at the starting weights (``coef_init``, a
    warm start), as the reference's.

    Sparse rows: lazy. The coordinates stored in the row (and the
    intercept) take the step above with the sample's :math:`c_{k+1}`; an
    untouched coordinate keeps its :math:`x` and :math:`z` (densely, its
    :math:`x` would move towards :math:`z` by the factor
    :math:`1 - c_{k+1}` of the gap at every update), so rarely seen
    features stay nearer their start than in the dense rule.

    State: ``z`` (and ``z_intercept``); the scalars ``k``, ``weight_sum``,
    ``lr_max`` (0-d arrays for a regressor, one per binary problem for a
    classifier), the reference's names.

    References
    ----------
    A. Defazio, X. Yang, H. Mehta, K. Mishchenko, A. Khaled and A. Cutkosky,
    "The Road Less Scheduled", NeurIPS 2024.

    Examples
    --------
    >>> import numpy as np
    >>> from streamlr import SGDRegressor
    >>> from streamlr.optim import ScheduleFreeSGD
    >>> X = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]] * 20)
    >>> y = X @ np.array([0.5, -0.25])
    >>> reg = SGDRegressor(optimizer=ScheduleFreeSGD(), penalty=None, shuffle=False)
    >>> reg = reg.partial_fit(X, y)
    >>> sorted(reg.optimizer_state_)
    ['k', 'lr_max', 'weight_sum', 'z', 'z_intercept']
    >>> float(reg.optimizer_state_["k"])
    60.0
    """

    _kernel = "schedulefree_sgd"
    default_rate = 1.0

    def __init__(self, momentum=0.9, warmup_steps=0, r=0.0, weight_lr_power=2.0):
        self.momentum = momentum
        self.warmup_steps = warmup_steps
        self.r = r
        self.weight_lr_power = weight_lr_power
        self._validate()

    def _validate(self):
        check_real("momentum", self.momentum, low=0.0, high=1.0, high_open=True)
        self._validate_common()

    def slots(self):
        return ("z",)

    def hyperparameters(self, intercept=False):
        return (float(self.momentum), 0.0, 0.0, 0.0) + self._averaging()


@register_optimizer(
    strings={"schedulefree": {}},
    torch="schedulefree.AdamWScheduleFree",
    torch_kwargs=lambda s: {"betas": tuple(s.betas), "eps": s.eps,
                            "weight_decay": s.weight_decay, "warmup_steps": s.warmup_steps,
                            "r": s.r, "weight_lr_power": s.weight_lr_power},
)
class ScheduleFreeAdamW(_ScheduleFree):
    r"""Schedule-free AdamW (``schedulefree.AdamWScheduleFree``, batch size 1).

    The string ``"schedulefree"`` is ``ScheduleFreeAdamW()``. No schedule is
    needed: when ``learning_rate`` is a string, it and ``eta0`` are ignored
    and the rate is the reference's default :math:`\gamma = 0.0025`; a
    schedule object as ``learning_rate`` sets :math:`\gamma` (the
    reference's ``lr``) of each update. ``lr_`` is :math:`\gamma`, before
    the warmup's factor.

    Parameters
    ----------
    betas : tuple of (float, float), default=(0.9, 0.999)
        :math:`\beta_1`, the interpolation between the average :math:`x` and
        the base sequence :math:`z` at which gradients are taken, and
        :math:`\beta_2`, the decay of the second moment; each in [0, 1).
    eps : float, default=1e-8
        The term :math:`\epsilon` added to the denominator, > 0.
    weight_decay : float, default=0.0
        Decay :math:`\lambda` at :math:`y`, added to the normalised step, >=
        0; never on the intercept.
    warmup_steps : int, default=0
        The rate ramps linearly over this many updates:
        :math:`\gamma_k = \gamma \min(1, (k + 1) / \text{warmup\_steps})`.
    r : float, default=0.0
        The power of the polynomial weighting of the average.
    weight_lr_power : float, default=2.0
        The weight of each iterate in the average grows with the largest rate
        so far to this power.

    See Also
    --------
    ScheduleFreeSGD : The same averaging on SGD steps.
    AdamW : Adam with decoupled weight decay, on a schedule.

    Notes
    -----
    Per update :math:`k = 0, 1, \dots` (the rule's own count, state ``k``),
    with :math:`\gamma_k` the warmed-up rate and :math:`c_{k+1}` the weight
    of the average as in `ScheduleFreeSGD`:

    .. math::
        y = (1-\beta_1) z + \beta_1 x, \quad g = \nabla \ell(y), \quad
        v \leftarrow \beta_2 v + (1-\beta_2) g^2,

        d = \frac{g}{\sqrt{v / (1 - \beta_2^{k+1})} + \epsilon} + \lambda y,
        \quad z \leftarrow z - \gamma_k d, \quad
        x \leftarrow (1 - c_{k+1})\, x + c_{k+1}\, z

    (the reference moves :math:`y` in place; this is the same update written
    for :math:`x`). ``coef_`` and ``intercept_`` are :math:`x` (the
    reference's ``optimizer.eval()`` point), and every prediction uses it;
    the gradient is taken at :math:`y` (train mode) and the progressive loss
    at :math:`x`. ``penalty="l2"`` adds :math:`\alpha y` to :math:`g` (before
    the normalisation); ``weight_decay`` applies in addition, and never to
    the intercept. The L1 part of ``"l1"``/``"elasticnet"`` is a proximal
    step on :math:`z` of size :math:`\gamma_k \alpha\, \text{l1\_ratio}`.
    The intercept follows the same rule with x = 1, without penalty or
    decay. :math:`z` starts at the starting weights (``coef_init``, a warm
    start), as the reference's.

    Sparse rows: lazy. The coordinates stored in the row (and the
    intercept) take the step above; an untouched coordinate keeps its
    :math:`x`, :math:`z` and :math:`v` (no decay of :math:`v`, as
    ``torch.optim.SparseAdam``; densely, its :math:`x` would move towards
    :math:`z`); the bias correction uses the rule's global count.

    State: ``z``, ``exp_avg_sq`` (and their ``_intercept``); the scalars
    ``k``, ``weight_sum``, ``lr_max``, the reference's names.

    References
    ----------
    A. Defazio, X. Yang, H. Mehta, K. Mishchenko, A. Khaled and A. Cutkosky,
    "The Road Less Scheduled", NeurIPS 2024.

    Examples
    --------
    >>> import numpy as np
    >>> from streamlr import SGDClassifier
    >>> X = np.array([[0.0, 1.0], [1.0, 0.0]] * 20)
    >>> y = np.array([0, 1] * 20)
    >>> clf = SGDClassifier(optimizer="schedulefree", loss="log_loss", shuffle=False)
    >>> clf = clf.partial_fit(X, y, classes=[0, 1])
    >>> clf.optimizer
    'schedulefree'
    >>> clf.lr_
    0.0025
    """

    _kernel = "schedulefree_adamw"
    default_rate = 0.0025

    def __init__(self, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, warmup_steps=0, r=0.0,
                 weight_lr_power=2.0):
        self.betas = betas
        self.eps = eps
        self.weight_decay = weight_decay
        self.warmup_steps = warmup_steps
        self.r = r
        self.weight_lr_power = weight_lr_power
        self._validate()

    def _validate(self):
        try:
            check_betas(self.betas)
        except ValueError as e:
            msg = str(e)
            raise ValueError(msg if "betas" in msg else f"betas: {msg}") from None
        check_real("eps", self.eps, low=0.0, low_open=True)
        check_real("weight_decay", self.weight_decay, low=0.0)
        self._validate_common()

    def slots(self):
        return ("z", "exp_avg_sq")

    def hyperparameters(self, intercept=False):
        b1, b2 = (float(b) for b in self.betas)
        decay = 0.0 if intercept else float(self.weight_decay)
        return (b1, b2, float(self.eps), decay) + self._averaging()

