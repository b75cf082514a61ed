"""The version of streamlr: its one source.

pyproject.toml reads it from here without importing the package (setuptools
parses this simple assignment), and ``streamlr.__version__`` imports it.
"""
__version__ = "0.1.0"
