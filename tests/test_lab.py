"""The live-widget test: a student's JupyterLab, for real. JupyterLab is started on loopback, a small
notebook with a panel is run in headless Chromium (``benchmarks/lab.py`` drives both), the ε slider
is moved with the keyboard and the panel's picture must change each time; a bad ε typed in the text
box must show the panel's message and put the box back to the slider's value. Fails on "Error
displaying widget" and on any console or page error."""
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import lab  # noqa: E402  (benchmarks/lab.py: JupyterLab + playwright harness)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def notebook_page(tmp_path_factory, browser):
    root = tmp_path_factory.mktemp("lab")
    nb = new_notebook(cells=[new_code_cell("import advlab as al\npanel = al.widgets.AttackExplorer.example()\npanel")],
                      metadata={"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}})
    nbformat.write(nb, root / "live.ipynb")
    with lab.Lab(root) as server:
        page, problems = lab.open_notebook(browser, server, "live.ipynb", timeout=240)
        try:
            yield page, problems
        finally:
            page.close()


def test_slider_moves_redraw_the_live_panel(notebook_page):
    page, problems = notebook_page
    result = lab.slider_latency(page, 0, presses=3, label="ε")
    assert result.get("error") is None, result
    assert len(result["times"]) == 3 and all(t is not None for t in result["times"]), result
    assert lab.WIDGET_ERROR not in page.inner_text("body")
    assert problems == []


def test_bad_eps_text_shows_the_message_and_the_box_follows_the_picture(notebook_page):
    page, problems = notebook_page
    box = page.locator(".widget-text").filter(has_text="ε =").locator("input")
    before = box.input_value()
    box.fill("abc")
    box.press("Enter")
    page.wait_for_function("() => document.body.innerText.includes('ε must be a number')", timeout=20000)
    from playwright.sync_api import expect
    expect(box).to_have_value(before, timeout=20000)
    assert problems == []
