"""``pagelab help [TOPIC]``: this help (also ``--help``), or help on a command or config group.

Topics: a subcommand (its own --help), a config group (strategy, workload, experiment,
launcher: every option with one line), ``completion`` and ``exit-codes``.
"""

from __future__ import annotations

import importlib
import sys
from importlib.metadata import PackageNotFoundError, version
from importlib.resources import files

from pagelab.errors import PagelabError

# The groups users choose from, and how a command line names them.
GROUPS = {
    "strategy": ("strategy", "strategy=NAME"),
    "workload": ("workload", "workload=NAME"),
    "experiment": ("experiment", "+experiment=NAME (a sweep preset)"),
    "launcher": ("hydra/launcher", "hydra/launcher=NAME (how a sweep's jobs run)"),
}
# Launchers that ship no YAML in pagelab.conf (Hydra's, its plugins' and pagelab's batch).
_LAUNCHERS = {
    "basic": "Hydra's default: one job after another in this process",
    "batch": "pagelab's: every preset's; jobs composed once per defaults choice, run in chunks by loky workers",
    "joblib": "Hydra's joblib plugin: one process per core",
    "submitit_local": "submitit's local processes",
    "submitit_slurm": "submitit on SLURM",
}

USAGE = """\
pagelab: what each way of managing physical pages costs, on real workloads.

usage:
  pagelab [-q|-v] [OVERRIDE ...]        one run: Hydra overrides, key=value
  pagelab [-q|-v] -m OVERRIDE ...       a sweep over comma-separated values (key=a,b,c)
  pagelab COMMAND [ARGS ...]            a subcommand (pagelab help COMMAND)
  pagelab help [TOPIC]                  this help; TOPIC: a command, a group, completion, exit-codes
  pagelab --version
"""

EXAMPLES = """\
examples:
  pagelab strategy=dmemfs workload=hosting              one answer, about a second
  pagelab strategy=dmemfs workload=hosting strategy.dmem=!16G strategy.dpage_size=1G
  pagelab -m strategy=base4k,page16k,page64k workload=laptop,pagecache
  pagelab +experiment=hosting_density                   a preset sweep (conf/experiment/)
  pagelab compare base4k page64k --workloads laptop --seeds 3
  pagelab strategy=folio --cfg job                      the composed config (Hydra's --cfg)
"""

OPTIONS = """\
options:
  -q, --quiet     no summary table or per-job log lines: only where the results are, and errors
  -v, --verbose   DEBUG logging of pagelab's loggers and full tracebacks (as HYDRA_FULL_ERROR=1)
  -h, --help      this help
  --version       pagelab's version, with Hydra's and polars'
  Hydra's own flags work as in any Hydra app: --cfg job|hydra|all, --info, -cn NAME, -m, -r,
  --shell-completion (pagelab help completion).
"""

COMPLETION = """\
Shell completion (bash), subcommands included:

  eval "$(pagelab -sc install=bash)"      # in ~/.bashrc: completes subcommands, groups, keys
  eval "$(pagelab -sc uninstall=bash)"

`pagelab <TAB>` offers the subcommands and the config groups and keys; after a subcommand,
file names; `pagelab strategy=<TAB>` the installed strategies; `pagelab workload.<TAB>` the
workload's keys. zsh: `autoload -U bashcompinit && bashcompinit` first. fish:
`pagelab -sc install=fish | source`.
"""

EXIT_CODES = """\
exit codes:
  0    the run fits the machine (a sweep: no job failed)
  1    a sweep with failed jobs (each is listed), or an error Hydra reports itself
  2    bad input: one line on stderr names the parameter, file, row or path; nothing is written
  3    the run does not fit: results.parquet has fits false and one line names the short pool
  130  interrupted (Ctrl-C): one line; finished results stay, nothing is half-written
"""


