"""The scikit-learn ``learning_rate`` strings as schedule classes.

``"constant"``, ``"invscaling"``, ``"optimal"`` and ``"adaptive"``.
Private: import the classes from `streamlr.schedules`. Their registry rows
(the ``@register_schedule`` decorators) carry the strings they stand for,
so ``learning_rate="invscaling"`` builds ``InverseScaling(eta0, power_t)``
(see `streamlr.schedules.from_string`).
"""
import numpy as np

from ._registry import register_schedule
from ._schedules_base import Schedule, _positive
from ._spec import check_real


@register_schedule(kind="constant", code=0, cli="constant", sklearn="constant",
                   sklearn_params={"lr": "eta0"})
class Constant(Schedule):
    r"""A fixed rate (scikit-learn's ``"constant"``).

    ``learning_rate="constant"`` is ``Constant(eta0)``.

    Parameters
    ----------
    lr : float
        The rate, > 0. Scikit-learn's ``eta0``; PyTorch's ``lr`` without a
        scheduler.

    See Also
    --------
    Adaptive : A constant rate that ``fit`` cuts when the loss stalls.

    Notes
    -----
    .. math:: \eta(t) = \mathrm{lr}

    Examples
    --------
    >>> import numpy as np
    >>> from streamlr.schedules import Constant
    >>> Constant(0.1)(np.arange(3))
    array([0.1, 0.1, 0.1])
    """

    def __init__(self, lr):
        self.lr = lr
        self._validate()

    def _validate(self):
        _positive("lr", self.lr)

    def _rate(self, t):
        return np.full_like(t, self.lr)

    def _compile(self, program, ctx):
        return program.add("constant", [self.lr])


@register_schedule(kind="invscaling", code=1, cli="invscaling", sklearn="invscaling",
                   sklearn_params={"lr": "eta0", "power_t": "power_t"})
class InverseScaling(Schedule):
    r"""Inverse scaling, ``lr / (t + 1) ** power_t`` (scikit-learn's ``"invscaling"``).

    ``learning_rate="invscaling"`` is ``InverseScaling(eta0, power_t)``.

    Parameters
    ----------
    lr : float
        The first rate, > 0. Scikit-learn's ``eta0``.
    power_t : float
        The exponent, >= 0. Scikit-learn's ``power_t``.

    Notes
    -----
    .. math:: \eta(t) = \frac{\mathrm{lr}}{(t + 1)^{\mathrm{power\_t}}}

    Examples
    --------
    >>> from streamlr.schedules import InverseScaling
    >>> InverseScaling(0.1, power_t=0.5)([0, 3, 15])
    array([0.1  , 0.05 , 0.025])
    """

    def __init__(self, lr, power_t):
        self.lr = lr
        self.power_t = power_t
        self._validate()

    def _validate(self):
        _positive("lr", self.lr)
        check_real("power_t", self.power_t, low=0.0)

    def _rate(self, t):
        return self.lr / np.power(t + 1.0, self.power_t)

    def _compile(self, program, ctx):
        return program.add("invscaling", [self.lr, self.power_t])


def optimal_t0(alpha, dloss):
    r"""Return scikit-learn's t0 for the ``optimal`` rate.

    The first rate matches a typical weight :math:`1 / \sqrt{\alpha}`.

    Parameters
    ----------
    alpha : float
        The penalty strength, > 0 (the estimator's ``alpha``).
    dloss : callable
        ``dloss(y, p)``: the derivative of the loss in the prediction ``p``
        for the target ``y``.

    Returns
    -------
    float
        The offset :math:`t_0` of `Optimal`'s rate.

    Notes
    -----
    .. math::
        w = \alpha^{-1/4}, \quad
        \eta_0 = \frac{w}{\max(1, \mathrm{dloss}(1, -w))}, \quad
        t_0 = \frac{1}{\eta_0 \alpha}

    Examples
    --------
    >>> from streamlr.schedules import optimal_t0
    >>> hinge = lambda y, p: -y if y * p <= 1.0 else 0.0
    >>> float(optimal_t0(1e-4, hinge))
    1000.0
    """
    typw = np.sqrt(1.0 / np.sqrt(alpha))
    eta0 = typw / max(1.0, dloss(1.0, -typw))
    return 1.0 / (eta0 * alpha)


