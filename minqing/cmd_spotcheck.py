"""``minqing spotcheck``: an acceptance sample of OCR lines and an honest CER (issue 7)."""

from __future__ import annotations

import csv
import getpass
import json
import sys
from pathlib import Path

import click

from minqing.archive.errors import ArchiveError, BadCorrectionError
from minqing.archive.store import Archive
from minqing.errors import ExitCode, MinqingError
from minqing.options import archive_option
from minqing.review import spotcheck


def _open(archive_dir: Path, *, write: bool = False) -> Archive:
    try:
        return Archive(archive_dir, write=write)
    except ArchiveError as exc:
        raise MinqingError(str(exc), exit_code=ExitCode.archive_error) from exc


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.2f}%"


@click.group(name="spotcheck")
def command() -> None:
    """Draw an OCR quality sample, record transcriptions, report CER with a 95% CI."""


@command.command(name="new")
@archive_option
@click.option(
    "--book", "books", multiple=True, help="Books of the batch (repeatable; default: all)."
)
@click.option("--from", "date_from", help="Batch: entries dated from YYYY-MM-DD.")
@click.option("--to", "date_to", help="Batch: entries dated up to YYYY-MM-DD.")
@click.option(
    "--size", type=click.IntRange(min=1), help="Lines to draw (default: the sampling plan)."
)
@click.option(
    "--min-lines",
    type=click.IntRange(min=1),
    default=spotcheck.DEFAULT_MIN_LINES,
    show_default=True,
)
@click.option(
    "--fraction",
    type=click.FloatRange(0, 1, min_open=True),
    default=spotcheck.DEFAULT_FRACTION,
    show_default=True,
    help="At least this share of the lines and of the pages.",
)
@click.option(
    "--mode",
    type=click.Choice(["blind", "verify"]),
    default="blind",
    show_default=True,
    help="blind: engine text hidden; verify: shown, corrected.",
)
@click.option(
    "--threshold",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=spotcheck.DEFAULT_THRESHOLD,
    show_default=True,
    help="Pass when CER ≤ this.",
)
@click.option("--seed", type=int, help="Random seed (recorded; default: random).")
def new(
    archive_dir: Path,
    books: tuple[str, ...],
    date_from: str | None,
    date_to: str | None,
    size: int | None,
    min_lines: int,
    fraction: float,
    mode: str,
    threshold: float,
    seed: int | None,
) -> None:
    """Draw a random sample of lines, stratified by book and engine confidence.

    Default size: at least --min-lines lines and at least --fraction of the batch's
    lines and pages. Prints the sample id.

    \b
    Example:
        minqing spotcheck new --archive archive/ --book shiqiao-zhangwei --seed 1
    """
    archive = _open(archive_dir, write=True)
    try:
        sid = spotcheck.new_sample(
            archive,
            who=getpass.getuser(),
            books=books or None,
            date_from=date_from,
            date_to=date_to,
            size=size,
            min_lines=min_lines,
            fraction=fraction,
            mode=mode,
            threshold=threshold,
            seed=seed,
        )
        rep = spotcheck.report(archive, sid)
    except BadCorrectionError as exc:
        raise MinqingError(str(exc), exit_code=ExitCode.nothing_to_do) from None
    finally:
        archive.close()
    click.echo(sid)
    click.echo(
        f"sample {sid}: {rep['size']} lines on {rep['pages_sampled']} pages of a batch of "
        f"{rep['population_lines']} lines / {rep['population_pages']} pages ({mode}); "
        f"transcribe them in the web page /-/spotcheck/{sid} or with "
        f"`minqing spotcheck sheet {sid}` + `minqing spotcheck record {sid} --file FILE`",
        err=True,
    )


@command.command(name="list")
@archive_option
def list_cmd(archive_dir: Path) -> None:
    """List the samples with progress and verdict."""
    archive = _open(archive_dir)
    try:
        for s in spotcheck.list_samples(archive):
            click.echo(
                f"{s['sample_id']}\t{s['created_at']}\t{s['mode']}\t{s['recorded']}/{s['size']}\t"
                f"CER {_pct(s['cer'])} [{_pct(s['lo'])}, {_pct(s['hi'])}]\t{s['verdict']}"
            )
    finally:
        archive.close()


@command.command(name="sheet")
@click.argument("sample_id", type=int)
@archive_option
@click.option(
    "-o",
    "--output",
    "--out",
    "output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to FILE, not stdout.",
)
def sheet(sample_id: int, archive_dir: Path, output: Path | None) -> None:
    """A CSV to fill in: line_id, page image, box, transcription (engine text hidden
    in blind mode)."""
    archive = _open(archive_dir)
    try:
        view = spotcheck.sample_view(archive, sample_id)
    except BadCorrectionError as exc:
        raise MinqingError(str(exc), exit_code=ExitCode.bad_data) from None
    finally:
        archive.close()
    out = output.open("w", encoding="utf-8", newline="") if output else sys.stdout
    try:
        w = csv.writer(out)
        w.writerow(["line_id", "page_id", "box", "engine_text", "transcription"])
        for it in view["items"]:
            box = json.dumps([it["x0"], it["y0"], it["x1"], it["y1"]])
            w.writerow(
                [
                    it["line_id"],
                    it["page_id"],
                    box,
                    it["shown_text"] or "",
                    it["transcription"] or "",
                ]
            )
    finally:
        if output:
            out.close()


