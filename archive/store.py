"""The archive folder: ``archive.db`` plus content-addressed page images."""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Self

import sqlite_utils

from minqing.archive import schema
from minqing.archive.errors import ArchiveBusyError, ArchiveNotFoundError

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


_WRITE_BITS = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH


def is_frozen(root: Path | str) -> bool:
    """True when nobody may write the archive: its folder or its database file carries no
    write permission bit at all (``chmod -R a-w``, checked on the bits because root may
    write anyway). Then SQLite may read it ``immutable=1``, without locks or WAL files."""
    for p in (Path(root), Path(root) / DB_NAME):
        try:
            if not p.stat().st_mode & _WRITE_BITS:
                return True
        except FileNotFoundError:
            continue
    return False


def is_read_only(root: Path | str) -> bool:
    """True when this process must not write the archive: it is frozen (:func:`is_frozen`)
    or this process lacks the permission to write its folder or database file."""
    if is_frozen(root):
        return True
    return any(p.exists() and not os.access(p, os.W_OK) for p in (Path(root), Path(root) / DB_NAME))


def connect_read_only(db_path: Path) -> sqlite3.Connection:
    """A connection that cannot write, and creates no file next to a frozen archive.

    An archive that someone may write is opened ``mode=ro``: it sees what a concurrent
    writer commits. A frozen one (:func:`is_frozen`) is opened ``immutable=1``: SQLite
    then needs no ``-wal``/``-shm`` files, which it could not create there; only a
    non-empty ``-wal`` left by a writer (a copy taken mid-write) still needs ``mode=ro``.
    """
    wal = db_path.with_name(db_path.name + "-wal")
    frozen = is_frozen(db_path.parent) and not (wal.exists() and wal.stat().st_size > 0)
    uri = db_path.resolve().as_uri() + ("?immutable=1" if frozen else "?mode=ro")
    return sqlite3.connect(uri, uri=True, timeout=10)


def _file_of(conn: sqlite3.Connection) -> Path | None:
    """The database file of ``conn`` (None for an in-memory database)."""
    row = conn.execute("select file from pragma_database_list where name = 'main'").fetchone()
    return Path(row[0]) if row and row[0] else None


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
    def atomic(self) -> Iterator[ArchiveDatabase]:
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
    """An archive: the database and the image files next to it. The one handle to it.

    ``source`` is the archive folder, or an open database of one (a
    :class:`sqlite3.Connection` or :class:`sqlite_utils.Database`, as
    :class:`sqlite_utils.Database` accepts), e.g. a connection Datasette owns.

    Opened from a folder, the archive is for reading unless ``write`` (or ``create``) is
    given: reading opens the database read-only, never writes to it (no schema change,
    no commit, no journal-mode switch) and raises
    :class:`~minqing.archive.errors.ArchiveSchemaError` when the archive lacks a migration
    of this code. Writing applies pending migrations (:func:`minqing.archive.schema.migrate`).
    An open connection is used as it is: whoever opened it decides.

    Args:
        source: the archive folder, or an open database of one.
        write: open for writing (migrates the schema when needed).
        create: create the folder and schema when missing (implies ``write``); otherwise
            a missing archive raises :class:`ArchiveNotFoundError`.
        writer: take the archive's writer lock first (a bulk writer such as ingest; implies
            ``write``): a second one raises :class:`ArchiveBusyError` naming the PID that
            holds it. The lock is released by :meth:`close` or when the process dies.

    Attributes:
        root: the archive folder (None for an in-memory database).
        db_path: the database file (``:memory:`` for an in-memory database).
        db: the :class:`sqlite_utils.Database`.
        read_only: True when opened for reading from a folder.
        migrated: names of the migrations this opening applied.
    """

    def __init__(
        self,
        source: Path | str | sqlite3.Connection | sqlite_utils.Database,
        *,
        write: bool = False,
        create: bool = False,
        writer: bool = False,
    ) -> None:
        self._lock_fd: int | None = None
        if isinstance(source, (sqlite3.Connection, sqlite_utils.Database)):
            if write or create or writer:
                raise ValueError("write/create apply to a folder; migrate a connection explicitly")
            # BEGIN IMMEDIATE and a busy timeout on a connection handed in too (Datasette's
            # write connection): a review save waits for an ingest's commit instead of
            # failing with "database is locked" (issue 12, item 19)
            self.db = ArchiveDatabase(
                source.conn if isinstance(source, sqlite_utils.Database) else source
            )
            file = _file_of(self.db.conn)
            self.root = file.parent if file else None
            self.db_path = file or Path(":memory:")
            self.read_only = False
            self._owned = False
            self.migrated: list[str] = []
            return
        self.root = Path(source)
        self.db_path = self.root / DB_NAME
        self._owned = True
        self.migrated = []
        write = write or create or writer
        if not self.db_path.exists():
            if not create:
                raise ArchiveNotFoundError(
                    self.root, "no archive here", "run `minqing ingest PATH --archive DIR` first"
                )
            self.root.mkdir(parents=True, exist_ok=True)
        self.read_only = not write
        if write:
            if writer:  # before the schema step: two writers never race there
                self._lock_fd = _take_writer_lock(self.root)
            db: ArchiveDatabase | None = None
            try:
                self.db = db = ArchiveDatabase(self.db_path)
                db.execute("PRAGMA foreign_keys = ON")
                if db.journal_mode != "wal":
                    db.enable_wal()
                self.migrated = schema.migrate(self)
            except BaseException:
                if db is not None:
                    db.close()
                self._release()
                raise
        else:
            self.db = ArchiveDatabase(connect_read_only(self.db_path))
            self.db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            try:
                schema.check_readable(self)
            except BaseException:
                self.db.close()
                raise

    def store_blob(self, data: bytes, ext: str) -> tuple[str, str]:
        """Store ``data`` content-addressed in this archive; see :func:`store_blob`."""
        return store_blob(self.folder, data, ext)

    def path_of(self, rel: str) -> Path:
        """Absolute path of a stored file given its relative path."""
        return self.folder / rel

    @property
    def folder(self) -> Path:
        """The archive folder (files live here); an in-memory archive has none."""
        if self.root is None:
            raise ValueError("an in-memory archive has no folder for files")
        return self.root

    def close(self) -> None:
        """Close the database connection (unless the caller handed it in open) and
        release the writer lock."""
        try:
            if self._owned:
                self.db.close()
        finally:
            self._release()

    def _release(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing the file releases the flock
            self._lock_fd = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
