"""Exit codes and the map from stage exceptions to one-line messages.

click uses 1 (ClickException) and 2 (usage); ours start at 3.
"""

from __future__ import annotations

import contextlib
import enum
import os
import sqlite3
import sys
import tempfile
import traceback
from pathlib import Path
from typing import Any, ClassVar

import click

from minqing.archive.errors import (
    ArchiveBusyError,
    ArchiveError,
    BadCorrectionError,
    NothingToCompileError,
)


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
    #: unexpected internal error (a bug): one line, the traceback in a log file (or --debug)
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


#: set by ``minqing --debug`` (or MINQING_DEBUG=1): print the traceback of an internal error
DEBUG_ENV = "MINQING_DEBUG"


def _debug_wanted() -> bool:
    return os.environ.get(DEBUG_ENV, "").strip() not in ("", "0")


def _write_crash_log() -> Path | None:
    """Write the current exception's traceback to a log file; its path, or None."""
    try:
        fd, name = tempfile.mkstemp(prefix="minqing-crash-", suffix=".log")
        with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace") as fh:
            fh.write(f"minqing {' '.join(sys.argv[1:])}\n\n")
            traceback.print_exc(file=fh)
        return Path(name)
    except OSError:  # a full disk: nothing to write the log to
        return None


#: SQLite messages that mean the archive's file (not our code) is the problem
_DAMAGED_DB = (
    "file is not a database",
    "database disk image is malformed",
    "disk I/O error",
    "database or disk is full",
    "attempt to write a readonly database",
    "unable to open database file",
)


#: exit codes of the archive's own errors, where not ``archive_error``
_ARCHIVE_EXIT = {
    ArchiveBusyError: ExitCode.refused,
    BadCorrectionError: ExitCode.bad_data,
    NothingToCompileError: ExitCode.nothing_to_do,
}


class ExitCodeGroup(click.Group):
    """A click group whose exit codes are those of :class:`ExitCode`.

    Known failures (:class:`MinqingError`, click's usage errors) print their one line
    and exit with their code; Ctrl-C exits 130 ("interrupted"); any other exception is
    a bug: one line naming it and a log file holding the traceback, exit 15. The
    traceback is printed too under ``minqing --debug`` or ``MINQING_DEBUG=1``.
    """

    def main(self, *args: Any, **kwargs: Any) -> Any:
        """Run the command line; never returns when ``standalone_mode`` (the default)."""
        if not kwargs.get("standalone_mode", True):
            return super().main(*args, **kwargs)
        kwargs["standalone_mode"] = False
        try:
            rv = super().main(*args, **kwargs)
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except (click.exceptions.Abort, KeyboardInterrupt):
            click.echo("\ninterrupted", err=True)
            sys.exit(ExitCode.interrupted)
        except SystemExit:
            raise
        except BrokenPipeError:
            # the reader of our output went away (``| head``): not an error of ours
            with contextlib.suppress(OSError):
                sys.stdout = None
            sys.exit(ExitCode.ok)
        except ArchiveError as exc:
            # a command that did not catch it itself: the archive, not our code, is the
            # problem (e.g. written by a newer minqing); its message names file and remedy
            click.echo(f"Error: {exc}", err=True)
            sys.exit(_ARCHIVE_EXIT.get(type(exc), ExitCode.archive_error))
        except sqlite3.DatabaseError as exc:
            if not any(m in str(exc) for m in _DAMAGED_DB):
                return self._internal(exc)
            click.echo(
                f"Error: the archive database cannot be used: {exc} (restore archive.db from a "
                "backup, or free disk space if the disk is full)",
                err=True,
            )
            sys.exit(ExitCode.archive_error)
        except Exception as exc:
            return self._internal(exc)
        if isinstance(rv, int) and rv:
            sys.exit(rv)
        sys.exit(ExitCode.ok)

    @staticmethod
    def _internal(exc: BaseException) -> None:
        """A bug: one line naming it and the log holding its traceback; exit 15."""
        if _debug_wanted():
            traceback.print_exc()
        log = _write_crash_log()
        first = (str(exc).strip().splitlines() or [""])[0]
        where = f"; the traceback is in {log}" if log else ""
        click.echo(
            f"Error: internal error: {type(exc).__name__}: {first} "
            f"(a bug, please report it{where}; run with --debug to print it)",
            err=True,
        )
        sys.exit(ExitCode.internal)


def debug_option(f: Any) -> Any:
    """``--debug``: print the traceback of an internal error (sets MINQING_DEBUG=1)."""

    def _set(ctx: click.Context, param: click.Parameter, value: bool) -> None:
        if value:
            os.environ[DEBUG_ENV] = "1"

    return click.option(
        "--debug",
        is_flag=True,
        expose_value=False,
        is_eager=True,
        callback=_set,
        help="Print the traceback of an internal error (also MINQING_DEBUG=1).",
    )(f)
