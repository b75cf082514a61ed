"""The Adam family: Adam (and AMSGrad), AdamW, Adamax, NAdam, RAdam.

Private: import the classes from `streamlr.optim`.
"""
from ._optim_base import Optimizer
from ._registry import register_optimizer
from ._spec import check_betas, check_bool, check_real


@register_optimizer(
    strings={"adam": {}, "amsgrad": {"amsgrad": True}},
    torch="torch.optim.Adam",
    # torch.optim.Adam always corrects the bias
    torch_kwargs=lambda s: ({"betas": tuple(s.betas), "eps": s.eps, "amsgrad": s.amsgrad}
                            if s.bias_correction else None),
)
class Adam(Optimizer):
    r"""Adam (``torch.optim.Adam``), AMSGrad with ``amsgrad=True``.

    The strings ``"adam"`` and ``"amsgrad"`` are ``Adam()`` and
    ``Adam(amsgrad=True)``.

    Parameters
    ----------
    betas : tuple of (float, float), default=(0.9, 0.999)
        The decay rates :math:`\beta_1, \beta_2` of the moments, in [0, 1).
        PyTorch's ``betas``.
    eps : float, default=1e-8
        The term :math:`\epsilon` added to the denominator, >= 0. PyTorch's
        ``eps``.
    amsgrad : bool, default=False
        Divide by the running maximum of :math:`v` (AMSGrad). PyTorch's
        ``amsgrad``.
    bias_correction : bool, default=True
        Correct the bias of the moments; False for the textbook rule without
        (PyTorch has no such option: it always corrects).

    See Also
    --------
    AdamW : Adam with decoupled weight decay.
    RAdam : Adam with a rectified adaptive rate.

    Notes
    -----
    .. math::
        m \leftarrow \beta_1 m + (1-\beta_1) g, \quad
        v \leftarrow \beta_2 v + (1-\beta_2) g^2, \quad
        w \leftarrow w - \frac{\eta_t}{1-\beta_1^t}\,
            \frac{m}{\sqrt{\hat v} / \sqrt{1-\beta_2^t} + \epsilon}

    with :math:`\hat v = v`, or its running maximum with AMSGrad. With
    ``bias_correction=False`` it is the textbook rule without bias
    correction, :math:`w \leftarrow w - \eta_t m / (\sqrt{\hat v} + \epsilon)`.
    PyTorch's placement of ``eps`` (outside the square root). Sparse rows:
    lazy, as ``torch.optim.SparseAdam`` (untouched moments do not decay; the
    bias correction uses the global t). State: ``exp_avg``, ``exp_avg_sq``,
    ``max_exp_avg_sq``.

    References
    ----------
    D. P. Kingma and J. Ba, "Adam: A Method for Stochastic Optimization",
    ICLR 2015. S. J. Reddi, S. Kale and S. Kumar, "On the Convergence of Adam
    and Beyond", ICLR 2018 (AMSGrad).

    Examples
    --------
    >>> from streamlr import SGDClassifier
    >>> from streamlr.optim import Adam
    >>> from streamlr.schedules import Constant
    >>> clf = SGDClassifier(optimizer=Adam(betas=(0.9, 0.99)), learning_rate=Constant(1e-3))
    >>> Adam(amsgrad=True).slots()
    ('exp_avg', 'exp_avg_sq', 'max_exp_avg_sq')
    """

    _kernel = "adam"
    sign_odd_slots = ("exp_avg",)

    def __init__(self, betas=(0.9, 0.999), eps=1e-8, amsgrad=False, bias_correction=True):
        self.betas = betas
        self.eps = eps
        self.amsgrad = amsgrad
        self.bias_correction = bias_correction
        self._validate()

    def _validate(self):
        check_betas(self.betas)
        check_real("eps", self.eps, low=0.0, what="epsilon")
        check_bool("amsgrad", self.amsgrad)
        check_bool("bias_correction", self.bias_correction)

    def slots(self):
        return ("exp_avg", "exp_avg_sq") + (("max_exp_avg_sq",) if self.amsgrad else ())

    def _weight_decay(self):
        return 0.0

    def hyperparameters(self, intercept=False):
        b1, b2 = check_betas(self.betas)
        decay = 0.0 if intercept else self._weight_decay()
        return (b1, b2, float(self.eps), float(self.amsgrad),
                float(getattr(self, "bias_correction", True)), decay)


