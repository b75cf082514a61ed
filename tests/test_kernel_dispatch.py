"""The AVX2 build of the loop gives bitwise the numbers of the baseline build.

Both are compiled from the same source without fused multiply-add
(setup.py); streamlr picks one at import (streamlr/_kernels/__init__.py),
and ``STREAMLR_KERNEL=baseline`` forces the baseline. The same training runs
in two processes, one per build, and the models must be bitwise equal.
"""
import os
import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp

import streamlr._kernels as K
from streamlr import SGDClassifier
from streamlr.testing import model_state, state_layout

pytest.importorskip("streamlr._kernels.sgd_avx2")
if not K._cpu.has_avx2():
    pytest.skip("this CPU has no AVX2", allow_module_level=True)

from streamlr import _registry  # noqa: E402

# every string of every registry rule
OPTIMIZERS = list(_registry.optimizer_strings())

# trains every case and saves the models' coefficients; run once per build
SCRIPT = r"""
import sys
import numpy as np, scipy.sparse as sp
from streamlr import SGDClassifier, SGDRegressor, _kernels
out = {"build": np.array(_kernels.kernel.__name__)}
for optimizer in %(optimizers)r:
    for fmt in ("dense", "csr"):
        for dtype in (np.float64, np.float32):
            rng = np.random.default_rng(3)
            X = rng.standard_normal((300, 37)).astype(dtype)
            X[rng.random(X.shape) < 0.3] = 0
            y = (X[:, 0] - X[:, 1] > 0).astype(int)
            if fmt == "csr":
                X = sp.csr_matrix(X)
            lr = "optimal" if optimizer == "sgd" else "constant"
            models = (SGDClassifier(loss="log_loss", optimizer=optimizer, learning_rate=lr,
                                    eta0=0.01, penalty="elasticnet", average=5, shuffle=False),
                      SGDRegressor(optimizer=optimizer, eta0=0.01, shuffle=False))
            for i, est in enumerate(models):
                kw = {"classes": np.unique(y)} if i == 0 else {}
                est.partial_fit(X, y, **kw)
                key = f"{optimizer}-{fmt}-{np.dtype(dtype).name}-{i}"
                out[key + "-coef"] = est.coef_
                out[key + "-intercept"] = est.intercept_
np.savez(sys.argv[1], **out)
"""


def _run(path, env_kernel):
    # the child imports the streamlr this process imported (an installed
    # package, or a source tree on PYTHONPATH), whatever its working directory
    import streamlr

    env = dict(os.environ)
    env.pop("STREAMLR_KERNEL", None)
    env["PYTHONPATH"] = os.pathsep.join(
        [os.path.dirname(os.path.dirname(streamlr.__file__))]
        + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    if env_kernel:
        env["STREAMLR_KERNEL"] = env_kernel
    subprocess.run([sys.executable, "-c", SCRIPT % {"optimizers": OPTIMIZERS}, str(path)],
                   check=True, env=env, timeout=300, cwd=path.parent)
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


def test_avx2_build_is_bitwise_the_baseline(tmp_path):
    avx2 = _run(tmp_path / "avx2.npz", None)
    base = _run(tmp_path / "base.npz", "baseline")
    assert str(avx2.pop("build")).endswith("sgd_avx2")
    assert str(base.pop("build")).endswith(".sgd")
    assert set(avx2) == set(base) and len(avx2) == len(OPTIMIZERS) * 2 * 2 * 2 * 2
    for key in avx2:
        np.testing.assert_array_equal(avx2[key], base[key], err_msg=key)


@pytest.mark.parametrize("optimizer", [s for s in OPTIMIZERS if s != "sgd"])
@pytest.mark.parametrize("fmt", ["dense", "csr"])
def test_state_layouts_give_the_same_model(optimizer, fmt):
    """Models first fed CSR rows interleave weights and state, models first fed
    dense rows keep one array per slot (optimizers.pxd); either layout must
    train bitwise the same model from the same rows."""
    rng = np.random.default_rng(5)
    X = rng.standard_normal((200, 23))
    X[rng.random(X.shape) < 0.4] = 0
    y = (X[:, 0] + X[:, 2] > 0).astype(int)
    Xf = sp.csr_matrix(X) if fmt == "csr" else X
    models = []
    for interleaved in (False, True):
        with state_layout(interleaved):
            est = SGDClassifier(loss="log_loss", optimizer=optimizer, learning_rate="constant",
                                eta0=0.05, average=3, penalty="elasticnet", shuffle=False)
            est.partial_fit(Xf[:120], y[:120], classes=[0, 1])
        est.partial_fit(Xf[120:], y[120:])
        assert model_state(est)["meta"]["interleaved"] is interleaved
        models.append(est)
    a, b = models
    np.testing.assert_array_equal(a.coef_, b.coef_)
    np.testing.assert_array_equal(a.intercept_, b.intercept_)
    for key, value in a.optimizer_state_.items():
        np.testing.assert_array_equal(value, b.optimizer_state_[key], err_msg=key)
