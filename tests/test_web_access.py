"""Anonymous, inspector and reviewer each get exactly their permissions on every route,
plugin routes included (minqing's Datasette with users, in process; ``test_serve.py``
checks that ``minqing serve`` with users may listen on a public address)."""

from __future__ import annotations

import re
import shutil
import sqlite3
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest

from minqing.archive.store import Archive
from minqing.paths import datasette_dir
from minqing.web import access
from tests._helpers import Site, run_cli

PASSWORDS = {"wang": "inspect-pass-1", "li": "review-pass-1"}
REVIEW_PLUGIN = (datasette_dir() / "plugins" / "minqing_review.py").exists()


class Client:
    """A visitor with its own cookies; redirects are not followed."""

    def __init__(self, site: Site) -> None:
        self.site = site.session()

    def request(self, path: str, data: dict | None = None) -> tuple[int, dict, str]:
        resp = self.site.request("POST" if data is not None else "GET", path, data=data)
        return resp.status_code, _headers(resp), resp.content.decode("utf-8", "replace")

    def login(self, name: str, password: str) -> int:
        status, _, html = self.request("/-/login")
        assert status == 200, html[:300]
        token = re.search(r'name="csrftoken" value="([^"]+)"', html).group(1)
        status, _headers, _ = self.request(
            "/-/login", {"csrftoken": token, "username": name, "password": password, "next": "/"}
        )
        return status


def _headers(resp) -> dict:  # type: ignore[no-untyped-def]
    """The response headers as ``dict(http.client.HTTPMessage)`` gives them."""
    return {k.title(): v for k, v in resp.headers.items()}


def users_archive(sample_archive: Path, root: Path) -> Path:
    """A copy of the sample archive with an inspector and a reviewer."""
    shutil.copytree(sample_archive, root)
    with Archive(root, write=True) as a:
        access.add_user(a.db, "wang", "inspector", PASSWORDS["wang"])
        access.add_user(a.db, "li", "reviewer", PASSWORDS["li"])
    return root


@pytest.fixture(scope="module")
def users_server(sample_archive: Path, tmp_path_factory) -> Iterator[tuple[Site, Path]]:  # type: ignore[no-untyped-def]
    root = users_archive(sample_archive, tmp_path_factory.mktemp("users") / "archive")
    site = Site(root)
    yield site, root
    site.close()


def _ids(root: Path) -> tuple[str, str, str]:
    conn = sqlite3.connect(root / "archive.db")
    entry, matter = conn.execute("select entry_id, matter_id from entries limit 1").fetchone()
    page = conn.execute("select page_id from pages limit 1").fetchone()[0]
    conn.close()
    return entry, matter, page


def routes(root: Path) -> dict[str, str]:
    """Every kind of route -> the least role that may open it."""
    entry, matter, page = _ids(root)
    q = urllib.parse.quote
    r = {
        "/": "inspector",
        "/archive": "inspector",
        "/archive/entries": "inspector",
        "/archive/entries.json": "inspector",
        "/archive/entries?_search=" + q("低保"): "inspector",
        f"/archive/entries/{q(entry.replace(':', '~3A'))}": "inspector",
        "/archive/matters": "inspector",
        "/archive/lines.json?_search=" + q("低保"): "inspector",
        "/archive/open_matters.json?"
        + urllib.parse.urlencode({"天数": "1", "截至日期": "", "乡镇": ""}): "inspector",
        "/archive.json?sql=" + q("select count(*) from entries"): "inspector",
        "/-/search?q=" + q("低保"): "inspector",
        "/-/search.json?q=" + q("低保"): "inspector",
        f"/-/entry/{q(entry)}?q=" + q("低保"): "inspector",
        f"/-/matter/{q(matter)}": "inspector",
        f"/-/page-image/{q(page)}": "inspector",
        f"/-/page-thumb/{q(page)}": "inspector",
        "/-/metadata.json": "inspector",
        "/-/versions.json": "inspector",
        "/archive/users": "root",
        "/archive/users.json": "root",
        "/archive.db": "root",
    }
    if REVIEW_PLUGIN:
        r["/-/review"] = "reviewer"
        r[f"/-/review/entry/{q(entry)}"] = "reviewer"
    return r


LEVEL = {"anonymous": 0, "inspector": 1, "reviewer": 2, "root": 3}


