"""``minqing books``: list notebooks and correct their metadata without re-ingesting."""

from __future__ import annotations

import getpass
from pathlib import Path

import click

from minqing.archive import records
from minqing.archive.errors import ArchiveError
from minqing.archive.store import Archive
from minqing.cmd_ingest import read_manifest
from minqing.errors import ExitCode, MinqingError
from minqing.options import archive_option


def _open(archive_dir: Path) -> Archive:
    try:
        return Archive(archive_dir)
    except ArchiveError as exc:
        raise MinqingError(str(exc), exit_code=ExitCode.archive_error) from exc


@click.group(name="books")
def command() -> None:
    """List notebooks and correct their metadata (cadre, post, township, village, period).

    \b
    Example:
        minqing books list --archive archive/
        minqing books set shiqiao-zhangwei --cadre 张伟 --village 杨树沟村
    """


@command.command(name="list")
@archive_option
def list_books(archive_dir: Path) -> None:
    """List the archive's notebooks with their metadata, pages and entries (tab-separated).

    \b
    Example:
        minqing books list --archive archive/
    """
    archive = _open(archive_dir)
    try:
        click.echo("book_id\tcadre\tpost\ttownship\tvillage\tperiod\tpages\tentries")
        for r in archive.db.query(
            "select b.*, (select count(*) from pages p where p.book_id = b.book_id) as pages, "
            "(select count(*) from entries e where e.book_id = b.book_id) as entries "
            "from books b order by b.book_id"
        ):
            cells = [
                r["book_id"],
                r["cadre"],
                r["post"],
                r["township"],
                r["village"],
                r["period"],
                r["pages"],
                r["entries"],
            ]
            click.echo("\t".join("" if c is None else str(c) for c in cells))
    finally:
        archive.close()


@command.command(name="set")
@click.argument("book_id")
@archive_option
@click.option("--cadre")
@click.option("--post")
@click.option("--township")
@click.option("--village")
@click.option("--period")
@click.option("--title")
@click.option(
    "--who",
    default=getpass.getuser,
    show_default="current user",
    help="Recorded in the audit trail.",
)
def set_book(archive_dir: Path, book_id: str, who: str, **meta: str | None) -> None:
    """Correct one notebook's metadata; entries and facets follow at once.

    An empty value (--village "") clears a field. Every change is recorded in the
    corrections audit trail. Nothing is re-OCR'd.

    \b
    Example:
        minqing books set shiqiao-zhangwei --township 石桥镇 --village 杨树沟村
    """
    archive = _open(archive_dir)
    try:
        n = records.set_book_metadata(archive, book_id, meta, who=who)
    except ArchiveError as exc:
        raise MinqingError(str(exc), exit_code=ExitCode.bad_data) from exc
    finally:
        archive.close()
    click.echo(f"{book_id}: {n} field(s) changed", err=True)


@command.command(name="import")
@click.argument("manifest", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@archive_option
@click.option(
    "--who",
    default=getpass.getuser,
    show_default="current user",
    help="Recorded in the audit trail.",
)
def import_books(manifest: Path, archive_dir: Path, who: str) -> None:
    """Apply a books.csv manifest to notebooks already in the archive.

    Columns: book_id, cadre, post, township, village, period, title. Empty cells leave a
    field as it is. All rows are checked before anything changes.

    \b
    Example:
        minqing books import books.csv --archive archive/
    """
    rows = read_manifest(manifest)
    archive = _open(archive_dir)
    try:
        known = {r["book_id"] for r in archive.db.query("select book_id from books")}
        unknown = sorted(set(rows) - known)
        if unknown:
            raise MinqingError(
                f"{manifest}: book(s) not in the archive: {', '.join(unknown)} "
                "(ingest them first, or fix the book_id)",
                exit_code=ExitCode.bad_data,
            )
        n = 0
        with archive.db.atomic():
            for book_id, meta in rows.items():
                n += records.set_book_metadata(archive, book_id, meta, who=who)
    finally:
        archive.close()
    click.echo(f"{len(rows)} book(s), {n} field(s) changed", err=True)
