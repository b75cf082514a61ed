"""The documentation's sources, without building them (``.ci/docs`` builds and
checks the site): every public name has an entry in the API reference, every
user guide page is reachable, and the gallery holds at least eight examples,
each a sphinx-gallery script that draws a figure."""
import ast
import importlib
import inspect
import os
import re

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = os.path.join(REPO, "docs")
EXAMPLES = os.path.join(REPO, "examples")

pytestmark = pytest.mark.skipif(not os.path.isfile(os.path.join(DOCS, "conf.py")),
                                reason="no docs/ next to the tests (an installed package)")


def _read(*parts):
    with open(os.path.join(*parts), encoding="utf-8") as f:
        return f.read()


def _api_entries():
    """The objects api.rst's autosummary tables list, as ``id -> qualified name``."""
    module, entries, in_table = "streamlr", {}, False
    for line in _read(DOCS, "api.rst").splitlines():
        if line.startswith(".. currentmodule::"):
            module = line.split("::")[1].strip()
        elif line.startswith(".. autosummary::"):
            in_table = True
        elif in_table and line.strip() and not line.startswith(" "):
            in_table = False
        elif in_table and line.startswith("   ") and not line.strip().startswith(":"):
            modname, _, attr = f"{module}.{line.strip()}".rpartition(".")
            entries[id(getattr(importlib.import_module(modname), attr))] = f"{modname}.{attr}"
    return entries


def test_api_reference_lists_every_public_name():
    from test_docstrings import MODULES, _public_names

    listed = _api_entries()
    missing = [name for modname in MODULES for name, obj in _public_names(modname)
               if (inspect.isclass(obj) or inspect.isfunction(obj)) and id(obj) not in listed]
    assert not missing, f"add these to docs/api.rst: {missing}"


def test_user_guide_pages_are_in_its_toctree():
    guide = os.path.join(DOCS, "user_guide")
    index = _read(guide, "index.rst")
    listed = set(re.findall(r"^   (\w+)$", index, flags=re.M))
    pages = {name[:-4] for name in os.listdir(guide) if name.endswith(".rst")} - {"index"}
    assert pages == listed


def _examples():
    return sorted(n for n in os.listdir(EXAMPLES) if n.endswith(".py"))


def test_gallery_has_eight_examples_in_order():
    import sys

    sys.path.insert(0, DOCS)
    try:
        from gallery_order import ORDER
    finally:
        sys.path.remove(DOCS)
    assert len(_examples()) >= 8
    assert set(ORDER) <= set(_examples()), "docs/gallery_order.py names a missing example"


@pytest.mark.parametrize("name", _examples() if os.path.isdir(EXAMPLES) else [])
def test_example_is_a_gallery_script_that_draws(name):
    source = _read(EXAMPLES, name)
    doc = ast.get_docstring(ast.parse(source))
    assert doc, f"{name}: sphinx-gallery needs a docstring with a title"
    title, underline = doc.splitlines()[:2]
    assert underline == "=" * len(underline) and len(underline) >= len(title), name
    assert "plt.subplots" in source or "plt.figure" in source, f"{name} draws no figure"
    # data: bundled with scikit-learn or River, or generated; never downloaded
    assert not re.search(r"\bfetch_|urlopen|requests\.", source), name
