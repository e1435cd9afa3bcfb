"""The executed book: it builds offline, and every page works in headless Chromium.

The build runs ``jupyter-book build . --all -W -n --keep-going`` with ``ADVLAB_BOOK=1`` (as
``scripts/book.sh`` does). It is also the notebook test: the build executes every chapter once, a
failing cell (or any Sphinx warning) fails it, and the failure names the notebook and shows its
traceback. So it is not marked ``browser`` and runs even with ``ADVLAB_NO_BROWSER=1``.

The browser tests serve ``_build/html`` on a loopback port and open each page in headless Chromium:
no console error, no request leaving the host, every figure decoded, every widget view rendered, a
static ε slider that changes the displayed frame, every table the chapter displays rendered as a
real ``<table>`` with its rows, and no code cell or output wider than the page. Screenshots go to
``test-artifacts/``.
"""
import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest
from markdown_it import MarkdownIt

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
EXECUTED = ROOT / "_build" / "jupyter_execute"  # the notebooks as the build executed them, outputs included
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHAPTERS = sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb"))

browser_test = pytest.mark.browser


# -- the build (the notebook test) --------------------------------------------------------------

def _failed_notebooks(log: str) -> str:
    """What failed, for the assertion message: the notebook, the failing cell and its error, the warnings.

    A failing cell stops the build (``nb_execution_raise_on_error``) with nbclient's exception, which
    holds the cell's source and traceback; myst-nb names the notebook in the ``ExecutionError`` after it.
    """
    parts = list(dict.fromkeys(re.findall(r"^myst_nb\.core\.execute\.base\.ExecutionError: .*$", log, re.M)))
    parts += [m.group(0)[-3000:] for m in re.finditer(r"^nbclient\.exceptions\.\w+: .*?(?=\n\nThe above exception|\Z)",
                                                       log, re.M | re.S)]
    warnings = [line for line in log.splitlines() if re.search(r"WARNING:|ERROR:|CRITICAL:", line)]
    return "\n".join(parts + (["== warnings and errors of the build log"] + warnings[-40:] if warnings else []))


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
    assert proc.returncode == 0, ("the book build failed (full log: test-artifacts/book-build.log)\n"
                                  + _failed_notebooks(log))
    return HTML


def test_book_builds_with_every_page(built_book):
    pages = {p.relative_to(built_book).as_posix() for p in built_book.rglob("*.html")}
    for name in ("book/intro.html", "book/setup.html", "book/classroom.html", "book/references.html",
                 "book/build_report.html", "book/api.html", "book/claims.html"):
        assert name in pages
    for chapter in CHAPTERS:
        assert f"notebooks/{chapter}.html" in pages
        executed = json.loads((EXECUTED / "notebooks" / f"{chapter}.ipynb").read_text())
        errors = [o for c in executed["cells"] for o in c.get("outputs", []) if o["output_type"] == "error"]
        assert errors == [], f"{chapter}: a cell raised"
    text = (built_book / "notebooks" / "01_adversarial_examples.html").read_text()
    assert "Madry et al. 2018" in text and "seminar VGG16" in text  # executed tables are in the page
    text2 = (built_book / "notebooks" / "02_maps_under_attack.html").read_text()
    assert "ProtoPNet (seminar, 299)" in text2 and "class switch alone" in text2
    assert "worst case (APGD), seeds pooled" in text2 and "sign of gradient masking" in text2
    assert "training seeds per head, judged by the worst case" in text2   # the ranking's reading, generated
    text3 = (built_book / "notebooks" / "03_shape_vs_texture.html").read_text()
    assert "Stylized Caltech-256" in text3 and "stylised s=0.5" in text3 and "holds" in text3
    assert "gravel (" in text3 and "images): stylised / original" in text3     # errors by texture
    text4 = (built_book / "notebooks" / "04_robust_interpretation.html").read_text()
    assert "Int2-Adv: paper" in text4 and "APGD-T DLR" in text4 and "median slack" in text4
    text8 = (built_book / "notebooks" / "08_attack_pathways.html").read_text()
    assert "Bluff (InceptionV1, ImageNet)" in text8 and "first layer closer to the target" in text8
    # nothing is loaded from elsewhere (the browser test checks the requests themselves)
    assert re.findall(r'(?:src|href)="https?://[^"]*"', text) == []
    api = (built_book / "book" / "api.html").read_text()
    for name in ("advlab.attacks.PGD", "advlab.interpret.GradCAM", "advlab.metrics.robust_accuracy", "advlab.zoo.load"):
        assert f'id="{name}"' in api, name


