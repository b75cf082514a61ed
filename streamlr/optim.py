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

This is the one public module of the update rules; it holds the string
resolution (`resolve`, ``OPTIMIZER_NAMES``) and re-exports the classes, which
are defined in private modules by family:

* ``_optim_base``: the base class `Optimizer`;
* ``_optim_sgd``: `SGD` (with momentum and Nesterov's), `Adagrad`,
  `RMSprop`, `Adadelta`;
* ``_optim_adam``: `Adam` (and AMSGrad), `AdamW`, `Adamax`, `NAdam`, `RAdam`;
* ``_optim_ftrl``: `FTRL`;
* ``_optim_parameterfree``: `COCOB` (no learning rate), `Prodigy` (no tuned rate);
* ``_optim_schedulefree``: `ScheduleFreeSGD`, `ScheduleFreeAdamW` (no
  schedule: the model served is a weighted average of the iterates).
* ``_optim_vw``: `Normalized` (Vowpal Wabbit's default update).

Adding a rule: its step in ``_kernels/optimizers.pxd``, a class in the module
of its family with ``_kernel``, ``slots``, ``hyperparameters`` (and
``initial_values`` / ``decays`` if needed), and its registry row, the
``@register_optimizer`` decorator (its strings and PyTorch twin); see
``streamlr/_registry.py``. Importing a module registers its classes: the
registration order, which orders the strings, the listings and the help text,
is the order of the imports below, then of the classes in each module.
"""
from . import _registry

# The optimizer classes, re-exported (``__all__`` below names them from their
# registry rows). The order of these imports is the registration order: keep it.
# isort: off
from ._optim_base import Optimizer  # noqa: F401
from ._optim_sgd import SGD, Adagrad, RMSprop, Adadelta  # noqa: F401
from ._optim_adam import Adam, AdamW, Adamax, NAdam, RAdam  # noqa: F401
from ._optim_ftrl import FTRL  # noqa: F401
from ._optim_parameterfree import COCOB, Prodigy  # noqa: F401
from ._optim_schedulefree import ScheduleFreeSGD, ScheduleFreeAdamW  # noqa: F401
from ._optim_vw import Normalized  # noqa: F401
# isort: on

# the strings, resolution and public names: from the registry rows above
OPTIMIZER_NAMES = _registry.optimizer_strings()


def resolve(optimizer):
    """Return the spec object for an estimator's ``optimizer`` parameter.

    Parameters
    ----------
    optimizer : str or Optimizer
        A string of ``OPTIMIZER_NAMES`` (a new object is built) or a spec
        object (validated and returned as is).

    Returns
    -------
    Optimizer
        The spec object.

    Raises
    ------
    ValueError
        For an unknown string or an object with invalid parameters.
    TypeError
        For anything else.

    Examples
    --------
    >>> from streamlr.optim import resolve
    >>> resolve("nesterov")
    SGD(momentum=0.9, nesterov=True)
    """
    return _registry.resolve_optimizer(optimizer)


__all__ = [e.name for e in _registry.optimizers()] + ["Optimizer", "OPTIMIZER_NAMES", "resolve"]
