"""The ``pagelab`` command: subcommands by name, anything else goes to Hydra.

    pagelab strategy=dmemfs workload=hosting     # a run (Hydra overrides)
    pagelab -m strategy=base4k,page64k           # a sweep
    pagelab scan DIR -o tree.parquet             # a subcommand
    pagelab help [TOPIC]                         # help (also --help), --version
"""

from __future__ import annotations

import importlib
import os
import sys

from pagelab.errors import (
    EXIT_BAD_INPUT,
    EXIT_INTERRUPTED,
    PagelabError,
    check_interrupted,
    note_interrupts,
)

# Subcommand name → module with ``main(argv: list[str]) -> int``; imported on demand.
COMMANDS = {
    "collect": "pagelab.commands.collect",
    "compare": "pagelab.commands.compare",
    "datasets": "pagelab.commands.datasets",
    "figures": "pagelab.commands.figures",
    "help": "pagelab.commands.help",
    "measure": "pagelab.commands.measure",
    "new-strategy": "pagelab.commands.new_strategy",
    "plot": "pagelab.commands.plot",
    "plugins": "pagelab.commands.plugins",
    "report": "pagelab.commands.report",
    "scan": "pagelab.commands.scan",
    "scan-procs": "pagelab.commands.scan_procs",
}
QUIET, VERBOSE = {"-q", "--quiet"}, {"-v", "--verbose"}
# Hydra's flags whose value is the next word (``--cfg job``): that word is no subcommand.
_HYDRA_VALUE_FLAGS = {"-c", "--cfg", "-p", "--package", "-cp", "--config-path", "-cn", "--config-name",
                      "-cd", "--config-dir", "-i", "--info", "--experimental-rerun"}
_COMPLETION_FLAGS = {"-sc", "--shell-completion"}


def _interrupted() -> int:
    print("pagelab: interrupted", file=sys.stderr)
    return EXIT_INTERRUPTED


def run_command(name: str, argv: list[str]) -> int:
    """Run subcommand ``name``; a :class:`PagelabError` becomes one line on stderr and exit 2,
    Ctrl-C one line "interrupted" and exit 130."""
    try:
        if name == "scan":  # find walks while the command's imports load
            from pagelab.datasets.scan import prestart

            prestart(argv)
        return importlib.import_module(COMMANDS[name]).main(argv)
    except PagelabError as error:
        if os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        print(f"pagelab {name}: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        if os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        return _interrupted()


def set_verbosity(args: list[str]) -> list[str]:
    """Take ``-q``/``-v`` out of ``args`` and record them where every job process sees them.

    -q: no summary table and no per-job log lines, only where the results are (and errors);
    -v: DEBUG logging of pagelab's loggers and full tracebacks (``HYDRA_FULL_ERROR=1``).
    """
    kept = [a for a in args if a not in QUIET | VERBOSE]
    level = _set_verbosity_env(args)
    if level == "verbose":
        kept.append("hydra.verbose=pagelab")
    elif level == "quiet":
        kept += ["hydra.hydra_logging.root.level=WARNING", "hydra.job_logging.root.level=WARNING"]
    return kept


def _set_verbosity_env(args: list[str]) -> str | None:
    """Record -v (wins) or -q in the environment, which jobs in any process inherit."""
    level = "verbose" if any(a in VERBOSE for a in args) else "quiet" if any(a in QUIET for a in args) else None
    if level is not None:
        os.environ["PAGELAB_VERBOSITY"] = level  # pagelab.app.VERBOSITY, not imported: it loads Hydra
    if level == "verbose":
        os.environ["HYDRA_FULL_ERROR"] = "1"
    return level


def bare_words(args: list[str]) -> list[str]:
    """Words that are neither flags, flag values, overrides (``key=value``) nor deletions (``~key``)."""
    words, after_flag = [], False
    for arg in args:
        if arg.startswith("-"):
            after_flag = arg in _HYDRA_VALUE_FLAGS
            continue
        if not after_flag and "=" not in arg and not arg.startswith("~"):
            words.append(arg)
        after_flag = False
    return words


def _complete() -> bool:
    """Bash completion of the first word: print the subcommands before Hydra's own choices.

    True when the line is a subcommand's (nothing to add: the shell completes file names).
    """
    line = os.environ.get("COMP_LINE", "")
    words = line.split()
    while words and (words[0] in ("python", "python3", "-m") or words[0].endswith("pagelab")):
        words.pop(0)  # "pagelab ..." or "python -m pagelab ..."
    current = "" if line.endswith(" ") else (words[-1] if words else "")
    typed = words[:-1] if current else words
    if typed and typed[0] in COMMANDS:
        print()
        return True
    if not typed and "=" not in current:
        print(" ".join(name for name in COMMANDS if name.startswith(current)), end=" ", flush=True)
    return False


def main(argv: list[str] | None = None) -> None:
    """Dispatch to a subcommand, or run the Hydra app with the arguments as overrides."""
    args = list(sys.argv[1:] if argv is None else argv)
    while len(args) > 1 and args[0] in QUIET | VERBOSE and (args[1] in COMMANDS or args[1] in QUIET | VERBOSE):
        _set_verbosity_env(args[:1])  # pagelab -v figures ...: tracebacks on, then the subcommand
        args = args[1:]
    if args and args[0] in COMMANDS:
        sys.exit(run_command(args[0], args[1:]))
    if any(a in ("-h", "--help") for a in args) or any(a == "--version" for a in args):
        sys.exit(run_command("help", ["--version"] if "--version" in args else []))
    if any(a in _COMPLETION_FLAGS for a in args) and "query=bash" in args and _complete():
        sys.exit(0)
    unknown = bare_words(args)
    if unknown:
        what = "unknown subcommand" if args[0] == unknown[0] else "neither a subcommand nor an override (key=value):"
        print(f"pagelab: error: {what} '{unknown[0]}' (subcommands: {', '.join(COMMANDS)}; see pagelab help)",
              file=sys.stderr)
        sys.exit(EXIT_BAD_INPUT)
    note_interrupts()
    try:
        _run_app(args)
        check_interrupted()
    except KeyboardInterrupt:
        if os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        sys.exit(_interrupted())


def _run_app(args: list[str]) -> None:
    from pagelab.app import main as run_app
    from pagelab.pipeline.config import register_configs
    from pagelab.pipeline.overrides import prepare

    args = set_verbosity(args)
    try:
        if not set(args) & _COMPLETION_FLAGS:  # a completion query's words are not overrides yet
            at = [i for i, a in enumerate(args)
                  if not a.startswith("-") and not (i and args[i - 1] in _HYDRA_VALUE_FLAGS)]
            for i, typed in zip(at, prepare([args[i] for i in at])):
                args[i] = typed
        register_configs(args)
    except PagelabError as error:
        if os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        print(f"pagelab: error: {error}", file=sys.stderr)
        sys.exit(EXIT_BAD_INPUT)
    run_app(list(args))
