"""The one exception type that reaches users as a one-line message."""

from __future__ import annotations


class PagelabError(Exception):
    """A problem with the user's input or environment, reported as one line, exit code 2.

    The message must name what is at fault (file, row, field or parameter) so the
    user can fix it without a traceback.
    """


class ShortfallError(PagelabError):
    """The host's own needs do not fit the memory the kernel kept for itself."""
