"""The installed metadata agrees with the package: one version, one license."""
from importlib import metadata

import pytest

import streamlr


def _distribution():
    try:
        return metadata.distribution("streamlr")
    except metadata.PackageNotFoundError:
        pytest.skip("streamlr is imported from a source tree, not installed")


def test_version_is_the_installed_distributions():
    # pyproject.toml reads the version from streamlr/_version.py
    assert streamlr.__version__ == _distribution().version


def test_license_is_declared():
    meta = _distribution().metadata
    # an SPDX expression (PEP 639); metadata written before it have License
    assert (meta.get("License-Expression") or meta.get("License")) == "BSD-3-Clause"
