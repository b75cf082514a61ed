"""Build the compiled kernels. Everything else lives in pyproject.toml.

Set STREAMLR_DEBUG=1 to build with bounds and initialisation checks on.
"""
import os

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup

DEBUG = os.environ.get("STREAMLR_DEBUG", "0") == "1"
MODULES = ["losses", "sgd"]

extensions = [
    Extension(
        f"streamlr._kernels.{name}",
        [f"streamlr/_kernels/{name}.pyx"],
        include_dirs=[numpy.get_include()],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_9_API_VERSION")],
        extra_compile_args=["-O0", "-g"] if DEBUG else ["-O3"],
    )
    for name in MODULES
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
