"""streamlr: online linear learning on compiled, GIL-free per-sample kernels.

Public names: ``SGDClassifier``, ``SGDRegressor`` (drop-ins for
scikit-learn's), ``DivergenceError``, ``lr_find``, and the modules ``optim``
(update rules), ``schedules`` (learning-rate schedules), ``drift`` (drift
detectors), ``evaluate`` (progressive validation), ``pipeline`` and
``preprocessing`` (online pipelines); ``save``/``load`` (a
model file that cannot run code when loaded).
"""
from . import drift, evaluate, optim, pipeline, preprocessing, schedules  # noqa: E402
from ._version import __version__
from .exceptions import DivergenceError  # noqa: E402
from .linear_model import SGDClassifier, SGDRegressor  # noqa: E402
from .lr_finder import lr_find  # noqa: E402
from .persistence import load, save  # noqa: E402

__all__ = ["SGDClassifier", "SGDRegressor", "DivergenceError", "lr_find", "save", "load",
           "evaluate", "optim", "schedules", "drift", "pipeline", "preprocessing", "__version__"]
