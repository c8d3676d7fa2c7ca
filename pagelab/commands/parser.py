"""The argument parser of every ``pagelab`` subcommand: a usage error is one line, exit 2.

argparse's own ``error()`` prints the usage and exits; here it raises :class:`PagelabError`,
which :func:`pagelab.cli.run_command` reports like any other bad input: one line
``pagelab NAME: error: ...`` on stderr and exit code :data:`pagelab.errors.EXIT_BAD_INPUT`.
"""

from __future__ import annotations

import argparse
from typing import Any, NoReturn

from pagelab.errors import PagelabError


class SubcommandParser(argparse.ArgumentParser):
    """argparse that reports a usage problem as a one-line PagelabError."""

    def error(self, message: str) -> NoReturn:
        raise PagelabError(message)


def subcommand_parser(prog: str, description: str | None = None, **options: Any) -> SubcommandParser:
    """The parser of subcommand ``prog`` (``"pagelab scan"``); ``options`` go to argparse as they are."""
    return SubcommandParser(prog=prog, description=description, **options)

