"""``minqing import``: corrected standard files back into the archive (issue 15)."""

from __future__ import annotations

import getpass
from pathlib import Path

import click

from minqing.archive import export
from minqing.archive.errors import ArchiveError
from minqing.archive.store import Archive
from minqing.errors import ExitCode, MinqingError
from minqing.options import archive_option
from minqing.review import corrections


@click.group(name="import")
def command() -> None:
    """Import corrected files from other tools (PAGE XML) as corrections."""


@command.command(name="page")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@archive_option
@click.option(
    "--who", default=None, help="Reviewer name for the audit trail (default: your login)."
)
def page_cmd(path: Path, archive_dir: Path, who: str | None) -> None:
    """Take corrected PAGE XML (a folder from `minqing export pages --format page`, or
    one file) back as line corrections: only lines whose text was changed in the file,
    each audited in `corrections`; all files or nothing.

    A line that was also changed in the archive since the export is reported, not
    overwritten.

    \b
    Example:
        minqing import page page-xml/ --archive archive/
    """
    who = who or getpass.getuser() or "offline"
    files = sorted(path.rglob("*.xml")) if path.is_dir() else [path]
    if not files:
        raise MinqingError(f"{path}: no .xml files in it", exit_code=ExitCode.bad_data)
    try:
        archive = Archive(archive_dir, write=True)
    except ArchiveError as exc:
        raise MinqingError(str(exc), exit_code=ExitCode.archive_error) from exc
    try:
        changes, labels = [], []
        for f in files:
            for c in corrections.page_line_changes(archive, export.read_page_xml(f)):
                changes.append(c)
                labels.append(f"{f} line {c.target_id}")
        n = corrections.apply_changes(archive, changes, who=who, labels=labels)
    except corrections.ChangeError as exc:
        raise MinqingError(f"{exc}; nothing was imported", exit_code=ExitCode.bad_data) from None
    except ArchiveError as exc:
        raise MinqingError(f"{exc}; nothing was imported", exit_code=ExitCode.bad_data) from None
    finally:
        archive.close()
    click.echo(f"{n} line correction(s) applied from {len(files)} PAGE file(s) in {path}", err=True)
