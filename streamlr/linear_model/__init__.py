"""scikit-learn-compatible linear models trained by streamlr's engine.

Files by responsibility: ``_classifier``/``_regressor`` (the estimators),
``_base`` (what they share: fitted attributes, events, predictions),
``_params`` (hyperparameter checks, kernel configs), ``_input`` (input
checks), ``_state`` (``ModelState``: where the training state lives),
``_driver`` (the one training path, transactions), ``_stopping`` (fit's
stopping rules). ``docs/architecture.md`` draws the picture.
"""
from ._classifier import SGDClassifier
from ._regressor import SGDRegressor

__all__ = ["SGDClassifier", "SGDRegressor"]
