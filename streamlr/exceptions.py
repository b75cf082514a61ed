"""Exceptions of streamlr."""


class DivergenceError(FloatingPointError, ValueError):
    """Training made the model non-finite (a loss, a weight or a step).

    The call that raised it left the model exactly as it was before the call.
    It is a ``FloatingPointError``, and also a ``ValueError`` so that code
    written for scikit-learn (which raises ``ValueError`` on overflow) keeps
    working. ``t`` is the update (1-based, the estimator's count) at which it
    was detected and ``lr`` the rate then in use.
    """

    def __init__(self, message, t=None, lr=None):
        super().__init__(message)
        self.t = t
        self.lr = lr

    @classmethod
    def at(cls, t, lr, what):
        advice = (f" Try a learning rate of at most {lr / 10:.3g} (eta0, or the schedule's "
                  "lr), or scale the input (StandardScaler)."
                  if lr is not None and lr == lr else " Scale the input (StandardScaler).")
        rate = f" with learning rate {lr:.3g}" if lr is not None and lr == lr else ""
        return cls(f"The model diverged: {what} at update t={t:.0f}{rate}; the call was "
                   "undone and the model is as it was before it." + advice, t=t, lr=lr)
