"""Fixtures of the security suite (issue 12): archives with users, real servers, an HTTP
client that keeps cookies and never follows redirects, and archive look-ups."""

from __future__ import annotations

import http.client
import http.cookiejar
import re
import shutil
import sqlite3
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import run_cli, serve

USERS = {"insp": ("inspector", "inspect-pass-1"), "rev": ("reviewer", "review-pass-1")}
TOKEN_RE = re.compile(r'name="csrftoken" value="([^"]+)"')


class Client:
    """A cookie-keeping HTTP client (real sockets) that does not follow redirects."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *a, **k):  # type: ignore[no-untyped-def]
                return None

        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), NoRedirect
        )

    def request(
        self, path: str, data: dict | None = None, headers: dict | None = None
    ) -> tuple[int, dict, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        req = urllib.request.Request(self.base + path, data=body, headers=headers or {})
        try:
            with self.opener.open(req, timeout=60) as resp:
                return resp.status, dict(resp.headers), resp.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read().decode("utf-8", "replace")

    def token(self, path: str) -> str:
        """The CSRF token of the form on ``path`` (fetching it also sets this site's cookies)."""
        status, _, html = self.request(path)
        assert status == 200, (path, status, html[:300])
        return TOKEN_RE.search(html).group(1)

    def login(self, name: str, password: str, next_url: str = "/") -> tuple[int, dict]:
        token = self.token("/-/login")
        status, headers, _ = self.request(
            "/-/login",
            {"csrftoken": token, "username": name, "password": password, "next": next_url},
        )
        return status, headers

    def cookie(self, name: str) -> str | None:
        return next((c.value for c in self.jar if c.name == name), None)

    def cookie_header(self) -> str:
        return "; ".join(f"{c.name}={c.value}" for c in self.jar)


def raw_request(
    base: str, method: str, path: str, headers: dict, body: bytes | None = None
) -> tuple[int, dict, str]:
    """One request over a raw connection (any Host header), no cookies unless given."""
    parts = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        for k, v in headers.items():
            conn.putheader(k, v)
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read().decode("utf-8", "replace")
    finally:
        conn.close()


def first_line(root: Path) -> tuple[str, str, str, int]:
    """(line_id, text, book_id, page_no) of the archive's first line."""
    conn = sqlite3.connect(root / "archive.db")
    try:
        return conn.execute(
            "select line_id, text, book_id, page_no from lines order by book_id, page_no, line_no"
            " limit 1"
        ).fetchone()
    finally:
        conn.close()


def line_text(root: Path, line_id: str) -> str:
    conn = sqlite3.connect(root / "archive.db")
    try:
        return conn.execute("select text from lines where line_id = ?", [line_id]).fetchone()[0]
    finally:
        conn.close()


def add_users(root: Path, tmp: Path) -> None:
    """Users ``insp`` (inspector) and ``rev`` (reviewer), through the real CLI (in this
    process: how users are added is not what these tests are about)."""
    for name, (role, password) in USERS.items():
        pw = tmp / f"{name}.pw"
        pw.write_text(password + "\n", encoding="utf-8")
        run_cli(
            "users",
            "add",
            name,
            "--role",
            role,
            "--password-file",
            str(pw),
            "--archive",
            str(root),
        )


@pytest.fixture()
def local_archive(sample_archive: Path, tmp_path: Path) -> Path:
    """A private copy of the sample archive without users (a local single-user archive)."""
    dest = tmp_path / "archive"
    shutil.copytree(sample_archive, dest)
    return dest


@pytest.fixture()
def users_archive(local_archive: Path, tmp_path: Path) -> Path:
    """A private copy of the sample archive with users ``insp`` and ``rev``."""
    add_users(local_archive, tmp_path)
    return local_archive


@pytest.fixture()
def local_server(local_archive: Path) -> Iterator[tuple[str, Path]]:
    """``minqing serve`` (no users, loopback) on a private archive."""
    with serve(local_archive) as base:
        yield base, local_archive


@pytest.fixture()
def users_server(users_archive: Path) -> Iterator[tuple[str, Path]]:
    """``minqing serve`` with users, on a private archive (its own throttle state)."""
    with serve(users_archive) as base:
        yield base, users_archive
