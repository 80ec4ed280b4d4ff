"""The one exception base of Tidings: a problem a person can act on, with a hint saying how.

Every error the library raises on purpose derives from TidingsError. The command line maps them in
one place (tidings.cli.common): a `usage` error (a wrong argument or option, a folder that is no
status repo) exits 2, any other (a problem in the repo, a remote that refused) exits 1, both as one
clean line plus the hint; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class TidingsError(Exception):
    """A problem to tell a person about, not a bug. `hint`: what to do about it, if we know."""

    usage = False  # True: the command was called wrongly (exit 2), not a problem in the repo (exit 1)

    def __init__(self, message: str = "", hint: str = ""):
        super().__init__(message)
        self.hint = hint


class UsageError(TidingsError):
    """The command was called wrongly: a bad argument, or a folder that is not a status repo."""

    usage = True
