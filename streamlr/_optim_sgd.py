"""SGD (plain, momentum, Nesterov), Adagrad, RMSprop, Adadelta.

SGD, with or without momentum, and the rules that scale the step of each
coordinate by its accumulated or averaged squared gradients.

Private: import the classes from `streamlr.optim`.
"""
from ._optim_base import Optimizer
from ._registry import register_optimizer
from ._spec import check_bool, check_real


@register_optimizer(
    strings={"sgd": {}, "momentum": {"momentum": 0.9},
             "nesterov": {"momentum": 0.9, "nesterov": True}},
    torch="torch.optim.SGD",
    torch_kwargs=lambda s: {"momentum": s.momentum, "dampening": s.dampening,
                            "nesterov": s.nesterov},
)
class SGD(Optimizer):
    r"""Stochastic gradient descent, with optional momentum (``torch.optim.SGD``).

    ``SGD()`` (no momentum) is the string ``"sgd"``: scikit-learn's own update,
    with its quirks (the 0.01 intercept step on sparse input, the 1e12 clip
    of the loss derivative, Bottou's ``optimal`` rate, pa1/pa2). The strings
    ``"momentum"`` and ``"nesterov"`` are ``SGD(momentum=0.9)`` and
    ``SGD(momentum=0.9, nesterov=True)``.

    Parameters
    ----------
    momentum : float, default=0.0
        The momentum factor :math:`\mu`, >= 0; 0 for plain SGD. PyTorch's
        ``momentum``.
    dampening : float, default=0.0
        The dampening :math:`\tau` of the gradient added to the buffer.
        PyTorch's ``dampening``.
    nesterov : bool, default=False
        Nesterov momentum; it needs ``momentum > 0`` and ``dampening=0``.
        PyTorch's ``nesterov``.

    Notes
    -----
    .. math::
        b_t = \mu b_{t-1} + (1 - \tau) g_t \ (b_1 = g_1), \quad
        w \leftarrow w - \eta_t (g_t + \mu b_t \text{ if nesterov else } b_t)

    ``SGD(momentum=b, dampening=b)`` is the exponential average
    ``v = b v + (1 - b) g``. Sparse rows: exact without momentum; with it,
    lazy (an untouched buffer neither decays nor moves its weight). State:
    ``momentum_buffer``.

    References
    ----------
    I. Sutskever, J. Martens, G. Dahl and G. Hinton, "On the importance of
    initialization and momentum in deep learning", ICML 2013.

    Examples
    --------
    >>> from streamlr import SGDClassifier
    >>> from streamlr.optim import SGD
    >>> SGD(momentum=0.9, nesterov=True)
    SGD(momentum=0.9, nesterov=True)
    >>> clf = SGDClassifier(optimizer=SGD(momentum=0.9), learning_rate="constant", eta0=0.01)
    """

    def __init__(self, momentum=0.0, dampening=0.0, nesterov=False):
        self.momentum = momentum
        self.dampening = dampening
        self.nesterov = nesterov
        self._validate()

    def _validate(self):
        check_real("momentum", self.momentum, low=0.0)
        check_real("dampening", self.dampening)
        check_bool("nesterov", self.nesterov)
        if self.nesterov and (self.momentum <= 0 or self.dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")

    sign_odd_slots = ("momentum_buffer",)

    @property
    def _kernel(self):
        return "momentum" if self.momentum > 0 else "sgd"

    @property
    def exact_on_sparse(self):
        """Whether a CSR row updates as the same dense row would: without momentum."""
        return self.momentum == 0

    def slots(self):
        return ("momentum_buffer",) if self.momentum > 0 else ()

    def hyperparameters(self, intercept=False):
        return (float(self.momentum), float(self.dampening), float(self.nesterov))


@register_optimizer(
    strings={"adagrad": {}},
    torch="torch.optim.Adagrad",
    torch_kwargs=lambda s: {"initial_accumulator_value": s.initial_accumulator_value,
                            "eps": s.eps},
)
class Adagrad(Optimizer):
    r"""Adagrad (``torch.optim.Adagrad`` with ``lr_decay=0``).

    The string ``"adagrad"`` is ``Adagrad()``.

    Parameters
    ----------
    initial_accumulator_value : float, default=0.0
        The initial value of the sum :math:`s`, >= 0. PyTorch's
        ``initial_accumulator_value``.
    eps : float, default=1e-10
        The term :math:`\epsilon` added to the denominator, >= 0. PyTorch's
        ``eps``.

    Notes
    -----
    .. math:: s \leftarrow s + g^2, \quad w \leftarrow w - \eta_t\, g / (\sqrt{s} + \epsilon)

    Sparse rows: exact (an untouched coordinate has g = 0). State: ``sum``.

    References
    ----------
    J. Duchi, E. Hazan and Y. Singer, "Adaptive Subgradient Methods for Online
    Learning and Stochastic Optimization", JMLR 12, 2011.

    Examples
    --------
    >>> from streamlr.optim import Adagrad
    >>> Adagrad(initial_accumulator_value=0.1).slots()
    ('sum',)
    """

    _kernel = "adagrad"
    exact_on_sparse = True

    def __init__(self, initial_accumulator_value=0.0, eps=1e-10):
        self.initial_accumulator_value = initial_accumulator_value
        self.eps = eps
        self._validate()

    def _validate(self):
        check_real("initial_accumulator_value", self.initial_accumulator_value, low=0.0)
        check_real("eps", self.eps, low=0.0, what="epsilon")

    def slots(self):
        return ("sum",)

    def initial_values(self):
        return (float(self.initial_accumulator_value),)

    def hyperparameters(self, intercept=False):
        return (float(self.initial_accumulator_value), float(self.eps))


@register_optimizer(
    strings={"rmsprop": {}},
    torch="torch.optim.RMSprop",
    torch_kwargs=lambda s: {"alpha": s.alpha, "eps": s.eps, "momentum": s.momentum,
                            "centered": s.centered},
)
class RMSprop(Optimizer):
    r"""RMSprop (``torch.optim.RMSprop``).

    The string ``"rmsprop"`` is ``RMSprop()``.

    Parameters
    ----------
    alpha : float, default=0.99
        The smoothing constant :math:`\alpha` of the averages, in [0, 1].
        PyTorch's ``alpha`` (not the estimator's ``alpha``, the penalty).
    eps : float, default=1e-8
        The term :math:`\epsilon` added to the denominator, >= 0. PyTorch's
        ``eps``.
    momentum : float, default=0.0
        The momentum factor :math:`\mu`, >= 0. PyTorch's ``momentum``.
    centered : bool, default=False
        Divide by an estimate of the variance of the gradient instead of its
        second moment. PyTorch's ``centered``.

    Notes
    -----
    .. math::
        v \leftarrow \alpha v + (1 - \alpha) g^2, \quad
        \bar g \leftarrow \alpha \bar g + (1 - \alpha) g \ \text{(centered)}, \quad
        d = \sqrt{v - \bar g^2} + \epsilon

    then :math:`b \leftarrow \mu b + g / d,\ w \leftarrow w - \eta_t b` with
    momentum, else :math:`w \leftarrow w - \eta_t g / d`. Sparse rows: the decay
    of the averages over missed updates is caught up exactly on the next
    touch, so without momentum the result equals the dense one; with momentum
    the buffer is lazy. State: ``square_avg``, ``momentum_buffer``, ``grad_avg``.

    References
    ----------
    G. Hinton, N. Srivastava and K. Swersky, "Neural Networks for Machine
    Learning", lecture 6e, 2012. A. Graves, "Generating Sequences With
    Recurrent Neural Networks", arXiv:1308.0850, 2013 (the centered variant).

    Examples
    --------
    >>> from streamlr.optim import RMSprop
    >>> RMSprop(momentum=0.9, centered=True).slots()
    ('square_avg', 'momentum_buffer', 'grad_avg')
    """

    _kernel = "rmsprop"
    sign_odd_slots = ("momentum_buffer", "grad_avg")

    def __init__(self, alpha=0.99, eps=1e-8, momentum=0.0, centered=False):
        self.alpha = alpha
        self.eps = eps
        self.momentum = momentum
        self.centered = centered
        self._validate()

    def _validate(self):
        check_real("alpha", self.alpha, low=0.0, high=1.0)
        check_real("eps", self.eps, low=0.0, what="epsilon")
        check_real("momentum", self.momentum, low=0.0)
        check_bool("centered", self.centered)

    @property
    def exact_on_sparse(self):
        """Whether a CSR row updates as the same dense row would: without momentum."""
        return self.momentum == 0

    def slots(self):
        return (("square_avg",) + (("momentum_buffer",) if self.momentum > 0 else ())
                + (("grad_avg",) if self.centered else ()))

    def decays(self):
        d = {"square_avg": float(self.alpha)}
        if self.centered:
            d["grad_avg"] = float(self.alpha)
        return d

    def hyperparameters(self, intercept=False):
        return (float(self.alpha), float(self.eps), float(self.momentum), float(self.centered))


@register_optimizer(
    strings={"adadelta": {}},
    torch="torch.optim.Adadelta",
    torch_kwargs=lambda s: {"rho": s.rho, "eps": s.eps},
)
class Adadelta(Optimizer):
    r"""Adadelta (``torch.optim.Adadelta``; the schedule's rate is its ``lr``).

    The string ``"adadelta"`` is ``Adadelta()``. PyTorch's default
    ``lr=1.0`` is ``learning_rate=Constant(1.0)``.

    Parameters
    ----------
    rho : float, default=0.9
        The decay :math:`\rho` of the averages, in [0, 1]. PyTorch's ``rho``.
    eps : float, default=1e-6
        The term :math:`\epsilon` inside the square roots, >= 0. PyTorch's
        ``eps``.

    Notes
    -----
    .. math::
        v \leftarrow \rho v + (1-\rho) g^2, \quad
        \Delta = \frac{\sqrt{u + \epsilon}}{\sqrt{v + \epsilon}} g, \quad
        u \leftarrow \rho u + (1-\rho) \Delta^2, \quad w \leftarrow w - \eta_t \Delta

    Sparse rows: exact (both averages decay by :math:`\rho^{gap}` on the next
    touch). State: ``square_avg``, ``acc_delta``.

    References
    ----------
    M. D. Zeiler, "ADADELTA: An Adaptive Learning Rate Method",
    arXiv:1212.5701, 2012.

    Examples
    --------
    >>> from streamlr import SGDRegressor
    >>> from streamlr.optim import Adadelta
    >>> from streamlr.schedules import Constant
    >>> reg = SGDRegressor(optimizer=Adadelta(rho=0.95), learning_rate=Constant(1.0))
    """

    _kernel = "adadelta"
    exact_on_sparse = True

    def __init__(self, rho=0.9, eps=1e-6):
        self.rho = rho
        self.eps = eps
        self._validate()

    def _validate(self):
        check_real("rho", self.rho, low=0.0, high=1.0)
        check_real("eps", self.eps, low=0.0, what="epsilon")

    def slots(self):
        return ("square_avg", "acc_delta")

    def decays(self):
        return {"square_avg": float(self.rho), "acc_delta": float(self.rho)}

    def hyperparameters(self, intercept=False):
        return (float(self.rho), float(self.eps))
