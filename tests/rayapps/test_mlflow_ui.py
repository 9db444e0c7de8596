"""The MLflow UI of a finished tiny run, opened in a real browser (Debian's headless Chromium,
driven by Playwright): the printed link lands on the run, the metric charts draw, the program
table renders as a table, a drawn-boxes image loads and the traces list holds the programs.
Screenshots are kept under ``.artifacts/mlflow-ui/`` (or ``$VISREP_ARTIFACTS``)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path

import pytest
from PIL import Image
from tiny_run import TinyRun

from rayapps.views import overlay_file, table_file
from visrep.distributed import free_port
from visrep.selftrain import trajectories as T
from visrep.selftrain.overlays import FOUND, TRUTH, find_boxes
from visrep.selftrain.rundir import RunDir
from visrep.selftrain.trajectories import read_rows

pytestmark = [pytest.mark.ray, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
SHOTS = Path(os.environ.get("VISREP_ARTIFACTS", ROOT / ".artifacts")) / "mlflow-ui"
TIMEOUT_MS = 60_000


def _browser() -> str:
    found = shutil.which("chromium-headless-shell") or shutil.which("chromium")
    if found is None:
        message = "no Chromium: scripts/browser.sh installs Debian's chromium-headless-shell"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


@pytest.fixture()
def mlflow_ui(tiny_run: TinyRun, tmp_path: Path) -> Iterator[str]:
    """``mlflow server`` on the tiny run's store, on a free loopback port; its base URL."""
    port = free_port()
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen([sys.executable, "-m", "mlflow", "server", "--backend-store-uri", tiny_run.mlflow_uri,
                               "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
                              stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"{base}/health", timeout=5)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"mlflow server did not come up: {(tmp_path / 'server.log').read_text()[-2000:]}")
                time.sleep(0.5)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def _colors(png: bytes) -> set[tuple[int, int, int]]:
    with Image.open(BytesIO(png)) as image:
        return {c for _, c in image.convert("RGB").getcolors(maxcolors=1 << 20)}


def _near(colors: set[tuple[int, int, int]], target: tuple[int, int, int], tol: int = 40) -> bool:
    return any(all(abs(a - b) <= tol for a, b in zip(c, target)) for c in colors)


def test_the_printed_link_shows_curves_programs_boxes_and_traces_in_chromium(tiny_run: TinyRun,
                                                                             mlflow_ui: str) -> None:
    link = re.search(r"http://127\.0\.0\.1:5000/(#/experiments/\S+)", tiny_run.out)
    assert link, "the run prints its MLflow page"
    # the reference program of a detection task whose find calls returned the most boxes
    rows = [r for r in read_rows(RunDir(tiny_run.dir).trajectories(0, "reference")) if r[T.KIND] == "detect"]
    shown = max(rows, key=lambda r: len(find_boxes(r)))
    assert find_boxes(shown), "a reference program's find returned boxes"
    browse(mlflow_ui, link.group(1), overlay_file(0, "reference", shown[T.TASK_ID]), SHOTS)


def browse(base: str, page_path: str, overlay: str, shots: Path) -> None:
    """Open the run's page as a person would and check what renders; screenshots to ``shots``."""
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)
    shots.mkdir(parents=True, exist_ok=True)
    run_page, query = page_path.split("?")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=_browser())
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.set_default_timeout(TIMEOUT_MS)

        def visit(path: str) -> None:  # a fresh load: the UI ignores a hash change within a tab
            page.goto("about:blank")
            page.goto(f"{base}/{path}")

        # the experiment lands on its runs (not the GenAI overview), and the run is listed
        visit(f"{run_page.split('/runs/')[0]}?{query}")
        expect(page.get_by_role("link", name="run", exact=True)).to_be_visible()
        assert "/runs" in page.url and "overview" not in page.url
        page.screenshot(path=shots / "experiment.png")

        # the run's held-out accuracy curves: charts found by name, drawn (coloured pixels)
        visit(f"{run_page}/model-metrics?{query}")
        page.get_by_placeholder("Search metric charts").fill("eval/reward/vqa")
        chart = page.locator(".js-plotly-plot").first
        expect(chart).to_be_visible()
        page.screenshot(path=shots / "metrics.png")
        assert len(_colors(chart.screenshot())) > 3, "the chart is blank"

        # iteration 1's held-out programs as a table
        visit(f"{run_page}/artifacts/{table_file(1, 'eval')}?{query}")
        expect(page.get_by_role("table").first).to_be_visible()
        expect(page.get_by_role("cell", name=re.compile(r"^(detect|vqa|retrieve).[0-9]+$")).first).to_be_visible()
        expect(page.get_by_role("columnheader", name="source")).to_be_visible()
        page.screenshot(path=shots / "programs.png")

        # a detection task with the reference program's find boxes (red) and the truth (green)
        visit(f"{run_page}/artifacts/{overlay}?{query}")
        image = page.locator("img[src^='blob:'] >> visible=true").first  # the artifact, fetched by the page
        expect(image).to_be_visible()
        assert image.evaluate("img => img.complete && img.naturalWidth") > 0
        page.screenshot(path=shots / "overlay.png")
        shown = _colors(image.screenshot())
        assert _near(shown, TRUTH) and _near(shown, FOUND), "truth and find boxes are drawn"

        # the traces: a reference program (it calls find) opened shows its tool calls as spans
        visit(f"{run_page}/traces?{query}")
        page.get_by_placeholder(re.compile("Search traces")).fill("find(")
        page.keyboard.press("Enter")
        row = page.get_by_role("row").filter(has_text='"status": "ok"').first
        expect(row).to_be_visible()
        row.get_by_role("cell").nth(2).click()
        expect(page.get_by_text("find", exact=True).first).to_be_visible()
        page.screenshot(path=shots / "trace.png")
        browser.close()
