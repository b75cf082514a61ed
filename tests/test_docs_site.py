"""The built documentation site, as a reader's browser shows it.

Headless Chromium (Debian's ``chromium`` and ``chromium-driver``, driven by
selenium) opens the index, an API page, the gallery and a gallery example,
takes a screenshot of each, and these tests fail when a page is blank, an
image is missing or does not decode, or a local link or anchor leads
nowhere. A static pass over every page of the site checks its local links
and images too.

The site is the one ``.ci/docs`` builds (``python -m sphinx -W -b html docs
docs/_build/html``), or the folder ``STREAMLR_DOCS_HTML`` names; the tests
are skipped when it has not been built, and the browser tests when Chromium,
its driver or selenium is missing. Screenshots go to ``STREAMLR_SCREENSHOTS``
(default ``docs/_build/screenshots``).
"""
import html.parser
import io
import os
import shutil
import urllib.parse

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SITE = os.environ.get("STREAMLR_DOCS_HTML", os.path.join(REPO, "docs", "_build", "html"))
SHOTS = os.environ.get("STREAMLR_SCREENSHOTS", os.path.join(REPO, "docs", "_build", "screenshots"))

# (page, what its text must contain, the least number of images it shows)
PAGES = [
    ("index.html", "drop-in replacements", 1),
    ("api/generated/streamlr.SGDClassifier.html", "learn_one", 0),
    ("api/generated/streamlr.optim.Adam.html", "exp_avg", 0),
    ("auto_examples/index.html", "Gallery", 8),
    ("auto_examples/plot_no_tuned_rate.html", "TrumpApproval", 1),
    ("user_guide/drift.html", "A detector with a rate race", 1),
    ("auto_examples/plot_delayed_labels.html", "learn_label", 1),
]

# .ci/docs sets STREAMLR_DOCS_REQUIRED=1: there a missing site or browser fails
REQUIRED = os.environ.get("STREAMLR_DOCS_REQUIRED") == "1"


def _unavailable(reason):
    if REQUIRED:
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(autouse=True, scope="module")
def _site_built():
    if not os.path.isfile(os.path.join(SITE, "index.html")):
        _unavailable(f"the documentation is not built ({SITE})")


# -- the whole site, statically -------------------------------------------------------------

