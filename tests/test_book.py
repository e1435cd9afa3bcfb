"""The executed book: it builds offline, and every page works in headless Chromium.

The build runs ``jupyter-book build . --all -W -n --keep-going`` with ``ADVLAB_BOOK=1`` (as
``scripts/book.sh`` does); a failing cell or a Sphinx warning fails it. The browser test serves
``_build/html`` on a loopback port and opens each page in headless Chromium: no console error, no
request leaving the host, every figure decoded, every widget view rendered, and a static ε slider
that changes the displayed frame. Screenshots go to ``test-artifacts/``.
"""
import functools
import http.server
import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = pytest.mark.browser


@pytest.fixture(scope="session")
def built_book():
    if os.environ.get("ADVLAB_BOOK_PREBUILT") == "1" and (HTML / "index.html").is_file():
        return HTML  # developers: reuse the last build (scripts/book.sh) instead of rebuilding
    env = dict(os.environ, ADVLAB_BOOK="1")
    jb = Path(sys.executable).with_name("jupyter-book")
    proc = subprocess.run([str(jb), "build", str(ROOT), "--all", "-W", "-n", "--keep-going"], env=env,
                          capture_output=True, text=True, cwd=ROOT)
    log = proc.stdout + proc.stderr
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "book-build.log").write_text(log)
    assert proc.returncode == 0, log[-4000:]
    return HTML


def test_book_builds_with_every_page(built_book):
    pages = {p.relative_to(built_book).as_posix() for p in built_book.rglob("*.html")}
    for name in ("book/intro.html", "book/setup.html", "book/classroom.html", "book/references.html", "book/build_report.html",
                 "notebooks/01_adversarial_examples.html", "notebooks/02_maps_under_attack.html",
                 "notebooks/03_shape_vs_texture.html"):
        assert name in pages
    text = (built_book / "notebooks" / "01_adversarial_examples.html").read_text()
    assert "Madry et al. 2018" in text and "seminar VGG16" in text  # executed tables are in the page
    text2 = (built_book / "notebooks" / "02_maps_under_attack.html").read_text()
    assert "seminar ProtoPNet (CUB-12)" in text2 and "top-10% IoU" in text2
    text3 = (built_book / "notebooks" / "03_shape_vs_texture.html").read_text()
    assert "Stylized Caltech-256" in text3 and "stylised s=0.5" in text3 and "holds" in text3
    # nothing is loaded from elsewhere (the browser test checks the requests themselves)
    assert re.findall(r'(?:src|href)="https?://[^"]*"', text) == []


@pytest.fixture(scope="session")
def server(built_book):
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(built_book))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture(scope="session")
def browser():
    if CHROMIUM is None:
        pytest.fail("headless Chromium is needed: `apt-get install chromium` (scripts/setup.sh does it as root), "
                    "or deselect with -m 'not browser' / ADVLAB_NO_BROWSER=1")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"])
        yield b
        b.close()


def _pages(html):
    skip = {"genindex.html", "search.html"}
    return sorted(p.relative_to(html).as_posix() for p in html.rglob("*.html")
                  if p.name not in skip and "_static" not in p.parts and "_sources" not in p.parts)


def _open(browser, url):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems = []
    page.on("console", lambda m: m.type == "error" and problems.append(f"console: {m.text}"))
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))

    def check_request(req):
        u = urlparse(req.url)
        if u.scheme not in ("data", "blob", "about") and u.hostname not in ("127.0.0.1", "localhost"):
            problems.append(f"off-host request: {req.url}")
    page.on("request", check_request)
    page.on("requestfailed", lambda r: problems.append(f"failed request: {r.url}"))
    page.on("response", lambda r: r.status >= 400 and problems.append(f"HTTP {r.status}: {r.url}"))
    page.goto(url, wait_until="networkidle")
    return page, problems


def _check_page(browser, server, name):
    """Problems found on one page: console errors, off-host requests, broken images, missing widgets."""
    page, problems = _open(browser, f"{server}/{name}")
    try:
        page.wait_for_timeout(500)
        broken = page.evaluate("[...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src.slice(0, 80))")
        problems += [f"image not decoded: {src}" for src in broken]
        expected = page.evaluate("document.querySelectorAll('script[type=\"application/vnd.jupyter.widget-view+json\"]').length")
        if expected:
            try:
                page.wait_for_function(f"document.querySelectorAll('.jupyter-widgets.widget-container, .widget-vbox, .widget-accordion, .lm-Widget.jupyter-widgets').length >= {expected}", timeout=20000)
            except Exception as err:  # reported as a problem of this page, with the others
                problems.append(f"{expected} widget views expected, not all rendered: {err}")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / (name.replace("/", "_") + ".png")), full_page=True)
    finally:
        page.close()
    return problems


def test_every_page_in_headless_chromium(built_book, server, browser):
    pages = _pages(built_book)
    assert len(pages) >= 6, pages
    problems = {name: _check_page(browser, server, name) for name in pages}
    assert {k: v for k, v in problems.items() if v} == {}


@pytest.mark.parametrize("chapter, tag", [("01_adversarial_examples", "ch1"), ("02_maps_under_attack", "ch2"),
                                           ("03_shape_vs_texture", "ch3")])
def test_static_slider_changes_the_frame(built_book, server, browser, chapter, tag):
    page, problems = _open(browser, f"{server}/notebooks/{chapter}.html")
    try:
        sliders = page.locator("input.anim-slider, input[type=range][id^='_anim_slider']")
        assert sliders.count() >= 1, "each panel should have a static frame slider"
        slider = sliders.first
        slider.scroll_into_view_if_needed()
        img = page.locator("img[id^='_anim_img']").first
        before = img.get_attribute("src")
        page.screenshot(path=str(ARTIFACTS / f"{tag}-slider-before.png"))
        slider.evaluate("s => { s.value = s.max; s.dispatchEvent(new Event('input')); s.dispatchEvent(new Event('change')); }")
        page.wait_for_timeout(300)
        after = img.get_attribute("src")
        page.screenshot(path=str(ARTIFACTS / f"{tag}-slider-after.png"))
        assert before != after
        assert problems == [], problems
    finally:
        page.close()