# -- the tables the chapters display --------------------------------------------------------------

_GFM = MarkdownIt("commonmark").enable("table")  # what GitHub and JupyterLab render: CommonMark + tables


def _tables(markdown: str) -> list[tuple[list[str], int]]:
    """(header cells, number of body rows) of each GFM table in a Markdown text."""
    out, header, rows, section = [], [], 0, None
    for tok in _GFM.parse(markdown):
        if tok.type in ("thead_open", "tbody_open"):
            section = tok.type[:5]
        elif tok.type == "inline" and section == "thead":
            header.append(tok.content)
        elif tok.type == "tr_open" and section == "tbody":
            rows += 1
        elif tok.type == "table_close":
            out.append((header, rows))
            header, rows, section = [], 0, None
    return out


def _words(text: str) -> str:
    """A header cell reduced to its letters and digits, without math (rendered differently in the page)."""
    text = re.sub(r"\$[^$]*\$", "", text)
    return re.sub(r"[^0-9a-z]", "", text.lower())


def expected_tables(chapter: str) -> list[dict]:
    """Every table the executed chapter shows, in page order: markdown cells and ``text/markdown`` outputs."""
    nb = json.loads((EXECUTED / "notebooks" / f"{chapter}.ipynb").read_text())
    found = []
    for i, cell in enumerate(nb["cells"]):
        texts = []
        if cell["cell_type"] == "markdown":
            texts = [("markdown cell", "".join(cell["source"]))]
        elif cell["cell_type"] == "code":
            texts = [("Markdown output", "".join(o["data"]["text/markdown"])) for o in cell.get("outputs", [])
                     if "text/markdown" in o.get("data", {})]
        for where, text in texts:
            tables = _tables(text)
            prose = "".join(t.content for t in _GFM.parse(text) if t.type != "fence")  # code listings may hold |
            if where == "Markdown output" and "|" in prose:
                assert tables, f"{chapter} cell {i}: a Markdown output with pipes is not a GFM table:\n{text[:300]}"
            found += [{"cell": i, "where": where, "header": [_words(h) for h in head], "rows": rows,
                       "label": " | ".join(head)[:80]} for head, rows in tables]
    return found


def test_chapters_display_markdown_tables(built_book):
    """Every chapter shows at least one table as a Markdown output, and each parses as GFM (JupyterLab)."""
    for chapter in CHAPTERS:
        outputs = [t for t in expected_tables(chapter) if t["where"] == "Markdown output"]
        assert outputs, f"{chapter}: no table displayed with IPython.display.Markdown"


def test_citations_and_code_listings_read_as_in_jupyterlab(built_book):
    """Each chapter's citations print the labels its notebook shows in JupyterLab, in the same order,
    linked to the references; each code listing (``al.report.source``) is a highlighted Python block
    whose cell input the book hides."""
    from bs4 import BeautifulSoup
    for chapter in CHAPTERS:
        nb = json.loads((ROOT / "notebooks" / f"{chapter}.ipynb").read_text())
        md = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
        written = ["[" + t + "]" for t in re.findall(r"\[\[([^\[\]]+)\]\]\(#cite-", md)]
        soup = BeautifulSoup((built_book / "notebooks" / f"{chapter}.html").read_text(), "html.parser")
        links = soup.select("article a.reference.internal[href*='references.html#']")
        spans = list(dict.fromkeys(a.parent for a in links))
        assert [" ".join(s.get_text().split()) for s in spans] == written, chapter
        listings = [c for c in nb["cells"] if "al.report.source(" in "".join(c["source"])]
        blocks = soup.select("article div.highlight-python pre")
        for c in listings:
            name = re.search(r"\.(\w+)\W*\)\s*$", "".join(c["source"])).group(1)
            assert any(re.search(rf"(def|class) {name}\b", b.get_text()) for b in blocks), (chapter, name)
        assert "al.report.source(" not in soup.select_one("article").get_text(), chapter


