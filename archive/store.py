"""The archive folder: ``archive.db`` plus content-addressed page images."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import sqlite_utils

from minqing.archive.errors import ArchiveNotFoundError
from minqing.archive.schema import ensure_schema

DB_NAME = "archive.db"
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
        tmp.write_bytes(data)
        os.replace(tmp, dest)
    return rel.as_posix(), digest


class Archive:
    """An archive folder: the database and the image files next to it.

    Args:
        root: the archive folder.
        create: create the folder and schema when missing; otherwise a missing
            archive raises :class:`ArchiveNotFoundError`.
    """

    def __init__(self, root: Path | str, create: bool = False) -> None:
        self.root = Path(root)
        self.db_path = self.root / DB_NAME
        if not self.db_path.exists():
            if not create:
                raise ArchiveNotFoundError(
                    self.root, "no archive here", "run `minqing ingest PATH --archive DIR` first"
                )
            self.root.mkdir(parents=True, exist_ok=True)
        self.db = sqlite_utils.Database(self.db_path)
        self.db.conn.execute("PRAGMA busy_timeout = 30000")
        ensure_schema(self.db)

    def store_blob(self, data: bytes, ext: str) -> tuple[str, str]:
        """Store ``data`` content-addressed in this archive; see :func:`store_blob`."""
        return store_blob(self.root, data, ext)

    def path_of(self, rel: str) -> Path:
        """Absolute path of a stored file given its relative path."""
        return self.root / rel

    def close(self) -> None:
        """Close the database connection."""
        self.db.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
