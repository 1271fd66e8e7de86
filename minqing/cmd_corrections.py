"""``minqing corrections``: bulk corrections for offline work (issue 7)."""

from __future__ import annotations

import csv
import getpass
import json
import sys
from pathlib import Path

import click

from minqing.archive.errors import ArchiveError
from minqing.archive.store import Archive
from minqing.errors import ExitCode, MinqingError
from minqing.options import archive_option
from minqing.review import corrections

COLUMNS = ("target", "id", "field", "current", "new", "confidence", "context")

#: A spreadsheet reads a cell starting with one of these as a formula (=HYPERLINK(...)).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def escape_cell(value: object) -> str:
    """A CSV cell a spreadsheet shows as text: formula starts get a leading ``'``.

    A value that already starts with ``'`` gets one too, so :func:`unescape_cell` is exact.
    """
    text = "" if value is None else str(value)
    if text.startswith((*FORMULA_START, "'")):
        return "'" + text
    return text


def unescape_cell(text: str | None) -> str | None:
    """The value :func:`escape_cell` escaped (other text unchanged)."""
    if text and text.startswith("'") and text[1:].startswith((*FORMULA_START, "'")):
        return text[1:]
    return text


def _open(archive_dir: Path, *, write: bool = False) -> Archive:
    try:
        return Archive(archive_dir, write=write)
    except ArchiveError as exc:
        raise MinqingError(str(exc), exit_code=ExitCode.archive_error) from exc


@click.group(name="corrections")
def command() -> None:
    """Export correctable values to a file, edit it offline, import it back."""


@command.command(name="export")
@archive_option
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "jsonl"]), default="csv", show_default=True
)
@click.option(
    "--what", type=click.Choice(["lines", "entries", "all"]), default="all", show_default=True
)
@click.option("--book", "books", multiple=True, help="Only these books (repeatable).")
@click.option(
    "--max-confidence", type=float, default=None, help="Only lines the engine was less sure of."
)
@click.option(
    "-o",
    "--output",
    "--out",
    "output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to FILE, not stdout.",
)
def export_cmd(
    archive_dir: Path,
    fmt: str,
    what: str,
    books: tuple[str, ...],
    max_confidence: float | None,
    output: Path | None,
) -> None:
    """Write one row per correctable value: target, id, field, current, new.

    In CSV, a cell starting with = + - @ (or a tab, CR, or ') is written with a leading
    ' so that a spreadsheet shows it as text, never runs it as a formula; import
    removes that ' again.

    Fill in ``new`` where the value is wrong and import the file back; rows with an
    empty ``new`` are ignored. ``current`` is checked on import: a value someone
    changed in the meantime is reported, not overwritten.

    \b
    Example:
        minqing corrections export --archive archive/ --max-confidence 0.9 -o fix.csv
    """
    archive = _open(archive_dir)
    out = output.open("w", encoding="utf-8", newline="") if output else sys.stdout
    try:
        writer = csv.writer(out) if fmt == "csv" else None
        if writer:
            writer.writerow(COLUMNS)
        for row in corrections.correctable_rows(
            archive, what=what, books=books or None, max_confidence=max_confidence
        ):
            if writer:
                writer.writerow([escape_cell(row[c]) for c in COLUMNS])
            else:
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
    finally:
        archive.close()
        if output:
            out.close()


def read_rows(path: Path) -> list[tuple[int, dict]]:
    """(row number, row) pairs of a CSV (header = row 1) or JSONL file."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise MinqingError(
            f"{path}: not UTF-8 text (save it as UTF-8 CSV or JSON Lines)",
            exit_code=ExitCode.bad_data,
        ) from None
    rows: list[tuple[int, dict]] = []
    if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        for n, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise MinqingError(
                    f"{path} line {n}: not JSON ({exc.msg}); fix that line",
                    exit_code=ExitCode.bad_data,
                ) from None
            if not isinstance(obj, dict):
                raise MinqingError(
                    f"{path} line {n}: expected a JSON object", exit_code=ExitCode.bad_data
                )
            rows.append((n, obj))
    else:
        reader = csv.DictReader(text.splitlines())
        missing = {"target", "id", "field", "new"} - set(reader.fieldnames or ())
        if missing:
            raise MinqingError(
                f"{path}: the header lacks column(s) {', '.join(sorted(missing))} "
                "(export a file with `minqing corrections export` and edit that)",
                exit_code=ExitCode.bad_data,
            )
        for n, row in enumerate(reader, start=2):
            # undo the export's formula escaping (`'=...` -> `=...`)
            rows.append((n, {k: unescape_cell(v) for k, v in row.items()}))
    return rows


@command.command(name="import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@archive_option
@click.option(
    "--who", default=None, help="Reviewer name for the audit trail (default: your login)."
)
def import_cmd(file: Path, archive_dir: Path, who: str | None) -> None:
    """Apply a corrections file (CSV or JSONL) atomically: all rows or none.

    Every row is validated (known id, valid value, ``current`` still current); the
    first bad row is named and nothing is changed. Rows with an empty ``new`` are
    skipped; ``-`` in ``new`` clears a date or says "not a follow-up".

    \b
    Example:
        minqing corrections import fix.csv --archive archive/
    """
    who = who or getpass.getuser() or "offline"
    changes, labels = [], []
    for n, row in read_rows(file):
        unit = "line" if file.suffix.lower() in (".jsonl", ".ndjson", ".json") else "row"
        label = f"{file} {unit} {n}"
        new = row.get("new")
        if new is None or str(new).strip() == "":
            continue  # not filled in
        if str(row.get("field")) in ("date", "follow_up_of") and str(new).strip().lower() in (
            "-",
            "none",
        ):
            new = ""  # clear the date / "not a follow-up"
        try:
            changes.append(
                corrections.Change(
                    str(row.get("target") or "").strip(),
                    str(row.get("id") or "").strip(),
                    str(row.get("field") or "").strip(),
                    str(new),
                    None if row.get("current") is None else str(row["current"]),
                )
            )
        except ValueError as exc:
            raise MinqingError(
                f"{label}: {exc}; nothing was imported", exit_code=ExitCode.bad_data
            ) from None
        labels.append(label)
    archive = _open(archive_dir, write=True)
    try:
        n = corrections.apply_changes(archive, changes, who=who, labels=labels)
    except corrections.ChangeError as exc:
        raise MinqingError(f"{exc}; nothing was imported", exit_code=ExitCode.bad_data) from None
    finally:
        archive.close()
    click.echo(f"{n} correction(s) applied from {len(changes)} filled row(s) of {file}", err=True)
