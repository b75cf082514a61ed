"""Base of the spec objects (optimizers, schedules): plain parameter holders.

A spec validates its parameters when it is built (and after ``set_params``),
compares equal to another spec of the same type with equal parameters, and
works with scikit-learn's ``get_params``/``set_params``/``clone`` (so that
``GridSearchCV`` can search over ``optimizer=[Adam(), Adagrad()]`` or
``optimizer__lr``) without importing scikit-learn: the command line's
training path imports neither it nor SciPy. It holds no training state: the
estimators keep that as fitted attributes.
"""
import inspect
import numbers

import numpy as np


class Spec:
    """Base class of the spec objects: parameters in ``__init__``, checks in ``_validate``.

    A spec validates its parameters when it is built and after
    ``set_params``, compares equal to (and hashes as) another spec of the
    same type with equal parameters, and works with scikit-learn's
    ``get_params``/``set_params``/``clone``. Its ``repr`` shows the required
    parameters, and the others where they differ from their defaults, in the
    constructor's order. It holds no training state.

    See Also
    --------
    streamlr.optim.Optimizer : The update rules.
    streamlr.schedules.Schedule : The learning-rate schedules.

    Notes
    -----
    A subclass stores each constructor parameter as the attribute of the
    same name, then calls ``self._validate()``, which raises ``ValueError``
    naming the first invalid parameter. The estimators watch these
    attributes, to rebuild what they compiled from a spec when it changes.

    Examples
    --------
    >>> from streamlr.schedules import StepDecay
    >>> StepDecay(0.1, 100) == StepDecay(0.1, step_size=100, gamma=0.1)
    True
    >>> StepDecay(0.1, 100).set_params(gamma=0.5)
    StepDecay(lr=0.1, step_size=100, gamma=0.5)
    """

    def _validate(self):
        """Raise ``ValueError`` naming the first invalid parameter."""

    @classmethod
    def _get_param_names(cls):
        """The constructor's parameter names, in its order (scikit-learn's rule)."""
        params = []
        for name, param in inspect.signature(cls.__init__).parameters.items():
            if name == "self" or param.kind == param.VAR_KEYWORD:
                continue
            if param.kind == param.VAR_POSITIONAL:
                raise RuntimeError(f"{cls.__name__} should not take *args in its constructor")
            params.append(name)
        return params

    def get_params(self, deep=True):
        """The parameters, by name (scikit-learn's ``get_params``).

        Parameters
        ----------
        deep : bool, default=True
            Also the parameters of parameters that have ``get_params``
            (``schedule__lr`` of a ``Warmup``).

        Returns
        -------
        dict
            The parameter values, by name.
        """
        out = {}
        for name in self._get_param_names():
            value = getattr(self, name)
            if deep and hasattr(value, "get_params") and not isinstance(value, type):
                out.update((f"{name}__{k}", v) for k, v in value.get_params().items())
            out[name] = value
        return out

    def _set_params(self, params):
        # scikit-learn's set_params: plain names set, name__sub passed on
        valid = self.get_params(deep=True)
        nested = {}
        for key, value in params.items():
            name, delim, sub = key.partition("__")
            if name not in valid:
                raise ValueError(f"Invalid parameter {name!r} for estimator {self}. Valid "
                                 f"parameters are: {self._get_param_names()!r}.")
            if delim:
                nested.setdefault(name, {})[sub] = value
            else:
                setattr(self, name, value)
                valid[name] = value
        for name, sub_params in nested.items():
            valid[name].set_params(**sub_params)

    def set_params(self, **params):
        """Set parameters and validate them; a failed call changes nothing.

        Parameters
        ----------
        **params : dict
            The new values, by parameter name.

        Returns
        -------
        Spec
            The spec itself.

        Raises
        ------
        ValueError
            For an unknown parameter name or an invalid value (the
            parameters are then those before the call).
        """
        if not params:
            return self
        old = self.get_params(deep=False)
        try:
            self._set_params(params)
            self._validate()
        except (ValueError, TypeError):
            self._set_params(old)  # a failed call changes nothing
            raise
        return self

    def __repr__(self, N_CHAR_MAX=700):
        # constructor order; required parameters always, the others when changed
        parts = []
        for name, param in inspect.signature(type(self).__init__).parameters.items():
            if name == "self" or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                continue
            value = getattr(self, name)
            default = param.default
            if default is inspect.Parameter.empty or not _same(value, default):
                parts.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(parts)})"

    def _key(self):
        def freeze(v):
            if isinstance(v, (list, tuple, np.ndarray)):
                return tuple(freeze(x) for x in v)
            return v

        return type(self), tuple(sorted((k, freeze(v)) for k, v in self.get_params(deep=False).items()))

    def __eq__(self, other):
        return isinstance(other, Spec) and self._key() == other._key()

    def __hash__(self):
        try:
            return hash(self._key())  # 1 == 1.0, so their hashes agree too
        except TypeError:  # an unhashable parameter value
            return hash(type(self))


def check_real(name, value, low=None, high=None, low_open=False, high_open=False, what=None):
    """A finite real in the given interval, else ValueError in torch's words."""
    what = what or name
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise ValueError(f"Invalid {what} value: {value!r} (expected a finite real number)")
    if low is not None and (value < low or (low_open and value == low)):
        raise ValueError(f"Invalid {what} value: {value!r} (expected {'>' if low_open else '>='} {low})")
    if high is not None and (value > high or (high_open and value == high)):
        raise ValueError(f"Invalid {what} value: {value!r} (expected {'<' if high_open else '<='} {high})")
    return float(value)


def check_bool(name, value):
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"Invalid {name} value: {value!r} (expected a bool)")
    return bool(value)


def check_betas(betas):
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise ValueError(f"Invalid betas value: {betas!r} (expected a pair (beta1, beta2))")
    for i, b in enumerate(betas):
        if isinstance(b, bool) or not isinstance(b, numbers.Real) or not (0.0 <= b < 1.0):
            raise ValueError(f"Invalid beta parameter at index {i}: {b!r} (expected 0 <= beta < 1)")
    return float(betas[0]), float(betas[1])


def _same(a, b):
    try:
        return type(a) is type(b) and bool(a == b)
    except (TypeError, ValueError):
        return False
