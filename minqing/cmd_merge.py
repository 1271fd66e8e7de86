"""``minqing merge``: combine county archives into one city or province archive (issue 16)."""

from __future__ import annotations

import time
from pathlib import Path

import click

from minqing.archive.errors import ArchiveError
from minqing.archive.merge import MergeConflictError, merge, sources_from
from minqing.archive.store import Archive
from minqing.errors import ExitCode, MinqingError


def _prefixes(values: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for v in values:
        src, sep, pfx = v.partition("=")
        if not sep or not src or not pfx:
            raise click.BadParameter(
                f"{v!r}: write SRC=PFX, e.g. hexi=hexi-", param_hint="--prefix"
            )
        out[src] = pfx
    return out


@click.command(name="merge")
@click.argument(
    "sources",
    nargs=-1,
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
)
@click.option(
    "--into",
    "dest",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="the archive to merge into (created when missing)",
)
@click.option(
    "--prefix",
    "prefixes",
    multiple=True,
    metavar="SRC=PFX",
    help="prepend PFX to every book id of source SRC (its folder or folder name); "
    "needed when two archives hold the same book id",
)
@click.option("-s", "--silent", is_flag=True, help="print nothing but errors")
def command(sources: tuple[Path, ...], dest: Path, prefixes: tuple[str, ...], silent: bool) -> None:
    """Merge county archives SOURCES into one archive (books, pages, images, entries,
    links, matters, corrections and the audit trail, each row keeping its origin).

    Idempotent: merging an archive again writes only what changed in it. Book ids held
    by two archives are refused (nothing written) unless one is given a prefix. Web
    accounts are not merged: each archive keeps its own.

    \b
    Example:
        minqing merge hexi/ qingshan/ --into city/
        minqing merge hexi/ qingshan/ --into city/ --prefix qingshan=qs-
    """
    t0 = time.perf_counter()
    try:
        srcs = sources_from(sources, _prefixes(prefixes))
        with Archive(dest, create=True) as archive:
            reports = merge(archive, srcs)
    except MergeConflictError as exc:
        raise MinqingError(str(exc), exit_code=ExitCode.refused) from exc
    except ArchiveError as exc:
        raise MinqingError(str(exc), exit_code=ExitCode.archive_error) from exc
    if silent:
        return
    for r in reports:
        audit = ", ".join(f"{k} {v}" for k, v in r.audit_rows.items())
        click.echo(
            f"{r.origin}: {r.books} book(s) merged, {r.books_unchanged} unchanged, "
            f"{r.entries} entries, {r.pages} pages, {r.images_copied} image(s) copied; "
            f"audit rows: {audit}",
            err=True,
        )
    click.echo(
        f"{dest}: merged {len(reports)} archive(s) in {time.perf_counter() - t0:.1f} s", err=True
    )
