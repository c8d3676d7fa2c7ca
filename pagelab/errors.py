"""The one exception type that reaches users as a one-line message."""

from __future__ import annotations


class PagelabError(Exception):
    """A problem with the user's input or environment, reported as one line, exit code 2.

    The message must name what is at fault (file, row, field or parameter) so the
    user can fix it without a traceback.
    """


# Exit codes of a single run (README, "Exit codes").
EXIT_BAD_INPUT = 2  # a PagelabError: the input is at fault, nothing was written
EXIT_DOES_NOT_FIT = 3  # the run's results were written, with fits=false
