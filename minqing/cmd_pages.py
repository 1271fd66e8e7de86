"""``minqing pages``: list archived pages and why they need a rescan."""

from __future__ import annotations

import json

import click

from minqing.archive import records
from minqing.archive.errors import ArchiveError
from minqing.archive.store import Archive
from minqing.errors import ExitCode, MinqingError
from minqing.options import archive_option


def _reasons(raw: str | None) -> str:
    """``blur=120.5, too_dark=87`` from the JSON object stored in ``quality_flags``."""
    try:
        flags = json.loads(raw or "{}")
    except ValueError:
        return f"(unreadable flags: {raw})"
    if isinstance(flags, list):  # tolerate [[name, value], ...]
        flags = {str(k): v for k, v in flags}
    return ", ".join(
        f"{name}={value:g}" if isinstance(value, int | float) else f"{name}={value}"
        for name, value in flags.items()
    )


@click.command(name="pages")
@archive_option
@click.option("--needs-rescan", is_flag=True, help="Only pages flagged for a rescan.")
@click.option("--book", "book_id", metavar="ID", default=None, help="Only pages of this book.")
def command(archive_dir, needs_rescan: bool, book_id: str | None) -> None:
    """List archived pages: book, page, quality reasons with measured values, source file.

    Output is tab-separated on stdout, one page a line, in book and page order:
    ``book  page  reasons  source``. With --needs-rescan and nothing to rescan, says so
    and exits 0; exits 7 when the archive (or the book) has no pages at all.

    \b
    Examples:
        minqing pages --archive archive/ --needs-rescan
        minqing pages --book shiqiao-liming
    """
    try:
        archive = Archive(archive_dir)
    except ArchiveError as e:
        raise MinqingError(str(e), exit_code=ExitCode.archive_error) from e
    with archive:
        rows = records.page_list(archive, needs_rescan=needs_rescan, book_id=book_id)
        checked = len(records.page_list(archive, book_id=book_id)) if not rows else 0
    if not rows and needs_rescan and checked:
        # a good outcome, not an error: every page of the archive (or book) is fine
        where = f" of book {book_id}" if book_id else ""
        click.echo(f"no page needs a rescan ({checked} page(s){where} checked)", err=True)
        return
    if not rows:
        what = "no pages need a rescan" if needs_rescan else "no pages"
        raise MinqingError(
            f"{archive_dir}: {what}" + (f" in book {book_id}" if book_id else ""),
            exit_code=ExitCode.nothing_to_do,
        )
    for row in rows:
        reasons = _reasons(row["quality_flags"]) or "-"
        click.echo(f"{row['book_id']}\t{row['page_no']}\t{reasons}\t{row['source_file'] or ''}")
