"""Live panels in a real browser: JupyterLab on loopback, driven by playwright with the system Chromium.

``Lab`` starts JupyterLab (token, loopback only, a throw-away config, runtime and workspace folder) on
a folder of notebooks; ``open_notebook`` opens one, runs all its cells and waits for the kernel to be
idle; ``slider_latency`` presses arrow keys on a panel's slider and times, in the page, each key press
to the moment the panel's new picture is decoded on screen. ``tests/test_lab.py`` (the live-widget
test) and ``benchmarks/run.py --lab`` (the browser benchmark) both use it.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
BROWSER_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"]
WIDGET_ERROR = "Error displaying widget"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lab:
    """JupyterLab serving ``root`` on 127.0.0.1 until ``close`` (a context manager)."""

    def __init__(self, root: Path, timeout: float = 120.0):
        self.root = Path(root)
        self.port = _free_port()
        self.token = "advlab-live-test"
        self.home = Path(tempfile.mkdtemp(prefix="advlab-lab-"))
        settings = self.home / "settings" / "@jupyterlab" / "apputils-extension"
        settings.mkdir(parents=True)
        (settings / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
        env = dict(os.environ, JUPYTER_CONFIG_DIR=str(self.home / "config"),
                   JUPYTERLAB_SETTINGS_DIR=str(self.home / "settings"),
                   JUPYTER_RUNTIME_DIR=str(self.home / "runtime"), JUPYTERLAB_WORKSPACES_DIR=str(self.home / "ws"),
                   JUPYTER_PLATFORM_DIRS="1", PYTHONUNBUFFERED="1")
        jupyter = Path(sys.executable).with_name("jupyter")
        cmd = [str(jupyter), "lab", "--no-browser", f"--port={self.port}", "--ServerApp.ip=127.0.0.1",
               f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={self.root}",
               "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
               "--ServerApp.disable_check_xsrf=True"]
        if hasattr(os, "getuid") and os.getuid() == 0:
            cmd.append("--allow-root")
        self.log = open(self.home / "lab.log", "w")
        self.proc = subprocess.Popen(cmd, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited ({self.proc.returncode}): {self.log_text()[-2000:]}")
            try:
                urllib.request.urlopen(f"{self.url}/api/status?token={self.token}", timeout=2)
                return
            except OSError:
                time.sleep(0.5)
        self.close()
        raise RuntimeError(f"JupyterLab did not answer within {timeout:.0f} s: {self.log_text()[-2000:]}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_text(self) -> str:
        self.log.flush()
        return (self.home / "lab.log").read_text(errors="replace")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()
        shutil.rmtree(self.home, ignore_errors=True)

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def launch(playwright):
    """Headless system Chromium (``apt-get install chromium``)."""
    if CHROMIUM is None:
        raise RuntimeError("headless Chromium is needed: `apt-get install chromium`")
    return playwright.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)


def open_notebook(browser, lab: Lab, name: str, timeout: float = 300.0, viewport=(1366, 768)):
    """Open notebook ``name`` (relative to the lab's root) in a new page, run all its cells, wait
    until the kernel is idle and every widget view has rendered. Returns ``(page, problems)``,
    ``problems`` collecting console errors and page errors as they happen."""
    page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
    problems: list[str] = []
    page.on("console", lambda m: m.type == "error" and problems.append(f"console: {m.text}"))
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.goto(f"{lab.url}/lab/tree/{name}?token={lab.token}&reset", wait_until="domcontentloaded")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=timeout * 1000)
    select = page.locator(".jp-Dialog button.jp-mod-accept")  # "Select Kernel", when JupyterLab asks
    try:
        select.wait_for(timeout=5000)
        select.click()
    except Exception:  # playwright's TimeoutError: no dialog this time
        pass
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=timeout * 1000)
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.locator("li[data-command='runmenu:run-all']").click()
    page.wait_for_function(
        "() => [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputArea-prompt')]"
        ".every(p => /\\[\\d+\\]/.test(p.textContent))", timeout=timeout * 1000)
    page.wait_for_selector(".jp-OutputArea-output .widget-image", timeout=timeout * 1000)
    return page, problems


TIMER_JS = """
([index, presses, key, label]) => new Promise(async (resolve) => {
  const img = document.querySelectorAll('.jp-OutputArea-output .widget-image')[index];
  const box = img.closest('.widget-vbox');
  const row = [...box.querySelectorAll('.widget-slider')].find(
      (w) => (w.querySelector('.widget-label') || {}).textContent === label);
  if (!row) { resolve({times: [], sizes: [], error: 'no slider labelled ' + label}); return; }
  const slider = row.querySelector('.noUi-handle');
  const times = [];
  const complete = [];
  const sizes = [];
  for (let i = 0; i < presses; i++) {
    const before = img.src;
    const t0 = performance.now();
    const changed = new Promise((res) => {
      const obs = new MutationObserver(() => { if (img.src !== before) { obs.disconnect(); res(); } });
      obs.observe(img, {attributes: true, attributeFilter: ['src']});
      setTimeout(() => { obs.disconnect(); res('timeout'); }, 20000);
    });
    slider.focus();
    slider.dispatchEvent(new KeyboardEvent('keydown', {key: key, bubbles: true}));
    const r = await changed;
    if (r === 'timeout') { times.push(null); complete.push(null); continue; }
    await img.decode();
    await new Promise((res) => requestAnimationFrame(() => res()));
    times.push(performance.now() - t0);
    // a frame drawn with a slow part pending (its message has class advlab-pending): also time the
    // complete frame, and wait for it before the next press
    if (box.querySelector('.advlab-pending')) {
      const shown = img.src;
      const done = await new Promise((res) => {
        const check = () => !box.querySelector('.advlab-pending') && img.src !== shown;
        if (check()) { res(true); return; }
        const obs = new MutationObserver(() => { if (check()) { obs.disconnect(); res(true); } });
        obs.observe(box, {attributes: true, childList: true, subtree: true, characterData: true});
        setTimeout(() => { obs.disconnect(); res(false); }, 20000);
      });
      if (!done) { complete.push(null); continue; }
      await img.decode();
      await new Promise((res) => requestAnimationFrame(() => res()));
    }
    complete.push(performance.now() - t0);
    const shown = img.getBoundingClientRect();
    sizes.push(img.naturalWidth + 'x' + img.naturalHeight + ' shown ' + Math.round(shown.width) + 'x'
               + Math.round(shown.height));
    await new Promise((res) => setTimeout(res, 150));
  }
  const whole = box.getBoundingClientRect();
  resolve({times, complete, sizes, panel: Math.round(whole.width) + 'x' + Math.round(whole.height)});
})
"""


def slider_latency(page, index: int = 0, presses: int = 10, key: str = "ArrowRight", label: str = "ε") -> dict:
    """Press ``key`` ``presses`` times on the slider labelled ``label`` of the ``index``-th panel and
    time each press to the new picture decoded and painted (ms, ``times``) and to the complete picture
    (``complete``: later where a slow part was drawn pending, marked by the panel's ``advlab-pending``
    message; the next press waits for it); also the picture's pixel size and its size on screen."""
    return page.evaluate(TIMER_JS, [index, presses, key, label])
