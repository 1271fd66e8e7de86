"""Exit codes and the map from stage exceptions to one-line messages.

click uses 1 (ClickException) and 2 (usage); ours start at 3.
"""

from __future__ import annotations

import enum
from typing import ClassVar

import click


class ExitCode(enum.IntEnum):
    """Exit codes of the ``minqing`` command."""

    ok = 0
    #: some input files failed (the rest of the batch was archived)
    input_failed = 3
    #: the archive folder or database is missing or unusable
    archive_error = 4
    #: the OCR engine could not be loaded or crashed
    engine_error = 5
    #: a bad value in a file the user gave (manifest, corrections, ...)
    bad_data = 6
    #: nothing to do (an empty period, no entries, ...)
    nothing_to_do = 7
    #: refused for safety (e.g. serving on a public address without users)
    refused = 8
    #: unexpected internal error (a bug): traceback printed
    internal = 15
    #: interrupted with Ctrl-C
    interrupted = 130


class MinqingError(click.ClickException):
    """A known failure: printed as one ``Error: ...`` line, exits with ``exit_code``."""

    exit_code: ClassVar[int] = ExitCode.internal

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            # click declares exit_code a ClassVar, yet reads it from the instance
            self.exit_code = int(exit_code)  # type: ignore[misc]
