"""Exceptions raised by the archive stage."""

from __future__ import annotations

from pathlib import Path


class ArchiveError(Exception):
    """The archive folder or database cannot be used."""

    def __init__(self, path: Path | str, problem: str, hint: str = "") -> None:
        self.path = Path(path)
        self.problem = problem
        self.hint = hint
        super().__init__(f"{path}: {problem}" + (f" ({hint})" if hint else ""))


class ArchiveNotFoundError(ArchiveError):
    """No archive exists at the given folder."""


class ArchiveBusyError(ArchiveError):
    """Another process holds the archive's writer lock (a second ingest into one archive)."""


class BadCorrectionError(ArchiveError):
    """A correction names an unknown target or carries an invalid value."""


class NothingToCompileError(ArchiveError):
    """No entry of the requested period matches the filters: there is no volume to write."""


class ArchiveSchemaError(ArchiveError):
    """The archive's schema does not fit this minqing: older (migrate it) or newer (upgrade)."""
