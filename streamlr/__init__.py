"""streamlr: online linear learning on compiled, GIL-free per-sample kernels.

Public names: ``SGDClassifier``, ``SGDRegressor`` (drop-ins for
scikit-learn's), ``DivergenceError``, ``lr_find``, and the modules ``optim``
(update rules), ``schedules`` (learning-rate schedules) and ``evaluate``
(progressive validation).
"""
from . import evaluate, optim, schedules
from .exceptions import DivergenceError
from .linear_model import SGDClassifier, SGDRegressor
from .lr_finder import lr_find

__version__ = "0.1.0"
__all__ = ["SGDClassifier", "SGDRegressor", "DivergenceError", "lr_find", "evaluate",
           "optim", "schedules", "__version__"]
