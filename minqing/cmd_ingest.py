"""``minqing ingest``: the main job."""

from __future__ import annotations

import csv
import errno
import os
import sqlite3
import sys
from pathlib import Path

import click

from minqing import ocr
from minqing.archive.errors import ArchiveBusyError
from minqing.archive.store import Archive
from minqing.classify.model import CategoryModelError
from minqing.errors import ExitCode, MinqingError
from minqing.ingest.errors import InputNotFoundError, NoScansError
from minqing.options import archive_option
from minqing.pipeline import EngineConfigError, IngestSummary, run_ingest

MANIFEST_FIELDS = ("book_id", "cadre", "post", "township", "village", "period", "title")


def read_manifest(path: Path) -> dict[str, dict[str, str]]:
    """Read ``books.csv`` (book_id, cadre, post, township, village, period, title).

    Missing columns stay empty; an unknown column or a row without ``book_id`` is an
    error naming the row.
    """
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        unknown = [c for c in reader.fieldnames or [] if c not in MANIFEST_FIELDS]
        if "book_id" not in (reader.fieldnames or []) or unknown:
            raise MinqingError(
                f"{path}: manifest columns must be among {', '.join(MANIFEST_FIELDS)} "
                "and include book_id" + (f"; unknown: {', '.join(unknown)}" if unknown else ""),
                exit_code=ExitCode.bad_data,
            )
        out: dict[str, dict[str, str]] = {}
        for n, row in enumerate(reader, start=2):
            book = (row.get("book_id") or "").strip()
            if not book:
                raise MinqingError(f"{path}: row {n} has no book_id", exit_code=ExitCode.bad_data)
            out[book] = {k: v.strip() for k, v in row.items() if k != "book_id" and v and v.strip()}
        return out


def parse_engine_options(options: tuple[str, ...]) -> dict[str, object]:
    """``KEY=VALUE`` strings to engine parameters (true/false, integers, floats, text)."""
    params: dict[str, object] = {}
    for opt in options:
        key, sep, raw = opt.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{opt!r} is not KEY=VALUE", param_hint="--engine-option")
        value: object = raw.strip()
        low = raw.strip().lower()
        if low in ("true", "yes", "on"):
            value = True
        elif low in ("false", "no", "off"):
            value = False
        else:
            for conv in (int, float):
                try:
                    value = conv(raw)
                    break
                except ValueError:
                    pass
        params[key.strip()] = value
    return params


