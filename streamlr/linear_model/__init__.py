"""scikit-learn-compatible linear models trained by streamlr's kernels."""
from ._sgd import SGDClassifier, SGDRegressor

__all__ = ["SGDClassifier", "SGDRegressor"]
