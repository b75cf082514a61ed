"""The base class of the update rules.

Private: the public names are imported from `streamlr.optim`. The rules
themselves live in ``_optim_sgd`` (SGD and its per-coordinate-rate variants:
``SGD``, ``Adagrad``, ``RMSprop``, ``Adadelta``), ``_optim_adam`` (the Adam
family: ``Adam``, ``AdamW``, ``Adamax``, ``NAdam``, ``RAdam``) and
``_optim_ftrl`` (``FTRL``), ``_optim_parameterfree`` (``COCOB``,
``Prodigy``), ``_optim_schedulefree`` (``ScheduleFreeSGD``,
``ScheduleFreeAdamW``) and ``_optim_vw`` (``Normalized``); string
resolution (``resolve``) in ``streamlr.optim``.
"""
import numpy as np

from ._kernels import kernel as _k
from ._spec import Spec


class Optimizer(Spec):
    """Base class of the update rules.

    An update rule is a spec (see `streamlr._spec.Spec`): it holds the rule's
    hyperparameters, with PyTorch's names and defaults, validated when it is
    built and by ``set_params``, and no state. An estimator accepts it as
    ``optimizer=``, takes the rate from its ``learning_rate`` and keeps the
    state, one array per slot (`slots`), as ``optimizer_state_``.

    Attributes
    ----------
    exact_on_sparse : bool
        Whether a CSR row updates the model as the same dense row would (with
        ``penalty=None``); False for a rule that is lazy on sparse input.
    takes_rate : bool
        Whether the rule has a learning rate (the estimator's schedule);
        False for a rule without one (``COCOB``), which ignores
        ``learning_rate``/``eta0`` and refuses a schedule object.
    default_rate : float or None
        The rate the rule runs at when ``learning_rate`` is a string (which
        is then ignored, ``eta0`` too): the reference's default ``lr`` for
        the rules that need no tuned rate (``Prodigy``: 1.0). A schedule
        object as ``learning_rate`` still sets the rate. None for the rules
        that take the estimator's rate.
    starts_at_weights : tuple of str
        The slots that start at the starting weights (``coef_init``,
        ``intercept_init``, a warm start) rather than at their initial value
        (Prodigy's ``p0``, the schedule-free rules' ``z``). Empty for the
        others.
    sign_odd_slots : tuple of str
        The slots that change sign with the weights when the labels of a
        binary problem are swapped (first moments such as ``exp_avg``,
        ``momentum_buffer``, FTRL's ``z``, starting points such as ``p0``);
        the others (second moments, maxima) are even and stay. Used when a
        binary classifier becomes one-vs-rest (``new_classes="add"``): the
        old negative class gets the row negated. The rule's
        `scalar_state` must be even.

    See Also
    --------
    resolve : The spec object of an ``optimizer`` string.

    Notes
    -----
    A subclass names its kernel rule (``_kernel``), sets
    ``exact_on_sparse`` and tells the estimator what the rule needs: `slots`,
    `hyperparameters` and, where needed, `initial_values` and `decays`. Each
    subclass carries its registry row as a ``@register_optimizer(...)``
    decorator (see ``streamlr/_registry.py``).

    Examples
    --------
    >>> from streamlr.optim import Adam, Optimizer
    >>> isinstance(Adam(), Optimizer)
    True
    """

    _kernel = None        # name of the kernel rule (streamlr._kernels.kernel.OPTIMIZERS)
    exact_on_sparse = False
    takes_rate = True
    default_rate = None
    starts_at_weights = ()
    sign_odd_slots = ()

    @property
    def kernel(self):
        """The kernel's code of the rule (``streamlr._kernels.kernel.OPTIMIZERS``)."""
        return _k.OPTIMIZERS[self._kernel]

    def slots(self):
        """Return the names of the per-coordinate state arrays, in kernel order.

        Returns
        -------
        tuple of str
            One name per state array (PyTorch's names, as ``"exp_avg"``);
            empty for a rule without state.
        """
        return ()

    def initial_values(self):
        """Return the initial value of each slot.

        Returns
        -------
        tuple of float
            One value per name of `slots`: zeros, unless the rule says
            otherwise (Adagrad's ``initial_accumulator_value``).
        """
        return tuple(0.0 for _ in self.slots())

    def decays(self):
        """Return the slots that decay on missed sparse updates, with their factors.

        Returns
        -------
        dict
            ``{slot: factor}``: on CSR input, such a slot is multiplied by
            ``factor ** gap`` when its coordinate is next touched, ``gap``
            being the number of updates it missed (an exact catch-up). Empty
            for the rules without one.
        """
        return {}

    def hyperparameters(self, intercept=False):
        """Return the kernel's hyperparameter vector.

        Parameters
        ----------
        intercept : bool, default=False
            The vector for the intercept, which gets no penalty and no weight
            decay (AdamW's ``weight_decay``, FTRL's ``l1`` and ``l2`` are 0
            there).

        Returns
        -------
        tuple of float
            The hyperparameters, in the order of the kernel rule.
        """
        return ()

    def scalar_state(self):
        """Return the rule's scalar state of each binary problem, with its initial value.

        Returns
        -------
        tuple of (str, float)
            ``(name, initial value)`` pairs, in kernel order (the rule reads
            them as ``StepInfo.rule[i]``): state that is one number per
            binary problem rather than one per coordinate (Prodigy's ``d``).
            Shown in ``optimizer_state_`` under these names and saved with
            the model. Empty for the rules without one.
        """
        return ()

    def auto_rates(self):
        """Return the candidate rates of ``learning_rate="auto"``.

        Returns
        -------
        tuple of float
            Log-spaced rates, two per decade: 13 from 1e-5 to 10 for a rule
            that takes the estimator's rate, and 9 around ``default_rate``
            (a hundredth to a hundred times it) for a rule that has its own.
        """
        if self.default_rate is not None:
            return tuple(float(self.default_rate) * 10.0 ** (k / 2.0) for k in range(-4, 5))
        return tuple(10.0 ** (k / 2.0) for k in range(-10, 3))

    def mix_scalar_state(self, copies, base, state):
        """Return the scalar state of a model averaged from copies (`streamlr.dask.mix`).

        Parameters
        ----------
        copies : list of dict
            Each copy's scalar state (`scalar_state`), ``{name: (K,) array}``.
        base : dict or None
            The scalar state of the model the copies started from; None when
            they started unfitted.
        state : dict
            The averaged model's slots, ``{name: (K, d) array}``, and
            ``{<name>_intercept: (K,) array}``.

        Returns
        -------
        dict
            ``{name: (K,) array}`` for every name of `scalar_state`: the
            copies' mean, unless the rule says otherwise.
        """
        return {name: np.mean([c[name] for c in copies], axis=0)
                for name, _ in self.scalar_state()}

    def needs_stamp(self):
        """Return whether the kernel stamps each coordinate with its last update.

        Returns
        -------
        bool
            True when a slot decays (`decays`): catching up needs the number
            of updates a coordinate missed.
        """
        return bool(self.decays())
