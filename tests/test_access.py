"""Users, password hashes, sessions and role decisions (minqing.web.access) and `minqing users`."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
import sqlite_utils

from minqing.archive.store import Archive
from minqing.web import access
from tests._helpers import run_cli


@pytest.fixture()
def archive(tmp_path: Path):
    a = Archive(tmp_path / "archive", create=True)
    yield a
    a.close()


def test_password_hash_is_salted_scrypt_and_verifies() -> None:
    h1 = access.hash_password("correct horse")
    h2 = access.hash_password("correct horse")
    assert h1.startswith("scrypt$16384$8$1$")
    assert h1 != h2  # a fresh salt each time
    assert "correct horse" not in h1
    assert access.verify_password("correct horse", h1)
    assert access.verify_password("correct horse", h2)
    assert not access.verify_password("correct horsE", h1)
    assert not access.verify_password("", h1)


@pytest.mark.parametrize("stored", [None, "", "plain", "md5$x$y", "scrypt$1$2$3$zz$yy"])
def test_malformed_stored_hash_never_verifies(stored) -> None:
    assert not access.verify_password("anything", stored)


def test_add_list_remove_users(archive: Archive) -> None:
    assert not access.users_configured(archive.db)
    access.add_user(archive.db, "wang", "inspector", "password-1")
    access.add_user(archive.db, "李明", "reviewer", "password-2")
    assert access.users_configured(archive.db)
    assert [(u.name, u.role) for u in access.list_users(archive.db)] == [
        ("wang", "inspector"),
        ("李明", "reviewer"),
    ]
    # accounts live in accounts.db (mode 0600), never in the archive.db Datasette serves
    conn = sqlite3.connect(access.accounts_path(archive))
    stored = conn.execute("select password_hash from users where name='wang'").fetchone()[0]
    conn.close()
    assert access.accounts_path(archive).stat().st_mode & 0o077 == 0
    assert not (archive.db["users"].exists() and archive.db["users"].count)
    assert access.verify_password("password-1", stored)
    access.remove_user(archive.db, "wang")
    assert [u.name for u in access.list_users(archive.db)] == ["李明"]
    with pytest.raises(access.UserError, match="there is no user 'wang'"):
        access.remove_user(archive.db, "wang")


@pytest.mark.parametrize(
    ("name", "role", "password", "message"),
    [
        ("root", "inspector", "password-1", "cannot be a user name"),
        ("a b", "inspector", "password-1", "cannot be a user name"),
        ("", "inspector", "password-1", "cannot be a user name"),
        ("wang", "admin", "password-1", "unknown role 'admin'"),
        ("wang", "inspector", "short", "shorter than 8 characters"),
    ],
)
def test_bad_user_values_are_refused(archive, name, role, password, message) -> None:
    with pytest.raises(access.UserError, match=message):
        access.add_user(archive.db, name, role, password)
    assert not access.users_configured(archive.db)


def test_authenticate_reads_hash_over_its_own_connection(archive: Archive) -> None:
    access.add_user(archive.db, "wang", "reviewer", "password-1")
    user = access.authenticate(archive.db_path, "wang", "password-1")
    assert user is not None and user.actor() == {
        "id": "wang",
        "role": "reviewer",
        "display": "wang",
    }
    assert access.authenticate(archive.db_path, "wang", "password-2") is None
    assert access.authenticate(archive.db_path, "nobody", "password-1") is None


def test_sessions_end_on_expiry_removal_and_password_change(archive: Archive) -> None:
    user = access.add_user(archive.db, "wang", "inspector", "password-1")
    now = time.time()
    token = access.create_session(archive.db, user, now)
    assert access.user_for_session(archive.db, token, now) == user
    assert access.user_for_session(archive.db, token, now + access.SESSION_SECONDS + 1) is None
    access.add_user(archive.db, "wang", "reviewer", "password-2")  # role + password change
    assert access.user_for_session(archive.db, token, now) is None
    fresh = access.create_session(archive.db, access.get_user(archive.db, "wang"), now)
    assert access.user_for_session(archive.db, fresh, now).role == "reviewer"
    access.remove_user(archive.db, "wang")
    assert access.user_for_session(archive.db, fresh, now) is None
    assert access.user_for_session(archive.db, "garbage", now) is None


@pytest.mark.parametrize(
    ("actor", "users_exist", "view", "review"),
    [
        (None, False, True, True),  # local single-user archive: the person at the keyboard
        (None, True, False, False),
        ({"id": "wang", "role": "inspector"}, True, True, False),
        ({"id": "li", "role": "reviewer"}, True, True, True),
        ({"id": "root"}, True, True, True),
        ({"id": "x", "role": "admin"}, True, False, False),
    ],
)
def test_role_decisions(actor, users_exist, view, review) -> None:
    assert access.may_view(actor, users_exist) is view
    assert access.may_review(actor, users_exist) is review


def test_authorizer_hides_password_hashes(archive: Archive) -> None:
    # an archive made before accounts.db keeps its users table until the first write
    archive.db["users"].insert(
        {
            "name": "wang",
            "role": "inspector",
            "password_hash": access.hash_password("password-1"),
            "created_at": "x",
            "changed_at": "y",
        }
    )
    conn = sqlite3.connect(archive.db_path)
    conn.set_authorizer(access.hide_secrets_authorizer)
    assert conn.execute("select name, password_hash from users").fetchall() == [(None, None)]
    assert (
        conn.execute("select count(*) from users where password_hash like 'scrypt%'").fetchone()[0]
        == 0
    )
    conn.close()


def test_web_secret_is_created_once_and_private(tmp_path: Path) -> None:
    s1 = access.web_secret(tmp_path)
    assert len(s1) == 64 and access.web_secret(tmp_path) == s1
    assert (tmp_path / access.SECRET_FILE).stat().st_mode & 0o077 == 0


def test_users_cli_add_list_remove(tmp_path: Path) -> None:
    root = tmp_path / "archive"
    Archive(root, create=True).close()
    pw = tmp_path / "pw.txt"
    pw.write_text("s3cret-password\n", encoding="utf-8")
    proc = run_cli(
        "users",
        "add",
        "wang",
        "--role",
        "reviewer",
        "--password-file",
        str(pw),
        "--archive",
        str(root),
    )
    assert "Added user wang (reviewer)" in proc.stderr
    listed = run_cli("users", "list", "--archive", str(root)).stdout.splitlines()
    assert [line.split("\t")[:2] for line in listed] == [["wang", "reviewer"]]
    db = sqlite_utils.Database(root / "accounts.db")
    stored = db.execute("select password_hash from users").fetchone()[0]
    db.close()
    published = sqlite_utils.Database(root / "archive.db")
    assert not (published["users"].exists() and published["users"].count)
    assert access.verify_password("s3cret-password", stored)  # newline not part of it
    proc = run_cli("users", "remove", "wang", "--archive", str(root))
    assert "No users left" in proc.stderr
    assert run_cli("users", "list", "--archive", str(root)).stdout == ""


def test_users_cli_prompts_for_password(tmp_path: Path) -> None:
    root = tmp_path / "archive"
    Archive(root, create=True).close()
    proc = run_cli(
        "users",
        "add",
        "li",
        "--archive",
        str(root),
        input="another-password\nanother-password\n",
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert access.authenticate(root / "archive.db", "li", "another-password").role == "inspector"


def test_users_cli_errors_are_one_line(tmp_path: Path) -> None:
    root = tmp_path / "archive"
    Archive(root, create=True).close()
    pw = tmp_path / "pw.txt"
    pw.write_text("short\n", encoding="utf-8")
    proc = run_cli(
        "users", "add", "wang", "--password-file", str(pw), "--archive", str(root), check=False
    )
    assert proc.returncode == 6
    assert (
        proc.stderr.strip() == f"Error: {pw}: the password is shorter than 8 characters "
        "(choose a longer password)"
    )
    proc = run_cli("users", "remove", "nobody", "--archive", str(root), check=False)
    assert proc.returncode == 6 and "there is no user 'nobody'" in proc.stderr
    proc = run_cli("users", "list", "--archive", str(tmp_path / "missing"), check=False)
    assert proc.returncode == 4 and "no archive here" in proc.stderr


def test_users_add_with_one_piped_line_and_with_nothing_piped(tmp_path: Path) -> None:
    """Issue 15 item 11: piped stdin is read as the password, no getpass warnings; with
    nothing piped the error points to --password-file."""
    import subprocess
    import sys

    root = tmp_path / "archive"
    Archive(root, create=True).close()
    cmd = [sys.executable, "-m", "minqing", "users", "add", "li", "--archive", str(root)]
    proc = subprocess.run(
        cmd, input="a-piped-password\n", capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert "Warning" not in proc.stderr and "getpass" not in proc.stderr
    assert access.authenticate(root / "archive.db", "li", "a-piped-password").role == "inspector"
    proc = subprocess.run(cmd, input="", capture_output=True, text=True, timeout=60)
    assert proc.returncode == 6
    assert proc.stderr.strip().splitlines()[-1].startswith("Error: no password on standard input")
    assert "--password-file FILE" in proc.stderr
    proc = subprocess.run(
        cmd, input="one-password\nanother-one\n", capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 6 and "differ" in proc.stderr
