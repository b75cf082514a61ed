"""The race judges its copies by the objective they minimise: each row's loss
counts with the row's weight (``sample_weight`` times its class weight), the
weights of the copies' discounted losses and of the race's count, against
the NumPy reference of the serving rule (tests/_reference_race.py) fed the
same weights. Unweighted streams are served exactly as before (a weight of
1 multiplies exactly)."""
import numpy as np
import pytest
from _reference_race import RaceReference, SoftmaxRaceReference, cross_entropy
from sklearn.datasets import make_blobs
from sklearn.model_selection import train_test_split

from _reference import margin_loss

from streamlr import SGDClassifier, SGDRegressor
from streamlr.linear_model import _driver

RATES = (1e-4, 1e-3, 1e-2, 1e-1, 1.0)
RTOL = 1e-12      # the serving rule's float64 operations, in the kernel's order; exp's last bit


def _stream(n=300, d=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * np.logspace(0, 1.2, d)
    y = X @ rng.normal(size=d) / 4 + rng.normal(size=n)
    sw = rng.uniform(0.0, 4.0, size=n)
    sw[rng.random(n) < 0.1] = 1e-3         # rows that count for almost nothing
    return X, y, sw


def _reference(X, y, sw, row_weight, make, fn, classification, bound):
    """Each copy as a standalone model learning row by row with its weight,
    and the reference rule serving the rows with the same weights."""
    copies = [make(r) for r in RATES]
    margins = np.zeros((len(X), len(RATES)))
    for i in range(len(X)):
        for c, m in enumerate(copies):
            if i:
                margins[i, c] = (m.decision_function(X[i:i + 1])[0] if classification
                                 else m.predict(X[i:i + 1])[0])
            kw = {"classes": [0, 1]} if classification else {}
            m.partial_fit(X[i:i + 1], y[i:i + 1], sample_weight=sw[i:i + 1], **kw)
    ref = RaceReference(len(RATES), 0, _driver.RACE_DISCOUNT, _driver.RACE_ETA,
                        _driver.RACE_WILD, bound, _driver.RACE_FIRST_ROWS,
                        _driver.RACE_WARMUP, _driver.RACE_PERIOD, _driver.RACE_AWAKE)
    for i in range(len(X)):
        ref.serve(y[i], margins[i], fn, row_weight(i))
    return ref


@pytest.mark.parametrize("path", ["one call", "chunks", "events"])
def test_regression_race_weighs_each_row(path):
    X, y, sw = _stream()
    race = SGDRegressor(learning_rate="auto", auto_rates=RATES, optimizer="adam",
                        penalty=None, shuffle=False)
    if path == "one call":
        race.partial_fit(X, y, sample_weight=sw)
    elif path == "chunks":
        for lo in range(0, len(X), 37):
            race.partial_fit(X[lo:lo + 37], y[lo:lo + 37], sample_weight=sw[lo:lo + 37])
    else:
        for i in range(len(X)):
            race.learn_one(X[i], y[i], sample_weight=sw[i])

    def make(rate):
        return SGDRegressor(learning_rate="constant", eta0=rate, optimizer="adam",
                            penalty=None, shuffle=False)

    ref = _reference(X, y, sw, lambda i: sw[i], make,
                     lambda t, p: float(margin_loss("squared_error", t, p)), False, np.inf)
    np.testing.assert_allclose(race.rate_race_["weights"][0], ref.share, rtol=RTOL, atol=1e-300)
    # the progressive loss stays the mean unweighted loss of the served predictions
    np.testing.assert_allclose(race.progressive_loss_, ref.served_loss / ref.served_n, rtol=RTOL)


def test_classifier_race_weighs_rows_by_their_class_weight():
    X, t, sw = _stream(seed=1)
    y = (t > 0).astype(int)
    cw = {0: 3.0, 1: 0.25}
    race = SGDClassifier(learning_rate="auto", auto_rates=RATES, optimizer="adam",
                         loss="log_loss", penalty=None, shuffle=False, class_weight=cw)
    race.partial_fit(X, y, classes=[0, 1], sample_weight=sw)

    def make(rate):
        return SGDClassifier(learning_rate="constant", eta0=rate, optimizer="adam",
                             loss="log_loss", penalty=None, shuffle=False, class_weight=cw)

    ref = _reference(X, y, sw, lambda i: sw[i] * cw[int(y[i])], make,
                     lambda target, p: float(margin_loss("log_loss", 2.0 * target - 1.0, p)),
                     True, _driver.RACE_BOUND)
    np.testing.assert_allclose(race.rate_race_["weights"][0], ref.share, rtol=RTOL, atol=1e-300)
    unweighted = _reference(X, y, sw, lambda i: 1.0, make,
                            lambda target, p: float(margin_loss("log_loss", 2.0 * target - 1.0,
                                                                p)),
                            True, _driver.RACE_BOUND)
    assert not np.allclose(unweighted.share, ref.share)   # the weights do change the shares


def test_softmax_race_weighs_rows():
    X, t, sw = _stream(n=200, seed=2)
    y = np.digitize(t, np.quantile(t, [1 / 3, 2 / 3]))
    cw = {0: 2.0, 1: 1.0, 2: 0.5}
    race = SGDClassifier(learning_rate="auto", auto_rates=RATES, optimizer="adam",
                         loss="log_loss", multi_class="multinomial", penalty=None,
                         shuffle=False, class_weight=cw)
    race.partial_fit(X, y, classes=[0, 1, 2], sample_weight=sw)
    copies = [SGDClassifier(learning_rate="constant", eta0=r, optimizer="adam", loss="log_loss",
                            multi_class="multinomial", penalty=None, shuffle=False,
                            class_weight=cw) for r in RATES]
    ref = SoftmaxRaceReference(len(RATES), 0, _driver.RACE_DISCOUNT, _driver.RACE_ETA,
                               _driver.RACE_WILD, _driver.RACE_BOUND, _driver.RACE_FIRST_ROWS,
                               _driver.RACE_WARMUP, _driver.RACE_PERIOD, _driver.RACE_AWAKE)
    for i in range(len(X)):
        margins = np.zeros((len(RATES), 3))
        for c, m in enumerate(copies):
            if i:
                margins[c] = m.decision_function(X[i:i + 1])[0]
            m.partial_fit(X[i:i + 1], y[i:i + 1], classes=[0, 1, 2], sample_weight=sw[i:i + 1])
        ref.serve(int(y[i]), margins, None, sw[i] * cw[int(y[i])])
    assert cross_entropy                                  # the reference's loss, imported
    np.testing.assert_allclose(race.rate_race_["weights"][0], ref.share, rtol=RTOL, atol=1e-300)


@pytest.mark.parametrize("params", [dict(optimizer="adam", learning_rate="auto"),
                                    dict(optimizer="auto")])
def test_extreme_class_weights_serve_the_weighted_objective(params):
    """scikit-learn's check_class_weight_classifiers: class 0 weighs 1000,
    class 1 1e-4 on noisy blobs; every single rule predicts class 0 on
    nearly every test row, and so must the race (it served the copy with
    the lowest unweighted loss, a copy that had barely learnt: 56%)."""
    X, y = make_blobs(centers=2, random_state=0, cluster_std=20)
    X_train, X_test, y_train, _ = train_test_split(X, y, test_size=0.5, random_state=0)
    clf = SGDClassifier(class_weight={0: 1000, 1: 0.0001}, max_iter=1000, n_iter_no_change=20,
                        random_state=0, **params).fit(X_train, y_train)
    assert np.mean(clf.predict(X_test) == 0) > 0.87
