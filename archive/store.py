"""The archive folder: ``archive.db`` plus content-addressed page images."""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import sqlite_utils
from minqing.archive.errors import ArchiveBusyError, ArchiveNotFoundError
from minqing.archive.schema import ensure_schema

DB_NAME = "archive.db"
#: how long a writer waits for another to commit before "database is locked"
BUSY_TIMEOUT_MS = 30_000
#: the writer lock: held (``flock``) by the one process writing the archive in bulk
LOCK_NAME = "write.lock"
DEFAULT_ARCHIVE = "minqing-archive"


def default_archive_path() -> Path:
    """``$MINQING_ARCHIVE`` or ``./minqing-archive``."""
    return Path(os.environ.get("MINQING_ARCHIVE") or DEFAULT_ARCHIVE)


def store_blob(root: Path | str, data: bytes, ext: str) -> tuple[str, str]:
    """Store ``data`` content-addressed under ``root/images``; return (relative path, sha256).

    Writing is atomic (temp file + rename), so a killed process never leaves a
    half-written image behind a database row; safe from several processes at once.
    Needs no database connection (workers call it).
    """
    digest = hashlib.sha256(data).hexdigest()
    rel = Path("images") / digest[:2] / f"{digest}{ext}"
    dest = Path(root) / rel
    if not dest.exists():
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(dest.name + f".tmp{os.getpid()}")
        try:
            tmp.write_bytes(data)
            os.replace(tmp, dest)
        except BaseException:
            # disk full, permissions, Ctrl-C: leave no half-written temp file behind
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
    return rel.as_posix(), digest


class ArchiveDatabase(sqlite_utils.Database):
    """sqlite-utils' Database whose outermost ``atomic()`` is ``BEGIN IMMEDIATE``.

    A deferred transaction that reads before it writes cannot wait for another
    writer: when that writer commits first, SQLite answers "database is locked" at
    once, whatever the busy timeout (WAL snapshot). Taking the write lock at
    ``BEGIN`` makes every writer wait its turn (``busy_timeout``) instead. Use it for
    any connection that writes the archive (the web layer wraps Datasette's in it).
    """

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")

    @contextlib.contextmanager
    def atomic(self) -> Iterator[ArchiveDatabase]:  # type: ignore[override]
        if self.conn.in_transaction:
            with super().atomic():
                yield self
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            with super().atomic():  # a savepoint inside our transaction
                yield self
            self.conn.execute("COMMIT")
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise


def _take_writer_lock(root: Path) -> int:
    """Take the archive's writer lock (an ``flock`` the kernel drops when we die)."""
    import fcntl

    path = root / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip() or "?"
        os.close(fd)
        raise ArchiveBusyError(
            root,
            f"archive is being written by PID {holder}",
            "wait for that ingest to finish, or stop it, then run again",
        ) from None
    except BaseException:
        os.close(fd)
        raise
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


class Archive:
    """An archive folder: the database and the image files next to it.

    Args:
        root: the archive folder.
        create: create the folder and schema when missing; otherwise a missing
            archive raises :class:`ArchiveNotFoundError`.
        writer: take the archive's writer lock first (a bulk writer such as ingest):
            a second one raises :class:`ArchiveBusyError` naming the PID that holds
            it. The lock is released by :meth:`close` or when the process dies.
    """

    def __init__(self, root: Path | str, create: bool = False, writer: bool = False) -> None:
        self.root = Path(root)
        self.db_path = self.root / DB_NAME
        self._lock_fd: int | None = None
        if not self.db_path.exists():
            if not create:
                raise ArchiveNotFoundError(
                    self.root, "no archive here", "run `minqing ingest PATH --archive DIR` first"
                )
            self.root.mkdir(parents=True, exist_ok=True)
        if writer:
            self._lock_fd = _take_writer_lock(self.root)  # before the schema: no race there
        try:
            self.db = ArchiveDatabase(self.db_path)
            ensure_schema(self.db)
        except BaseException:
            self._release()
            raise

    def store_blob(self, data: bytes, ext: str) -> tuple[str, str]:
        """Store ``data`` content-addressed in this archive; see :func:`store_blob`."""
        return store_blob(self.root, data, ext)

    def path_of(self, rel: str) -> Path:
        """Absolute path of a stored file given its relative path."""
        return self.root / rel

    def close(self) -> None:
        """Close the database connection and release the writer lock."""
        try:
            self.db.close()
        finally:
            self._release()

    def _release(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing the file releases the flock
            self._lock_fd = None

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
