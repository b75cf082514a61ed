"""scikit-learn-compatible linear models trained by streamlr's engine.

Files by responsibility: ``_classifier``/``_regressor`` (the estimators),
``_base`` (what they share: fitted attributes, events, predictions),
``_learner`` (their training core, without scikit-learn), ``_headless``
(the command line's learner on that core), ``_params`` (hyperparameter
checks, kernel configs), ``_input`` (input checks), ``_state``
(``ModelState``: where the training state lives), ``_driver`` (the one
training path, transactions), ``_stopping`` (fit's stopping rules).
``docs/architecture.md`` draws the picture.

The estimators are imported when first used (PEP 562): importing a
submodule (the command line's ``_headless``) does not import scikit-learn.
"""
__all__ = ["SGDClassifier", "SGDRegressor"]


def __getattr__(name):
    if name == "SGDClassifier":
        from ._classifier import SGDClassifier as value
    elif name == "SGDRegressor":
        from ._regressor import SGDRegressor as value
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
