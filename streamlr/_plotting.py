"""The one place that imports matplotlib (an optional extra), lazily."""

_HINT = "plotting needs matplotlib: pip install 'streamlr[plot]'"


def axes(ax=None):
    """``ax``, or new axes; ImportError with the install hint without matplotlib."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(_HINT) from exc
    if ax is None:
        _, ax = plt.subplots()
    return ax


def figure(**kwargs):
    """A new ``matplotlib.figure.Figure`` that pyplot does not track (so a
    script or a server that only saves files never opens a window nor keeps
    figures alive); ImportError with the install hint without matplotlib."""
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ImportError(_HINT) from exc
    return Figure(**kwargs)


def have_matplotlib():
    """Whether matplotlib can be imported."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True
