"""OUT/report.html: self-contained, offline, charts drawn (checked in headless Chromium)."""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from adapters.report import render_report, write_report
from tests.conftest import SAMPLE_DATA

CHARTS = ["by-tier", "cost-reach", "engagement", "movers", "quarantine", "estimates"]
CHROMIUM_INSTALL = "apt-get update && apt-get install -y chromium"
# Added to a copy of the report: after layout, each chart records what the browser drew
# (marks in it, and the size of the drawing) where --dump-dom shows it.
MEASURE_JS = """
document.querySelectorAll('figure.chart').forEach(function (f) {
  var svg = f.querySelector('svg');
  var shapes = svg ? svg.querySelectorAll('rect.bar, circle.dot, line.bar').length : 0;
  var box = svg ? svg.getBBox() : {width: 0, height: 0};
  f.setAttribute('data-drawn', shapes + ' ' + Math.round(box.width) + 'x' + Math.round(box.height));
});
"""


@pytest.fixture(scope="module")
def report(prefect_harness: None, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from flows.enrich_roster import EnrichParams, run_enrich
    from schemas.manifest import Manifest

    out = tmp_path_factory.mktemp("report") / "out"
    # two months of the samples, so creators have a previous snapshot (movers)
    inputs = tmp_path_factory.mktemp("in")
    for f in SAMPLE_DATA.iterdir():
        if f.suffix != ".py":
            shutil.copy(f, inputs / f.name)
    (inputs / "instagram_sep_2026.csv").write_text(
        (SAMPLE_DATA / "instagram_oct_2026.csv").read_text().replace("0,", "9,")
    )
    manifest = run_enrich(EnrichParams(inputs=[str(inputs)], out=str(out)))
    return write_report(out, Manifest.model_validate(manifest))


def test_report_is_self_contained_and_offline(report: Path) -> None:
    page = report.read_text()
    assert page.startswith("<!doctype html>")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)  # nothing fetched
    assert "<link" not in page and "@import" not in page and "<script src" not in page
    for key in CHARTS:
        assert f'data-chart="{key}"' in page, key


def test_every_chart_has_marks_for_the_data(report: Path) -> None:
    page = report.read_text()
    figures = dict(re.findall(r'<figure class="chart" data-chart="([^"]+)">(.*?)</figure>', page))
    for key in CHARTS:
        marks = len(re.findall(r'class="(bar|dot)"', figures[key]))
        assert marks > 0, key


def test_report_of_an_empty_roster_still_renders() -> None:
    from schemas.manifest import Manifest

    page = render_report(None, None, Manifest(run_id="r"))
    assert 'data-chart="quarantine"' in page and "nothing to show" in page


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    message = f"chromium is not installed; install Debian's package: {CHROMIUM_INSTALL}"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


def test_charts_are_drawn_in_headless_chromium(report: Path, tmp_path: Path) -> None:
    chromium = _chromium()
    flags = [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--no-first-run", "--disable-extensions", f"--user-data-dir={tmp_path / 'profile'}",
    ]  # fmt: skip
    measured = tmp_path / "measured.html"
    page = report.read_text()
    assert "<script" not in page  # the report itself runs nothing
    measured.write_text(page.replace("</body>", f"<script>{MEASURE_JS}</script></body>"))
    dom = subprocess.run(
        [chromium, *flags, "--dump-dom", measured.as_uri()],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert dom.returncode == 0, dom.stderr[-2000:]
    # what the browser drew in each chart, after layout
    drawn = dict(re.findall(r'data-chart="([^"]+)" data-drawn="(\d+ \d+x\d+)"', dom.stdout))
    assert sorted(drawn) == sorted(CHARTS), dom.stdout[:2000]
    for key, text in drawn.items():
        shapes, size = text.split()
        width, height = map(int, size.split("x"))
        assert int(shapes) > 0 and width > 100 and height > 20, (key, text)
    shot = tmp_path / "report.png"
    res = subprocess.run(
        [chromium, *flags, "--window-size=900,2600", f"--screenshot={shot}", report.as_uri()],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert res.returncode == 0 and shot.is_file(), res.stderr[-2000:]
    assert _png_size(shot) == (900, 2600)
    assert shot.stat().st_size > 50_000  # charts, not a blank page
    if os.environ.get("ROSTER_KEEP_SCREENSHOT"):
        shutil.copy(shot, os.environ["ROSTER_KEEP_SCREENSHOT"])


def test_roster_report_rewrites_it_from_the_latest_run(report: Path) -> None:
    import sys

    out = report.parent
    report.unlink()
    res = subprocess.run(
        [sys.executable, "-m", "flows.cli", "report", "--out", str(out)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert report.is_file() and f"report: {report}" in " ".join(res.stdout.split())
    [run] = [p.name for p in (out / "runs").iterdir()]
    assert f"run {run}" in report.read_text()
