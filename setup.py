"""Build the compiled kernels. Everything else lives in pyproject.toml.

Set STREAMLR_DEBUG=1 to build with bounds and initialisation checks on (and
debug information), and STREAMLR_NATIVE=1 to compile for the building
machine's CPU.
"""
import os
import platform
import sys

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup

DEBUG = os.environ.get("STREAMLR_DEBUG", "0") == "1"
X86 = platform.machine().lower() in ("x86_64", "amd64", "i386", "i686")

# -O3, and -fno-math-errno so that sqrt needs no errno branch and loops with it
# vectorise; -ffp-contract=off: no fused multiply-add, which keeps scikit-learn's
# rounding and makes every build give the same numbers.
# A release build carries no debug information: -g0 comes after, so overrides, the
# -g of Python's own CFLAGS (which would make the shared objects six times larger).
FLAGS = (["-O0", "-g"] if DEBUG else ["-O3", "-g0"]) + ["-fno-math-errno", "-ffp-contract=off"]
# ... and, with the GNU or LLVM linkers of Linux, no symbol table either (-s: strip
# all; Python finds a module's PyInit_ function through the dynamic symbol table,
# which stripping keeps). macOS's linker ignores -s with a warning: not passed there.
LINK_FLAGS = ["-s"] if not DEBUG and sys.platform.startswith("linux") else []
# Portable by default. STREAMLR_NATIVE=1 builds for this machine's CPU
# (-march=native): the same numbers (no contraction either way), but not a
# speed-up on the development machine (bench/README.md), so opt-in only.
if os.environ.get("STREAMLR_NATIVE", "0") == "1":
    FLAGS.append("-march=native")

# (module, source, extra flags). sgd_avx2 is sgd.pyx again, built for AVX2 and
# chosen at import time on CPUs that have it (streamlr/_kernels/__init__.py).
# _hashing, _readers and _scaler (VW feature hashing, the data file parsers, the
# per-event standard scaler) are built once:
# no vector loop in them gains from AVX2.
MODULES = [("_cpu", "_cpu", []), ("losses", "losses", []), ("detectors", "detectors", []),
           ("sgd", "sgd", []), ("_hashing", "_hashing", []), ("_readers", "_readers", []),
           ("_scaler", "_scaler", [])]
if X86:
    MODULES.append(("sgd_avx2", "sgd_avx2", ["-mavx2"]))

extensions = [
    Extension(
        f"streamlr._kernels.{name}",
        [f"streamlr/_kernels/{source}.pyx"],
        include_dirs=[numpy.get_include()],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_9_API_VERSION")],
        extra_compile_args=FLAGS + extra,
        extra_link_args=LINK_FLAGS,
    )
    for name, source, extra in MODULES
]

setup(
    ext_modules=cythonize(
        extensions,
        build_dir="build/cython",
        compiler_directives={
            "language_level": 3,
            "boundscheck": DEBUG,
            "wraparound": False,
            "cdivision": True,
            "initializedcheck": DEBUG,
            "nonecheck": False,
        },
    )
)
