"""Who may use the archive in Datasette: users, roles, password hashes, sessions.

Pure logic over the archive database, unit-testable without a server; the
Datasette plugin ``datasette/plugins/minqing_access.py`` is a thin adapter.

Model (DESIGN.md §4):

* No users configured → a **local single-user archive**: ``minqing serve`` only
  listens on a loopback address, nobody logs in, and the person at the keyboard
  (the anonymous actor) may read, search *and* review (they own the archive file
  anyway).
* Users configured → every page and route needs a login. Role ``inspector`` reads
  and searches; role ``reviewer`` may also use the review pages (permission action
  :data:`REVIEW_ACTION`); the ``root`` actor (Datasette ``--root``) may do anything.

Passwords are hashed with :func:`hashlib.scrypt` (salted, memory-hard, standard
library) and stored as ``scrypt$n$r$p$salt_hex$hash_hex`` in the ``users`` table.
Reading the ``password_hash`` column is blocked on Datasette's connections (an
SQLite authorizer, see :func:`hide_secrets_authorizer`), so an inspector's SQL
cannot read it; the login check reads it over a connection of its own.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils

from minqing.archive.schema import USERS


#: Roles a user may have, and what each may do (Chinese labels for the web pages).
ROLES: dict[str, str] = {"inspector": "检查（查阅、检索）", "reviewer": "校对（查阅、检索、校对）"}

#: The Datasette permission action that guards the review pages.
REVIEW_ACTION = "minqing-review"

#: scrypt cost: n=2**14, r=8, p=1 takes ~40 ms and 16 MiB per check.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1

_NAME_RE = re.compile(r"^[A-Za-z0-9_.\-\u4e00-\u9fff]{1,64}$")

SECRET_FILE = ".web-secret"


class UserError(Exception):
    """A user name, role or password that cannot be used; the message says what to do."""

    def __init__(self, problem: str, hint: str = "") -> None:
        self.problem = problem
        self.hint = hint
        super().__init__(problem + (f" ({hint})" if hint else ""))


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


def add_user(db: sqlite_utils.Database, name: str, role: str, password: str) -> User:
    """Create user ``name`` or replace its role and password."""
    check_name(name)
    check_role(role)
    check_password(password)
    existing = get_user(db, name)
    now = _now()
    row = {
        "name": name,
        "role": role,
        "password_hash": hash_password(password),
        "created_at": existing.created_at if existing else now,
        "changed_at": now + "#" + secrets.token_hex(4),
    }
    with db.conn:
        db.table(USERS).upsert(row, pk="name")
    return User(name, role, row["created_at"], row["changed_at"])


def remove_user(db: sqlite_utils.Database, name: str) -> None:
    """Delete user ``name``; :class:`UserError` when there is no such user."""
    if get_user(db, name) is None:
        raise UserError(f"there is no user {name!r}", "see `minqing users list`")
    with db.conn:
        db.execute(f"delete from {USERS} where name = ?", [name])


def _rows(db: sqlite_utils.Database | sqlite3.Connection, sql: str, params: Iterable = ()):
    conn = db.conn if isinstance(db, sqlite_utils.Database) else db
    try:
        cur = conn.execute(sql, list(params))
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return []
        raise
    cols = [c[0] for c in cur.description]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


def get_user(db: sqlite_utils.Database | sqlite3.Connection, name: str) -> User | None:
    """User ``name`` or None."""
    rows = _rows(
        db, f"select name, role, created_at, changed_at from {USERS} where name = ?", [name]
    )
    return User(**rows[0]) if rows else None


def list_users(db: sqlite_utils.Database | sqlite3.Connection) -> list[User]:
    """Every user, by name."""
    return [
        User(**r)
        for r in _rows(db, f"select name, role, created_at, changed_at from {USERS} order by name")
    ]


def users_configured(db: sqlite_utils.Database | sqlite3.Connection) -> bool:
    """True when at least one user exists (then every page needs a login)."""
    return bool(_rows(db, f"select 1 as x from {USERS} limit 1"))


def authenticate(db_path: Path | str, name: str, password: str) -> User | None:
    """The user when ``name``/``password`` are right, else None.

    Opens its own read-only connection: Datasette's connections cannot read the
    password hashes (see :func:`hide_secrets_authorizer`). A wrong name costs the
    same hashing time as a wrong password, so names cannot be probed by timing.
    """
    conn = sqlite3.connect(f"file:{Path(db_path)}?mode=ro", uri=True)
    try:
        rows = _rows(
            conn,
            f"select name, role, created_at, changed_at, password_hash from {USERS} where name = ?",
            [name],
        )
    finally:
        conn.close()
    if not rows:
        verify_password(password, hash_password("x" * 12, salt=b"0" * 16))
        return None
    row = rows[0]
    stored = row.pop("password_hash")
    if row["role"] not in ROLES or not verify_password(password, stored):
        return None
    return User(**row)


# -- sessions ----------------------------------------------------------------------------------

#: How long a login lasts.
SESSION_SECONDS = 12 * 3600


def session_payload(user: User, now: float) -> dict[str, object]:
    """What the signed session cookie holds: name, the user's change stamp, expiry."""
    return {"u": user.name, "c": user.changed_at, "e": int(now) + SESSION_SECONDS}


def user_for_session(
    db: sqlite_utils.Database | sqlite3.Connection, payload: object, now: float
) -> User | None:
    """The user a (verified) session payload stands for, or None when stale.

    A session ends when it expires, when the user is removed, or when the user's
    password or role changes (``changed_at`` no longer matches).
    """
    if not isinstance(payload, dict):
        return None
    try:
        if int(payload.get("e", 0)) < now:
            return None
    except (TypeError, ValueError):
        return None
    user = get_user(db, str(payload.get("u", "")))
    if user is None or user.changed_at != payload.get("c"):
        return None
    return user


def web_secret(archive_root: Path | str, *, persist: bool = True) -> str:
    """The archive's cookie-signing secret, created on first use (file mode 0600).

    Kept in a file next to ``archive.db`` (never inside the database, which
    inspectors can query), so that logins survive a server restart. With
    ``persist=False`` (a read-only archive) a missing secret is made up for this
    process only and nothing is written.
    """
    path = Path(archive_root) / SECRET_FILE
    try:
        secret = path.read_text(encoding="ascii").strip()
        if len(secret) >= 32:
            return secret
    except FileNotFoundError:
        pass
    secret = secrets.token_hex(32)
    if not persist:
        return secret
    tmp = path.with_name(path.name + ".tmp")
    tmp.touch(mode=0o600)
    tmp.write_text(secret, encoding="ascii")
    tmp.replace(path)
    return secret


# -- decisions ---------------------------------------------------------------------------------


def may_review(actor: dict | None, users_exist: bool) -> bool:
    """May ``actor`` use the review pages (:data:`REVIEW_ACTION`)?

    Root always; role ``reviewer`` always; the anonymous local user only when no
    users are configured (a local single-user archive).
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
    """An SQLite authorizer that reads ``users.password_hash`` as NULL."""
    if action == sqlite3.SQLITE_READ and arg1 == USERS and arg2 == "password_hash":
        return sqlite3.SQLITE_IGNORE
    return sqlite3.SQLITE_OK
