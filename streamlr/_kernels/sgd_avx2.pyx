# The same kernel as sgd.pyx, compiled with AVX2 (setup.py); streamlr picks it
# at import on CPUs that have AVX2 (streamlr/_kernels/__init__.py). No fused
# multiply-add either way, so both builds give the same numbers.
include "sgd.pyx"
