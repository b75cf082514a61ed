"""Exceptions of streamlr."""


class DivergenceError(FloatingPointError, ValueError):
    """Training made the model non-finite (a loss, a weight or a step).

    The call that raised it left the model exactly as it was before the call.
    It is a ``FloatingPointError``, and also a ``ValueError`` so that code
    written for scikit-learn (which raises ``ValueError`` on overflow) keeps
    working.

    Parameters
    ----------
    message : str
        The error message.
    t : float, optional
        The update (1-based, the estimator's count ``t_``) at which the
        divergence was detected.
    lr : float, optional
        The learning rate in use at that update.

    Attributes
    ----------
    t : float or None
        The update at which it was detected.
    lr : float or None
        The rate then in use.

    See Also
    --------
    DivergenceError.at : The error with the message streamlr's estimators raise.

    Examples
    --------
    >>> err = DivergenceError.at(t=42, lr=10.0, what="a weight became inf")
    >>> isinstance(err, ValueError), err.t, err.lr
    (True, 42, 10.0)
    """

    def __init__(self, message, t=None, lr=None):
        super().__init__(message)
        self.t = t
        self.lr = lr

    @classmethod
    def at(cls, t, lr, what):
        """Build the error for a divergence at update ``t`` with rate ``lr``.

        The message says what diverged, where, and what to try instead (a
        tenth of the rate, or scaling the input).

        Parameters
        ----------
        t : float
            The update (1-based) at which the divergence was detected.
        lr : float or None
            The learning rate then in use; None or NaN when unknown.
        what : str
            What became non-finite, e.g. ``"the loss is inf"``.

        Returns
        -------
        DivergenceError
            The error, with ``t`` and ``lr`` set.
        """
        advice = (f" Try a learning rate of at most {lr / 10:.3g} (eta0, or the schedule's "
                  "lr), or scale the input (StandardScaler)."
                  if lr is not None and lr == lr else " Scale the input (StandardScaler).")
        rate = f" with learning rate {lr:.3g}" if lr is not None and lr == lr else ""
        return cls(f"The model diverged: {what} at update t={t:.0f}{rate}; the call was "
                   "undone and the model is as it was before it." + advice, t=t, lr=lr)
