"""Online pipelines: scikit-learn's ``Pipeline`` with ``partial_fit`` and a per-event path.

Public names: :class:`Pipeline`, :func:`make_pipeline`.
"""
import numpy as np
from sklearn.pipeline import Pipeline as _SkPipeline
from sklearn.pipeline import _name_estimators

from .preprocessing import StandardScaler, saved_state, undo_learning

__all__ = ["Pipeline", "make_pipeline"]


class Pipeline(_SkPipeline):
    """A chain of transformers and a final estimator, learnt in batches or per event.

    scikit-learn's :class:`sklearn.pipeline.Pipeline` (the same parameters,
    ``fit``, ``predict``, parameter names ``<step>__<param>``, ``clone``,
    ``GridSearchCV``), plus the streaming methods:

    - :meth:`partial_fit` updates each step with the chunk in turn;
    - :meth:`learn_one`, :meth:`predict_one` and :meth:`predict_proba_one`
      run one event through the steps.

    Every step is **updated first, then transforms**: a transformer learns
    the chunk or the event and passes it on transformed with its updated
    state (as River's pipelines do in ``learn_one``). The first event of a
    stream is thus standardised by statistics that include it.

    Parameters
    ----------
    steps : list of (str, estimator) tuples
        The transformers, then the final estimator; a step may be
        ``"passthrough"`` or None (skipped).
    transform_input : list of str, default=None
        As in scikit-learn (metadata routing only).
    memory : str or object with the joblib.Memory interface, default=None
        Caches the fitted transformers of ``fit`` (not used by the streaming
        methods).
    verbose : bool, default=False
        Print the time of each step of ``fit``.

    Attributes
    ----------
    named_steps : :class:`~sklearn.utils.Bunch`
        The steps by name.
    classes_ : ndarray of shape (n_classes,)
        The final classifier's classes.
    n_features_in_ : int
        Number of features the first step was fitted with.
    feature_names_in_ : ndarray of shape (n_features,)
        Names of the features the first step was fitted with, if any.

    See Also
    --------
    make_pipeline : A pipeline with its steps named after their classes.
    streamlr.preprocessing.StandardScaler : A scaler with a compiled
        per-event path.

    Notes
    -----
    ``partial_fit(X, y, **params)`` passes a parameter ``<step>__<name>`` to
    that step's ``partial_fit`` and a plain one (``classes``,
    ``sample_weight``) to the final estimator's. Every transformer must have
    ``partial_fit`` (a ``TypeError`` names the first one that has not,
    before any step changes).

    Per event, a transformer with ``learn_one``/``transform_one`` uses them
    (a :class:`streamlr.preprocessing.StandardScaler` learns and transforms a
    dense event in one compiled call, into a buffer of its own that the next
    event reuses: the final estimator must not keep the array it is given,
    which streamlr's estimators do not); any other transformer learns through ``partial_fit``
    and transforms through ``transform`` on a one-row array. The final
    estimator's ``learn_one``/``predict_one``/``predict_proba_one`` are used
    when it has them (streamlr's estimators), else ``partial_fit``/
    ``predict``/``predict_proba`` on one row.

    Examples
    --------
    >>> import numpy as np
    >>> from streamlr import SGDClassifier
    >>> from streamlr.pipeline import make_pipeline
    >>> from streamlr.preprocessing import StandardScaler
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(5.0, 3.0, size=(300, 4))
    >>> y = (X[:, 0] > 5.0).astype(int)
    >>> pipe = make_pipeline(StandardScaler(), SGDClassifier(random_state=0))
    >>> for x, label in zip(X, y):
    ...     _ = pipe.learn_one(x, label, classes=[0, 1])
    >>> pipe.predict_one(np.array([9.0, 5.0, 5.0, 5.0]))
    np.int64(1)
    """

    # -- batches ------------------------------------------------------------------------

    def partial_fit(self, X, y=None, **params):
        """Update every step with one chunk, in order (update, then transform).

        A call that raises leaves every step as it was before it.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The chunk.
        y : array-like of shape (n_samples,), optional
            Its targets.
        **params : dict
            ``<step>__<name>`` goes to that step's ``partial_fit``; a plain
            name (``classes``, ``sample_weight``, ...) to the final
            estimator's.

        Returns
        -------
        self
            The updated pipeline.

        Raises
        ------
        TypeError
            When a step has no ``partial_fit`` (naming it), before any step
            is updated.
        """
        self._validate_steps()
        steps = [(name, est) for _, name, est in self._iter(with_final=True)]
        per_step = {name: {} for name, _ in steps}
        final_name = self.steps[-1][0]
        for key, value in params.items():
            step, sep, param = key.partition("__")
            if sep and step in per_step:
                per_step[step][param] = value
            else:
                per_step.setdefault(final_name, {})[key] = value
        for name, est in steps:
            if not hasattr(est, "partial_fit"):
                raise TypeError(f"step {name!r} ({type(est).__name__}) has no partial_fit: "
                                "every step of a partial_fit call must have one")
        Xt = X
        journal = []
        try:
            for i, (name, est) in enumerate(steps):
                if i < len(steps) - 1 or not _atomic(est):
                    journal.append((est, saved_state(est)))
                est.partial_fit(Xt, y, **per_step[name])
                if i < len(steps) - 1:
                    Xt = est.transform(Xt)
        except BaseException:
            undo_learning(journal)
            raise
        return self

    # -- single events ------------------------------------------------------------------

    def _learn_transform(self, x, journal):
        """x learnt by every transformer, and transformed by each in turn;
        what undoes each step's learning is appended to ``journal``."""
        steps = self.steps
        for i in range(len(steps) - 1):
            name, est = steps[i]
            if type(est) is StandardScaler:
                x = est._learn_transform_one(x, journal)
            elif est is None or (type(est) is str and est == "passthrough"):
                continue
            elif hasattr(est, "learn_one") and hasattr(est, "transform_one"):
                journal.append((est, saved_state(est)))
                est.learn_one(x)
                x = est.transform_one(x)
            elif hasattr(est, "partial_fit"):
                row = _one_row(x, name)
                journal.append((est, saved_state(est)))
                est.partial_fit(row)
                x = est.transform(row)[0]
            else:
                raise TypeError(f"step {name!r} ({type(est).__name__}) has neither learn_one "
                                "nor partial_fit: it cannot learn an event")
        return x

    def _transform(self, x):
        """x transformed by every transformer, without learning."""
        steps = self.steps
        for i in range(len(steps) - 1):
            name, est = steps[i]
            if type(est) is StandardScaler and type(x) is not dict:
                x = est._transform_row(x, True)
            elif est is None or (type(est) is str and est == "passthrough"):
                continue
            elif hasattr(est, "transform_one"):
                x = est.transform_one(x)
            else:
                x = est.transform(_one_row(x, name))[0]
        return x

    def learn_one(self, x, y=None, **params):
        """Learn one event: each transformer learns it, then passes it on transformed.

        A call that raises leaves every step as it was before it.

        Parameters
        ----------
        x : 1-D array or dict
            The event.
        y : object, optional
            Its target.
        **params : dict
            Passed to the final estimator's ``learn_one`` (``classes`` on
            the first event of a classifier, ``sample_weight``).

        Returns
        -------
        self
            The updated pipeline.
        """
        journal = []
        try:
            x = self._learn_transform(x, journal)
            final = self.steps[-1][1]
            if final is None or (type(final) is str and final == "passthrough"):
                return self
            if not _atomic(final):
                journal.append((final, saved_state(final)))
            if hasattr(final, "learn_one"):
                final.learn_one(x, y, **params)
            else:
                sw = params.pop("sample_weight", None)
                if sw is not None:
                    params["sample_weight"] = np.asarray([sw])
                final.partial_fit(_one_row(x, self.steps[-1][0]), np.asarray([y]), **params)
        except BaseException:
            undo_learning(journal)
            raise
        return self

    def predict_one(self, x):
        """The final estimator's prediction for one event, transformed by the steps.

        Parameters
        ----------
        x : 1-D array or dict
            The event.

        Returns
        -------
        object or float
            The label (classifier) or the value (regressor).
        """
        x = self._transform(x)
        final = self.steps[-1][1]
        if hasattr(final, "predict_one"):
            return final.predict_one(x)
        return final.predict(_one_row(x, self.steps[-1][0]))[0]

    def predict_proba_one(self, x):
        """Class probabilities of one event, transformed by the steps.

        Parameters
        ----------
        x : 1-D array or dict
            The event.

        Returns
        -------
        dict
            ``{label: probability}``.
        """
        x = self._transform(x)
        final = self.steps[-1][1]
        if hasattr(final, "predict_proba_one"):
            return final.predict_proba_one(x)
        proba = final.predict_proba(_one_row(x, self.steps[-1][0]))[0]
        return dict(zip(final.classes_.tolist(), proba.tolist(), strict=True))


