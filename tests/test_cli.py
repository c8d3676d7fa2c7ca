"""The ``pagelab`` command line and the notebook API's input handling, as a user meets them.

Real subprocesses (``python -m pagelab``), real Hydra, a real pseudo-terminal for the
progress bar, real SIGINT and real tmpfs mounts (when root) for the --out errors.
"""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path

import polars as pl
import pytest

import pagelab
from pagelab.cli import COMMANDS, bare_words, run_command
from pagelab.commands.help import group_options
from pagelab.pipeline.overrides import quote_bangs
from pagelab.strategies.registry import installed_strategies

from .conftest import pagelab_cli

FAST = ("workload=pc1991",)  # a 4 MiB machine: a run in well under a second after start-up


def one_line_error(result: subprocess.CompletedProcess, code: int, *phrases: str) -> None:
    """Exit ``code``, one stderr line holding every phrase, and no traceback."""
    assert result.returncode == code, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for phrase in phrases:
        assert phrase in lines[0], lines[0]


# --- help, version, verbosity ------------------------------------------------------------


def test_help_lists_the_subcommands_the_user_groups_and_examples(tmp_path):
    result = pagelab_cli("--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    text = result.stdout
    shipped = [name for name, module in COMMANDS.items() if (Path(pagelab.__file__).parent / "commands" /
                                                             f"{module.rsplit('.', 1)[1]}.py").exists()]
    for name in shipped:
        assert f"\n  {name} " in text, name
    for group, options in (("strategy", group_options("strategy")), ("workload", group_options("workload")),
                           ("experiment", group_options("experiment")), ("launcher", group_options("hydra/launcher"))):
        assert f"  {group}: " in text
        assert ", ".join(options) in text  # every option Hydra knows, in one line
    assert "schema" not in text  # the internal group of the workload schema
    assert "examples:" in text and "pagelab strategy=dmemfs workload=hosting" in text
    assert pagelab_cli("-m", "--help", cwd=tmp_path).stdout == text  # not Hydra's stock help


def test_version_names_pagelab_hydra_and_polars(tmp_path):
    result = pagelab_cli("--version", cwd=tmp_path)
    assert result.returncode == 0
    line = result.stdout.strip()
    assert line.startswith(f"pagelab {version('pagelab')} ")
    assert f"Hydra {version('hydra-core')}" in line and f"polars {version('polars')}" in line


def test_help_topics(tmp_path):
    strategies = pagelab_cli("help", "strategy", cwd=tmp_path)
    assert strategies.returncode == 0
    for name, registered in installed_strategies().items():
        assert any(line.split()[:1] == [name] and registered.spec.description in line
                   for line in strategies.stdout.splitlines()), name
    scan = pagelab_cli("help", "scan", cwd=tmp_path)
    assert scan.returncode == 0 and scan.stdout.startswith("usage: pagelab scan")
    completion = pagelab_cli("help", "completion", cwd=tmp_path)
    assert 'eval "$(pagelab -sc install=bash)"' in completion.stdout
    one_line_error(pagelab_cli("help", "nosuch", cwd=tmp_path), 2, "no help on 'nosuch'", "strategy")


def test_completion_offers_subcommands_then_hydras_choices(tmp_path):
    def complete(line: str) -> list[str]:
        env = {"COMP_LINE": line, "COMP_POINT": str(len(line))}
        return pagelab_cli("-sc", "query=bash", cwd=tmp_path, env=env).stdout.split()

    assert complete("pagelab co") == [n for n in COMMANDS if n.startswith("co")]
    first = complete("pagelab ")
    assert set(COMMANDS) <= set(first) and "strategy=" in first  # Hydra's own choices follow
    assert "strategy=base4k" in complete("pagelab strategy=")
    assert complete("pagelab scan ") == []  # a subcommand's arguments: the shell completes files


def test_every_run_says_where_its_results_are_and_q_keeps_only_that(tmp_path):
    loud = pagelab_cli("strategy=base4k", *FAST, f"hydra.run.dir={tmp_path / 'a'}", cwd=tmp_path)
    assert loud.returncode == 0, loud.stderr
    where = f"pagelab: results in {tmp_path / 'a' / 'results.parquet'}"
    assert loud.stdout.strip().splitlines()[-1] == where and len(loud.stdout.splitlines()) > 5
    assert (tmp_path / "a" / "results.parquet").exists()
    quiet = pagelab_cli("-q", "strategy=base4k", *FAST, f"hydra.run.dir={tmp_path / 'b'}", cwd=tmp_path)
    assert quiet.returncode == 0 and quiet.stderr == ""
    assert quiet.stdout.strip() == where.replace("/a/", "/b/")
    assert (tmp_path / "a" / "results.parquet").read_bytes() == (tmp_path / "b" / "results.parquet").read_bytes()


def test_v_shows_the_traceback_that_is_otherwise_one_line(tmp_path):
    args = ("workload.installed=zz", *FAST)
    one_line_error(pagelab_cli(*args, f"hydra.run.dir={tmp_path / 'a'}", cwd=tmp_path), 2, "workload.installed")
    verbose = pagelab_cli("-v", *args, f"hydra.run.dir={tmp_path / 'b'}", cwd=tmp_path)
    assert verbose.returncode != 0 and "Traceback" in verbose.stderr and "workload.installed" in verbose.stderr


def test_a_failed_run_is_in_pagelab_log(tmp_path):
    result = pagelab_cli("workload.installed=zz", *FAST, f"hydra.run.dir={tmp_path}", cwd=tmp_path)
    message = result.stderr.strip()
    assert result.returncode == 2 and "workload.installed" in message
    assert message in (tmp_path / "pagelab.log").read_text()


# --- the kernel's dmem= syntax as typed --------------------------------------------------


@pytest.mark.parametrize(("typed", "quoted"), [
    ("strategy.dmem=!16G", "strategy.dmem='!16G'"),
    ("workload.dmem=!16G:1G@4G", "workload.dmem='!16G:1G@4G'"),
    ("strategy.dmem=!16G,!8G", "strategy.dmem='!16G','!8G'"),
    ("strategy.dmem=choice(!1G,2G)", "strategy.dmem=choice('!1G',2G)"),
    ("strategy.dmem='!16G'", "strategy.dmem='!16G'"),  # already quoted: as typed
    ("strategy.dmem=16G", "strategy.dmem=16G"),
])
def test_bang_values_are_quoted_for_hydra(typed, quoted):
    assert quote_bangs(typed) == quoted


def test_dmem_bang_unquoted_on_the_command_line_and_in_run(tmp_path):
    base = ("strategy=dmemfs", "workload=hosting")
    typed = pagelab_cli(*base, "strategy.dmem=!16G", f"hydra.run.dir={tmp_path / 'typed'}", cwd=tmp_path)
    quoted = pagelab_cli(*base, "strategy.dmem='!16G'", f"hydra.run.dir={tmp_path / 'quoted'}", cwd=tmp_path)
    assert typed.returncode == quoted.returncode == 0, typed.stderr
    assert (tmp_path / "typed" / "results.parquet").read_bytes() == (tmp_path / "quoted" / "results.parquet").read_bytes()
    row = pagelab.run([*base, "strategy.dmem=!16G"])
    assert row["strategy.dmem"][0] == "!16G"
    assert row.equals(pl.read_parquet(tmp_path / "typed" / "results.parquet"))


# --- bad input: one line, exit 2, nothing written ----------------------------------------


@pytest.mark.parametrize(("args", "phrases"), [
    (("nosuchcmd",), ("unknown subcommand 'nosuchcmd'",)),
    (("strategy=base4k", "foo"), ("'foo'", "key=value")),
    (("seed=-1",), ("seed", "non-negative integer")),
    (("seed=abc",), ("seed", "'abc'")),
    (("seed=1e30",), ("seed",)),
    ((f"seed={2**63}",), ("seed",)),
    (("-m", "seed=0,-1"), ("seed", "-1")),
    (("+workload.instaled=32G",), ("workload.instaled", "PAGELAB_ALLOW_EXTRA_KEYS")),
    (("+sed=5",), ("'sed'",)),
    (("+strategy.typo=1",), ("strategy.typo",)),
    (("strategy.typo=1",), ("strategy.typo", "not in")),  # Hydra's composition errors, in one line
    (("workload.nodes=abc",), ("workload.nodes", "'abc'")),
    (("+experiment=nosuch",), ("experiment=nosuch: no such experiment", "hosting_density")),
    (("hydra/launcher=nosuch",), ("hydra/launcher=nosuch: no such launcher", "batch")),
    (("strategy=[",), ("'['",)),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, phrases):
    result = pagelab_cli(*args, *FAST, f"hydra.run.dir={tmp_path / 'run'}", f"hydra.sweep.dir={tmp_path / 'sweep'}",
                         cwd=tmp_path)
    one_line_error(result, 2, *phrases)
    assert not (tmp_path / "run").exists() and not (tmp_path / "sweep").exists()


@pytest.mark.parametrize("launcher", ["basic", "batch"])
def test_a_sweep_value_of_the_wrong_type_is_one_line(tmp_path, launcher):
    result = pagelab_cli("-m", "workload.nodes=abc,2", *FAST, f"hydra/launcher={launcher}",
                         f"hydra.sweep.dir={tmp_path / 'sweep'}", cwd=tmp_path)
    one_line_error(result, 2, "workload.nodes=abc", "Integer")
    assert not list((tmp_path / "sweep").glob("*/results.parquet"))


def test_extra_keys_are_allowed_when_asked_for(tmp_path):
    result = pagelab_cli("+sed=5", *FAST, f"hydra.run.dir={tmp_path}", cwd=tmp_path,
                         env={"PAGELAB_ALLOW_EXTRA_KEYS": "1"})
    assert result.returncode == 0, result.stderr
    assert "sed: 5" in (tmp_path / ".hydra" / "config.yaml").read_text()


@pytest.mark.parametrize("name", [n for n in COMMANDS if n != "help"])  # help's argument is a topic
def test_every_subcommands_usage_error_is_one_line_and_exit_2(name, capsys):
    # The shared parser (pagelab.commands.parser) raises PagelabError; plain argparse would
    # print its usage and raise SystemExit instead.
    assert run_command(name, ["--no-such-flag"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"pagelab {name}: error: ") and err.count("\n") == 1, err
    assert "usage:" not in err


def test_bare_words_skip_flag_values_and_deletions():
    assert bare_words(["--cfg", "job", "strategy=x", "~workload.dmem", "-m"]) == []
    assert bare_words(["-m", "oops", "a=1"]) == ["oops"]


@pytest.mark.parametrize(("overrides", "phrase"), [
    ("strategy=base4k", "list of strings"),
    (["strategy=base4k", 3], "list of strings"),
    (["strategy=nope"], "nope"),
    (["workload.nodes=abc"], "workload.nodes"),
    (["strategy.nope=1"], "strategy.nope"),
    (["+sed=5"], "sed"),
    (["seed=-1"], "seed"),
    (["seed=abc"], "seed"),
    (["workload.installed=zz"], "workload.installed"),
    (["strategy=base4k", "x"], "'x'"),
])
def test_run_raises_one_line_pagelab_errors(overrides, phrase):
    with pytest.raises(pagelab.PagelabError) as raised:
        pagelab.run(overrides)
    message = str(raised.value)
    assert phrase in message and "\n" not in message


# --- interrupted, unwritable ------------------------------------------------------------


def _interrupt(args: list[str], cwd: Path, ready) -> subprocess.CompletedProcess:
    """Start ``python -m pagelab ARGS``, send SIGINT to its group (as Ctrl-C does) once ``ready()``."""
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    process = subprocess.Popen([sys.executable, "-m", "pagelab", *args], cwd=cwd, env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 60
    while not ready():
        assert process.poll() is None and time.monotonic() < deadline, "finished before it was interrupted"
        time.sleep(0.01)
    os.killpg(process.pid, signal.SIGINT)
    out, err = process.communicate(timeout=120)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def test_ctrl_c_in_a_single_run(tmp_path):
    run_dir = tmp_path / "run"
    # A fleet run takes seconds; its job has started once Hydra wrote the run's config.
    result = _interrupt(["workload=fleet", "strategy=base4k", f"hydra.run.dir={run_dir}"], tmp_path,
                        lambda: (run_dir / ".hydra" / "overrides.yaml").exists())
    one_line_error(result, 130, "pagelab: interrupted")
    assert not (run_dir / "results.parquet").exists()


def test_ctrl_c_in_figures_leaves_no_output(tmp_path):
    out = tmp_path / "figs"
    started = time.monotonic()
    result = _interrupt(["figures", "--only", "metadata", "--out", str(out)], tmp_path,
                        lambda: time.monotonic() - started > 4)  # its default sweep is running
    one_line_error(result, 130, "pagelab: interrupted")
    assert not out.exists() and not list(tmp_path.glob(".figs*"))


@pytest.fixture(scope="module")
def summary(tmp_path_factory) -> Path:
    """A tiny real sweep's summary, for the figures commands."""
    sweep = tmp_path_factory.mktemp("sweep")
    result = pagelab_cli("-m", "strategy=base4k,page64k", "workload=pagecache", "workload.files.dataset=linux_6_1",
                         "hydra/launcher=batch", f"hydra.sweep.dir={sweep}", cwd=sweep)
    assert result.returncode == 0, result.stderr
    return sweep / "summary.parquet"


def test_figures_out_is_an_existing_file(tmp_path, summary):
    target = tmp_path / "taken"
    target.write_text("mine")
    result = pagelab_cli("figures", "--results", str(summary), "--only", "filesizes", "--out", str(target), cwd=tmp_path)
    one_line_error(result, 2, f"--out {target}", "not a directory")
    assert target.read_text() == "mine"


@pytest.mark.parametrize(("options", "phrase"), [("ro,size=1m", "Read-only file system"),
                                                 ("size=64k", "No space left on device")])
def test_figures_out_on_a_read_only_or_full_file_system(tmp_path, summary, options, phrase):
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mount = tmp_path / "mnt"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(mount)], check=True)
    try:
        result = pagelab_cli("figures", "--results", str(summary), "--only", "filesizes", "--out",
                             str(mount / "figs"), cwd=tmp_path)
        one_line_error(result, 2, f"--out {mount / 'figs'}", phrase)
        assert list(mount.iterdir()) == []  # the staging folder is gone too
    finally:
        subprocess.run(["umount", str(mount)], check=True)


# --- sweeps on a terminal --------------------------------------------------------------


def test_a_sweep_on_a_terminal_shows_a_bar_not_a_line_per_job(tmp_path):
    controller, terminal = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    process = subprocess.Popen(
        [sys.executable, "-m", "pagelab", "-m", "strategy=base4k,page64k", *FAST, "seed=1,2",
         f"hydra.sweep.dir={tmp_path / 'sweep'}"],
        cwd=tmp_path, env=env, stdin=terminal, stdout=terminal, stderr=terminal,
    )
    os.close(terminal)
    output = b""
    while True:
        ready, _, _ = select.select([controller], [], [], 120)
        try:
            chunk = os.read(controller, 65536) if ready else b""
        except OSError:  # the child closed the terminal
            chunk = b""
        if not chunk:
            break
        output += chunk
    assert process.wait(timeout=60) == 0
    text = output.decode(errors="replace")
    assert "sweep" in text and "4 done" in text  # the bar's last state
    assert " : strategy=" not in text  # no "#0 : strategy=base4k ..." line per job
    assert f"{tmp_path / 'sweep' / 'summary.parquet'}: 4 rows" in text.replace("\r\n", "\n").replace("\n", "")


def test_the_end_of_sweep_table_shows_the_swept_axes_as_typed(tmp_path):
    sweep = tmp_path / "sweep"
    result = pagelab_cli("-m", "strategy=base4k,page2m", *FAST, "seed=1,2", "hydra/launcher=batch",
                         f"hydra.sweep.dir={sweep}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    header = next(line for line in result.stdout.splitlines() if "job" in line and "fits" in line)
    assert [c.strip() for c in header.strip("┃ ").split("┃")][:3] == ["job", "strategy", "seed"]
    # page2m is a preset: the results row says page16k, the table says what the sweep ran.
    summary = pl.read_parquet(sweep / "summary.parquet")
    assert set(summary["strategy"]) == {"base4k", "page16k"}
    rows = [line for line in result.stdout.splitlines() if line.startswith("│")]
    assert sum(" page2m " in line for line in rows) == 2 + 1  # two jobs, and its line over seeds


def test_a_ctrl_c_python_swallows_is_still_an_interrupt():
    # SIGINT inside a weakref callback: CPython prints "Exception ignored" and goes on.
    # pagelab records it silently and raises it again at its next check.
    code = """
import os, signal, sys, weakref
from pagelab.errors import check_interrupted, note_interrupts
note_interrupts()
class Thing: pass
thing = Thing()
ref = weakref.ref(thing, lambda _: os.kill(os.getpid(), signal.SIGINT))
del thing
print("went on", flush=True)
try:
    check_interrupted()
except KeyboardInterrupt:
    sys.exit(130)
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "went on"
    assert result.returncode == 130 and "Traceback" not in result.stderr, result.stderr
