"""The HTML report: self-contained, escaped, complete, in order, and it renders."""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from html import unescape
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

import qsim
from qsim.cli import app
from qsim.plots import COLORS, FIGURES
from qsim.report import REPORT_FILE, notebook_html, render_report, write_report

NAME = "<script>alert(1)</script>"
SCENARIO = {
    "name": NAME,
    "description": "A short run with a backend outage & poison messages.",
    "duration": "2m",
    "workload": {"rate": 20, "poison_fraction": 0.05},
    "backend": {"outages": [{"start": "40s", "duration": "20s"}]},
    "queue": {"visibility_timeout": "10s", "max_receive_count": 2},
    "function": {"timeout": "1s", "report_batch_item_failures": True},
}
SECTIONS = ("scenario", "verdict", "figures", "assumptions", "warnings")
EXTERNAL = re.compile(
    r"""(?:\b(?:src|href|action|poster|srcset)\s*=\s*["']?\s*(?:https?:)?//"""
    r"""|url\(\s*["']?\s*(?:https?:)?//|@import)""",
    re.IGNORECASE,
)


@pytest.fixture(scope="module")
def result():
    """One short two-topology run with failures, shared by the module."""
    return qsim.run(SCENARIO, seed=7)


@pytest.fixture(scope="module")
def report_path(result, tmp_path_factory) -> Path:
    """The report of `result`, written into a folder of its own."""
    return write_report(result, tmp_path_factory.mktemp("report"))


@pytest.fixture(scope="module")
def html(report_path) -> str:
    return report_path.read_text(encoding="utf-8")


def test_write_report_writes_one_file(report_path):
    assert report_path.name == REPORT_FILE
    assert [p.name for p in report_path.parent.iterdir()] == [REPORT_FILE]


def test_report_fetches_nothing_and_runs_no_script(html):
    assert EXTERNAL.findall(html) == []
    assert "<script" not in html.lower()
    assert "<link" not in html.lower()
    assert "<style>" in html


def test_scenario_name_appears_as_text(html):
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "backend outage &amp; poison" in html


def test_every_figure_is_an_svg_with_alt_text_and_caption(html):
    figures = re.findall(r"<figure\b.*?</figure>", html, flags=re.DOTALL)
    assert len(figures) == len(FIGURES)
    for block, spec in zip(figures, FIGURES.values(), strict=True):
        alt = re.search(r'<img [^>]*alt="([^"]+)"', block).group(1)
        src = re.search(r'<img [^>]*src="data:image/svg\+xml;base64,([^"]+)"', block)
        svg = ET.fromstring(base64.b64decode(src.group(1)))
        assert svg.tag.endswith("svg")
        assert unescape(alt) == spec.alt
        assert f"{spec.title}.</strong>" in block and "<figcaption>" in block


def test_sections_come_in_order(html):
    positions = [html.index(f'<section id="{name}"') for name in SECTIONS]
    assert positions == sorted(positions)


def test_scenario_section_shows_seed_version_and_settings(html, result):
    scenario = html[html.index('id="scenario"') : html.index('id="verdict"')]
    assert f"<dd>{result.seed}</dd>" in scenario
    assert f"<dd>{qsim.__version__}</dd>" in scenario
    assert "from 40s for 20s" in scenario
    assert "poison_fraction" in scenario


def test_verdict_marks_the_better_value(html):
    start = html.index('<table class="verdict">')
    table = html[start : html.index("</table>", start)]
    for label in ("Response latency p99 (ms)", "Throughput", "Availability", "Cost"):
        assert label in table
    assert table.count('class="num better"') >= 4
    assert "✓" in table


def test_warnings_of_validate_are_listed(html, result):
    assert result.warnings
    warnings = html[html.index('<section id="warnings"') :]
    for line in result.warnings:
        assert line.split("(")[0].strip() in warnings


def test_single_topology_report_has_no_comparison_columns():
    result = qsim.run({**SCENARIO, "name": "sync only", "topologies": ["sync"]}, seed=1)

    html = render_report(result)

    assert "Sync − async" not in html
    assert html.count("<figure") == len(FIGURES)
    assert "No async topology" not in html  # the text lives inside the SVGs


