"""streamlr: online linear learning on compiled, GIL-free per-sample kernels.

Public names: ``SGDClassifier``, ``SGDRegressor`` (drop-ins for
scikit-learn's) and ``DivergenceError``.
"""
from .exceptions import DivergenceError
from .linear_model import SGDClassifier, SGDRegressor

__version__ = "0.1.0"
__all__ = ["SGDClassifier", "SGDRegressor", "DivergenceError", "__version__"]
