"""Audit: ``set_params(hash_bits=...)`` on a fitted model (whose ``coef_`` has
the old ``2 ** hash_bits`` columns) is refused by every call that reads dict
events, with a ValueError naming hash_bits; the event path hashed into the
new, wider space and read and wrote past the model's weights."""

import pickle

import numpy as np
import pytest

from streamlr import SGDClassifier, SGDRegressor
from streamlr.hashing import hash_feature

# a feature whose 7-bit column lies outside a 6-bit model
WIDE = next(f"f{i}" for i in range(1000) if hash_feature(f"f{i}", bits=7) >= 64)


@pytest.mark.parametrize("Est", [SGDClassifier, SGDRegressor])
@pytest.mark.parametrize("call", ["learn_one", "predict_one", "remember", "partial_fit",
                                  "predict"])
def test_changed_hash_bits_is_refused(Est, call):
    y = np.arange(40) % 2
    kw = {"classes": [0, 1]} if Est is SGDClassifier else {}
    est = Est(hash_bits=6).partial_fit([{"a": 1.0, "b": float(i % 3)} for i in range(40)],
                                       y, **kw)
    est.set_params(hash_bits=7)
    before = pickle.dumps(est)
    event = {WIDE: 1e3}
    with pytest.raises(ValueError, match="hash_bits|features"):
        if call == "learn_one":
            est.learn_one(event, 1)
        elif call == "predict_one":
            est.predict_one(event)
        elif call == "remember":
            est.predict_one(event, key="k")
        elif call == "partial_fit":
            est.partial_fit([event], [1])
        else:
            est.predict([event])
    assert pickle.dumps(est) == before
    # back to the model's width, everything works again
    est.set_params(hash_bits=6)
    est.learn_one(event, 1)
    assert np.isfinite(est.coef_).all()
