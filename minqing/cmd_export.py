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
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to FILE instead of stdout.",
)
def entries(archive_dir: Path, fmt: str, output: Path | None) -> None:
    """Export every entry: entry_id, book, page_start, page_end, date, category_code,
    category, text, follow_up_of, status, and more fields.

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
            out.write(export.csv_header())
        for rec in export.iter_entries(archive):
            out.write(export.to_csv_row(rec) if fmt == "csv" else export.to_jsonl(rec) + "\n")
    finally:
        archive.close()
        if output:
            out.close()
