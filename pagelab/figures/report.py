"""One static HTML page for a sweep folder or a ``pagelab figures`` folder.

Everything is inside the one file: figures as inline SVG, the results table, the configs
and the manifest as text. No server, no network, no external script or style sheet, so it
opens from ``file://`` and can be mailed. The same folder gives the same bytes (no
timestamps; rows sorted as their files hold them).
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import polars as pl

from pagelab.errors import PagelabError
from pagelab.outputs import SEEDS, SUMMARY

REPORT = "report.html"
MAX_ROWS = 200  # per table: a report is for reading; the Parquet files hold everything
_CONFIGS = ("multirun.yaml", "composed.yaml", ".hydra/config.yaml", ".hydra/overrides.yaml")
_STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 72em; color: #222; padding: 0 1em; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ccc; }
figure { margin: 1.5em 0; } figure svg { max-width: 100%; height: auto; }
figcaption { color: #555; font-size: 0.9em; }
table { border-collapse: collapse; font-size: 0.85em; display: block; overflow-x: auto; }
th, td { border: 1px solid #ddd; padding: 2px 6px; text-align: right; white-space: nowrap; }
th { background: #f3f3f3; position: sticky; top: 0; } td.text { text-align: left; }
pre { background: #f7f7f7; padding: 0.8em; overflow-x: auto; font-size: 0.85em; }
nav a { margin-right: 1em; }
"""
# Counts the figures the browser drew (an SVG with a non-empty box) into the page itself,
# so a headless browser's --dump-dom shows whether every figure rendered.
_SCRIPT = """
document.addEventListener("DOMContentLoaded", function () {
  var figures = document.querySelectorAll("figure svg"), drawn = 0;
  figures.forEach(function (svg) { var box = svg.getBoundingClientRect(); if (box.width > 0 && box.height > 0) drawn++; });
  document.body.setAttribute("data-figures", String(figures.length));
  document.body.setAttribute("data-rendered", String(drawn));
});
"""


def _svg(path: Path) -> str:
    """An SVG file's ``<svg>`` element, ready to inline (no XML declaration or doctype)."""
    text = path.read_text()
    start = text.find("<svg")
    if start < 0:
        raise PagelabError(f"{path}: not an SVG file")
    return text[start:]


def _escaped(expr: pl.Expr) -> pl.Expr:
    return (expr.str.replace_all("&", "&amp;", literal=True).str.replace_all("<", "&lt;", literal=True)
            .str.replace_all(">", "&gt;", literal=True).str.replace_all('"', "&quot;", literal=True))


def _cell(name: str, dtype: pl.DataType) -> pl.Expr:
    """One column's ``<td>`` cells as text: numbers right, text left, nested values in short."""
    column = pl.col(name)
    if isinstance(dtype, pl.List):
        text, css = pl.format("{} entries", column.list.len()), ' class="text"'
    elif isinstance(dtype, pl.Struct):
        text, css = _escaped(column.struct.json_encode()), ' class="text"'
    elif dtype.is_float():
        text, css = column.round_sig_figs(6).cast(pl.String), ""
    elif dtype.is_numeric() or dtype == pl.Boolean:
        text, css = column.cast(pl.String), ""
    else:
        text, css = _escaped(column.cast(pl.String)), ' class="text"'
    return pl.concat_str(pl.lit(f"<td{css}>"), text.fill_null(""), pl.lit("</td>"))


def table_html(frame: pl.DataFrame, limit: int = MAX_ROWS) -> str:
    """A frame as an HTML table, at most ``limit`` rows (built by polars, not row by row)."""
    shown = frame.head(limit)
    head = "".join(f"<th>{html.escape(c)}</th>" for c in shown.columns)
    rows = shown.select(pl.concat_str(pl.lit("<tr>"), *(_cell(c, t) for c, t in shown.schema.items()),
                                      pl.lit("</tr>")).alias("row"))["row"] if shown.width else pl.Series([], dtype=pl.String)
    note = f"<p>first {limit} of {frame.height} rows</p>" if frame.height > limit else ""
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows.to_list())}</tbody></table>{note}"


