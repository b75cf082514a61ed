r"""Per-sample update rules, selected by the estimators' ``optimizer`` parameter.

Each class is a spec: it holds the rule's hyperparameters with PyTorch's names
and defaults; the rate itself comes from the estimator's ``learning_rate``
(its schedule), and the state lives on the estimator (``optimizer_state_``).
Updates are compiled (``streamlr/_kernels/optimizers.pxd``).

Notation, for one sample: :math:`g = \partial L / \partial w` (the loss
derivative times the sample and class weights, times x, plus ``alpha * w``
with ``penalty="l2"``), :math:`\eta_t` the schedule's rate, :math:`t` the
1-based update count.

Dense rows update every coordinate, as PyTorch does with batch size 1. CSR
rows update only the coordinates stored in the row (and the intercept); each
class says whether that equals the dense result ("exact", with
``penalty=None``) or is a lazy approximation (as ``torch.optim.SparseAdam``).
The intercept is updated like a weight, without penalty or weight decay.

Adding a rule: its step in ``_kernels/optimizers.pxd``, a class here with
``_kernel``, ``slots``, ``hyperparameters`` (and ``initial_values`` /
``decays`` if needed), and its registry row, the ``@register_optimizer``
decorator (its strings and PyTorch twin); see ``streamlr/_registry.py``.
"""
from . import _registry
from ._kernels import kernel as _k
from ._registry import register_optimizer
from ._spec import Spec, check_betas, check_bool, check_real


class Optimizer(Spec):
    """Base class of the update rules."""

    _kernel = None        # name of the kernel rule (streamlr._kernels.kernel.OPTIMIZERS)
    exact_on_sparse = False

    @property
    def kernel(self):
        return _k.OPTIMIZERS[self._kernel]

    def slots(self):
        """Names of the per-coordinate state arrays, in kernel order."""
        return ()

    def initial_values(self):
        """Initial value of each slot."""
        return tuple(0.0 for _ in self.slots())

    def decays(self):
        """{slot: factor} of slots that decay on missed sparse updates (exact catch-up)."""
        return {}

    def hyperparameters(self, intercept=False):
        """Kernel hyperparameter vector (for the intercept when ``intercept``)."""
        return ()

    def needs_stamp(self):
        return bool(self.decays())


@register_optimizer(
    strings={"sgd": {}, "momentum": {"momentum": 0.9},
             "nesterov": {"momentum": 0.9, "nesterov": True}},
    torch="torch.optim.SGD",
    torch_kwargs=lambda s: {"momentum": s.momentum, "dampening": s.dampening,
                            "nesterov": s.nesterov},
)
class SGD(Optimizer):
    r"""Stochastic gradient descent, with optional momentum (``torch.optim.SGD``).

    .. math::
        b_t = \mu b_{t-1} + (1 - \tau) g_t \ (b_1 = g_1), \quad
        w \leftarrow w - \eta_t (g_t + \mu b_t \text{ if nesterov else } b_t)

    ``SGD()`` (no momentum) is the string ``"sgd"``: scikit-learn's own update,
    with its quirks (the 0.01 intercept step on sparse input, the 1e12 clip
    of the loss derivative, Bottou's ``optimal`` rate, pa1/pa2).
    ``SGD(momentum=b, dampening=b)`` is the exponential average
    ``v = b v + (1 - b) g``. Sparse rows: lazy (an untouched buffer neither
    decays nor moves its weight). State: ``momentum_buffer``.
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

    @property
    def _kernel(self):
        return "momentum" if self.momentum > 0 else "sgd"

    @property
    def exact_on_sparse(self):
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

    .. math:: s \leftarrow s + g^2, \quad w \leftarrow w - \eta_t\, g / (\sqrt{s} + \epsilon)

    Sparse rows: exact (an untouched coordinate has g = 0). State: ``sum``.
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

    .. math::
        v \leftarrow \alpha v + (1 - \alpha) g^2, \quad
        \bar g \leftarrow \alpha \bar g + (1 - \alpha) g \ \text{(centered)}, \quad
        d = \sqrt{v - \bar g^2} + \epsilon

    then :math:`b \leftarrow \mu b + g / d,\ w \leftarrow w - \eta_t b` with
    momentum, else :math:`w \leftarrow w - \eta_t g / d`. Sparse rows: the decay
    of the averages over missed updates is caught up exactly on the next
    touch, so without momentum the result equals the dense one; with momentum
    the buffer is lazy. State: ``square_avg``, ``momentum_buffer``, ``grad_avg``.
    """

    _kernel = "rmsprop"

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

    .. math::
        v \leftarrow \rho v + (1-\rho) g^2, \quad
        \Delta = \frac{\sqrt{u + \epsilon}}{\sqrt{v + \epsilon}} g, \quad
        u \leftarrow \rho u + (1-\rho) \Delta^2, \quad w \leftarrow w - \eta_t \Delta

    Sparse rows: exact (both averages decay by :math:`\rho^{gap}` on the next
    touch). State: ``square_avg``, ``acc_delta``.
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


@register_optimizer(
    strings={"adam": {}, "amsgrad": {"amsgrad": True}},
    torch="torch.optim.Adam",
    # torch.optim.Adam always corrects the bias
    torch_kwargs=lambda s: ({"betas": tuple(s.betas), "eps": s.eps, "amsgrad": s.amsgrad}
                            if s.bias_correction else None),
)
class Adam(Optimizer):
    r"""Adam (``torch.optim.Adam``), AMSGrad with ``amsgrad=True``.

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
    """

    _kernel = "adam"

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

    Before each Adam step, :math:`w \leftarrow w (1 - \eta_t \lambda)` with
    :math:`\lambda` = ``weight_decay``; the intercept is not decayed. This is
    in addition to the estimator's ``penalty`` (use ``penalty=None`` for pure
    AdamW). Sparse rows: lazy (the decay applies to the touched weights).
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


