"""``minqing export``: data out of the archive."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from minqing.archive import export
from minqing.archive.errors import ArchiveError
from minqing.archive.store import Archive
from minqing.errors import ExitCode, MinqingError
from minqing.options import archive_option


@click.group(name="export")
def command() -> None:
    """Export archive data (entries) as JSON Lines or CSV."""


@command.command(name="entries")
@archive_option
@click.option(
    "--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True
)
@click.option(
    "-o",
    "--output",
    "--out",
    "output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to FILE instead of stdout.",
)
def entries(archive_dir: Path, fmt: str, output: Path | None) -> None:
    """Export every entry: entry_id, book, page_start, page_end, date, category_code,
    category, text, follow_up_of, status, and more fields.

    CSV starts with a UTF-8 byte order mark (so Excel shows the Chinese) and writes
    true/false as 1/0.

    \b
    Example:
        minqing export entries --archive archive/ --format jsonl -o entries.jsonl
    """
    try:
        archive = Archive(archive_dir)
    except ArchiveError as exc:
        raise MinqingError(str(exc), exit_code=ExitCode.archive_error) from exc
    out = output.open("w", encoding="utf-8", newline="") if output else sys.stdout
    try:
        if fmt == "csv":
            out.write(export.CSV_BOM + export.csv_header())
        for rec in export.iter_entries(archive):
            out.write(export.to_csv_row(rec) if fmt == "csv" else export.to_jsonl(rec) + "\n")
    finally:
        archive.close()
        if output:
            out.close()


@command.command(name="pages")
@archive_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(export.PAGE_FORMATS),
    default="page",
    show_default=True,
    help="page: PAGE XML 2019-07-15 (Transkribus, eScriptorium, OCR-D); alto: ALTO 4.4.",
)
@click.option("--book", "books", multiple=True, help="Only these books (repeatable).")
@click.option(
    "-o",
    "--output",
    "--out",
    "output",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write into folder DIR (default: ./export-page or ./export-alto).",
)
def pages(archive_dir: Path, fmt: str, books: tuple[str, ...], output: Path | None) -> None:
    """Export every page as PAGE XML or ALTO: one file per page, BOOK/NNNN.xml, with
    each line's polygon, bounding box, text (corrected where corrected) and confidence,
    in pixels of the archived page image.

    Corrected PAGE files can come back with `minqing import page DIR`.

    \b
    Example:
        minqing export pages --archive archive/ --format page -o page-xml/
    """
    import datetime as dt

    try:
        archive = Archive(archive_dir)
    except ArchiveError as exc:
        raise MinqingError(str(exc), exit_code=ExitCode.archive_error) from exc
    out = output or Path(f"export-{fmt}")
    created = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    write = export.to_page_xml if fmt == "page" else export.to_alto_xml
    n = lines = 0
    try:
        for page in export.iter_pages(archive, books or None):
            dest = out / export.page_file_name(page)
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(write(page, created))
            n += 1
            lines += len(page["lines"])
    finally:
        archive.close()
    click.echo(f"{n} page(s), {lines} line(s) written as {fmt.upper()} XML into {out}/", err=True)