@register_optimizer(
    strings={"adamw": {}},
    torch="torch.optim.AdamW",
    torch_kwargs=lambda s: {"betas": tuple(s.betas), "eps": s.eps,
                            "weight_decay": s.weight_decay, "amsgrad": s.amsgrad},
)
class AdamW(Adam):
    r"""AdamW (``torch.optim.AdamW``): Adam with decoupled weight decay.

    The string ``"adamw"`` is ``AdamW()``.

    Parameters
    ----------
    betas : tuple of (float, float), default=(0.9, 0.999)
        The decay rates :math:`\beta_1, \beta_2` of the moments, in [0, 1).
        PyTorch's ``betas``.
    eps : float, default=1e-8
        The term :math:`\epsilon` added to the denominator, >= 0. PyTorch's
        ``eps``.
    weight_decay : float, default=0.01
        The decay :math:`\lambda` of the weights, >= 0. PyTorch's
        ``weight_decay``.
    amsgrad : bool, default=False
        Divide by the running maximum of :math:`v` (AMSGrad). PyTorch's
        ``amsgrad``.

    See Also
    --------
    Adam : The same rule without the decay.

    Notes
    -----
    Before each Adam step, :math:`w \leftarrow w (1 - \eta_t \lambda)` with
    :math:`\lambda` = ``weight_decay``; the intercept is not decayed. This is
    in addition to the estimator's ``penalty`` (use ``penalty=None`` for pure
    AdamW). Sparse rows: lazy (the decay applies to the touched weights).

    References
    ----------
    I. Loshchilov and F. Hutter, "Decoupled Weight Decay Regularization",
    ICLR 2019.

    Examples
    --------
    >>> from streamlr import SGDRegressor
    >>> from streamlr.optim import AdamW
    >>> reg = SGDRegressor(optimizer=AdamW(weight_decay=1e-3), penalty=None)
    """

    def __init__(self, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01, amsgrad=False):
        self.betas = betas
        self.eps = eps
        self.weight_decay = weight_decay
        self.amsgrad = amsgrad
        self._validate()

    def _validate(self):
        check_betas(self.betas)
        check_real("eps", self.eps, low=0.0, what="epsilon")
        check_real("weight_decay", self.weight_decay, low=0.0, what="weight_decay")
        check_bool("amsgrad", self.amsgrad)

    def _weight_decay(self):
        return float(self.weight_decay)


class _BetasEps(Optimizer):
    """Base of the rules whose parameters are ``betas`` and ``eps`` alone
    (``Adamax``, ``RAdam``): their construction, checks and kernel vector."""

    def __init__(self, betas=(0.9, 0.999), eps=1e-8):
        self.betas = betas
        self.eps = eps
        self._validate()

    def _validate(self):
        check_betas(self.betas)
        check_real("eps", self.eps, low=0.0, what="epsilon")

    def hyperparameters(self, intercept=False):
        b1, b2 = check_betas(self.betas)
        return (b1, b2, float(self.eps))


@register_optimizer(
    strings={"adamax": {}},
    torch="torch.optim.Adamax",
    torch_kwargs=lambda s: {"betas": tuple(s.betas), "eps": s.eps},
)
class Adamax(_BetasEps):
    r"""Adamax (``torch.optim.Adamax``).

    The string ``"adamax"`` is ``Adamax()``.

    Parameters
    ----------
    betas : tuple of (float, float), default=(0.9, 0.999)
        The decay rates :math:`\beta_1, \beta_2` of the moment and of the
        infinity norm, in [0, 1). PyTorch's ``betas``.
    eps : float, default=1e-8
        The term :math:`\epsilon` added to :math:`|g|`, >= 0. PyTorch's
        ``eps``.

    Notes
    -----
    .. math::
        m \leftarrow \beta_1 m + (1-\beta_1) g, \quad
        u \leftarrow \max(\beta_2 u, |g| + \epsilon), \quad
        w \leftarrow w - \frac{\eta_t}{1 - \beta_1^t} \frac{m}{u}

    Sparse rows: lazy. State: ``exp_avg``, ``exp_inf``.

    References
    ----------
    D. P. Kingma and J. Ba, "Adam: A Method for Stochastic Optimization",
    ICLR 2015 (section 7.1).

    Examples
    --------
    >>> from streamlr.optim import Adamax
    >>> Adamax().slots()
    ('exp_avg', 'exp_inf')
    """

    _kernel = "adamax"
    sign_odd_slots = ("exp_avg",)

    def slots(self):
        return ("exp_avg", "exp_inf")



