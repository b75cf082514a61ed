"""Compiled layer of streamlr: losses, optimizers and the per-sample loop.

Nothing here imports scikit-learn; the estimators in ``streamlr.linear_model``
validate inputs and own all state, and call these kernels with memoryviews.

``kernel`` is the loop module for this CPU: ``sgd_avx2`` (the same source
compiled with AVX2) where the CPU has it, else ``sgd``. Set the environment
variable ``STREAMLR_KERNEL=baseline`` to force the baseline build.
"""
import os

from . import _cpu


def _select():
    if os.environ.get("STREAMLR_KERNEL", "").lower() != "baseline" and _cpu.has_avx2():
        try:
            from . import sgd_avx2
            return sgd_avx2
        except ImportError:  # built without the AVX2 variant (non-x86 machine)
            pass
    from . import sgd
    return sgd


kernel = _select()
