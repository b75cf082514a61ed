"""Option values of the form ``name`` or ``name:key=value,...`` for the command line.

The tables of the options (schedules, optimizers, losses) come from the
registry (``streamlr/_registry.py``); ``parse_schedule`` and
``parse_optimizer`` turn a ``--schedule`` or ``--optimizer`` value into what
the estimators take. A bad value raises :class:`UsageError` (exit status 2).
"""
import ast

from . import _registry


class UsageError(Exception):
    """A bad option value found after parsing: exit status 2."""


# -- "name:key=value,..." option values -----------------------------------------

# the option tables, from the registry (streamlr/_registry.py)
SCHEDULES = {e.cli: e.spec for e in _registry.schedules() if e.cli is not None}


def _optimizer_row(name):
    entry, kwargs = _registry.optimizer_for_string(name)
    return entry.spec, dict(kwargs)


OPTIMIZERS = {name: _optimizer_row(name) for name in _registry.optimizer_strings()}
_SKLEARN_RATES = {e.cli: e.sklearn for e in _registry.schedules()
                  if e.cli is not None and e.sklearn is not None}
CLASSIFICATION_LOSSES = tuple(e.name for e in _registry.losses("classification"))
REGRESSION_LOSSES = tuple(e.name for e in _registry.losses("regression"))
_PROBA_LOSSES = tuple(e.name for e in _registry.losses() if e.probabilities is not None)


def _split_top(text):
    """Split on commas outside brackets."""
    parts, depth, cur = [], 0, ""
    for ch in text:
        depth += ch in "([{"
        depth -= ch in ")]}"
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return [p.strip() for p in parts if p.strip()]


def parse_spec(text, table, what):
    """Split ``"name"`` or ``"name:key=value,key=value"`` into a name and keyword arguments.

    Values are Python literals (numbers, booleans, lists, tuples) or bare
    words; commas inside brackets do not separate items. The name may also be
    the name of a table entry's class (``"CosineAnnealing"``), in any case.

    Parameters
    ----------
    text : str
        The option value.
    table : dict
        The known names: each maps to a class, or to a tuple whose first item
        is the class.
    what : str
        What the value is (``"schedule"``, ``"optimizer"``), for messages.

    Returns
    -------
    name : str
        The key of ``table``.
    kwargs : dict
        The keyword arguments, by name.

    Raises
    ------
    UsageError
        For an unknown name or an item that is not ``key=value``.

    Examples
    --------
    >>> from streamlr._cli_spec import OPTIMIZERS, parse_spec
    >>> parse_spec("adam:betas=(0.9,0.99),amsgrad=True", OPTIMIZERS, "optimizer")
    ('adam', {'betas': (0.9, 0.99), 'amsgrad': True})
    """
    name, _, rest = text.partition(":")
    name = name.strip().lower()
    aliases = {cls.__name__.lower(): key for key, cls in
               ((k, v[0] if isinstance(v, tuple) else v) for k, v in table.items())}
    name = name if name in table else aliases.get(name, name)
    if name not in table:
        raise UsageError(f"unknown {what} {text.partition(':')[0]!r}; expected one of "
                         f"{', '.join(table)}")
    kwargs = {}
    for item in _split_top(rest):
        key, eq, value = item.partition("=")
        if not eq or not key.strip().isidentifier():
            raise UsageError(f"{what} {text!r}: {item!r} is not key=value")
        try:
            kwargs[key.strip()] = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            kwargs[key.strip()] = value.strip()
    return name, kwargs


def _build(cls, kwargs, text, what):
    try:
        return cls(**kwargs)
    except TypeError as exc:
        import inspect

        params = [p for p in inspect.signature(cls).parameters]
        raise UsageError(f"{what} {text!r}: {exc}; {cls.__name__} takes "
                         f"{', '.join(params)}") from None
    except ValueError as exc:
        raise UsageError(f"{what} {text!r}: {exc}") from None


def parse_schedule(text, lr):
    """Turn a ``--schedule`` value into what ``learning_rate`` takes.

    scikit-learn's strings stay strings; anything else becomes a
    ``streamlr.schedules`` object whose rate (``lr`` or ``lr_max``) defaults
    to ``lr``.

    Parameters
    ----------
    text : str
        The value, ``"name"`` or ``"name:key=value,..."``.
    lr : float
        The rate of the schedule unless ``text`` gives one (``--lr``).

    Returns
    -------
    str or streamlr.schedules.Schedule
        A scikit-learn ``learning_rate`` string or a schedule object.

    Raises
    ------
    UsageError
        For an unknown schedule or parameters it does not take.

    Examples
    --------
    >>> from streamlr.cli import parse_schedule
    >>> parse_schedule("cosine:T_max=100000", 0.1)
    CosineAnnealing(lr=0.1, T_max=100000)
    """
    name, kwargs = parse_spec(text, SCHEDULES, "schedule")
    if name in _SKLEARN_RATES and not kwargs:
        return _SKLEARN_RATES[name]
    cls = SCHEDULES[name]
    import inspect

    params = inspect.signature(cls).parameters
    for key in ("lr", "lr_max"):
        if key in params and key not in kwargs:
            kwargs[key] = lr
            break
    return _build(cls, kwargs, text, "schedule")


def parse_optimizer(text):
    """Turn an ``--optimizer`` value into what ``optimizer`` takes.

    Parameters
    ----------
    text : str
        A name (``"adam"``) or a name with parameters
        (``"adam:betas=(0.9,0.99),amsgrad=True"``); a rule without a name
        by its class name (``"ScheduleFreeSGD:momentum=0.5"``).

    Returns
    -------
    str or streamlr.optim.Optimizer
        The name when no parameters are given, else the optimizer object.

    Raises
    ------
    UsageError
        For an unknown optimizer or parameters it does not take.
    """
    # a rule without a string (ScheduleFreeSGD) by its class name
    by_class = {e.name.lower(): (e.spec, {}) for e in _registry.optimizers() if not e.strings}
    if text.partition(":")[0].strip().lower() in by_class:
        name, kwargs = parse_spec(text, by_class, "optimizer")
        return _build(by_class[name][0], kwargs, text, "optimizer")
    name, kwargs = parse_spec(text, OPTIMIZERS, "optimizer")
    if not kwargs:
        return name
    cls, defaults = OPTIMIZERS[name]
    return _build(cls, {**defaults, **kwargs}, text, "optimizer")

