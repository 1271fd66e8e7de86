"""``minqing serve``: the archive in Datasette."""

from __future__ import annotations

import ipaddress
import os
import socket
from pathlib import Path

import click

from minqing.archive.errors import ArchiveError
from minqing.errors import ExitCode, MinqingError
from minqing.options import archive_option
from minqing.paths import datasette_dir
from minqing.web import server
from minqing.web.access import users_configured
from minqing.web.server import PortInUseError

__all__ = ["command", "has_users", "is_loopback", "make_datasette", "serve"]


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


def config_dir() -> Path:
    """minqing's Datasette configuration directory, or ``$MINQING_DATASETTE_DIR`` (a site's
    own copy of ``datasette/`` with changed templates or metadata)."""
    return Path(os.environ.get("MINQING_DATASETTE_DIR") or datasette_dir())


def make_datasette(archive_dir: Path, host: str | None = None, allowed_hosts: tuple[str, ...] = ()):
    """A Datasette instance over the archive with minqing's configuration directory."""
    return server.make_datasette(
        archive_dir, config_dir=config_dir(), host=host, allowed_hosts=allowed_hosts
    )


def has_users(archive_dir: Path) -> bool:
    """True when the archive at ``archive_dir`` has web users configured (reads only)."""
    if not (Path(archive_dir) / "archive.db").is_file():
        raise MinqingError(
            f"{archive_dir}: no archive here (run `minqing ingest PATH --archive DIR` first)",
            exit_code=ExitCode.archive_error,
        )
    return users_configured(archive_dir)


def serve(
    archive_dir: Path, host: str, port: int, *, on_ready=None, allowed_hosts: tuple[str, ...] = ()
) -> None:
    """Run Datasette on the archive until interrupted; known failures become one line."""
    try:
        server.serve(
            archive_dir,
            host,
            port,
            config_dir=config_dir(),
            allowed_hosts=allowed_hosts,
            on_ready=on_ready,
            on_note=lambda text: click.echo(f"Note: {archive_dir}: {text}", err=True),
        )
    except PortInUseError as exc:
        raise MinqingError(str(exc), exit_code=ExitCode.refused) from exc
    except ArchiveError as exc:
        raise MinqingError(str(exc), exit_code=ExitCode.archive_error) from exc


@click.command(name="serve")
@archive_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", default=8001, show_default=True, type=click.IntRange(0, 65535), help="Port."
)
@click.option(
    "--allow-host",
    "allowed_hosts",
    multiple=True,
    metavar="NAME",
    help="Also answer to this host name (e.g. behind a reverse proxy; repeatable). "
    "Loopback names are always answered.",
)
def command(archive_dir: Path, host: str, port: int, allowed_hosts: tuple[str, ...]) -> None:
    """Serve the archive in Datasette (search, facets, entries, pages).

    Listens on this machine only unless users are configured (see
    `minqing users add`): with users, every page needs a login; without, the
    archive is a local single-user archive that needs none. A server that started
    with users keeps asking for a login after the last user is removed (restart it
    to serve a local archive again). On a loopback address the server answers only to
    loopback host names and those given with --allow-host (DNS rebinding). Nothing is
    written at start-up: a read-only archive is served read-only.

    \b
    Example:
        minqing serve --archive archive/ --port 8001
    """
    users = has_users(archive_dir)
    if not is_loopback(host) and not users:
        raise MinqingError(
            f"refusing to listen on {host}: no users are configured, the archive would be public "
            "(listen on 127.0.0.1, or configure users first)",
            exit_code=ExitCode.refused,
        )
    serve(
        archive_dir,
        host,
        port,
        allowed_hosts=allowed_hosts,
        on_ready=lambda url: click.echo(f"Serving {archive_dir} at {url}", err=True),
    )
