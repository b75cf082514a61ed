"""Sphinx configuration of streamlr's documentation site.

Build it with ``pip install ".[docs]"`` and
``python -m sphinx -W -b html docs docs/_build/html`` (``.ci/docs`` does that
and then checks the pages in headless Chromium). The gallery runs every script
in ``examples/``; an example that raises fails the build.
"""
import contextlib
import io
import os
import re
import sys
import warnings

import streamlr
from streamlr import cli

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)  # gallery_order

project = "streamlr"
author = "the streamlr developers"
copyright = "2026, the streamlr developers"
version = release = streamlr.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",   # MathJax in _static: the formulas render without network
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "sphinx_design",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "**.ipynb_checkpoints", "auto_examples/*.ipynb",
                    "auto_examples/*.py", "auto_examples/*.zip", "auto_examples/*.md5",
                    "architecture.md"]
source_suffix = {".rst": "restructuredtext"}
root_doc = "index"
default_role = "py:obj"   # `name` links to a documented object, else shows as code
toc_object_entries_show_parents = "hide"   # "fit()", not "SGDClassifier.fit()", in a page's toc
pygments_style = "sphinx"
highlight_language = "none"   # literal blocks (::) are program output; code says its language

# -- API reference: autosummary pages, numpydoc sections ---------------------------------
autosummary_generate = True
autosummary_imported_members = True
autodoc_typehints = "none"
autodoc_default_options = {"member-order": "groupwise"}
numpydoc_show_class_members = False      # the class template lists the members
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True

# -- HTML: the theme of the scientific Python projects -----------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"streamlr {version}"
html_static_path = ["_static"]
html_css_files = ["streamlr.css"]
html_show_sourcelink = False
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
    "secondary_sidebar_items": ["page-toc"],
}
html_sidebars = {"index": [], "getting_started": []}

# -- The gallery: every script in examples/ runs; a failing one fails the build ----------
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"\.py$",          # run them all, not only plot_*.py
    "ignore_pattern": r"__init__\.py",
    "within_subsection_order": "gallery_order.order",
    "backreferences_dir": "api/generated/backreferences",
    "doc_module": ("streamlr",),
    "reference_url": {"streamlr": None},
    "download_all_examples": False,
    "remove_config_comments": True,
    "abort_on_example_error": True,
    "show_memory": False,
    "min_reported_time": 1,
    "matplotlib_animations": False,
    "image_scrapers": ("matplotlib",),
    "plot_gallery": "True",
}

# Examples draw with the Agg backend; they must not warn about showing figures.
warnings.filterwarnings("ignore", message="Matplotlib is currently using agg",
                        category=UserWarning)

# -- Docstrings inherited from scikit-learn ---------------------------------------------
# The estimators inherit methods such as ``score``, ``get_params`` and
# ``set_fit_request`` with scikit-learn's docstrings, which point at
# scikit-learn's own user guide (``:ref:``), glossary (``:term:``) and pages
# (``:doc:``). Those targets do not exist here (and there is no network for
# intersphinx), so each such role is turned into its text; cross-references to
# Python objects that are not documented here render as literals, as usual.
_ROLE = re.compile(r":(?:ref|term|doc):`([^`]*?)`")


def _role_text(match):
    text = match.group(1)
    label = re.match(r"^(.*?)\s*<([^>]*)>$", text, flags=re.S)
    shown = label.group(1) if label else text
    return f"*{shown.strip() or (label.group(2) if label else text)}*"


def _plain_foreign_roles(app, what, name, obj, options, lines):
    for i, line in enumerate(lines):
        if ":ref:`" in line or ":term:`" in line or ":doc:`" in line:
            lines[i] = _ROLE.sub(_role_text, line)


# -- The command line's help, as this version prints it (user_guide/cli.rst) -------------
def _write_cli_help():
    out = os.path.join(HERE, "api", "generated")
    os.makedirs(out, exist_ok=True)
    os.environ["COLUMNS"] = "80"          # argparse wraps to the terminal's width
    for command in ("", "train", "predict", "lr-find", "demo"):
        text = io.StringIO()
        with contextlib.redirect_stdout(text), contextlib.suppress(SystemExit):
            cli.main([command, "--help"] if command else ["--help"])
        name = f"cli_help_{command}.txt" if command else "cli_help.txt"
        with open(os.path.join(out, name), "w") as f:
            f.write(f"$ streamlr {command + ' ' if command else ''}--help\n" + text.getvalue())


_write_cli_help()


def setup(app):
    """Register the docstring hook (after numpydoc's, which runs at priority 500)."""
    app.connect("autodoc-process-docstring", _plain_foreign_roles, priority=900)