@register_optimizer(
    strings={"nadam": {}},
    torch="torch.optim.NAdam",
    torch_kwargs=lambda s: {"betas": tuple(s.betas), "eps": s.eps,
                            "momentum_decay": s.momentum_decay},
)
class NAdam(Optimizer):
    r"""NAdam (``torch.optim.NAdam``; Dozat 2016).

    The string ``"nadam"`` is ``NAdam()``.

    Parameters
    ----------
    betas : tuple of (float, float), default=(0.9, 0.999)
        The decay rates :math:`\beta_1, \beta_2` of the moments, in [0, 1).
        PyTorch's ``betas``.
    eps : float, default=1e-8
        The term :math:`\epsilon` added to the denominator, >= 0. PyTorch's
        ``eps``.
    momentum_decay : float, default=4e-3
        The momentum decay :math:`\psi`, >= 0. PyTorch's ``momentum_decay``.

    Notes
    -----
    .. math::
        \mu_t = \beta_1 (1 - \tfrac12 0.96^{t \psi}), \quad
        w \leftarrow w - \eta_t \frac{1-\mu_t}{1 - \prod_{i \le t} \mu_i} \frac{g}{d}
                       - \eta_t \frac{\mu_{t+1}}{1 - \prod_{i \le t+1} \mu_i} \frac{m}{d}

    with :math:`d = \sqrt{v / (1-\beta_2^t)} + \epsilon` and :math:`m, v` as in
    Adam; :math:`\psi` = ``momentum_decay``. Sparse rows: lazy. State:
    ``exp_avg``, ``exp_avg_sq`` and ``mu_product`` (one per binary problem).

    References
    ----------
    T. Dozat, "Incorporating Nesterov Momentum into Adam", ICLR 2016
    workshop.

    Examples
    --------
    >>> from streamlr.optim import NAdam
    >>> NAdam(momentum_decay=0.0)
    NAdam(momentum_decay=0.0)
    """

    _kernel = "nadam"
    sign_odd_slots = ("exp_avg",)

    def __init__(self, betas=(0.9, 0.999), eps=1e-8, momentum_decay=4e-3):
        self.betas = betas
        self.eps = eps
        self.momentum_decay = momentum_decay
        self._validate()

    def _validate(self):
        check_betas(self.betas)
        check_real("eps", self.eps, low=0.0, what="epsilon")
        check_real("momentum_decay", self.momentum_decay, low=0.0, what="momentum_decay")

    def slots(self):
        return ("exp_avg", "exp_avg_sq")

    def hyperparameters(self, intercept=False):
        b1, b2 = check_betas(self.betas)
        return (b1, b2, float(self.eps), float(self.momentum_decay))


@register_optimizer(
    strings={"radam": {}},
    torch="torch.optim.RAdam",
    torch_kwargs=lambda s: {"betas": tuple(s.betas), "eps": s.eps},
)
class RAdam(_BetasEps):
    r"""RAdam, Adam with a rectified adaptive rate (``torch.optim.RAdam``).

    The string ``"radam"`` is ``RAdam()``.

    Parameters
    ----------
    betas : tuple of (float, float), default=(0.9, 0.999)
        The decay rates :math:`\beta_1, \beta_2` of the moments, in [0, 1).
        PyTorch's ``betas``.
    eps : float, default=1e-8
        Added to :math:`\sqrt{v}` in the denominator, >= 0. PyTorch's ``eps``.

    See Also
    --------
    Adam : The rule without the rectification.

    Notes
    -----
    With :math:`m, v` as in Adam,
    :math:`\rho_\infty = 2 / (1 - \beta_2) - 1` and
    :math:`\rho_t = \rho_\infty - 2 t \beta_2^t / (1 - \beta_2^t)`:

    .. math::
        w \leftarrow w - \frac{\eta_t}{1 - \beta_1^t}\, m \cdot
        \begin{cases}
            r_t \dfrac{\sqrt{1 - \beta_2^t}}{\sqrt{v} + \epsilon} & \rho_t > 5 \\
            1 & \text{otherwise}
        \end{cases}, \qquad
        r_t = \sqrt{\frac{(\rho_t - 4)(\rho_t - 2)\,\rho_\infty}
                         {(\rho_\infty - 4)(\rho_\infty - 2)\,\rho_t}}

    While the variance of the adaptive rate is intractable
    (:math:`\rho_t \le 5`: the first five steps with the default
    :math:`\beta_2`, every step if :math:`\beta_2 \le 0.6`), the step is SGD
    with bias-corrected momentum. PyTorch's placement of ``eps`` (added to
    :math:`\sqrt{v}`, before the bias correction of :math:`v`). PyTorch's
    ``weight_decay`` (coupled, the default ``decoupled_weight_decay=False``)
    is the estimator's ``penalty="l2"``.

    Sparse rows: lazy, as Adam (untouched moments do not decay; the bias
    corrections and :math:`\rho_t` use the global t). State: ``exp_avg``,
    ``exp_avg_sq``.

    References
    ----------
    L. Liu, H. Jiang, P. He, W. Chen, X. Liu, J. Gao and J. Han, "On the
    Variance of the Adaptive Learning Rate and Beyond", ICLR 2020.

    Examples
    --------
    >>> from streamlr import SGDClassifier
    >>> from streamlr.optim import RAdam
    >>> from streamlr.schedules import Constant
    >>> clf = SGDClassifier(optimizer=RAdam(), learning_rate=Constant(1e-3))
    """

    _kernel = "radam"
    sign_odd_slots = ("exp_avg",)

    def slots(self):
        return ("exp_avg", "exp_avg_sq")

