"""Who may use the archive in Datasette: accounts, password hashes, sessions, decisions.

Pure logic over the archive's **accounts database**, unit-testable without a server; the
Datasette plugin ``datasette/plugins/minqing_access.py`` is a thin adapter.

Where accounts live (issue 12, item 9): in ``<archive>/accounts.db`` (file mode 0600),
next to ``archive.db`` and never attached to Datasette, so no SQL an inspector can run
sees a user name, a role or a hash. Archives made before kept their users in a ``users``
table inside ``archive.db``; the first write to the accounts (``minqing users add/remove``,
a login) moves those rows into ``accounts.db`` and empties the old table (secure delete).
Until then the old rows are read (read-only) and Datasette's connections read that table
as NULLs.

Model (DESIGN.md §4):

* No users configured → a **local single-user archive**: ``minqing serve`` only
  listens on a loopback address, nobody logs in, and the person at the keyboard
  (the anonymous actor) may read, search *and* review.
* Users configured → every page and route needs a login. Role ``inspector`` reads and
  searches; role ``reviewer`` may also use the review pages (:data:`REVIEW_ACTION`);
  the ``root`` actor (Datasette ``--root``) may do anything.
* "No users → no login" is decided safely (item 3): a server that saw users at start-up,
  or saw one added while running, or listens beyond loopback, keeps requiring a login
  for its whole life, also after the last user is removed (then nobody but root gets
  in until the operator restarts it on a loopback address). See
  :func:`login_required`.

Passwords are hashed with :func:`hashlib.scrypt` (salted, memory-hard, standard
library). Unknown user names cost exactly one scrypt like a wrong password (item 7).

Sessions are rows of the ``sessions`` table (item 5): the cookie carries a random token,
the table its SHA-256; logging out ends the row for good, and so do a password or role
change (the user's change stamp) and removing the user.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import hmac
import os
import re
import secrets
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlite_utils

from minqing.archive.schema import ACCOUNT_SESSIONS as SESSIONS
from minqing.archive.schema import ACCOUNTS_DB, ACCOUNTS_SCHEMA
from minqing.archive.store import Archive, connect_read_only

USERS = "users"
ARCHIVE_DB = "archive.db"

#: Roles a user may have, and what each may do (Chinese labels for the web pages).
ROLES: dict[str, str] = {"inspector": "检查（查阅、检索）", "reviewer": "校对（查阅、检索、校对）"}

#: The Datasette permission action that guards the review pages.
REVIEW_ACTION = "minqing-review"

#: scrypt cost: n=2**14, r=8, p=1 takes ~40 ms and 16 MiB per check.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1

_NAME_RE = re.compile(r"^[A-Za-z0-9_.\-\u4e00-\u9fff]{1,64}$")

SECRET_FILE = ".web-secret"

#: How long a login lasts.
SESSION_SECONDS = 12 * 3600

#: Tables read as NULLs by every connection Datasette opens (see :func:`hide_secrets_authorizer`):
#: the legacy accounts table, and the engine text of spot-check items, which a reviewer
#: transcribing a blind sample must not see (item 10).
HIDDEN_COLUMNS: dict[str, frozenset[str] | None] = {
    USERS: None,  # every column
    "spot_items": frozenset({"machine_text", "shown_text"}),
}


class UserError(Exception):
    """A user name, role or password that cannot be used; the message says what to do."""

    def __init__(self, problem: str, hint: str = "") -> None:
        self.problem = problem
        self.hint = hint
        super().__init__(problem + (f" ({hint})" if hint else ""))


class AccountsUnavailableError(UserError):
    """The accounts database cannot be written (read-only archive, full disk)."""


@dataclass(frozen=True)
class User:
    """One account of the web archive (never carries the password hash)."""

    name: str
    role: str
    created_at: str
    changed_at: str

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"User.role must be one of {sorted(ROLES)}, got {self.role!r}")

    def actor(self) -> dict[str, str]:
        """The Datasette actor of this user."""
        return {"id": self.name, "role": self.role, "display": self.name}


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


# -- where the accounts live -------------------------------------------------------------------


def archive_root(where: Any) -> Path:
    """The archive folder named by ``where``.

    ``where`` is the folder (path or str), an object with a ``root`` (an ``Archive``), or a
    connection / ``sqlite_utils.Database`` of the archive's ``archive.db``.
    """
    if isinstance(where, (str, os.PathLike)):
        return Path(where)
    if isinstance(where, Archive):
        if where.root is not None:
            return Path(where.root)
        where = where.db
    conn = where.conn if isinstance(where, sqlite_utils.Database) else where
    if isinstance(conn, sqlite3.Connection):
        for _, name, file in conn.execute("pragma database_list").fetchall():
            if name == "main" and file:
                return Path(file).parent
    raise TypeError(f"cannot tell which archive {where!r} belongs to")


def accounts_path(where: Any) -> Path:
    """``<archive>/accounts.db``."""
    return archive_root(where) / ACCOUNTS_DB


def _connect_ro(path: Path) -> sqlite3.Connection | None:
    if not path.exists():
        return None
    try:
        conn = connect_read_only(path)  # immutable on a frozen archive: no -wal/-shm
        conn.execute("select 1 from sqlite_master limit 1").fetchall()
        return conn
    except sqlite3.Error:
        return None


def _legacy_rows(root: Path, sql: str, params: Iterable = ()) -> list[dict]:
    """Rows of the old ``users`` table inside ``archive.db`` (archives not yet migrated)."""
    conn = _connect_ro(root / ARCHIVE_DB)
    if conn is None:
        return []
    try:
        return _rows(conn, sql, params)
    finally:
        conn.close()


def _rows(conn: sqlite3.Connection, sql: str, params: Iterable = ()) -> list[dict]:
    try:
        cur = conn.execute(sql, list(params))
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return []
        raise
    cols = [c[0] for c in cur.description]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


def _read(where: Any, sql: str, params: Iterable = ()) -> list[dict]:
    """Rows from ``accounts.db`` (or, before the first write, the legacy table)."""
    root = archive_root(where)
    conn = _connect_ro(root / ACCOUNTS_DB)
    if conn is None:  # never written: an older archive may still hold its users table
        return _legacy_rows(root, sql, params)
    try:
        return _rows(conn, sql, params)
    finally:
        conn.close()


def open_accounts(where: Any) -> sqlite3.Connection:
    """A writable connection to ``accounts.db``: created (mode 0600) and migrated when needed.

    Raises:
        AccountsUnavailableError: the archive folder is read-only or the disk is full.
    """
    root = archive_root(where)
    path = root / ACCOUNTS_DB
    try:
        if not path.exists():
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        os.chmod(path, 0o600)
        conn = sqlite3.connect(path, timeout=30)
        conn.executescript(ACCOUNTS_SCHEMA)
        _migrate_legacy(root, conn)
    except (OSError, sqlite3.Error) as exc:
        raise AccountsUnavailableError(
            f"cannot write the accounts database {path.name} ({exc})",
            "the archive folder must be writable and the disk not full",
        ) from exc
    return conn


def _migrate_legacy(root: Path, conn: sqlite3.Connection) -> None:
    """Move the rows of ``archive.db``'s ``users`` table (older archives) into ``accounts.db``."""
    archive_db = root / ARCHIVE_DB
    if not archive_db.exists():
        return
    old = sqlite3.connect(archive_db, timeout=30)
    try:
        exists = old.execute(
            "select 1 from sqlite_master where type = 'table' and name = ?", [USERS]
        ).fetchone()
        if not exists:
            return
        rows = old.execute(
            f"select name, role, password_hash, created_at, changed_at from {USERS}"
        ).fetchall()
        with conn:
            conn.executemany(
                f"insert or ignore into {USERS} (name, role, password_hash, created_at, changed_at)"
                " values (?, ?, ?, ?, ?)",
                [r for r in rows if r[2]],
            )
        if rows:
            # empty the old table (its schema may still declare it) and overwrite the freed
            # pages, so no hash stays behind in the file Datasette serves
            old.execute("pragma secure_delete = on")
            with old:
                old.execute(f"delete from {USERS}")
            old.execute("pragma wal_checkpoint(truncate)")
    finally:
        old.close()