def _atomic(est):
    """Whether a failed call of ``est`` leaves it as it was by itself
    (streamlr's estimators do; a foreign step is restored by the pipeline)."""
    return type(est).__module__.startswith(("streamlr.linear_model", "streamlr.pipeline"))


def _one_row(x, name):
    if type(x) is dict:
        raise TypeError(f"step {name!r} takes arrays: a dict event needs steps with "
                        "learn_one/transform_one")
    if hasattr(x, "toarray") or np.ndim(x) == 2:
        return x
    return np.asarray(x).reshape(1, -1)


def make_pipeline(*steps, memory=None, transform_input=None, verbose=False):
    """A :class:`Pipeline` of the given steps, named after their classes.

    Parameters
    ----------
    *steps : list of estimators
        The transformers, then the final estimator.
    memory : str or object with the joblib.Memory interface, default=None
        As in :class:`Pipeline`.
    transform_input : list of str, default=None
        As in :class:`Pipeline`.
    verbose : bool, default=False
        As in :class:`Pipeline`.

    Returns
    -------
    Pipeline
        The pipeline, with ``partial_fit``, ``learn_one``, ``predict_one``
        and ``predict_proba_one``.

    See Also
    --------
    Pipeline : The class, for steps with names of your own.

    Examples
    --------
    >>> from streamlr import SGDRegressor
    >>> from streamlr.pipeline import make_pipeline
    >>> from streamlr.preprocessing import StandardScaler
    >>> pipe = make_pipeline(StandardScaler(), SGDRegressor())
    >>> [name for name, _ in pipe.steps]
    ['standardscaler', 'sgdregressor']
    """
    return Pipeline(_name_estimators(steps), memory=memory, transform_input=transform_input,
                    verbose=verbose)
