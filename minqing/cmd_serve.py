"""``minqing serve``: the archive in Datasette."""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from minqing.archive.errors import ArchiveError
from minqing.archive.store import Archive
from minqing.errors import ExitCode, MinqingError
from minqing.options import archive_option
from minqing.paths import datasette_dir
from minqing.web import server
from minqing.web.access import users_configured


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


def _config_dir() -> Path:
    # $MINQING_DATASETTE_DIR names another configuration directory (a site's own copy of
    # datasette/ with changed templates or metadata)
    return Path(os.environ.get("MINQING_DATASETTE_DIR") or datasette_dir())


def make_datasette(archive_dir: Path) -> Any:
    """A Datasette instance over the archive with minqing's configuration directory.

    Start-up only reads the archive (:class:`Archive` for reading): an archive whose
    schema is older than this minqing is refused with the command that upgrades it.
    """
    with Archive(archive_dir) as archive:
        return server.make_datasette(archive, _config_dir())


def serve(
    archive_dir: Path, host: str, port: int, *, on_ready: Callable[[str], None] | None = None
) -> None:
    """Run Datasette on the archive until interrupted."""
    server.run(make_datasette(archive_dir), host, port, on_ready=on_ready)


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
    archive is a local single-user archive that needs none. Start-up writes nothing to
    the archive; a read-only one (e.g. `chmod -R a-w`) is served without review saves.

    \b
    Example:
        minqing serve --archive archive/ --port 8001
    """
    try:
        with Archive(archive_dir) as archive:  # reads only
            users = users_configured(archive.db)
            ds = server.make_datasette(archive, _config_dir())
    except ArchiveError as exc:
        raise MinqingError(str(exc), exit_code=ExitCode.archive_error) from exc
    if not is_loopback(host) and not users:
        raise MinqingError(
            f"refusing to listen on {host}: no users are configured, the archive would be public "
            "(listen on 127.0.0.1, or configure users first)",
            exit_code=ExitCode.refused,
        )
    server.run(
        ds, host, port, on_ready=lambda url: click.echo(f"Serving {archive_dir} at {url}", err=True)
    )
