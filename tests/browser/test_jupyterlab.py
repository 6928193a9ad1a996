"""A real browser check: JupyterLab + headless Debian Chromium (Playwright) run every notebook.

Starts JupyterLab on a free local port (no token, no browser) serving a copy of ``notebooks/``, runs
all cells in headless Chromium, and checks what a reader sees: each notebook's key table rendered as
an HTML table (not markdown pipes in a text output), its figures rendered as images wide enough to
read, its widgets drawn, no traceback. In the tour it also moves the kernel explorer's σ slider and
checks that the rendered figure changes. Screenshots go to ``$SRKIT_SCREENSHOT_DIR`` (default: the test's tmp dir).

Needs: ``pip install playwright`` (no ``playwright install``: the system Chromium is used) and
``apt-get install chromium``. Skips with the reason when either is missing.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.timeout(1200)]  # above RUN_TIMEOUT_MS: JupyterLab start + one notebook

REPO = Path(__file__).resolve().parents[2]
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
RUN_TIMEOUT_MS = int(os.environ.get("SRKIT_BROWSER_TIMEOUT_S", "900")) * 1000  # per notebook; smoke: 15-90 s each on 2 idle cores, several times that beside other jobs


def chromium_path() -> str | None:
    for p in (os.environ.get("SRKIT_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"),
              shutil.which("chromium-browser")):
        if p and Path(p).is_file():
            return p
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def lab(tmp_path):
    """A JupyterLab server on a free port serving a copy of the tour; yields its base URL."""
    pytest.importorskip("jupyterlab", reason="jupyterlab is not installed")
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")
    if chromium_path() is None:
        pytest.skip("Chromium not found (Debian: apt-get install chromium; or set SRKIT_CHROMIUM)")
    root = tmp_path / "lab"
    root.mkdir()
    for nb in (REPO / "notebooks").glob("*.ipynb"):
        shutil.copy(nb, root / nb.name)
    # JupyterLab 4 renders only the cells in view ("windowing"); render them all so the widgets exist.
    settings = tmp_path / "settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True)
    (settings / "tracker.jupyterlab-settings").write_text('{"windowingMode": "none"}')
    news = tmp_path / "settings" / "@jupyterlab" / "apputils-extension"
    news.mkdir(parents=True)
    (news / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')  # no news toast
    port = free_port()
    env = dict(os.environ, SRKIT_SMOKE="1", HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1",
               PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
               JUPYTER_CONFIG_DIR=str(tmp_path / "jupyter_config"), JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
               JUPYTERLAB_SETTINGS_DIR=str(tmp_path / "settings"), JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / "ws"))
    cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1",
           "--IdentityProvider.token=", "--ServerApp.password=", "--allow-root", f"--ServerApp.root_dir={root}",
           "--ServerApp.disable_check_xsrf=True", "--LabApp.news_url=None",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    log = open(tmp_path / "jupyterlab.log", "w")
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=root)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 90
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status", timeout=2)
                break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    pytest.fail(f"JupyterLab did not start: {(tmp_path / 'jupyterlab.log').read_text()[-2000:]}")
                time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def test_tour_runs_and_kernel_explorer_reacts(lab, tmp_path):
    from playwright import sync_api
    chromium = chromium_path()
    shots = Path(os.environ.get("SRKIT_SCREENSHOT_DIR") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{lab}/lab/tree/00_tour.ipynb", wait_until="domcontentloaded", timeout=120_000)
            page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
            page.wait_for_selector(".jp-StatusBar-TextItem:has-text('| Idle')", timeout=120_000)  # kernel ready
            # Run ▸ Run All Cells
            page.click(".lm-MenuBar-itemLabel:text-is('Run')")
            page.click(".lm-Menu-itemLabel:text-is('Run All Cells')")
            try:
                explorer = page.wait_for_selector(".srkit-kernel-explorer", state="attached", timeout=RUN_TIMEOUT_MS)
            except sync_api.TimeoutError:
                page.screenshot(path=str(shots / "browser_timeout.png"), full_page=True)
                raise
            explorer.scroll_into_view_if_needed()
            figure = page.wait_for_selector(".srkit-kernel-explorer img.srkit-figure", timeout=60_000)
            explorer.screenshot(path=str(shots / "browser_kernel_explorer_before.png"))
            before = figure.get_attribute("src")
            # Move the σ slider: focus its handle and press → five times (0.5 σ).
            handle = explorer.query_selector(".widget-slider .noUi-handle")
            assert handle is not None, "no slider handle in the kernel explorer"
            handle.focus()
            for _ in range(5):
                page.keyboard.press("ArrowRight")
            page.wait_for_function(
                "([sel, old]) => { const e = document.querySelector(sel); return e && e.src !== old; }",
                arg=[".srkit-kernel-explorer img.srkit-figure", before], timeout=60_000)
            after = page.query_selector(".srkit-kernel-explorer img.srkit-figure").get_attribute("src")
            assert after != before
            explorer.screenshot(path=str(shots / "browser_kernel_explorer_after.png"))
            page.screenshot(path=str(shots / "browser_tour.png"), full_page=False)
            # The other widgets of the tour rendered too.
            assert page.query_selector(".srkit-ikc-stepper img.srkit-figure") is not None
            assert page.query_selector(".srkit-category-explorer img.srkit-figure") is not None
            errors = page.query_selector_all(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr'] "
                                             ":text('Traceback')")
            assert not errors, "a cell raised an exception"
            page.wait_for_function(ALL_DONE_JS, timeout=RUN_TIMEOUT_MS)
            tables = page.eval_on_selector_all(".jp-RenderedMarkdown table", "els => els.map(e => e.innerText)")
            assert any("PSNR (dB)" in t for t in tables), "the tour's PSNR table is not rendered"
            widths = page.eval_on_selector_all(".jp-RenderedImage img", "els => els.map(e => e.naturalWidth)")
            assert any(w >= 700 for w in widths), f"the comparison grid is too small to compare detail: {widths}"
        finally:
            browser.close()
    print(f"screenshots in {shots}")


# notebook → (text in its key table's header, figures at least, widget classes drawn)
KEY_OUTPUTS = {
    "01_dataset_building": (None, 3, ("srkit-kernel-explorer",)),
    "02_segmentation_pretraining": ("IoU", 2, ("srkit-category-explorer",)),
    "03_ikc_alternating_training": ("σ given to G", 3, ("srkit-ikc-stepper",)),
    "04_sftgan_training": ("sharpness", 2, ()),
    # 05's IKC steps are a widget (its figure is checked as one), not a second static figure
    "05_ablations": ("method (σn = 15)", 1, ("srkit-ablation-panel", "srkit-ikc-comparison")),
}
ALL_DONE_JS = """() => {
  if (document.querySelector(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr'] pre")
      && [...document.querySelectorAll('.jp-OutputArea-output pre')].some(e => e.textContent.includes('Traceback')))
    return 'error';
  const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')];
  return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent)) ? 'done' : false;
}"""


def run_all_cells(page, lab: str, name: str, shots: Path) -> None:
    from playwright import sync_api
    page.goto(f"{lab}/lab/tree/{name}.ipynb", wait_until="domcontentloaded", timeout=120_000)
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
    page.wait_for_selector(".jp-StatusBar-TextItem:has-text('| Idle')", timeout=120_000)
    page.click(".lm-MenuBar-itemLabel:text-is('Run')")
    page.click(".lm-Menu-itemLabel:text-is('Run All Cells')")
    try:
        state = page.wait_for_function(ALL_DONE_JS, timeout=RUN_TIMEOUT_MS).json_value()
    except sync_api.TimeoutError:
        page.screenshot(path=str(shots / f"browser_{name}_timeout.png"), full_page=True)
        raise
    if state == "error":
        page.screenshot(path=str(shots / f"browser_{name}_error.png"), full_page=True)
        pytest.fail(f"{name}: a cell raised an exception (screenshot in {shots})")


@pytest.mark.parametrize("name", sorted(KEY_OUTPUTS))
def test_notebook_renders_its_key_table_figures_and_widgets(lab, tmp_path, name):
    from playwright import sync_api
    header, min_figures, widgets = KEY_OUTPUTS[name]
    shots = Path(os.environ.get("SRKIT_SCREENSHOT_DIR") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            run_all_cells(page, lab, name, shots)
            widths = page.eval_on_selector_all(".jp-RenderedImage img", "els => els.map(e => e.naturalWidth)")
            assert sum(w >= 300 for w in widths) >= min_figures, f"{name}: figures of widths {widths}"
            if header is not None:
                tables = page.eval_on_selector_all(".jp-RenderedMarkdown table", "els => els.map(e => e.innerText)")
                assert any(header in t for t in tables), f"{name}: no rendered table with {header!r}"
                pipes = page.eval_on_selector_all(".jp-RenderedText pre", "els => els.map(e => e.textContent)")
                assert not any(header in t and "|---" in t for t in pipes), f"{name}: the table is printed as text"
            for cls in widgets:
                assert page.query_selector(f".{cls} img.srkit-figure") is not None, f"{name}: {cls} not drawn"
            page.screenshot(path=str(shots / f"browser_{name}.png"), full_page=False)
        finally:
            browser.close()
