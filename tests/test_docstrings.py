"""numpydoc docstrings for every public class, function and method (issue #12).

Each public name is checked with ``numpydoc.validate.validate``. The public
names are those in the ``__all__`` of the modules below (or, for a module
without ``__all__``, the classes and functions it defines whose names do not
start with ``_``), and the public methods and properties of those classes,
inherited ones from streamlr's own base classes included. A method that
overrides a documented one without a docstring of its own inherits that
docstring (as ``help()`` and Sphinx show it), so it is not checked again.

The error codes checked, ``CHECKED``, are those the codebase is held to:

* GL03, GL05-GL10: the layout of the docstring (no double blank lines, known
  sections in numpydoc's order, a docstring at all: GL08).
* SS01-SS06: a one-line summary that starts with a capital letter (not a
  third-person verb) and ends with a period.
* PR01-PR07, PR09, PR10: every parameter documented, none that does not
  exist, in the signature's order, each with a type and a description that
  ends with a period.
* RT01, RT03, RT05, YD01: a ``Returns`` (or, for a generator, ``Yields``)
  section with a description.
* SA02-SA04: a ``See Also`` section, when there is one, is well formed.

Left out on purpose: GL01/GL02 (where the quotes go: layout only); ES01,
SA01, EX01 (an extended summary, a See Also section and examples are welcome,
not required); PR08/RT04 (a description may start with a literal such as
``None`` or ``"csv"``); RT02 (scikit-learn's convention ``self : object``
names the returned value, which RT02 refuses).

``KNOWN_FAILURES`` lists the names, in files outside this change, that do not
meet the codes yet; their tests are strict xfails, so fixing one makes its
test fail until it is taken off the list.
"""
import doctest
import importlib
import importlib.util
import inspect

import pytest

import streamlr

validate = pytest.importorskip("numpydoc.validate").validate
NumpyDocString = pytest.importorskip("numpydoc.docscrape").NumpyDocString

MODULES = ["streamlr", "streamlr.optim", "streamlr.schedules", "streamlr.drift", "streamlr.evaluate",
           "streamlr.persistence", "streamlr.dask", "streamlr.plotting", "streamlr.io",
           "streamlr.testing", "streamlr.linear_model", "streamlr.lr_finder",
           "streamlr.exceptions", "streamlr.demo", "streamlr.cli", "streamlr.hashing",
           "streamlr.preprocessing", "streamlr.pipeline"]

CHECKED = frozenset({
    "GL03", "GL05", "GL06", "GL07", "GL08", "GL09", "GL10",
    "SS01", "SS02", "SS03", "SS04", "SS05", "SS06",
    "PR01", "PR02", "PR03", "PR04", "PR05", "PR06", "PR07", "PR09", "PR10",
    "RT01", "RT03", "RT05", "YD01",
    "SA02", "SA03", "SA04",
})

# name -> the file to fix; names of files this test's change could not edit
KNOWN_FAILURES = {}


