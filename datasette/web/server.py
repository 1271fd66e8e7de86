"""The Datasette instance of an archive, and the HTTP server that runs it.

The only place outside the plugins that builds Datasette (``minqing serve`` and
``minqing demo`` call it). Start-up writes nothing (issue 12 item 22): a read-only archive
folder or a full disk is served read-only (review saves then say so), and the cookie
secret falls back to one for this run. The port is bound *before* the caller is told the
server is ready, so a busy port is one clear error and never a "ready" line (item 25).
"""

from __future__ import annotations

import errno
import shutil
import socket
import sqlite3
from collections.abc import Callable
from pathlib import Path

from minqing.archive.errors import ArchiveError, ArchiveNotFoundError
from minqing.archive.store import Archive, is_read_only
from minqing.web.access import web_secret

DB_NAME = "archive.db"
#: Below this much free space the archive is served read-only (a save would fail anyway).
MIN_FREE_BYTES = 1 << 20


class PortInUseError(Exception):
    """The address and port to listen on are taken (or not ours to take)."""

    def __init__(self, host: str, port: int, reason: str) -> None:
        self.host, self.port, self.reason = host, port, reason
        super().__init__(f"cannot listen on {host}:{port}: {reason}")


def read_only_reason(archive_dir: Path) -> str | None:
    """Why the archive must be served read-only (None when it can be written).

    Opens the archive for reading (:class:`~minqing.archive.store.Archive`), which refuses
    an archive whose schema is older than this minqing with the command that upgrades it.
    """
    if is_read_only(archive_dir):  # permission bits: root may write anything
        reason = "the archive folder is read-only"
    else:
        reason = None
        try:
            if shutil.disk_usage(archive_dir).free < MIN_FREE_BYTES:
                reason = "the disk is full"
        except OSError:
            reason = "the disk cannot be examined"
    try:
        with Archive(archive_dir) as archive:  # reads only; checks the schema
            archive.db.execute("select count(*) from sqlite_master").fetchone()
    except sqlite3.Error as exc:
        return f"the database cannot be opened for reading ({exc})"
    return reason


def make_datasette(
    archive_dir: Path,
    *,
    config_dir: Path,
    host: str | None = None,
    allowed_hosts: tuple[str, ...] = (),
):
    """A Datasette instance over the archive with the configuration directory ``config_dir``.

    ``host`` is the address the server listens on (the plugins answer only to loopback
    names and ``allowed_hosts`` when it is a loopback address; default 127.0.0.1).
    """
    from datasette.app import Datasette

    archive_dir = Path(archive_dir)
    db_path = archive_dir / DB_NAME
    if not db_path.is_file():
        raise ArchiveNotFoundError(
            archive_dir, "no archive here", "run `minqing ingest PATH --archive DIR` first"
        )
    read_only = read_only_reason(archive_dir)
    ds = Datasette(
        [] if read_only else [str(db_path)],
        immutables=[str(db_path)] if read_only else [],
        config_dir=Path(config_dir),
        # logins survive a restart: the signing secret lives next to archive.db
        secret=web_secret(archive_dir, persist=not read_only),
    )
    ds.minqing_bound_host = host or "127.0.0.1"
    ds.minqing_allowed_hosts = tuple(allowed_hosts)
    ds.minqing_read_only = read_only
    return ds


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (port 0: any free port).

    Raises:
        PortInUseError: the port is taken, or the address is not this machine's.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise PortInUseError(host, port, f"unknown address ({exc.strerror})") from exc
    family, kind, proto, _, addr = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(addr)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        reason = (
            "the port is already in use (is another server running? choose another --port)"
            if exc.errno == errno.EADDRINUSE
            else (exc.strerror or str(exc))
        )
        raise PortInUseError(host, port, reason) from exc
    sock.set_inheritable(True)
    return sock


def serve(
    archive_dir: Path,
    host: str,
    port: int,
    *,
    config_dir: Path,
    allowed_hosts: tuple[str, ...] = (),
    on_ready: Callable[[str], None] | None = None,
    on_note: Callable[[str], None] | None = None,
) -> None:
    """Run Datasette on the archive until interrupted.

    Raises:
        ArchiveError: there is no archive at ``archive_dir``.
        PortInUseError: ``host:port`` cannot be listened on (raised before ``on_ready``).
    """
    import uvicorn
    from datasette.cli import run_sync

    ds = make_datasette(archive_dir, config_dir=config_dir, host=host, allowed_hosts=allowed_hosts)
    if ds.minqing_read_only and on_note:
        on_note(f"{ds.minqing_read_only}: serving it read-only (review saves are disabled)")
    sock = bind(host, port)
    try:
        run_sync(ds.invoke_startup)
        real_port = sock.getsockname()[1]
        shown = f"[{host}]" if ":" in host else host
        if on_ready:
            on_ready(f"http://{shown}:{real_port}/archive/entries")
        config = uvicorn.Config(
            ds.app(), host=host, port=real_port, log_level="warning", lifespan="on", workers=1
        )
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()


__all__ = ["ArchiveError", "PortInUseError", "bind", "make_datasette", "read_only_reason", "serve"]
