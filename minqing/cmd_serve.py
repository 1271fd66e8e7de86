"""``minqing serve``: the archive in Datasette."""

from __future__ import annotations

import ipaddress
import os
import socket
from pathlib import Path

import click

from minqing.archive.errors import ArchiveError
from minqing.archive.store import Archive
from minqing.errors import ExitCode, MinqingError
from minqing.options import archive_option
from minqing.paths import datasette_dir
from minqing.web.access import users_configured, web_secret


def is_loopback(host: str) -> bool:
    """True when ``host`` only listens on this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        try:
            return ipaddress.ip_address(socket.gethostbyname(host)).is_loopback
        except OSError:
            return False


def make_datasette(archive_dir: Path):
    """A Datasette instance over the archive with minqing's configuration directory.

    ``$MINQING_DATASETTE_DIR`` names another configuration directory (a site's own
    copy of ``datasette/`` with changed templates or metadata).
    """
    from datasette.app import Datasette

    archive = Archive(archive_dir)  # raises when there is no archive
    db_path = archive.db_path
    archive.close()
    return Datasette(
        [str(db_path)],
        config_dir=Path(os.environ.get("MINQING_DATASETTE_DIR") or datasette_dir()),
        # logins survive a restart: the signing secret lives next to archive.db
        secret=web_secret(archive_dir),
    )


def has_users(archive_dir: Path) -> bool:
    """True when the archive at ``archive_dir`` has web users configured."""
    with Archive(archive_dir) as archive:
        return users_configured(archive.db)


def serve(archive_dir: Path, host: str, port: int, *, on_ready=None) -> None:
    """Run Datasette on the archive until interrupted."""
    import uvicorn
    from datasette.cli import run_sync

    ds = make_datasette(archive_dir)
    run_sync(ds.invoke_startup)
    if on_ready:
        on_ready(f"http://{host}:{port}/archive/entries")
    uvicorn.run(ds.app(), host=host, port=port, log_level="warning", lifespan="on", workers=1)


@click.command(name="serve")
@archive_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", default=8001, show_default=True, type=click.IntRange(0, 65535), help="Port."
)
def command(archive_dir: Path, host: str, port: int) -> None:
    """Serve the archive in Datasette (search, facets, entries, pages).

    Listens on this machine only unless users are configured (see
    `minqing users add`): with users, every page needs a login; without, the
    archive is a local single-user archive that needs none.

    \b
    Example:
        minqing serve --archive archive/ --port 8001
    """
    try:
        users = has_users(archive_dir)
    except ArchiveError as exc:
        raise MinqingError(str(exc), exit_code=ExitCode.archive_error) from exc
    if not is_loopback(host) and not users:
        raise MinqingError(
            f"refusing to listen on {host}: no users are configured, the archive would be public "
            "(listen on 127.0.0.1, or configure users first)",
            exit_code=ExitCode.refused,
        )
    try:
        serve(
            archive_dir,
            host,
            port,
            on_ready=lambda url: click.echo(f"Serving {archive_dir} at {url}", err=True),
        )
    except ArchiveError as exc:
        raise MinqingError(str(exc), exit_code=ExitCode.archive_error) from exc
