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
from mlflow import MlflowClient
from PIL import Image
from tiny_run import TinyRun

from rayapps.views import table_file
from visrep.distributed import free_port
from visrep.selftrain.overlays import FOUND, TRUTH

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
    from playwright.sync_api import expect, sync_playwright

    link = re.search(r"http://127\.0\.0\.1:5000/(#/experiments/\S+)", tiny_run.out)
    assert link, "the run prints its MLflow page"
    page_path = link.group(1)  # #/experiments/<id>/runs/<run>?workflowType=machine_learning
    run_id = page_path.split("/runs/")[1].split("?")[0]
    experiment_page = page_path.split("/runs/")[0] + "?" + page_path.split("?")[1]
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=_browser())
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.set_default_timeout(TIMEOUT_MS)

        # the experiment lands on its runs (not the GenAI overview), and the run is listed
        page.goto(f"{mlflow_ui}/{experiment_page}")
        expect(page.get_by_role("link", name="run", exact=True)).to_be_visible()
        assert "/runs" in page.url and "overview" not in page.url
        page.screenshot(path=SHOTS / "experiment.png")

        # the run's curves: a chart per metric, drawn (coloured pixels in the chart)
        page.goto(f"{mlflow_ui}/{page_path.replace('?', '/model-metrics?')}")
        chart = page.locator(".js-plotly-plot").first
        expect(chart).to_be_visible()
        expect(page.get_by_text("eval/reward/detect", exact=False).first).to_be_visible()
        page.screenshot(path=SHOTS / "metrics.png")
        assert len(_colors(chart.screenshot())) > 3, "the chart is blank"

        # the program table of iteration 1's evaluation renders as a table
        page.goto(f"{mlflow_ui}/{page_path.replace('?', '/artifacts/' + table_file(1, 'eval') + '?')}")
        expect(page.get_by_role("table").first).to_be_visible()
        expect(page.get_by_role("cell", name=re.compile("eval_|heldout_")).first).to_be_visible()
        page.screenshot(path=SHOTS / "programs.png")

        # a detection task with the reference program's find boxes (red) and the truth (green)
        drawn = MlflowClient(tiny_run.mlflow_uri).list_artifacts(run_id, "overlays/iter_000/reference")
        name = next(a.path for a in drawn if Path(a.path).name.startswith("detect-"))
        page.goto(f"{mlflow_ui}/{page_path.replace('?', '/artifacts/' + name + '?')}")
        image = page.locator(f"img[src*='{Path(name).name}']").first
        expect(image).to_be_visible()
        assert image.evaluate("img => img.complete && img.naturalWidth") > 0
        page.screenshot(path=SHOTS / "overlay.png")
        shown = _colors(image.screenshot())
        assert _near(shown, TRUTH) and _near(shown, FOUND), "truth and find boxes are drawn"

        # the traces: a program per row, its tool calls as spans
        page.goto(f"{mlflow_ui}/{page_path.replace('?', '/traces?')}")
        expect(page.get_by_text("reference ", exact=False).first).to_be_visible()
        page.screenshot(path=SHOTS / "traces.png")
        browser.close()
