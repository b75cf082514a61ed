"""The order of the gallery: from a first stream to scaling out.

``conf.py`` names :func:`order` as sphinx-gallery's ``within_subsection_order``
(by its qualified name, so that Sphinx can cache the configuration). A new
example not listed here goes after the listed ones, by file name.
"""
ORDER = [
    "plot_first_stream.py",
    "plot_sklearn_parity.py",
    "plot_learn_one_phishing.py",
    "plot_optimizers.py",
    "plot_schedules.py",
    "plot_no_tuned_rate.py",
    "lr_find_digits.py",
    "plot_robust_regression.py",
    "plot_quantile_stream.py",
    "plot_drifting_fraud.py",
    "plot_delayed_labels.py",
    "plot_persistence_resume.py",
    "plot_dask_fit_parallel.py",
]


def order(filename):
    """Sort key of an example's file name."""
    return (ORDER.index(filename), "") if filename in ORDER else (len(ORDER), filename)
