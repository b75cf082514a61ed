"""Parameter-free rules, which learn without a rate: COCOB.

Private: import the class from `streamlr.optim`.
"""
from ._optim_base import Optimizer
from ._registry import register_optimizer
from ._spec import check_real


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