@pytest.mark.parametrize("who", ["anonymous", "wang", "li"])
def test_each_role_gets_exactly_its_routes(users_server, who: str) -> None:
    site, root = users_server
    client = Client(site)
    role = "anonymous"
    if who != "anonymous":
        assert client.login(who, PASSWORDS[who]) == 302
        role = {"wang": "inspector", "li": "reviewer"}[who]
    wrong = []
    for path, least in routes(root).items():
        status, headers, body = client.request(path)
        allowed = LEVEL[role] >= LEVEL[least]
        if allowed and status not in (200,) and not (status == 302 and "review" in path):
            wrong.append((path, status, "should be allowed"))
        if not allowed:
            if status == 200:
                wrong.append((path, status, "should be denied"))
            if role == "anonymous" and status == 302:
                assert headers["Location"].startswith("/-/login?next="), path
            # nothing of the archive leaks into a refusal
            assert "低保" not in body and "scrypt" not in body, path
    assert not wrong, wrong


def test_login_page_is_open_and_in_chinese(users_server) -> None:
    site, _ = users_server
    status, _, html = Client(site).request("/-/login")
    assert status == 200 and "用户名" in html and "密码" in html


def test_wrong_password_is_refused(users_server) -> None:
    site, _ = users_server
    client = Client(site)
    assert client.login("wang", "not-the-password") == 401
    assert client.request("/archive/entries")[0] == 302


def test_password_hashes_are_unreadable_even_through_sql(users_server) -> None:
    site, _ = users_server
    client = Client(site)
    assert client.login("li", PASSWORDS["li"]) == 302
    status, _, body = client.request(
        "/archive.json?_shape=array&sql="
        + urllib.parse.quote("select name, password_hash from users order by name")
    )
    # accounts live in accounts.db, which Datasette never opens (issue 12 item 9): the
    # published database has no users (nor, at all, a users table)
    assert (status, body.strip()) == (200, "[]") or (
        status == 400 and "no such table: users" in body
    )
    assert "scrypt" not in body and "wang" not in body


def test_entry_page_offers_review_only_to_reviewers(users_server) -> None:
    site, root = users_server
    entry, _, _ = _ids(root)
    path = f"/-/entry/{urllib.parse.quote(entry)}"
    inspector, reviewer = Client(site), Client(site)
    inspector.login("wang", PASSWORDS["wang"])
    reviewer.login("li", PASSWORDS["li"])
    assert "校对此条目" not in inspector.request(path)[2]
    assert "校对此条目" in reviewer.request(path)[2]


def test_logout_and_user_removal_end_the_session(users_server, tmp_path: Path) -> None:
    site, root = users_server
    client = Client(site)
    assert client.login("wang", PASSWORDS["wang"]) == 302
    assert client.request("/archive/entries")[0] == 200
    _, _, html = client.request("/-/logout")
    token = re.search(r'name="csrftoken" value="([^"]+)"', html).group(1)
    assert client.request("/-/logout", {"csrftoken": token})[0] == 302
    assert client.request("/archive/entries")[0] == 302
    # a user removed while logged in is out at once (the users check is cached ≤ 1 s)
    pw = tmp_path / "pw"
    pw.write_text("temporary-pass\n", encoding="utf-8")
    run_cli("users", "add", "tmp", "--password-file", str(pw), "--archive", str(root))
    other = Client(site)
    assert other.login("tmp", "temporary-pass") == 302
    assert other.request("/archive/entries")[0] == 200
    run_cli("users", "remove", "tmp", "--archive", str(root))
    time.sleep(1.1)
    assert other.request("/archive/entries")[0] == 302


def test_login_redirect_stays_on_this_site(users_server) -> None:
    site, _ = users_server
    client = Client(site)
    _, _, html = client.request("/-/login?next=//evil.example/")
    token = re.search(r'name="csrftoken" value="([^"]+)"', html).group(1)
    status, headers, _ = client.request(
        "/-/login",
        {
            "csrftoken": token,
            "username": "wang",
            "password": PASSWORDS["wang"],
            "next": "//evil.example/",
        },
    )
    assert status == 302 and headers["Location"] == "/"


def test_without_users_the_local_user_needs_no_login(sample_site: Site) -> None:
    client = Client(sample_site)
    assert client.request("/archive/entries")[0] == 200
    assert client.request("/-/search?q=" + urllib.parse.quote("低保"))[0] == 200
    if REVIEW_PLUGIN:  # the person at the keyboard may review a local archive
        assert client.request("/-/review")[0] == 200