@command.command(name="record")
@click.argument("sample_id", type=int)
@archive_option
@click.option(
    "--file",
    "file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="CSV with columns line_id, transcription.",
)
@click.option("--who", default=None, help="Reviewer name (default: your login).")
def record(sample_id: int, archive_dir: Path, file: Path, who: str | None) -> None:
    """Record transcriptions of sampled lines (atomically; they also fix the archive).

    \b
    Example:
        minqing spotcheck record 3 --file transcriptions.csv --archive archive/
    """
    text = file.read_text(encoding="utf-8-sig")
    reader = csv.DictReader(text.splitlines())
    if not {"line_id", "transcription"} <= set(reader.fieldnames or ()):
        raise MinqingError(
            f"{file}: the header needs columns line_id and transcription "
            "(start from `minqing spotcheck sheet`)",
            exit_code=ExitCode.bad_data,
        )
    rows, labels = [], []
    for n, r in enumerate(reader, start=2):
        if (r.get("transcription") or "").strip():
            rows.append((r["line_id"].strip(), r["transcription"]))
            labels.append(f"{file} row {n}")
    archive = _open(archive_dir, write=True)
    try:
        n = spotcheck.record(archive, sample_id, rows, who=who or getpass.getuser(), labels=labels)
        rep = spotcheck.report(archive, sample_id)
    except BadCorrectionError as exc:
        raise MinqingError(f"{exc}; nothing was recorded", exit_code=ExitCode.bad_data) from None
    finally:
        archive.close()
    click.echo(
        f"{n} transcription(s) recorded; "
        f"{rep['recorded']}/{rep['size']} lines of sample {sample_id} done",
        err=True,
    )


@command.command(name="report")
@click.argument("sample_id", type=int)
@archive_option
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def report(sample_id: int, archive_dir: Path, as_json: bool) -> None:
    """Estimated CER with a 95% interval, per book, and pass/fail against the threshold.

    Exits 0 on pass, 3 on fail, 7 while transcriptions are missing.
    """
    archive = _open(archive_dir)
    try:
        rep = spotcheck.report(archive, sample_id)
    except BadCorrectionError as exc:
        raise MinqingError(str(exc), exit_code=ExitCode.bad_data) from None
    finally:
        archive.close()
    if as_json:
        click.echo(json.dumps(rep, ensure_ascii=False, indent=1))
    else:
        o = rep["overall"]
        click.echo(
            f"sample {sample_id} ({rep['mode']}): {rep['recorded']}/{rep['size']} lines recorded, "
            f"{o['chars']} characters, {o['errors']} errors"
        )
        straddles = not rep["confident"] and rep["verdict"] != "incomplete"
        click.echo(
            f"CER {_pct(o['cer'])}  95% CI [{_pct(o['lo'])}, {_pct(o['hi'])}]  "
            f"threshold {_pct(rep['threshold'])}  → {rep['verdict'].upper()}"
            + (" (the interval straddles the threshold)" if straddles else "")
        )
        click.echo(f"engine-only CER {_pct(rep['machine']['cer'])} (before any human correction)")
        for b in rep["books"]:
            click.echo(
                f"  {b['book_id']}\t{b['lines']}/{b['sampled']} lines\t"
                f"CER {_pct(b['cer'])} [{_pct(b['lo'])}, {_pct(b['hi'])}]\t{b['verdict'] or '—'}"
            )
        if rep["worst_books"]:
            click.echo("re-review or rescan first: " + ", ".join(rep["worst_books"]))
    if rep["verdict"] == "fail":
        sys.exit(ExitCode.input_failed)
    if rep["verdict"] == "incomplete":
        sys.exit(ExitCode.nothing_to_do)


@command.command(name="calibrate")
@archive_option
def calibrate(archive_dir: Path) -> None:
    """Relate engine confidence to real errors from all recorded samples; the review
    queue then orders pages by expected errors."""
    archive = _open(archive_dir, write=True)
    try:
        bins = spotcheck.calibrate(archive)
    finally:
        archive.close()
    if not bins:
        raise MinqingError(
            "no recorded spot-check lines yet: record a sample first",
            exit_code=ExitCode.nothing_to_do,
        )
    click.echo("confidence\tlines\tchars\terrors\tCER")
    for b in bins:
        click.echo(
            f"[{b['lo']:.2f}, {min(b['hi'], 1.0):.2f})\t"
            f"{b['lines']}\t{b['chars']}\t{b['errors']}\t{_pct(b['cer'])}"
        )
