"""Observables and hooks for testing streamlr and code built on it.

* :func:`model_state`: every piece of a fitted model's training state, copied
  (arrays by name, and the counters), for bitwise comparisons of models.
* :func:`pass_blocks`: run the training passes in blocks of a given size and
  call a function between blocks: where Python handles signals, so a test
  can raise ``KeyboardInterrupt`` there as Ctrl-C would.
* :func:`state_layout`: the memory layout of the models created inside it.
"""
import contextlib

from .linear_model import _driver, _state

__all__ = ["model_state", "pass_blocks", "state_layout"]


def model_state(estimator):
    """Copy every piece of a fitted estimator's training state.

    Parameters
    ----------
    estimator : SGDClassifier or SGDRegressor
        Fitted or not.

    Returns
    -------
    dict
        The state arrays by name (``weight_blocks``, ``average_weights``,
        ``l1_received``, ``last_update``, ``scalars``, ``intercept_block``,
        ``schedule_state``, ``history``) and ``meta``, a dict of the
        counters and the layout (``t``, ``n_iter``, ``lr``, ...). None for
        an unfitted estimator.
    """
    model = estimator.__dict__.get("_model")
    return None if model is None else model.state_dict()


def pass_blocks(rows, between=None):
    """Context manager: passes run in blocks of ``rows`` rows.

    Parameters
    ----------
    rows : int
        Rows per block (default outside the context: 65,536). Any block size
        trains bitwise the same model.
    between : callable, optional
        ``between(k, first_row)`` is called before each block after the
        first of a pass over binary problem ``k``; an exception it raises
        propagates as one raised by Ctrl-C would (the call is undone).

    Returns
    -------
    contextlib.AbstractContextManager
        Restores the block size and the hook when it exits.
    """
    return _driver.pass_blocks(rows, between)


@contextlib.contextmanager
def state_layout(interleaved):
    """Context manager: the memory layout of the models created inside it.

    Parameters
    ----------
    interleaved : bool
        True: the optimizer state is interleaved with the weights (the layout
        of models first fed CSR rows); False: one array per slot (that of
        dense ones).

    Yields
    ------
    None
        The layout applies until the block exits.
    """
    old = _state.FORCED_LAYOUT[0]
    _state.FORCED_LAYOUT[0] = bool(interleaved)
    try:
        yield
    finally:
        _state.FORCED_LAYOUT[0] = old
