"""The Datasette instance that serves an archive, and the server loop that runs it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from datasette.app import Datasette
from minqing.archive.store import Archive, is_frozen, is_read_only
from minqing.web import access


def make_datasette(archive: Archive, config_dir: Path) -> Datasette:
    """A Datasette instance over ``archive`` with the configuration directory ``config_dir``.

    A frozen archive (:func:`minqing.archive.store.is_frozen`, e.g. ``chmod -R a-w``) is
    served immutable: Datasette then opens it ``immutable=1`` and never writes next to it,
    and the review pages refuse saves. The cookie-signing secret of an archive this
    process may not write is read from it when there is one, else made up for this
    process (logins then end with it).
    """
    if archive.root is None:
        raise ValueError("an in-memory archive cannot be served")
    path = str(archive.db_path)
    frozen = is_frozen(archive.root)
    return Datasette(
        [] if frozen else [path],
        immutables=[path] if frozen else None,
        config_dir=config_dir,
        # logins survive a restart: the signing secret lives next to archive.db
        secret=access.web_secret(archive.root, persist=not is_read_only(archive.root)),
    )


def run(
    ds: Datasette, host: str, port: int, *, on_ready: Callable[[str], None] | None = None
) -> None:
    """Serve ``ds`` over HTTP on ``host:port`` until interrupted."""
    import uvicorn
    from datasette.cli import run_sync

    run_sync(ds.invoke_startup)
    if on_ready:
        on_ready(f"http://{host}:{port}/archive/entries")
    uvicorn.run(ds.app(), host=host, port=port, log_level="warning", lifespan="on", workers=1)
