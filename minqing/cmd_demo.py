"""``minqing demo``: the bundled sample notebooks, ingested and served."""

from __future__ import annotations

import shutil
from pathlib import Path

import click

from minqing.archive.store import Archive
from minqing.cmd_ingest import default_workers, read_manifest
from minqing.cmd_serve import serve
from minqing.errors import ExitCode, MinqingError
from minqing.paths import samples_dir
from minqing.pipeline import run_ingest
from minqing.web.server import PortInUseError, bind

#: The file that marks a folder as made by ``minqing demo`` (the only kind it deletes).
MARKER = ".minqing-demo"


def clear_demo_folder(archive_dir: Path) -> None:
    """Empty ``archive_dir`` for a fresh demo, deleting only what ``minqing demo`` made.

    A missing or empty folder is fine; a folder holding :data:`MARKER` is a demo archive
    and is deleted; anything else (a real archive, someone's files) is refused.
    """
    if not archive_dir.exists():
        return
    if not archive_dir.is_dir():
        raise MinqingError(
            f"{archive_dir} is a file, not a demo archive: refusing to replace it "
            "(choose another --archive folder)",
            exit_code=ExitCode.refused,
        )
    if not any(archive_dir.iterdir()):
        return
    if not (archive_dir / MARKER).is_file() or archive_dir.is_symlink():
        raise MinqingError(
            f"{archive_dir} is not empty and was not made by `minqing demo`: refusing to delete "
            "it (choose another --archive folder, or an empty one)",
            exit_code=ExitCode.refused,
        )
    shutil.rmtree(archive_dir)


@click.command(name="demo")
@click.option(
    "--archive",
    "archive_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("minqing-demo-archive"),
    show_default=True,
    help="Archive folder to (re)create: empty, new, or made by an earlier demo.",
)
@click.option("--port", default=8001, show_default=True, type=click.IntRange(0, 65535))
@click.option("--no-serve", is_flag=True, help="Ingest only; do not start Datasette.")
def command(archive_dir: Path, port: int, no_serve: bool) -> None:
    """Ingest the bundled sample notebooks into a fresh archive and serve it.

    \b
    Example:
        minqing demo            # then open the printed URL
    """
    clear_demo_folder(archive_dir)
    if not no_serve:  # a busy port is said before minutes of ingest, not after
        try:
            bind("127.0.0.1", port).close()
        except PortInUseError as exc:
            raise MinqingError(str(exc), exit_code=ExitCode.refused) from exc
    samples = samples_dir()
    books = sorted(p for p in samples.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))
    click.echo(f"Ingesting {len(books)} sample notebook(s) from {samples} ...", err=True)
    archive = Archive(archive_dir, create=True)
    (archive_dir / MARKER).write_text(
        "made by `minqing demo`; `minqing demo` may delete this folder\n", encoding="utf-8"
    )
    try:
        manifest = samples / "books.csv"
        summary = run_ingest(
            books,
            archive,
            workers=default_workers(),
            manifest=read_manifest(manifest) if manifest.exists() else None,
        )
    finally:
        archive.close()
    click.echo(f"{summary.pages} pages, {summary.entries} entries in {archive_dir}", err=True)
    if no_serve:
        return

    def ready(url: str) -> None:
        click.echo(
            f"\nminqing demo is ready: {url}\n"
            f"Type 饮水 or 土地承包 into the search box. Ctrl-C stops it."
        )

    serve(archive_dir, "127.0.0.1", port, on_ready=ready)