# -- password hashing ------------------------------------------------------------------------


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """A salted scrypt hash of ``password`` as ``scrypt$n$r$p$salt$hash``."""
    if not password:
        raise UserError("the password is empty", "give a password of at least 8 characters")
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32
    )
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str | None) -> bool:
    """True when ``password`` matches the ``stored`` hash (constant-time compare)."""
    try:
        scheme, n, r, p, salt_hex, hash_hex = (stored or "").split("$")
        if scheme != "scrypt":
            return False
        digest = hashlib.scrypt(
            (password or "").encode("utf-8"),
            salt=bytes.fromhex(salt_hex),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(hash_hex) // 2,
            maxmem=256 * 1024 * 1024,
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(digest.hex(), hash_hex)


@functools.cache
def _dummy_hash() -> str:
    """A hash nobody's password matches, computed once: an unknown name costs one scrypt."""
    return hash_password(secrets.token_hex(16))


# -- managing users --------------------------------------------------------------------------


def check_name(name: str) -> str:
    """``name`` if usable as a user name, else :class:`UserError`."""
    if not _NAME_RE.match(name or "") or name == "root":
        raise UserError(
            f"{name!r} cannot be a user name",
            "use 1–64 letters, digits, Chinese characters, '.', '_' or '-'; 'root' is reserved",
        )
    return name


def check_role(role: str) -> str:
    """``role`` if it is a known role, else :class:`UserError`."""
    if role not in ROLES:
        raise UserError(f"unknown role {role!r}", f"use one of: {', '.join(ROLES)}")
    return role


def check_password(password: str) -> str:
    """``password`` if long enough, else :class:`UserError`."""
    if len(password or "") < 8:
        raise UserError("the password is shorter than 8 characters", "choose a longer password")
    return password


def add_user(where: Any, name: str, role: str, password: str) -> User:
    """Create user ``name`` or replace its role and password (ends the user's sessions)."""
    check_name(name)
    check_role(role)
    check_password(password)
    existing = get_user(where, name)
    now = _now()
    row = {
        "name": name,
        "role": role,
        "password_hash": hash_password(password),
        "created_at": existing.created_at if existing else now,
        "changed_at": now + "#" + secrets.token_hex(4),
    }
    conn = open_accounts(where)
    try:
        with conn:
            conn.execute(
                f"insert or replace into {USERS} "
                "(name, role, password_hash, created_at, changed_at)"
                " values (:name, :role, :password_hash, :created_at, :changed_at)",
                row,
            )
            conn.execute(f"delete from {SESSIONS} where user = ?", [name])
    finally:
        conn.close()
    return User(name, role, row["created_at"], row["changed_at"])


def remove_user(where: Any, name: str) -> None:
    """Delete user ``name`` and end their sessions; :class:`UserError` when there is none."""
    if get_user(where, name) is None:
        raise UserError(f"there is no user {name!r}", "see `minqing users list`")
    conn = open_accounts(where)
    try:
        with conn:
            conn.execute(f"delete from {USERS} where name = ?", [name])
            conn.execute(f"delete from {SESSIONS} where user = ?", [name])
    finally:
        conn.close()


def get_user(where: Any, name: str) -> User | None:
    """User ``name`` or None."""
    rows = _read(
        where, f"select name, role, created_at, changed_at from {USERS} where name = ?", [name]
    )
    return User(**rows[0]) if rows and rows[0]["role"] in ROLES else None


def list_users(where: Any) -> list[User]:
    """Every user, by name."""
    rows = _read(where, f"select name, role, created_at, changed_at from {USERS} order by name")
    return [User(**r) for r in rows if r["role"] in ROLES]


def users_configured(where: Any) -> bool:
    """True when at least one user exists (then every page needs a login)."""
    return bool(_read(where, f"select 1 as x from {USERS} limit 1"))


def authenticate(where: Any, name: str, password: str) -> User | None:
    """The user when ``name``/``password`` are right, else None.

    ``where`` is the archive folder (or its ``archive.db`` path, as before). A wrong name
    costs the same single scrypt as a wrong password, so names cannot be probed by
    timing (item 7).
    """
    if isinstance(where, (str, os.PathLike)) and Path(where).name == ARCHIVE_DB:
        where = Path(where).parent
    rows = _read(
        where,
        f"select name, role, created_at, changed_at, password_hash from {USERS} where name = ?",
        [name],
    )
    row = rows[0] if rows else None
    stored = row.pop("password_hash") if row else _dummy_hash()
    ok = verify_password(password, stored)
    if row is None or not ok or row["role"] not in ROLES:
        return None
    return User(**row)


# -- sessions ----------------------------------------------------------------------------------


def _token_key(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_session(where: Any, user: User, now: float | None = None) -> str:
    """Start a session for ``user``; returns the random token the cookie carries."""
    now = time.time() if now is None else now
    token = secrets.token_urlsafe(32)
    conn = open_accounts(where)
    try:
        with conn:
            conn.execute(
                f"insert into {SESSIONS} (token_sha256, user, stamp, created_at, expires_at)"
                " values (?, ?, ?, ?, ?)",
                [_token_key(token), user.name, user.changed_at, now, now + SESSION_SECONDS],
            )
            # forget sessions that ended or expired more than a day ago
            conn.execute(
                f"delete from {SESSIONS} where coalesce(ended_at, expires_at) < ?", [now - 86400]
            )
    finally:
        conn.close()
    return token


def end_session(where: Any, token: str, now: float | None = None) -> bool:
    """End the session of ``token`` for good (logout); True when one was open."""
    now = time.time() if now is None else now
    conn = open_accounts(where)
    try:
        with conn:
            cur = conn.execute(
                f"update {SESSIONS} set ended_at = ? where token_sha256 = ? and ended_at is null",
                [now, _token_key(token)],
            )
        return cur.rowcount > 0
    finally:
        conn.close()


def user_for_session(where: Any, token: object, now: float | None = None) -> User | None:
    """The user of session ``token``, or None when unknown, ended, expired or stale.

    A session ends at logout, when it expires, when the user is removed, or when the
    user's password or role changes (the stamp no longer matches).
    """
    if not isinstance(token, str) or not token:
        return None
    now = time.time() if now is None else now
    rows = _read(
        where,
        f"select u.name, u.role, u.created_at, u.changed_at from {SESSIONS} s"
        f" join {USERS} u on u.name = s.user"
        " where s.token_sha256 = ? and s.ended_at is null and s.expires_at >= ?"
        " and s.stamp = u.changed_at",
        [_token_key(token), now],
    )
    if not rows or rows[0]["role"] not in ROLES:
        return None
    return User(**rows[0])


def web_secret(archive_root_: Path | str, *, persist: bool = True) -> str:
    """The archive's cookie-signing secret, created on first use (file mode 0600).

    With ``persist=False`` (an archive this process must not write) a missing secret is
    made up for this run only and nothing is written.

    Kept in a file next to ``archive.db`` (never inside the database, which inspectors
    can query), so that logins survive a server restart. On a read-only archive or a
    full disk a fresh secret is used for this run only (nothing is written).
    """
    path = Path(archive_root_) / SECRET_FILE
    try:
        secret = path.read_text(encoding="ascii").strip()
        if len(secret) >= 32:
            if path.stat().st_mode & 0o077:
                with contextlib.suppress(OSError):
                    os.chmod(path, 0o600)
            return secret
    except FileNotFoundError:
        pass
    secret = secrets.token_hex(32)
    if not persist:
        return secret
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    try:
        fd = os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(secret)
        os.replace(tmp, path)
    except OSError:  # read-only archive or full disk: this run's secret only
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
    return secret


# -- decisions ---------------------------------------------------------------------------------


def login_required(users_at_start: bool, users_now: bool, loopback: bool, seen: bool) -> bool:
    """Does this server require a login (item 3)?

    Yes when users exist now, when they existed at start-up or were seen while running
    (``seen``), or when the server listens beyond loopback. Removing the last user of a
    running server therefore never opens the archive.
    """
    return users_now or users_at_start or seen or not loopback


def may_review(actor: dict | None, users_exist: bool) -> bool:
    """May ``actor`` use the review pages (:data:`REVIEW_ACTION`)?

    Root always; role ``reviewer`` always; the anonymous local user only when no login
    is required (a local single-user archive; ``users_exist`` is that decision).
    """
    if actor is None:
        return not users_exist
    if actor.get("id") == "root":
        return True
    return actor.get("role") == "reviewer"


def may_view(actor: dict | None, users_exist: bool) -> bool:
    """May ``actor`` read and search the archive at all?"""
    if actor is None:
        return not users_exist
    return actor.get("id") == "root" or actor.get("role") in ROLES


def hide_secrets_authorizer(action: int, arg1, arg2, dbname, source):
    """An SQLite authorizer for Datasette's connections.

    Reads the legacy ``users`` table and the engine text of spot-check items as NULL,
    and refuses ATTACH (no SQL may open ``accounts.db``).
    """
    if action == sqlite3.SQLITE_READ and arg1 in HIDDEN_COLUMNS:
        cols = HIDDEN_COLUMNS[arg1]
        if cols is None or arg2 in cols:
            return sqlite3.SQLITE_IGNORE
    if action == sqlite3.SQLITE_ATTACH:
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK
