"""streamlr: online linear learning on compiled, GIL-free per-sample kernels.

Public names: ``SGDClassifier``, ``SGDRegressor`` (drop-ins for
scikit-learn's), ``DivergenceError``, ``lr_find``, and the modules ``optim``
(update rules), ``schedules`` (learning-rate schedules), ``drift`` (drift
detectors), ``evaluate`` (progressive validation), ``pipeline`` and
``preprocessing`` (online pipelines); ``save``/``load`` (a
model file that cannot run code when loaded).

The names are imported when first used (PEP 562), so that a program that
needs only part of the package (the command line's ``train``) does not pay
for the rest (scikit-learn, SciPy).
"""
import importlib

from ._version import __version__

# public name -> (module, attribute or None for the module itself)
_LAZY = {
    "SGDClassifier": (".linear_model", "SGDClassifier"),
    "SGDRegressor": (".linear_model", "SGDRegressor"),
    "DivergenceError": (".exceptions", "DivergenceError"),
    "lr_find": (".lr_finder", "lr_find"),
    "save": (".persistence", "save"),
    "load": (".persistence", "load"),
    "evaluate": (".evaluate", None),
    "optim": (".optim", None),
    "schedules": (".schedules", None),
    "drift": (".drift", None),
    "pipeline": (".pipeline", None),
    "preprocessing": (".preprocessing", None),
}

__all__ = ["SGDClassifier", "SGDRegressor", "DivergenceError", "lr_find", "save", "load",
           "evaluate", "optim", "schedules", "drift", "pipeline", "preprocessing", "__version__"]


def __getattr__(name):
    try:
        module, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = importlib.import_module(module, __name__)
    if attr is not None:
        value = getattr(value, attr)
    globals()[name] = value     # later look-ups skip this function
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
