"""``pagelab report DIR``: one self-contained HTML page, checked in a real headless Chromium.

The page counts the figures the browser laid out into ``<body data-rendered=...>``;
``--dump-dom`` shows that count, ``--enable-logging=stderr`` shows console messages
(``CONSOLE`` lines), and ``--screenshot`` draws the page.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import polars as pl
import pytest

from pagelab.figures.report import table_html

from .conftest import pagelab_cli

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="no chromium (make test installs Debian's package)")


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, Path]:
    """A real sweep and the figures drawn from it."""
    root = tmp_path_factory.mktemp("report")
    sweep = root / "sweep"
    result = pagelab_cli("-q", "-m", "strategy=base4k,page64k", "workload=pagecache", "workload.files.dataset=linux_6_1",
                         "hydra/launcher=batch", f"hydra.sweep.dir={sweep}", cwd=root)
    assert result.returncode == 0, result.stderr
    figures = root / "figures"
    result = pagelab_cli("figures", "--results", str(sweep), "--only", "footprint", "folios", "filesizes",
                         "--out", str(figures), cwd=root)
    assert result.returncode == 0, result.stderr
    return {"sweep": sweep, "figures": figures}


def _chromium(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr",
                           "--v=0", *args], capture_output=True, text=True, timeout=120)


def test_the_page_holds_everything_and_names_no_outside_resource(folders, tmp_path):
    result = pagelab_cli("report", str(folders["figures"]), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    page = (folders["figures"] / "report.html").read_text()
    manifest = json.loads((folders["figures"] / "manifest.json").read_text())
    assert page.count("<figure") == len(manifest["figures"]) == 3
    for entry in manifest["figures"]:
        assert f'id="fig-{entry["name"]}"' in page
    assert json.dumps(manifest["command"])[1:-1] in page  # the manifest, as text
    # Nothing to fetch: no external script, style sheet, image or link.
    assert not re.search(r"<link\b|\bsrc=|href=\"(?:https?:)?//", page)
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids))  # the inline SVGs' ids do not clash
    again = tmp_path / "again.html"
    assert pagelab_cli("report", str(folders["figures"]), "-o", str(again), cwd=tmp_path).returncode == 0
    assert again.read_bytes() == (folders["figures"] / "report.html").read_bytes()  # the same bytes


def test_a_sweep_report_has_its_results_and_configs(folders, tmp_path):
    out = tmp_path / "sweep.html"
    assert pagelab_cli("report", str(folders["sweep"]), "-o", str(out), cwd=tmp_path).returncode == 0
    page = out.read_text()
    summary = pl.read_parquet(folders["sweep"] / "summary.parquet")
    assert f"Results (summary.parquet): {summary.height} rows" in page
    assert page.count("<tr>") >= summary.height + 1
    assert "<h3>multirun.yaml</h3>" in page and "strategy=base4k,page64k" in page  # the sweep's own overrides
    for strategy in summary["strategy"]:
        assert f'<td class="text">{strategy}</td>' in page


def test_tables_escape_text_and_abbreviate_nested_values():
    frame = pl.DataFrame({"name": ["<b>&"], "n": [3], "x": [1.23456789], "pools": [[{"a": 1}, {"a": 2}]]})
    text = table_html(frame)
    assert '<td class="text">&lt;b&gt;&amp;</td><td>3</td><td>1.23457</td><td class="text">2 entries</td>' in text
    assert "first 1 of 3 rows" in table_html(pl.concat([frame] * 3), limit=1)


@needs_chromium
def test_every_figure_renders_in_chromium_without_console_errors(folders, tmp_path):
    assert pagelab_cli("report", str(folders["figures"]), cwd=tmp_path).returncode == 0
    url = (folders["figures"] / "report.html").resolve().as_uri()
    dom = _chromium("--dump-dom", url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    figures = int(re.search(r'data-figures="(\d+)"', dom.stdout).group(1))
    rendered = int(re.search(r'data-rendered="(\d+)"', dom.stdout).group(1))
    assert figures == rendered == 3
    assert [line for line in dom.stderr.splitlines() if "CONSOLE" in line] == []
    shot = tmp_path / "report.png"
    screenshot = _chromium(f"--screenshot={shot}", "--window-size=1280,1600", url)
    assert screenshot.returncode == 0 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 20_000  # a drawn page, not a blank one
    assert [line for line in screenshot.stderr.splitlines() if "CONSOLE" in line] == []


@needs_chromium
def test_the_console_check_sees_errors(tmp_path):
    """The check above would notice a broken page: Chromium logs its console errors."""
    page = tmp_path / "bad.html"
    page.write_text("<html><body><script>nosuch();</script></body></html>")
    logged = _chromium("--dump-dom", page.as_uri()).stderr
    assert any("CONSOLE" in line and "nosuch" in line for line in logged.splitlines())


@pytest.mark.parametrize(("target", "phrase"), [("empty", "neither a sweep"), ("missing", "no such directory")])
def test_bad_folders_are_one_line(tmp_path, target, phrase):
    (tmp_path / "empty").mkdir()
    result = pagelab_cli("report", str(tmp_path / target), cwd=tmp_path)
    assert result.returncode == 2 and phrase in result.stderr and len(result.stderr.splitlines()) == 1
    assert not (tmp_path / "empty" / "report.html").exists()
