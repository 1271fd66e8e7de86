"""``minqing demo``: the bundled sample notebooks, ingested and served."""

from __future__ import annotations

import shutil
from pathlib import Path

import click

from minqing.archive.store import Archive
from minqing.cmd_ingest import default_workers, read_manifest
from minqing.cmd_serve import serve
from minqing.paths import samples_dir
from minqing.pipeline import run_ingest


@click.command(name="demo")
@click.option(
    "--archive",
    "archive_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("minqing-demo-archive"),
    show_default=True,
    help="Archive folder to (re)create.",
)
@click.option("--port", default=8001, show_default=True, type=click.IntRange(0, 65535))
@click.option("--no-serve", is_flag=True, help="Ingest only; do not start Datasette.")
def command(archive_dir: Path, port: int, no_serve: bool) -> None:
    """Ingest the bundled sample notebooks into a fresh archive and serve it.

    \b
    Example:
        minqing demo            # then open the printed URL
    """
    if archive_dir.exists():
        shutil.rmtree(archive_dir)
    samples = samples_dir()
    books = sorted(p for p in samples.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))
    click.echo(f"Ingesting {len(books)} sample notebook(s) from {samples} ...", err=True)
    archive = Archive(archive_dir, create=True)
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