@register_schedule(kind="optimal", code=2, cli="optimal", sklearn="optimal")
class Optimal(Schedule):
    r"""Bottou's ``1 / (alpha (t + t0))`` (scikit-learn's ``"optimal"``).

    In an estimator, ``alpha=None`` takes the estimator's ``alpha``, and t0
    follows scikit-learn's heuristic for the estimator's loss. Evaluated on
    its own, it needs ``alpha`` and uses the heuristic of the hinge loss.
    Derived for plain SGD; with another optimizer it is still applied as
    written (the string ``"optimal"`` means a constant rate there).

    Parameters
    ----------
    alpha : float or None, default=None
        The penalty strength in the formula, > 0; None for the estimator's
        ``alpha`` (scikit-learn's ``"optimal"`` always uses that).

    See Also
    --------
    optimal_t0 : The offset t0.

    Notes
    -----
    .. math:: \eta(t) = \frac{1}{\alpha (t + t_0)}

    with :math:`t_0` from `optimal_t0`; the first rate, :math:`\eta(0)`, is
    :math:`\alpha^{-1/4}` for the hinge loss.

    References
    ----------
    L. Bottou, "Stochastic Gradient Descent Tricks", in Neural Networks:
    Tricks of the Trade, 2nd ed., Springer, 2012.

    Examples
    --------
    >>> from streamlr.schedules import Optimal
    >>> Optimal(alpha=1e-4)([0, 1000])
    array([10.,  5.])
    """

    def __init__(self, alpha=None):
        self.alpha = alpha
        self._validate()

    def _validate(self):
        if self.alpha is not None:
            _positive("alpha", self.alpha)

    def _alpha_t0(self, ctx):
        alpha = self.alpha if self.alpha is not None else ctx.get("alpha")
        if alpha is None:
            raise ValueError("Optimal(alpha=None) takes alpha from an estimator; "
                             "pass alpha to evaluate it on its own")
        dloss = ctx.get("dloss") or (lambda y, p: -y if y * p <= 1.0 else 0.0)
        return float(alpha), optimal_t0(alpha, dloss)

    def _rate(self, t):
        alpha, t0 = self._alpha_t0({})
        return 1.0 / (alpha * ((t0 + (t + 1.0)) - 1.0))

    def _compile(self, program, ctx):
        return program.add("optimal", self._alpha_t0(ctx))


@register_schedule(kind="constant", cli="adaptive", sklearn="adaptive",
                   sklearn_params={"lr": "eta0"})
class Adaptive(Schedule):
    """Scikit-learn's ``"adaptive"``: a constant rate that ``fit`` cuts when the loss stalls.

    The rate is ``lr``, multiplied by ``factor`` in ``fit`` each time
    ``n_iter_no_change`` epochs in a row fail to improve by ``tol`` (until it
    is below 1e-6); constant under ``partial_fit`` (use ``ReduceOnPlateau``
    for streams). ``Adaptive(eta0)`` is ``"adaptive"``.

    Parameters
    ----------
    lr : float
        The first rate, > 0. Scikit-learn's ``eta0``.
    factor : float, default=0.2
        The factor of each cut, in (0, 1). Scikit-learn's ``"adaptive"``
        divides by 5 (0.2).

    See Also
    --------
    ReduceOnPlateau : Cuts on a stalled loss under ``partial_fit`` too.

    Examples
    --------
    >>> from streamlr import SGDClassifier
    >>> from streamlr.schedules import Adaptive
    >>> clf = SGDClassifier(learning_rate=Adaptive(0.1, factor=0.5), n_iter_no_change=3)
    >>> Adaptive(0.1)(1000)  # on its own (or in a stream), the rate is lr
    0.1
    """

    def __init__(self, lr, factor=0.2):
        self.lr = lr
        self.factor = factor
        self._validate()

    def _validate(self):
        _positive("lr", self.lr)
        check_real("factor", self.factor, low=0.0, high=1.0, low_open=True, high_open=True)

    def _rate(self, t):
        return np.full_like(t, self.lr)

    def _compile(self, program, ctx):
        return program.add("constant", [ctx.get("adaptive_lr", self.lr)])
