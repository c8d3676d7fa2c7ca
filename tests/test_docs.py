"""The docs stay true: every command they show runs (or is skipped for a reason listed here),
every repository file they cite exists, and the sweep table's job counts are today's.

Commands run as the reader would type them, in a temporary directory, through the same
interpreter (``pagelab`` and ``python -m pagelab`` are the same program).
"""

from __future__ import annotations

import re
import shlex

import pytest

from pagelab.commands.help import preset_jobs

from .conftest import ROOT, pagelab_cli

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
COMMAND = re.compile(r"^(?:python -m pagelab|pagelab)(?:\s|$)")
# Why a shown command is not run here; the first pattern that matches a command applies.
SKIPPED = [
    (r"^make ", "installs a venv or runs the whole suite"),
    (r"\+experiment=", "a preset sweep of hundreds of jobs; tests/test_sweeps.py runs presets, job counts are checked below"),
    (r"^pagelab measure", "needs root and minutes with the page cache dropped; tests/test_measure.py runs it"),
    (r"^pagelab figures$|^pagelab figures --only", "runs the default sweeps first (minutes); tests/test_cli.py starts it"),
    (r"DIR|<dir>|multirun/|--results multirun\b|census\.parquet|linux\.tar\.xz|~/src|^pagelab report figures"
     r"|dataset=\S+\.(?:parquet|csv|txt)\b", "names the reader's own files or sweeps"),
    (r"strategy=page8k", "the tutorial's own plugin, installed in its earlier steps"),
    (r"^pagelab new-strategy", "writes a plugin package; the plugin kit's tests run it"),
    (r"strategy=devdax .*seed=range\(0,20\)", "a 100-job sweep"),
]


def shown_commands() -> list[tuple[str, str]]:
    """(doc, command) for every pagelab command in a ```sh block, comments and line breaks removed."""
    out = []
    for doc in DOCS:
        for block in re.findall(r"```sh\n(.*?)```", doc.read_text(), flags=re.S):
            for line in block.replace("\\\n", " ").splitlines():
                command = re.sub(r"\s+#.*$", "", line).strip()
                if COMMAND.match(command) or command.startswith("make "):
                    out.append((doc.name, command))
    return out


def _reason(command: str) -> str | None:
    return next((why for pattern, why in SKIPPED if re.search(pattern, command)), None)


COMMANDS = shown_commands()


def test_the_docs_show_commands():
    assert len(COMMANDS) > 20
    assert sum(_reason(c) is None for _, c in COMMANDS) >= 8  # most of the quick ones run below


@pytest.mark.parametrize(("doc", "command"), COMMANDS, ids=[f"{d}: {c}"[:80] for d, c in COMMANDS])
def test_shown_command_runs(tmp_path, doc, command):
    reason = _reason(command)
    if reason is not None:
        pytest.skip(reason)
    words = shlex.split(command)
    args = words[3:] if words[:3] == ["python", "-m", "pagelab"] else words[1:]
    result = pagelab_cli(*args, cwd=tmp_path)
    assert result.returncode == 0, f"{doc}: {command}\n{result.stderr[-2000:]}"
    assert "Traceback" not in result.stderr


def cited_paths() -> list[tuple[str, str]]:
    """Repository paths cited in backticks (with a folder) or as relative Markdown links."""
    out = []
    for doc in DOCS:
        text = doc.read_text()
        for path in re.findall(r"`([A-Za-z0-9_.-]+/[A-Za-z0-9_./-]+\.[a-z]+)`", text):
            out.append((doc, path))
        for link in re.findall(r"\]\(([^)#:\s]+)(?:#[^)]*)?\)", text):
            out.append((doc, str((doc.parent / link).resolve().relative_to(ROOT))))
    return out


# Paths inside a new plugin's own package (docs/writing-strategies.md walks through one).
PLUGIN_TEMPLATE = ("src/pagelab_page8k/", "tests/test_page8k.py")


def test_every_cited_file_exists():
    missing = sorted({f"{doc.name}: {path}" for doc, path in cited_paths()
                      if not path.startswith(PLUGIN_TEMPLATE) and not (ROOT / path).exists()})
    assert missing == []


def test_the_sweep_tables_job_counts_are_todays():
    rows = re.findall(r"^\| `(\w+)` \|.*\| ([\d,]+) \|$", (ROOT / "docs" / "sweeps.md").read_text(), flags=re.M)
    assert len(rows) >= 6
    counted = preset_jobs([name for name, _ in rows])
    assert {name: int(jobs.replace(",", "")) for name, jobs in rows} == counted


def test_stale_sentences_are_gone():
    text = {doc.name: doc.read_text() for doc in DOCS}
    assert "There is no `hvo` strategy yet" not in text["measure.md"]
    assert "must be quoted" not in text["README.md"] + text["sweeps.md"]
    assert "pagelab -sc install=bash" in text["README.md"]  # completion is documented