def test_claims_page_lists_every_chapters_computed_verdicts(built_book):
    """The claims page, read after the chapters, counts the verdicts of each chapter that tests
    claims, and shows each chapter's table."""
    from bs4 import BeautifulSoup
    soup = BeautifulSoup((built_book / "book" / "claims.html").read_text(), "html.parser")
    tables = soup.select("article table")
    head = [th.get_text(strip=True) for th in tables[0].select("thead th")]
    assert head == ["chapter", "claims", "hold", "do not hold", "cannot tell"]
    rows = [[td.get_text(strip=True) for td in tr.select("td")] for tr in tables[0].select("tbody tr")]
    assert sorted({int(r[0]) for r in rows}) == [1, 2, 3, 4, 5, 6, 7, 8]      # one row per registered table
    assert [int(r[0]) for r in rows] == sorted(int(r[0]) for r in rows)
    assert all(sum(int(c) for c in r[2:]) > 0 for r in rows), rows
    assert len(tables) == 1 + len(rows)


# -- the browser --------------------------------------------------------------------------------

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


def _pages(html):
    skip = {"genindex.html", "search.html", "py-modindex.html"}
    return sorted(p.relative_to(html).as_posix() for p in html.rglob("*.html")
                  if p.name not in skip and not {"_static", "_sources", "reports"} & set(p.parts))


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
        broken = page.evaluate("[...document.images].filter(i => !(i.complete && i.naturalWidth > 0))"
                               ".map(i => i.src.slice(0, 80))")
        problems += [f"image not decoded: {src}" for src in broken]
        expected = page.evaluate(
            "document.querySelectorAll('script[type=\"application/vnd.jupyter.widget-view+json\"]').length")
        if expected:
            try:
                page.wait_for_function(
                    "document.querySelectorAll('.jupyter-widgets.widget-container, .widget-vbox, .widget-accordion, "
                    f".lm-Widget.jupyter-widgets').length >= {expected}", timeout=20000)
            except Exception as err:  # reported as a problem of this page, with the others
                problems.append(f"{expected} widget views expected, not all rendered: {err}")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / (name.replace("/", "_") + ".png")), full_page=True)
    finally:
        page.close()
    return problems


@browser_test
def test_every_page_in_headless_chromium(built_book, server, browser):
    pages = _pages(built_book)
    assert len(pages) >= 6, pages
    problems = {name: _check_page(browser, server, name) for name in pages}
    assert {k: v for k, v in problems.items() if v} == {}


@browser_test
@pytest.mark.parametrize("chapter, tag", [("01_adversarial_examples", "ch1"), ("02_maps_under_attack", "ch2"),
                                          ("03_shape_vs_texture", "ch3"), ("04_robust_interpretation", "ch4"),
                                          ("07_layer_diagnosis", "ch7"), ("08_attack_pathways", "ch8")])
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
        slider.evaluate("s => { s.value = s.max; s.dispatchEvent(new Event('input')); "
                        "s.dispatchEvent(new Event('change')); }")
        page.wait_for_timeout(300)
        after = img.get_attribute("src")
        page.screenshot(path=str(ARTIFACTS / f"{tag}-slider-after.png"))
        assert before != after
        assert problems == [], problems
    finally:
        page.close()


_PAGE_TABLES = """() => [...document.querySelectorAll('article.bd-article table')].map(t => {
    const words = el => { const c = el.cloneNode(true);
        c.querySelectorAll('.math, mjx-container, mjx-assistive-mml').forEach(m => m.remove());
        return c.textContent.toLowerCase().replace(/[^0-9a-z]/g, ''); };
    return {header: [...t.querySelectorAll('thead th')].map(words),
            rows: t.querySelectorAll('tbody > tr').length,
            output: !!t.closest('.cell_output')};
})"""

# a paragraph of pipes: a table the renderer did not recognise
_PIPE_PARAGRAPHS = """() => [...document.querySelectorAll('article.bd-article p')]
    .map(p => p.textContent)
    .filter(t => t.split('\\n').filter(line => /^\\s*\\|.*\\|\\s*$/.test(line)).length >= 2)
    .map(t => t.slice(0, 120))"""