def test_notebook_view_is_compact(result):
    html = result._repr_html_()

    assert html == notebook_html(result)
    assert '<table class="verdict">' in html
    assert html.count("<img ") == 1
    assert "&lt;script&gt;" in html and "<script" not in html


# --- the command line ---------------------------------------------------------


@pytest.fixture(scope="module")
def scenario_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("scenario") / "tiny.yaml"
    path.write_text(yaml.safe_dump({**SCENARIO, "name": "tiny", "duration": "1m"}))
    return path


def test_run_writes_the_report_unless_told_not_to(scenario_file, tmp_path):
    runner = CliRunner()

    run = ["run", str(scenario_file), "--out"]

    skipped = runner.invoke(app, [*run, str(tmp_path / "a"), "--no-report"])
    written = runner.invoke(app, [*run, str(tmp_path / "b")])

    assert skipped.exit_code == 0, skipped.output
    assert (tmp_path / "a" / "summary.json").is_file()
    assert not (tmp_path / "a" / REPORT_FILE).exists()
    assert written.exit_code == 0, written.output
    assert (tmp_path / "b" / REPORT_FILE).is_file()


def test_report_command_rebuilds_without_simulating(result, tmp_path, monkeypatch):
    result.save(tmp_path)

    def no_simulation(*args, **kwargs):
        raise AssertionError("qsim report must not simulate")

    monkeypatch.setattr("qsim.simulation.run", no_simulation)
    outcome = CliRunner().invoke(app, ["report", str(tmp_path)])

    assert outcome.exit_code == 0, outcome.output
    html = (tmp_path / REPORT_FILE).read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert html.count("<figure") == len(FIGURES)


def test_report_command_on_an_empty_folder_is_a_user_error(tmp_path):
    outcome = CliRunner().invoke(app, ["report", str(tmp_path)])

    assert outcome.exit_code == 2
    assert "summary.json" in outcome.output


# --- a real browser -----------------------------------------------------------


def _chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    pytest.skip(
        "headless Chromium not found: install it with "
        "`apt-get install chromium` (CI's .ci/run does)"
    )


def _browse(page: Path, profile: Path, *args: str) -> subprocess.CompletedProcess:
    command = [
        _chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        "--host-resolver-rules=MAP * ~NOTFOUND",
        f"--user-data-dir={profile}",
        "--enable-logging=stderr",
        "--v=0",
        *args,
        page.as_uri(),
    ]
    return subprocess.run(
        command, capture_output=True, text=True, timeout=90, check=False
    )


def _pixels_near(image: np.ndarray, colour: str, tolerance: float = 0.12) -> int:
    rgb = np.array([int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)])
    return int((np.abs(image - rgb).max(axis=2) < tolerance).sum())


@pytest.mark.browser
def test_report_renders_in_headless_chromium(report_path, tmp_path):
    import matplotlib.image

    shot = tmp_path / "report.png"
    run = _browse(
        report_path,
        tmp_path / "profile",
        f"--screenshot={shot}",
        "--window-size=1280,6000",
    )
    dom = _browse(report_path, tmp_path / "profile", "--dump-dom")

    console = [
        line
        for line in run.stderr.splitlines() + dom.stderr.splitlines()
        if ":CONSOLE" in line or "Uncaught" in line
    ]
    assert console == []
    assert shot.is_file(), run.stderr[-2000:]
    image = matplotlib.image.imread(shot)[..., :3]
    assert (image < 0.95).any(axis=2).mean() > 0.05  # not a blank page
    # Figures decoded: long runs of both topologies' colours, not a broken icon.
    assert _pixels_near(image, COLORS["sync"]) > 5000
    assert _pixels_near(image, COLORS["async"]) > 5000
    images = re.findall(r'<img [^>]*src="data:image/svg\+xml;base64,', dom.stdout)
    assert len(images) == len(FIGURES)