def _read(path: Path) -> pl.DataFrame:
    try:
        return pl.read_parquet(path)
    except Exception as error:  # noqa: BLE001 -- polars raises several types for corrupt files
        raise PagelabError(f"{path}: not a readable Parquet file ({str(error).splitlines()[0]})") from None


def build_report(directory: Path) -> str:
    """The HTML of the report on ``directory`` (a sweep or a figures folder)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise PagelabError(f"{directory}: no such directory")
    manifest_path = directory / "manifest.json"
    summary_path = directory / SUMMARY
    if not manifest_path.exists() and not summary_path.exists():
        raise PagelabError(f"{directory}: neither a sweep (summary.parquet) nor a figures folder (manifest.json)")
    sections: list[tuple[str, str, str]] = []  # (anchor, title, body)
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else None
    if manifest is not None:
        figures = []
        for entry in manifest.get("figures", []):
            svg = directory / f"{entry['name']}.svg"
            if svg.exists():
                caption = html.escape(f"{entry['name']}: {entry.get('title', '')} ({entry.get('rows', '?')} rows)")
                figures.append(f"<figure id=\"fig-{html.escape(entry['name'])}\">{_svg(svg)}"
                               f"<figcaption>{caption}</figcaption></figure>")
        sections.append(("figures", f"Figures ({len(figures)})", "".join(figures) or "<p>no figures</p>"))
        tex = sorted(directory.glob("*.tex"))
        if tex:
            sections.append(("tables", "Tables", "".join(
                f"<h3>{html.escape(p.name)}</h3><pre>{html.escape(p.read_text())}</pre>" for p in tex)))
        data = [p for p in sorted(directory.glob("*.parquet"))]
        if data:
            sections.append(("data", "Figure data", "".join(
                f"<h3>{html.escape(p.name)}</h3>{table_html(_read(p))}" for p in data)))
    else:  # a sweep: any figures drawn into it (pagelab plot --out DIR/...) still show
        svgs = sorted(directory.glob("*.svg"))
        if svgs:
            sections.append(("figures", f"Figures ({len(svgs)})", "".join(
                f"<figure>{_svg(p)}<figcaption>{html.escape(p.name)}</figcaption></figure>" for p in svgs)))
    for name, title in ((SUMMARY, f"Results ({SUMMARY})"), (SEEDS, f"Over seeds ({SEEDS})")):
        if (directory / name).exists():
            frame = _read(directory / name)
            sections.append((name.split(".")[0], f"{title}: {frame.height} rows", table_html(frame)))
    configs = [p for p in (directory / c for c in _CONFIGS) if p.exists()]
    if configs:
        sections.append(("configs", "Configs", "".join(
            f"<h3>{html.escape(p.relative_to(directory).as_posix())}</h3><pre>{html.escape(p.read_text())}</pre>"
            for p in configs)))
    if manifest is not None:
        sections.append(("manifest", "Manifest", f"<pre>{html.escape(json.dumps(manifest, indent=2))}</pre>"))
    title = html.escape(f"pagelab report: {directory.resolve().name}")
    nav = "".join(f'<a href="#{a}">{html.escape(t.split(":")[0])}</a>' for a, t, _ in sections)
    body = "".join(f'<section id="{a}"><h2>{html.escape(t)}</h2>{b}</section>' for a, t, b in sections)
    page = (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>"
            f"<style>{_STYLE}</style><script>{_SCRIPT}</script></head>"
            f"<body><h1>{title}</h1><nav>{nav}</nav>{body}</body></html>\n")
    # Matplotlib's SVGs carry their own ids (a fixed hash salt); two figures may share some.
    return _unique_ids(page)


def _unique_ids(page: str) -> str:
    """Prefix each inline SVG's ids (and references to them) so figures do not clash."""
    parts = re.split(r"(<svg\b.*?</svg>)", page, flags=re.S)
    out = []
    for i, part in enumerate(parts):
        if part.startswith("<svg"):
            ids = set(re.findall(r'\bid="([^"]+)"', part))
            for name in sorted(ids, key=len, reverse=True):
                part = re.sub(rf'(\bid="|#){re.escape(name)}(?=["\)])', rf"\g<1>s{i}-{name}", part)
        out.append(part)
    return "".join(out)