def versions() -> str:
    """``pagelab X (Hydra Y, polars Z, Python W)``."""

    def of(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "not installed"

    python = ".".join(map(str, sys.version_info[:3]))
    return f"pagelab {of('pagelab')} (Hydra {of('hydra-core')}, polars {of('polars')}, Python {python})"


def command_summaries() -> dict[str, str]:
    """Each subcommand's first docstring line, without its ``pagelab NAME`` prefix."""
    from pagelab.cli import COMMANDS

    out = {}
    for name, module in COMMANDS.items():
        try:
            doc = (importlib.import_module(module).__doc__ or "").strip().splitlines()
        except ImportError:  # listed by another part of pagelab that is not installed here
            continue
        line = (doc[0] if doc else "").replace("``", "")
        out[name] = line.split(":", 1)[1].strip() if line.startswith("pagelab") and ":" in line else line
    return out


def group_options(group: str) -> list[str]:
    """The options of a config group, as Hydra sees them (shipped YAML, ConfigStore, plugins)."""
    from pagelab.pipeline.compose import hydra_session

    with hydra_session() as loader:
        return sorted(loader.get_group_options(group))


def preset_jobs(names: list[str]) -> dict[str, int | None]:
    """How many jobs each sweep preset runs with today's catalog and plugins (None: not countable)."""
    from pagelab.pipeline.compose import compose_config, hydra_session
    from pagelab.sweep.plan import job_overrides

    counts: dict[str, int | None] = {}
    with hydra_session():  # one set-up for every preset; the sweeper's glob() needs it too
        for name in names:
            try:
                jobs = job_overrides(compose_config([f"+experiment={name}"], with_hydra=True))
            except Exception:  # noqa: BLE001 -- a preset that does not compose here: no count
                jobs = None
            counts[name] = None if jobs is None else len(jobs)
    return counts


def _yaml_summary(group: str, option: str) -> str:
    """The first comment line of a shipped YAML option (its "Paper question" for presets)."""
    path = files("pagelab.conf").joinpath(group, f"{option}.yaml")
    if not path.is_file():
        return ""
    for line in path.read_text().splitlines():
        text = line.lstrip("# ").strip()
        if line.startswith("#") and text and not text.startswith("@package"):
            return text.removeprefix("Paper question: ").split(" (pip install")[0].rstrip(":")
    return ""


def option_summaries(topic: str) -> dict[str, str]:
    """Every option of a user-facing group with one line saying what it is."""
    group = GROUPS[topic][0]
    options = group_options(group)
    if topic == "strategy":
        from pagelab.strategies.registry import installed_strategies

        strategies = installed_strategies()
        return {o: strategies[o].spec.description if o in strategies else _yaml_summary(group, o) for o in options}
    if topic == "launcher":
        return {o: _yaml_summary(group, o) or _LAUNCHERS.get(o, "") for o in options}
    if topic == "experiment":  # each preset's job count, as docs/sweeps.md's table gives it
        jobs = preset_jobs(options)
        return {o: f"{jobs[o]:,} jobs. {_yaml_summary(group, o)}" if jobs[o] is not None else _yaml_summary(group, o)
                for o in options}
    return {o: _yaml_summary(group, o) for o in options}


def general_help() -> str:
    """The text of ``pagelab --help``."""
    from pagelab.cli import COMMANDS

    summaries = command_summaries()
    width = max(map(len, COMMANDS))
    commands = "\n".join(f"  {name:<{width}}  {summaries.get(name, '')}" for name in COMMANDS if name in summaries)
    groups = []
    for topic, (group, how) in GROUPS.items():
        groups.append(f"  {topic}: {how}\n    {', '.join(group_options(group))}")
    return (f"{USAGE}\ncommands:\n{commands}\n\nconfig groups (pagelab help GROUP says what each option is):\n"
            + "\n".join(groups) + f"\n\n{OPTIONS}\n{EXAMPLES}\n"
            "Any key of the composed config is an override (pagelab strategy=dmemfs --cfg job shows them);\n"
            "docs: README.md and docs/ (models, sweeps, datasets, plugins).\n")


def topic_help(topic: str) -> str | None:
    """The text for ``pagelab help TOPIC``; None for a subcommand (its own --help prints)."""
    from pagelab.cli import COMMANDS

    if topic in ("completion", "exit-codes"):
        return COMPLETION if topic == "completion" else EXIT_CODES
    if topic in GROUPS:
        options = option_summaries(topic)
        width = max(map(len, options), default=0)
        lines = "\n".join(f"  {name:<{width}}  {text}" for name, text in options.items())
        return f"{topic}: {GROUPS[topic][1]}\n{lines}\n"
    if topic in COMMANDS:
        return None
    raise PagelabError(f"no help on '{topic}' (topics: {', '.join([*COMMANDS, *GROUPS, 'completion', 'exit-codes'])})")


def main(argv: list[str]) -> int:
    """Print the help asked for; 0, or a PagelabError for an unknown topic."""
    if argv[:1] == ["--version"]:
        print(versions())
        return 0
    if not argv or argv[0] in ("-h", "--help"):
        sys.stdout.write(general_help())
        return 0
    text = topic_help(argv[0])
    if text is None:
        from pagelab.cli import run_command

        return run_command(argv[0], ["--help"])
    sys.stdout.write(text)
    return 0