@browser_test
@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_tables_render_as_tables(built_book, server, browser, chapter):
    """Each table the chapter displays (from its executed notebook) is a real <table> with its body rows."""
    expected = expected_tables(chapter)
    page, _ = _open(browser, f"{server}/notebooks/{chapter}.html")
    try:
        found = page.evaluate(_PAGE_TABLES)
        pipes = page.evaluate(_PIPE_PARAGRAPHS)
        tables = page.locator("article.bd-article table")
        ARTIFACTS.mkdir(exist_ok=True)
        for k in range(tables.count()):  # one image per table, to look at
            tables.nth(k).screenshot(path=str(ARTIFACTS / f"{chapter}-table-{k + 1}.png"))
    finally:
        page.close()
    assert pipes == [], f"{chapter}: Markdown tables shown as text: {pipes}"
    # match the expected tables, in page order, against the page's tables (other tables may sit between)
    missing, k = [], 0
    for want in expected:
        while k < len(found) and found[k]["header"] != want["header"]:
            k += 1
        if k == len(found):
            missing.append(f"cell {want['cell']} ({want['where']}): table '{want['label']}' not in the page")
            k = 0  # look for the next one from the start, so one miss is not reported as many
            continue
        got = found[k]
        if got["rows"] != want["rows"]:
            missing.append(f"cell {want['cell']}: table '{want['label']}' has {got['rows']} body rows, "
                           f"{want['rows']} expected")
        if want["where"] == "Markdown output" and not got["output"]:
            missing.append(f"cell {want['cell']}: table '{want['label']}' is not in the cell's output area")
        k += 1
    head = f"{chapter}: {len(expected)} tables expected, {len(found)} in the page:\n"
    assert missing == [], head + "\n".join(missing)


_OVERFLOWS = """() => {
    // open folded inputs (hide-input) so they are measured too
    document.querySelectorAll('article.bd-article details').forEach(d => d.open = true);
    const out = [];
    const cells = [...document.querySelectorAll('article.bd-article div.cell')];
    cells.forEach((cell, i) => {
        const areas = [...cell.querySelectorAll('.cell_input, .cell_output')];
        for (const area of areas) {
            for (const el of [area, ...area.querySelectorAll('*')]) {
                if (el.clientWidth === 0 || el.scrollWidth <= el.clientWidth + 1) continue;
                if (el.closest('.widget-accordion, .jupyter-widgets, .lm-Widget')) continue;  // live widgets
                if (el.closest('.math, mjx-container')) continue;  // MathJax's own boxes
                const style = getComputedStyle(el);
                if (style.overflowX === 'visible' && el !== area && el.tagName !== 'PRE') continue;
                const lines = (el.tagName === 'PRE' ? el : area).innerText.split('\\n');
                const longest = lines.reduce((a, b) => b.length > a.length ? b : a, '');
                const probe = document.createElement('span'); probe.textContent = 'x'.repeat(100);
                (el.tagName === 'PRE' ? el : area).appendChild(probe);
                const pad = parseFloat(style.paddingLeft) + parseFloat(style.paddingRight);
                const fits = Math.floor((el.clientWidth - pad) / (probe.getBoundingClientRect().width / 100));
                probe.remove();
                out.push({cell: i, area: area.classList.contains('cell_input') ? 'code' : 'output',
                          element: el.tagName.toLowerCase()
                                   + (el.className ? '.' + String(el.className).split(' ')[0] : ''),
                          scroll: el.scrollWidth, client: el.clientWidth, fits,
                          chars: longest.length, line: longest.trim().slice(0, 60)});
                break;
            }
        }
    });
    return out;
}"""


@browser_test
@pytest.mark.parametrize("chapter", CHAPTERS)
def test_code_and_outputs_need_no_horizontal_scrolling(built_book, server, browser, chapter):
    """No code cell or output area of the chapter is wider than the page column (1280×900 window)."""
    nb = json.loads((EXECUTED / "notebooks" / f"{chapter}.ipynb").read_text())
    code_cells = [i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code"]

    def cell_no(k):  # the k-th code cell of the page is this cell of the notebook
        return code_cells[k] if k < len(code_cells) else f"#{k} of the page"

    page, _ = _open(browser, f"{server}/notebooks/{chapter}.html")
    try:
        page.wait_for_timeout(500)
        wide = page.evaluate(_OVERFLOWS)
        cells = page.locator("article.bd-article div.cell")
        for w in wide:
            cells.nth(w["cell"]).screenshot(path=str(ARTIFACTS / f"{chapter}-wide-cell-{cell_no(w['cell'])}.png"))
    finally:
        page.close()
    def describe(w):
        where = f"cell {cell_no(w['cell'])} {w['area']} ({w['element']}, {w['scroll']} px in {w['client']} px"
        if "table" in w["element"]:
            return where + "): a table too wide"
        return where + f", about {w['fits']} characters fit): longest line {w['chars']} characters, {w['line']!r}"

    report = [describe(w) for w in wide]
    assert report == [], f"{chapter}: scrolls horizontally:\n" + "\n".join(report)
