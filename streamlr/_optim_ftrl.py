"""FTRL-Proximal, the follow-the-regularized-leader rule (no PyTorch twin).

Private: import the class from `streamlr.optim`.
"""
from ._optim_base import Optimizer
from ._registry import register_optimizer
from ._spec import check_real


@register_optimizer(strings={"ftrl": {}})  # no PyTorch twin
class FTRL(Optimizer):
    r"""FTRL-Proximal (McMahan et al. 2013, "Ad click prediction", algorithm 1).

    The string ``"ftrl"`` is ``FTRL()``; there is no PyTorch twin. The
    schedule's rate is FTRL's :math:`\alpha`.

    Parameters
    ----------
    beta : float, default=1.0
        The smoothing term :math:`\beta` of the per-coordinate rates, >= 0
        (the paper's :math:`\beta`).
    l1 : float, default=0.0
        The L1 strength :math:`\lambda_1`, >= 0 (the paper's
        :math:`\lambda_1`).
    l2 : float, default=0.0
        The L2 strength :math:`\lambda_2`, >= 0 (the paper's
        :math:`\lambda_2`).

    Notes
    -----
    Per coordinate:

    .. math::
        \sigma = (\sqrt{n + g^2} - \sqrt{n}) / \alpha, \quad
        z \leftarrow z + g - \sigma w, \quad n \leftarrow n + g^2,

        w = 0 \text{ if } |z| \le \lambda_1 \text{ else }
        -\frac{z - \operatorname{sign}(z) \lambda_1}{(\beta + \sqrt{n}) / \alpha + \lambda_2}

    Weights are recomputed when their coordinate is touched. Sparse rows:
    exact with a constant rate (an untouched coordinate has g = 0). The
    intercept uses no ``l1``/``l2``. State: ``z``, ``n``.

    References
    ----------
    H. B. McMahan, G. Holt, D. Sculley et al., "Ad Click Prediction: a View
    from the Trenches", KDD 2013.

    Examples
    --------
    >>> from streamlr import SGDClassifier
    >>> from streamlr.optim import FTRL
    >>> from streamlr.schedules import Constant
    >>> clf = SGDClassifier(loss="log_loss", optimizer=FTRL(l1=1.0), learning_rate=Constant(0.1),
    ...                     penalty=None)
    >>> FTRL(l1=1.0).hyperparameters(intercept=True)  # no l1/l2 on the intercept
    (1.0, 0.0, 0.0)
    """

    _kernel = "ftrl"
    sign_odd_slots = ("z",)
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
