"""Exceptions of streamlr."""


class DivergenceError(FloatingPointError, ValueError):
    """Training made the model non-finite (a loss, a weight or a step).

    The call that raised it left the model exactly as it was before the call.
    It is a ``FloatingPointError``, and also a ``ValueError`` so that code
    written for scikit-learn (which raises ``ValueError`` on overflow) keeps
    working.
    """
