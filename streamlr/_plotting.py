"""The one place that imports matplotlib (an optional extra), lazily."""


def axes(ax=None):
    """``ax``, or new axes; ImportError with the install hint without matplotlib."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError("plot() needs matplotlib: pip install 'streamlr[plot]'") from exc
    if ax is None:
        _, ax = plt.subplots()
    return ax
