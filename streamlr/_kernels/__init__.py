"""Compiled layer of streamlr: losses and the per-sample SGD loop.

Nothing here imports scikit-learn; the estimators in ``streamlr.linear_model``
validate inputs and own all state, and call these kernels with memoryviews.
"""
