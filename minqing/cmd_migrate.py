"""``minqing migrate``: bring an archive's schema up to this minqing's."""

from __future__ import annotations

from pathlib import Path

import click

from minqing.archive import schema
from minqing.archive.errors import ArchiveError
from minqing.archive.store import Archive
from minqing.errors import ExitCode, MinqingError
from minqing.options import archive_option


@click.command(name="migrate")
@archive_option
def command(archive_dir: Path) -> None:
    """Apply the archive's pending schema migrations (every command that writes does too).

    Reading commands (export, serve of a read-only archive, compile, ...) never change
    an archive and refuse one whose schema is older than this minqing; run this once
    on it. Prints each migration applied.

    \b
    Example:
        minqing migrate --archive archive/
    """
    try:
        with Archive(archive_dir, write=True) as archive:
            done = archive.migrated
    except ArchiveError as exc:
        raise MinqingError(str(exc), exit_code=ExitCode.archive_error) from exc
    for name in done:
        click.echo(f"applied {name}", err=True)
    click.echo(
        f"{archive_dir}: schema {schema.SCHEMA_VERSION} ({len(done)} migration(s) applied)",
        err=True,
    )