class _Refs(html.parser.HTMLParser):
    """The ids of a page and the local targets of its links and images."""

    def __init__(self):
        super().__init__()
        self.ids, self.links, self.images = set(), [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("id", "name") if tag == "a" else ("id",):
            if attrs.get(key):
                self.ids.add(attrs[key])
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        elif tag == "img" and attrs.get("src"):
            self.images.append(attrs["src"])
        elif tag == "link" and attrs.get("rel") == "stylesheet" and attrs.get("href"):
            self.images.append(attrs["href"])   # a stylesheet must exist as well


_parsed = {}


def _refs(path):
    if path not in _parsed:
        parser = _Refs()
        with open(path, encoding="utf-8") as f:
            parser.feed(f.read())
        _parsed[path] = parser
    return _parsed[path]


def _local_target(page, url):
    """``(file, fragment)`` a local URL of ``page`` points at, or None if not local."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme in ("http", "https", "mailto", "data", "javascript"):
        return None
    if parts.scheme == "file":
        path = urllib.parse.unquote(parts.path)
    elif parts.path:
        path = os.path.normpath(os.path.join(os.path.dirname(page), urllib.parse.unquote(parts.path)))
    else:
        path = page
    if os.path.isdir(path):
        path = os.path.join(path, "index.html")
    return path, urllib.parse.unquote(parts.fragment)


def _broken(page, urls, anchors=True):
    bad = []
    for url in urls:
        target = _local_target(page, url)
        if target is None:
            continue
        path, fragment = target
        if not os.path.isfile(path):
            bad.append(f"{url} (no file {os.path.relpath(path, SITE)})")
        elif anchors and fragment and path.endswith(".html") and fragment not in _refs(path).ids:
            bad.append(f"{url} (no anchor #{fragment})")
    return bad


def _pages():
    for root, dirs, files in os.walk(SITE):
        dirs[:] = [d for d in dirs if not d.startswith("_")]   # _static, _sources, _images, ...
        for name in files:
            if name.endswith(".html"):
                yield os.path.join(root, name)


def test_every_page_links_to_local_pages_and_images_that_exist():
    bad = {}
    pages = list(_pages())
    assert len(pages) > 100, len(pages)      # API pages, user guide, gallery
    for page in pages:
        refs = _refs(page)
        wrong = _broken(page, refs.links) + _broken(page, refs.images, anchors=False)
        if wrong:
            bad[os.path.relpath(page, SITE)] = wrong
    assert not bad, bad


def test_every_public_name_has_an_api_page():
    import importlib
    import inspect
    import sys

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from test_docstrings import MODULES, _public_names

    generated = os.path.join(SITE, "api", "generated")
    documented = {}
    for name in os.listdir(generated):
        if name.endswith(".html") and name.startswith("streamlr."):
            modname, _, attr = name[:-5].rpartition(".")
            try:
                documented[id(getattr(importlib.import_module(modname), attr))] = name
            except (ImportError, AttributeError):
                continue
    missing = [qualname for modname in MODULES for qualname, obj in _public_names(modname)
               if (inspect.isclass(obj) or inspect.isfunction(obj)) and id(obj) not in documented]
    assert not missing, f"public names without an API page (docs/api.rst): {missing}"


# -- the pages in a real browser ------------------------------------------------------------

def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


@pytest.fixture(scope="module")
def browser():
    try:
        from selenium import webdriver
    except ImportError:
        _unavailable("selenium is not installed (pip install 'streamlr[docs]')")
    binary, driver_path = _chromium(), shutil.which("chromedriver")
    if binary is None or driver_path is None:
        _unavailable("headless Chromium and its driver are not installed "
                     "(apt-get install chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1280,1000", "--hide-scrollbars", "--force-device-scale-factor=1",
                "--allow-file-access-from-files"):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options,
                              service=webdriver.ChromeService(executable_path=driver_path))
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def _open(browser, page):
    browser.get("file://" + os.path.join(SITE, page))
    # images below the fold may be lazy: load them all, then wait for each to settle
    browser.execute_script("document.querySelectorAll('img').forEach(i => i.loading = 'eager');")
    browser.execute_async_script("""
        const done = arguments[arguments.length - 1];
        const pending = Array.from(document.images).filter(i => !i.complete)
            .map(i => new Promise(r => { i.onload = r; i.onerror = r; }));
        const math = window.MathJax && MathJax.startup ? MathJax.startup.promise : null;
        Promise.all(pending).then(() => math).then(() => document.fonts.ready)
            .then(() => done(true));
    """)


def _screenshot(browser, page):
    """A screenshot of the whole page (up to 6,000 px high); returns its path."""
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1280, min(max(int(height), 800), 6000))
    os.makedirs(SHOTS, exist_ok=True)
    path = os.path.join(SHOTS, page.replace("/", "_").replace(".html", ".png"))
    browser.save_screenshot(path)
    browser.set_window_size(1280, 1000)
    return path


def _ink(png_path):
    """Share of the screenshot's pixels that differ from its most common colour."""
    import numpy as np
    from PIL import Image

    with open(png_path, "rb") as f:
        rgb = np.asarray(Image.open(io.BytesIO(f.read())).convert("RGB")).reshape(-1, 3)
    colours = (rgb[:, 0].astype(np.int64) << 16) | (rgb[:, 1].astype(np.int64) << 8) | rgb[:, 2]
    return 1.0 - np.bincount(colours).max() / len(colours)


@pytest.mark.parametrize("page, text, min_images", PAGES, ids=[p[0] for p in PAGES])
def test_page_renders_with_its_images_and_links(browser, page, text, min_images):
    _open(browser, page)
    assert browser.execute_script("return document.readyState") == "complete"
    body = browser.execute_script("return document.body.innerText")
    assert len(body) > 500 and text in body, f"{page} looks blank or wrong: {body[:200]!r}"
    assert "\\(" not in body and "\\[" not in body, f"{page}: formulas left as TeX (MathJax?)"
    # the theme's stylesheets applied: the header bar is laid out, not a bare list
    assert browser.execute_script(
        "const h = document.querySelector('header'); return h && h.offsetHeight > 20")
    images = browser.execute_script("""
        return Array.from(document.images).map(i => ({src: i.currentSrc || i.src,
            ok: i.complete && i.naturalWidth > 0, w: i.naturalWidth}));""")
    broken = [i["src"] for i in images if not i["ok"]]
    assert not broken, f"{page}: images that did not load: {broken}"
    assert sum(i["w"] > 50 for i in images) >= min_images, images
    links = browser.execute_script(
        "return Array.from(document.querySelectorAll('a[href]')).map(a => a.href)")
    assert links, page
    bad = _broken(os.path.join(SITE, page), links)
    assert not bad, f"{page}: broken local links: {bad}"
    shot = _screenshot(browser, page)
    ink = _ink(shot)
    assert ink > 0.02, f"{page}: the screenshot {shot} is nearly blank ({ink:.1%} ink)"