def default_workers() -> int:
    """The number of cores available to this process."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


@click.command(name="ingest")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@archive_option
@click.option("--engine", "engine_name", default="rapidocr", show_default=True, help="OCR engine.")
@click.option(
    "--engine-option",
    "engine_options",
    multiple=True,
    metavar="KEY=VALUE",
    help="Engine parameter (repeatable), e.g. pad=false. Part of the OCR cache key.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Parallel processes (default: number of cores).",
)
@click.option(
    "--cluster",
    metavar="ADDRESS",
    default=None,
    help="Send reading and OCR to a Dask cluster: tcp://HOST:8786 (a running `dask "
    "scheduler`) or local:N (N worker processes here). Needs minqing[cluster].",
)
@click.option(
    "--manifest",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="books.csv with book metadata.",
)
@click.option("--cadre", help="Cadre who kept the notebook(s) (for all PATHs).")
@click.option("--township", help="Township (for all PATHs).")
@click.option("--village", help="Village (for all PATHs).")
@click.option("-q", "--quiet", "-s", "--silent", is_flag=True, help="No progress bar.")
def command(
    paths: tuple[Path, ...],
    archive_dir: Path,
    engine_name: str,
    engine_options: tuple[str, ...],
    workers: int | None,
    cluster: str | None,
    manifest: Path | None,
    cadre: str | None,
    township: str | None,
    village: str | None,
    quiet: bool,
) -> None:
    """Ingest scanned notebooks: pages, OCR, entries, archive.

    PATH is a folder of page images (one notebook, pages in natural sort order),
    a folder of such folders, or a PDF. The book id is the folder name or PDF stem.
    Re-running on the same input redoes no OCR; files that failed are retried.
    Bad files are reported one per line; the rest of the batch goes on and the exit
    code is 3 when any file failed (7: no scans found; 8: another ingest is writing
    the archive; 4: the archive cannot be written, e.g. the disk is full).

    \b
    Example:
        minqing ingest scans/2024/ --archive archive/ --manifest books.csv
        minqing ingest scans/2024/ --archive archive/ --cluster tcp://10.0.0.5:8786
    """
    meta = read_manifest(manifest) if manifest else {}
    cli_meta = {
        k: v for k, v in {"cadre": cadre, "township": township, "village": village}.items() if v
    }
    executor = None
    if cluster:
        from minqing.cluster import ClusterUnavailableError, DaskExecutor

        try:
            executor = DaskExecutor(cluster)
        except ClusterUnavailableError as exc:
            raise MinqingError(str(exc), exit_code=ExitCode.engine_error) from exc
    try:
        # the writer lock: a second ingest into this archive is refused with one line
        archive = Archive(archive_dir, create=True, writer=True)
    except ArchiveBusyError as exc:
        raise MinqingError(str(exc), exit_code=ExitCode.refused) from exc
    except (OSError, sqlite3.Error) as exc:
        raise MinqingError(
            _archive_problem(archive_dir, exc), exit_code=ExitCode.archive_error
        ) from exc
    show = not quiet and sys.stderr.isatty()
    bar = None

    def progress(event: str, n: int, detail: str) -> None:
        nonlocal bar
        if event == "files":
            if show:
                bar = click.progressbar(length=n, label="Ingesting", file=sys.stderr, show_pos=True)
                bar.__enter__()
        elif event == "file" and bar is not None:
            bar.update(n)
        elif event == "error":
            if bar is not None:
                click.echo("", err=True)
            click.secho(f"error: {detail}", err=True, fg="red")

    try:
        if cli_meta:
            from minqing.ingest import discover

            for book in discover(paths):
                meta.setdefault(book.book_id, {}).update(cli_meta)
        summary = run_ingest(
            paths,
            archive,
            engine_name=engine_name,
            engine_params=parse_engine_options(engine_options),
            workers=workers or default_workers(),
            manifest=meta,
            progress=progress,
            executor=executor,
        )
    except NoScansError as exc:
        raise MinqingError(str(exc), exit_code=ExitCode.nothing_to_do) from exc
    except InputNotFoundError as exc:
        raise MinqingError(str(exc), exit_code=ExitCode.input_failed) from exc
    except (ocr.EngineUnavailableError, ocr.UnknownEngineError) as exc:
        raise MinqingError(str(exc), exit_code=ExitCode.engine_error) from exc
    except CategoryModelError as exc:
        raise MinqingError(str(exc), exit_code=ExitCode.bad_data) from exc
    except EngineConfigError as exc:
        raise MinqingError(str(exc), exit_code=ExitCode.bad_data) from exc
    except (OSError, sqlite3.Error) as exc:
        # the archive itself failed (disk full, read-only, I/O error): what was committed
        # before stays; the run's last book is rolled back and redone next time
        raise MinqingError(
            _archive_problem(archive_dir, exc), exit_code=ExitCode.archive_error
        ) from exc
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
        archive.close()
        if executor is not None:
            executor.shutdown()  # again: idempotent, and covers an error before the run
    _report(summary, archive_dir, quiet)
    if summary.failed:
        sys.exit(ExitCode.input_failed)


def _archive_problem(archive_dir: Path, exc: BaseException) -> str:
    """One line for a failure of the archive folder or database itself."""
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    try:  # SQLite reports a full disk as "disk I/O error" when its WAL index cannot grow
        st = os.statvfs(archive_dir)
        full = st.f_bavail * st.f_frsize < 1 << 20
    except OSError:
        full = False
    if full or getattr(exc, "errno", None) == errno.ENOSPC or "full" in text.lower():
        if full and "full" not in text.lower() and "space" not in text.lower():
            text = f"the disk is full ({text})"
        hint = "free disk space, then run the same command again: nothing archived was lost"
    elif (
        getattr(exc, "errno", None) in (errno.EROFS, errno.EACCES, errno.EPERM)
        or "readonly" in text
    ):
        hint = "the archive folder must be writable by you"
    else:
        hint = "check the disk, then run the same command again"
    return f"{archive_dir}: cannot write the archive: {text} ({hint})"


def _report(s: IngestSummary, archive_dir: Path, quiet: bool) -> None:
    ocr_note = (
        f"{s.pages_ocr} OCR'd, {s.pages_cached} from the OCR cache (no OCR redone)"
        if s.pages_cached and not s.pages_ocr
        else f"{s.pages_ocr} OCR'd, {s.pages_cached} from the OCR cache"
    )
    click.echo(
        f"{s.books} book(s), {s.pages} page(s): {ocr_note}; "
        f"files ok {s.files_ok + s.files_unchanged}, failed {s.files_failed}, "
        f"duplicate pages {s.duplicate_pages}; "
        f"{s.entries} entries in {archive_dir} ({s.seconds:.1f} s)",
        err=True,
    )
    if s.failed:
        click.echo(
            f"{s.files_failed} file(s) failed: fix or rescan them and run the same command again.",
            err=True,
        )
