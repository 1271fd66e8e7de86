"""``minqing compile``: a compiled volume (汇编成册) of a period as a Word document."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import click

from minqing.archive.errors import ArchiveError, NothingToCompileError
from minqing.archive.store import Archive
from minqing.classify.types import CATEGORIES, STATUSES
from minqing.errors import ExitCode, MinqingError
from minqing.options import archive_option
from minqing.volumes.compile import archive_span, compile_volume, parse_period

#: show a progress bar from this many matters on (small volumes take a second)
PROGRESS_FROM = 300


def _category(
    ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> tuple[int, ...]:
    by_name = {name: code for code, name in CATEGORIES.items()}
    out = []
    for v in values:
        v = v.strip()
        if v.isdigit() and int(v) in CATEGORIES:
            out.append(int(v))
        elif v in by_name:
            out.append(by_name[v])
        else:
            raise click.BadParameter(
                f"{v!r} is not a category: use 1–8 or a name such as 农村矛盾纠纷"
            )
    return tuple(out)


def _status(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> tuple[str, ...]:
    labels = set(STATUSES.values()) | {"未办结", "已办结"}
    for v in values:
        if v not in ("open", "closed", *STATUSES) and v not in labels:
            raise click.BadParameter(
                f"{v!r} is not a status: use open, closed, {', '.join(STATUSES)} or 已解决 …"
            )
    return values


def _out(ctx: click.Context, param: click.Parameter, value: Path) -> Path:
    if value.suffix.lower() != ".docx":
        raise click.BadParameter(f"{value}: the volume is a Word file; give a name ending in .docx")
    return value


@click.command(name="compile")
@archive_option
@click.option(
    "--period", help="A year (2024), quarter (2024Q3), half-year (2024H1) or month (2024-07)."
)
@click.option(
    "--from", "date_from", type=click.DateTime(["%Y-%m-%d"]), help="First day (YYYY-MM-DD)."
)
@click.option("--to", "date_to", type=click.DateTime(["%Y-%m-%d"]), help="Last day, included.")
@click.option("--township", multiple=True, help="Only this township (repeatable).")
@click.option("--village", multiple=True, help="Only this village (repeatable).")
@click.option("--cadre", multiple=True, help="Only matters recorded by this cadre (repeatable).")
@click.option(
    "--category", multiple=True, callback=_category, help="Category 1–8 or its name (repeatable)."
)
@click.option(
    "--status",
    multiple=True,
    callback=_status,
    help="open, closed, recorded, in_progress, escalated, resolved, explained (repeatable).",
)
@click.option("--title", help="Volume title (default: e.g. 石桥镇民情日记汇编（2024年第三季度）).")
@click.option("--unit", help="Compiling unit on the cover (default: the township).")
@click.option(
    "--all",
    "whole",
    is_flag=True,
    help="The whole archive: from its first to its last dated entry.",
)
@click.option("--with-images", is_flag=True, help="Embed thumbnails of the handwriting.")
@click.option(
    "--fonts",
    type=click.Choice(["gb", "linux"]),
    default="gb",
    show_default=True,
    help="gb: the GB/T 9704 fonts (Word with them installed); linux: Debian's Noto CJK and "
    "AR PL fonts per style (LibreOffice), the GB fonts kept as Word's alternates.",
)
@click.option(
    "-o",
    "--output",
    "--out",
    "out",
    required=True,
    callback=_out,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The .docx file to write.",
)
@click.option(
    "--exact-pages/--estimated-pages",
    default=None,
    help="Check the contents' page numbers by laying the volume out with LibreOffice "
    "(default when LibreOffice is installed), or keep the compiler's estimate.",
)
@click.option(
    "--pdf",
    "pdf_out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the volume as a PDF (laid out by LibreOffice, contents checked).",
)
@click.option("-s", "--silent", is_flag=True, help="No progress bar.")
def command(
    archive_dir: Path,
    period: str | None,
    date_from: dt.datetime | None,
    date_to: dt.datetime | None,
    township: tuple[str, ...],
    village: tuple[str, ...],
    cadre: tuple[str, ...],
    category: tuple[int, ...],
    status: tuple[str, ...],
    title: str | None,
    unit: str | None,
    whole: bool,
    with_images: bool,
    fonts: str,
    out: Path,
    exact_pages: bool | None,
    pdf_out: Path | None,
    silent: bool,
) -> None:
    """Compile the entries of a period into a Word volume (汇编成册).

    The volume has a cover, a table of contents, an overview with statistics
    (by category, by village, by status, and each cadre's weeks against the
    one-entry-a-week minimum), then every matter by township, village and
    category with its follow-ups, laid out after GB/T 9704-2012.

    \b
    Examples:
        minqing compile --archive archive/ --period 2024Q3 --out 2024Q3.docx
        minqing compile --period 2024 --township 石桥镇 --status open --out open.docx
        minqing compile --all -o whole-archive.docx --pdf whole-archive.pdf
        minqing compile --from 2024-07-01 --to 2024-07-31 --village 杨树沟村 \\
            --with-images --out 杨树沟村-7月.docx
    """
    from minqing.volumes import pages

    if pdf_out is not None and pdf_out.suffix.lower() != ".pdf":
        raise click.BadParameter(f"{pdf_out}: give a name ending in .pdf", param_hint="--pdf")
    if (pdf_out is not None or exact_pages) and pages.soffice() is None:
        raise click.UsageError(
            "--pdf and --exact-pages need LibreOffice to lay the volume out, and it is not "
            "installed: install it (Debian: apt-get install libreoffice-writer) or leave "
            "the option out"
        )
    if sum(map(bool, (period, date_from or date_to, whole))) > 1:
        raise click.UsageError("give either --period or --from/--to (or --all), not both")
    if whole:
        start = end = None
    elif period:
        try:
            p = parse_period(period)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--period") from exc
        start, end = p.start, p.end
    elif date_from and date_to:
        start, end = date_from.date(), date_to.date()
        if end < start:
            raise click.BadParameter(f"--to {end} is before --from {start}", param_hint="--to")
    else:
        raise click.UsageError(
            "give the period: --period 2024Q3, --from DATE and --to DATE, or --all"
        )

    try:
        archive = Archive(archive_dir)
    except ArchiveError as exc:
        raise MinqingError(str(exc), exit_code=ExitCode.archive_error) from exc
    if whole:
        span = archive_span(archive)
        if span is None:
            archive.close()
            raise MinqingError(
                f"{archive_dir}: no dated entries, so there is no span to compile",
                exit_code=ExitCode.nothing_to_do,
            )
        start, end = span
    assert start is not None and end is not None  # a period, dates or --all (checked above)

    bar = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if silent or total < PROGRESS_FROM or not sys.stderr.isatty():
            return
        if bar is None:
            bar = click.progressbar(length=total, label="Compiling", file=sys.stderr)
            bar.__enter__()
        bar.update(done - bar.pos)

    try:
        stats = compile_volume(
            archive,
            out,
            date_from=start,
            date_to=end,
            townships=township,
            villages=village,
            cadres=cadre,
            categories=category,
            statuses=status,
            title=title,
            unit=unit,
            with_images=with_images,
            fonts=fonts,
            progress=progress,
        )
    except NothingToCompileError as exc:
        raise MinqingError(str(exc), exit_code=ExitCode.nothing_to_do) from exc
    except ArchiveError as exc:
        raise MinqingError(str(exc), exit_code=ExitCode.archive_error) from exc
    except OSError as exc:
        raise MinqingError(
            f"{out}: cannot write the volume ({exc.strerror or exc}); choose another --out",
            exit_code=ExitCode.bad_data,
        ) from exc
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
        archive.close()
    msg = (
        f"Wrote {stats.out_path}: {stats.title}, {stats.entries} entries, "
        f"{stats.matters} matters, {stats.villages} villages, {stats.cadres} cadres"
    )
    if with_images:
        msg += f", {stats.images} images"
        if stats.missing_images:
            msg += f" ({stats.missing_images} page images missing)"
    click.echo(msg + f" in {stats.seconds:.1f} s", err=True)
    _check_pages(stats.out_path, stats.contents, exact_pages, pdf_out, silent)
    if stats.undated_entries:
        click.echo(
            f"Warning: {stats.undated_entries} entries have no date and are in no volume; "
            "correct their dates in the review pages",
            err=True,
        )


def _check_pages(
    out: Path,
    contents: list[tuple[int, str, str]],
    exact: bool | None,
    pdf_out: Path | None,
    silent: bool,
) -> None:
    """Correct the contents' page numbers with LibreOffice's layout (and write the PDF)."""
    import time

    from minqing.volumes import pages

    if exact is False and pdf_out is None:
        return
    if pages.soffice() is None:  # exact by default only where LibreOffice is installed
        click.echo(
            "Note: the contents' page numbers are estimates (LibreOffice is not installed to "
            "check them); Word corrects them when the file is opened",
            err=True,
        )
        return
    if not silent:
        click.echo("Laying the volume out with LibreOffice to check the contents…", err=True)
    t0 = time.perf_counter()
    try:
        check = pages.fix_contents_pages(out, contents, pdf_out)
    except pages.LayoutError as exc:
        if pdf_out is not None:
            raise MinqingError(
                f"{pdf_out}: not written: {exc}; the Word file {out} is complete",
                exit_code=ExitCode.bad_data,
            ) from exc
        click.echo(
            f"Warning: the contents' page numbers are estimates: {exc}; Word corrects them "
            "when the file is opened",
            err=True,
        )
        return
    msg = (
        f"Contents checked against LibreOffice's layout: {check.found} of {check.headings} "
        f"headings found, {check.changed} page numbers corrected"
    )
    if check.pdf is not None:
        msg += f"; wrote {check.pdf}"
    click.echo(msg + f" ({time.perf_counter() - t0:.1f} s)", err=True)
