"""A rate race's blocks of rows (``Engine.run_race_block``): a call whose
every copy diverges fails as one model's would, and leaves the model as it
was, whether the copies fail in the same block or one block after another."""
import numpy as np
import pytest
import scipy.sparse as sp

from streamlr import SGDRegressor
from streamlr.exceptions import DivergenceError


def _state(model):
    d = model._model.state_dict()
    return {k: np.array(v, copy=True) for k, v in d.items() if k != "meta"}


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "auto"])
@pytest.mark.parametrize("sparse", [False, True])
def test_every_copy_diverging_undoes_the_call(optimizer, sparse):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((3000, 10))
    y = X @ rng.standard_normal(10) * 50
    kw = {"optimizer": "auto"} if optimizer == "auto" else {"optimizer": optimizer,
                                                            "learning_rate": "auto"}
    model = SGDRegressor(shuffle=False, **kw)
    fmt = sp.csr_matrix if sparse else np.asarray
    model.partial_fit(fmt(X[:1500]), y[:1500])
    before = _state(model)
    with pytest.raises(DivergenceError, match="every copy of the rate race"):
        model.partial_fit(fmt(X[1500:] * 1e150), y[1500:] * 1e150)
    after = _state(model)
    assert before.keys() == after.keys()
    for key in before:
        assert before[key].tobytes() == after[key].tobytes(), key
    # and it goes on learning as if the failed call had never been made
    twin = SGDRegressor(shuffle=False, **kw)
    twin.partial_fit(fmt(X[:1500]), y[:1500])
    model.partial_fit(fmt(X[1500:]), y[1500:])
    twin.partial_fit(fmt(X[1500:]), y[1500:])
    assert model.coef_.tobytes() == twin.coef_.tobytes()
    assert model.progressive_loss_ == twin.progressive_loss_


def test_plain_sgd_copies_out_one_block_after_another_fail_as_diverged():
    # the copies still learning diverge in the first block; the next block
    # has no copy left to learn it: the call fails there, as before
    rng = np.random.default_rng(1)
    X = rng.standard_normal((3000, 10))
    y = X @ rng.standard_normal(10) * 50
    model = SGDRegressor(shuffle=False, optimizer="sgd", learning_rate="auto")
    model.partial_fit(X[:1500], y[:1500])
    with pytest.raises(DivergenceError, match="every copy of the rate race diverged"):
        model.partial_fit(X[1500:] * 1e150, y[1500:] * 1e150)