def _public_names(modname):
    module = importlib.import_module(modname)
    names = getattr(module, "__all__", None)
    if names is None:  # the classes and functions it defines (or its private parts do)
        package, _, last = modname.rpartition(".")
        names = [n for n, v in vars(module).items() if not n.startswith("_")
                 and (inspect.isclass(v) or inspect.isfunction(v))
                 and (v.__module__ == modname or v.__module__.startswith(modname + "._")
                      or v.__module__.startswith(f"{package}._{last}_"))]
    for name in names:
        obj = getattr(module, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            yield f"{modname}.{name}", obj


def _is_member(value):
    return (inspect.isfunction(value) or isinstance(value, (property, classmethod, staticmethod))
            or callable(getattr(value, "fn", None)))  # scikit-learn's available_if


def _own_doc(value):
    if not _is_member(value):  # a plain class attribute documents nothing
        return None
    if isinstance(value, (classmethod, staticmethod)):
        value = value.__func__
    value = getattr(value, "fn", value)
    return getattr(value, "__doc__", None)


def _members(path, cls):
    """(path, (owner class, name)) of each public method or property of ``cls``."""
    mro = [c for c in cls.__mro__ if c.__module__.startswith("streamlr")]
    seen = set()
    for owner in mro:
        for name, value in vars(owner).items():
            if name.startswith("_") or name in seen or not _is_member(value):
                continue
            seen.add(name)
            if _own_doc(value) is None and any(
                    _own_doc(vars(base)[name]) for base in owner.__mro__[1:]
                    if name in vars(base)):
                continue  # inherits the docstring of what it overrides
            yield f"{path}.{name}", (owner, name)


def _targets():
    """The sorted import paths of everything to check, each object once."""
    has_dask = importlib.util.find_spec("dask") is not None
    names = [item for modname in MODULES if modname != "streamlr.dask" or has_dask
             for item in _public_names(modname)]
    public = {}  # a class -> the first public path to it
    for path, obj in names:
        if inspect.isclass(obj):
            public.setdefault(obj, path)
    targets = {}
    for path, obj in names:
        targets.setdefault(obj, path)
        if inspect.isclass(obj):
            for member_path, key in _members(path, obj):
                owner, name = key
                targets.setdefault(key, f"{public[owner]}.{name}" if owner in public
                                   else member_path)
    return sorted(targets.values())


TARGETS = _targets()


def _params(name):
    if name in KNOWN_FAILURES:
        return pytest.param(name, marks=pytest.mark.xfail(
            strict=True, reason=f"not numpydoc yet; fix in {KNOWN_FAILURES[name]}"))
    return name


def test_the_known_failures_are_public_names():
    assert set(KNOWN_FAILURES) <= set(TARGETS)


@pytest.mark.parametrize("name", [_params(n) for n in TARGETS])
def test_numpydoc(name):
    result = validate(name)
    errors = [f"{code} {message}" for code, message in result["errors"] if code in CHECKED]
    assert not errors, f"{name} ({result['file']}:{result['file_line']}):\n  " + "\n  ".join(errors)


# -- the estimators ----------------------------------------------------------------
# Their docstrings follow scikit-learn's; whatever else they say, the
# parameters scikit-learn does not have and every parameter of the methods a
# stream is learned with must be documented.

def _documented(obj):
    doc = NumpyDocString(inspect.getdoc(obj) or "")
    return {p.name.lstrip("*") for p in doc["Parameters"]}


def _signature(func):
    return {n for n in inspect.signature(func).parameters if n != "self"}


@pytest.mark.parametrize("cls, extra", [
    ("SGDClassifier", {"optimizer", "gtol", "n_jobs", "auto_rates"}),
    ("SGDRegressor", {"optimizer", "gtol", "auto_rates"}),
])
def test_estimators_document_their_own_parameters(cls, extra):
    assert extra <= _documented(getattr(streamlr, cls))


@pytest.mark.parametrize("cls, method", [
    ("SGDClassifier", "learn_one"), ("SGDClassifier", "predict_one"),
    ("SGDClassifier", "predict_proba_one"), ("SGDClassifier", "partial_fit"),
    ("SGDClassifier", "fit"),
    ("SGDRegressor", "learn_one"), ("SGDRegressor", "predict_one"),
    ("SGDRegressor", "partial_fit"), ("SGDRegressor", "fit"),
])
def test_estimator_methods_document_every_parameter(cls, method):
    func = getattr(getattr(streamlr, cls), method)
    assert _signature(func) - _documented(func) == set()
    assert _documented(func) - _signature(func) == set()


# -- the examples ------------------------------------------------------------------

@pytest.mark.parametrize("modname", [
    "streamlr.evaluate", "streamlr.lr_finder", "streamlr.io", "streamlr.persistence",
    "streamlr.plotting", "streamlr.demo", "streamlr.dask", "streamlr.exceptions",
    "streamlr.cli", "streamlr._cli_spec", "streamlr._cli_options", "streamlr.hashing",
])
def test_examples_run(modname):
    result = doctest.testmod(importlib.import_module(modname))
    assert result.failed == 0