@register_optimizer(
    strings={"adamax": {}},
    torch="torch.optim.Adamax",
    torch_kwargs=lambda s: {"betas": tuple(s.betas), "eps": s.eps},
)
class Adamax(Optimizer):
    r"""Adamax (``torch.optim.Adamax``).

    .. math::
        m \leftarrow \beta_1 m + (1-\beta_1) g, \quad
        u \leftarrow \max(\beta_2 u, |g| + \epsilon), \quad
        w \leftarrow w - \frac{\eta_t}{1 - \beta_1^t} \frac{m}{u}

    Sparse rows: lazy. State: ``exp_avg``, ``exp_inf``.
    """

    _kernel = "adamax"

    def __init__(self, betas=(0.9, 0.999), eps=1e-8):
        self.betas = betas
        self.eps = eps
        self._validate()

    def _validate(self):
        check_betas(self.betas)
        check_real("eps", self.eps, low=0.0, what="epsilon")

    def slots(self):
        return ("exp_avg", "exp_inf")

    def hyperparameters(self, intercept=False):
        b1, b2 = check_betas(self.betas)
        return (b1, b2, float(self.eps))


@register_optimizer(
    strings={"nadam": {}},
    torch="torch.optim.NAdam",
    torch_kwargs=lambda s: {"betas": tuple(s.betas), "eps": s.eps,
                            "momentum_decay": s.momentum_decay},
)
class NAdam(Optimizer):
    r"""NAdam (``torch.optim.NAdam``; Dozat 2016).

    .. math::
        \mu_t = \beta_1 (1 - \tfrac12 0.96^{t \psi}), \quad
        w \leftarrow w - \eta_t \frac{1-\mu_t}{1 - \prod_{i \le t} \mu_i} \frac{g}{d}
                       - \eta_t \frac{\mu_{t+1}}{1 - \prod_{i \le t+1} \mu_i} \frac{m}{d}

    with :math:`d = \sqrt{v / (1-\beta_2^t)} + \epsilon` and :math:`m, v` as in
    Adam; :math:`\psi` = ``momentum_decay``. Sparse rows: lazy. State:
    ``exp_avg``, ``exp_avg_sq`` and ``mu_product`` (one per binary problem).
    """

    _kernel = "nadam"

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
class RAdam(Optimizer):
    r"""RAdam, Adam with a rectified adaptive rate (``torch.optim.RAdam``).

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

    Parameters
    ----------
    betas : tuple of (float, float), default=(0.9, 0.999)
        The decay rates :math:`\beta_1, \beta_2` of the moments, in [0, 1).
    eps : float, default=1e-8
        Added to :math:`\sqrt{v}` in the denominator.

    References
    ----------
    L. Liu, H. Jiang, P. He, W. Chen, X. Liu, J. Gao and J. Han, "On the
    Variance of the Adaptive Learning Rate and Beyond", ICLR 2020.
    """

    _kernel = "radam"

    def __init__(self, betas=(0.9, 0.999), eps=1e-8):
        self.betas = betas
        self.eps = eps
        self._validate()

    def _validate(self):
        check_betas(self.betas)
        check_real("eps", self.eps, low=0.0, what="epsilon")

    def slots(self):
        return ("exp_avg", "exp_avg_sq")

    def hyperparameters(self, intercept=False):
        b1, b2 = check_betas(self.betas)
        return (b1, b2, float(self.eps))


@register_optimizer(strings={"ftrl": {}})  # no PyTorch twin
class FTRL(Optimizer):
    r"""FTRL-Proximal (McMahan et al. 2013, "Ad click prediction", algorithm 1).

    The schedule's rate is FTRL's :math:`\alpha`. Per coordinate:

    .. math::
        \sigma = (\sqrt{n + g^2} - \sqrt{n}) / \alpha, \quad
        z \leftarrow z + g - \sigma w, \quad n \leftarrow n + g^2,

        w = 0 \text{ if } |z| \le \lambda_1 \text{ else }
        -\frac{z - \operatorname{sign}(z) \lambda_1}{(\beta + \sqrt{n}) / \alpha + \lambda_2}

    Weights are recomputed when their coordinate is touched. Sparse rows:
    exact with a constant rate (an untouched coordinate has g = 0). The
    intercept uses no ``l1``/``l2``. State: ``z``, ``n``.
    """

    _kernel = "ftrl"
    exact_on_sparse = True

    def __init__(self, beta=1.0, l1=0.0, l2=0.0):
        self.beta = beta
        self.l1 = l1
        self.l2 = l2
        self._validate()

    def _validate(self):
        check_real("beta", self.beta, low=0.0)
        check_real("l1", self.l1, low=0.0)
        check_real("l2", self.l2, low=0.0)

    def slots(self):
        return ("z", "n")

    def hyperparameters(self, intercept=False):
        if intercept:
            return (float(self.beta), 0.0, 0.0)
        return (float(self.beta), float(self.l1), float(self.l2))


# the strings, resolution and public names: from the registry rows above
OPTIMIZER_NAMES = _registry.optimizer_strings()


def resolve(optimizer):
    """The spec object for an ``optimizer`` parameter (a string or a spec)."""
    return _registry.resolve_optimizer(optimizer)


__all__ = [e.name for e in _registry.optimizers()] + ["Optimizer", "OPTIMIZER_NAMES", "resolve"]
