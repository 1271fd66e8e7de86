"""Cross-site forgery and DNS rebinding against a real ``minqing serve`` (issue 12 items
1, 2, 8 and the session binding of item 9)."""

from __future__ import annotations

import http.server
import threading
import urllib.parse
from pathlib import Path

import pytest

from tests.conftest import free_port, launch_chromium, needs_chromium
from tests.security.conftest import (
    USERS,
    Client,
    first_line,
    line_text,
    raw_request,
)

FORGED = "CSRF-WROTE-THIS"


def _form(line_id: str, text: str = FORGED) -> bytes:
    return urllib.parse.urlencode({"action": "line", "line_id": line_id, "text": text}).encode()


def test_item01_cross_origin_post_without_cookies_is_refused(local_server) -> None:
    base, root = local_server
    line_id, before, _, _ = first_line(root)
    host = urllib.parse.urlsplit(base).netloc
    status, _, body = raw_request(
        base,
        "POST",
        "/-/review/save",
        {
            "Host": host,
            "Origin": "http://evil.example",
            "Content-Type": "application/x-www-form-urlencoded",
        },
        _form(line_id),
    )
    assert status == 403, (status, body[:200])
    assert line_text(root, line_id) == before
    # no Origin at all (curl): still no cookie, no token -> refused
    status, _, _ = raw_request(
        base,
        "POST",
        "/-/review/save",
        {"Host": host, "Content-Type": "application/x-www-form-urlencoded"},
        _form(line_id),
    )
    assert status == 403
    assert line_text(root, line_id) == before


def test_item01_a_form_of_the_site_itself_still_saves(local_server) -> None:
    """The local user keeps reviewing: the page's own form (cookie + token) is accepted."""
    base, root = local_server
    line_id, _, book, page_no = first_line(root)
    client = Client(base)
    page = f"/-/review/page/{urllib.parse.quote(book, safe='')}/{page_no}"
    token = client.token(page)
    status, _, body = client.request(
        "/-/review/save",
        {"csrftoken": token, "action": "line", "line_id": line_id, "text": "本机校对"},
        headers={"Origin": base},
    )
    assert status == 303, body[:300]
    assert line_text(root, line_id) == "本机校对"


@needs_chromium
def test_item01_auto_posted_form_from_another_site_writes_nothing(
    local_server, tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    base, root = local_server
    line_id, before, _, _ = first_line(root)
    evil_page = tmp_path / "evil.html"
    evil_page.write_text(
        f"""<!doctype html><html><body>
<form id="f" method="POST" action="{base}/-/review/save">
<input name="action" value="line"><input name="line_id" value="{line_id}">
<input name="text" value="{FORGED}"></form>
<script>document.getElementById('f').submit()</script></body></html>""",
        encoding="utf-8",
    )

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **k):  # type: ignore[no-untyped-def]
            super().__init__(*a, directory=str(tmp_path), **k)

        def log_message(self, *a):  # type: ignore[no-untyped-def]
            pass

    evil = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Quiet)
    threading.Thread(target=evil.serve_forever, daemon=True).start()
    statuses: list[int] = []
    try:
        with sync_playwright() as p:
            browser = launch_chromium(p)
            page = browser.new_page()
            page.on(
                "response",
                lambda r: statuses.append(r.status) if r.url.endswith("/-/review/save") else None,
            )
            with page.expect_response(lambda r: r.url.endswith("/-/review/save")):
                page.goto(f"http://localhost:{evil.server_address[1]}/evil.html")
            browser.close()
    finally:
        evil.shutdown()
    assert statuses and statuses[0] == 403, statuses  # the form was posted, and refused
    assert line_text(root, line_id) == before


def test_item02_foreign_host_header_is_refused(local_server) -> None:
    base, root = local_server
    port = urllib.parse.urlsplit(base).port
    evil = f"evil.example:{port}"
    status, _, body = raw_request(
        base, "GET", "/archive.json?sql=select+line_id,text+from+lines", {"Host": evil}
    )
    assert status == 400 and "line_id" not in body, (status, body[:200])
    line_id, before, _, _ = first_line(root)
    status, _, _ = raw_request(
        base,
        "POST",
        "/-/review/save",
        {"Host": evil, "Content-Type": "application/x-www-form-urlencoded"},
        _form(line_id),
    )
    assert status == 400
    assert line_text(root, line_id) == before
    # loopback names keep working
    for name in (f"localhost:{port}", f"127.0.0.1:{port}"):
        assert raw_request(base, "GET", "/archive/entries.json", {"Host": name})[0] == 200


def test_item08_cookieless_cross_site_login_is_refused(users_server) -> None:
    base, _ = users_server
    host = urllib.parse.urlsplit(base).netloc
    name, (_, password) = "insp", USERS["insp"]
    form = urllib.parse.urlencode({"username": name, "password": password, "next": "/"}).encode()
    for extra in ({"Origin": "http://evil.example"}, {}):
        status, headers, _ = raw_request(
            base,
            "POST",
            "/-/login",
            {"Host": host, "Content-Type": "application/x-www-form-urlencoded", **extra},
            form,
        )
        assert status == 403, (extra, status)
        assert "minqing_session" not in str(headers.get("Set-Cookie", ""))


def test_item09_csrf_token_is_bound_to_the_session(users_server) -> None:
    base, root = users_server
    line_id, before, book, page_no = first_line(root)
    page = f"/-/review/page/{urllib.parse.quote(book, safe='')}/{page_no}"
    a, b = Client(base), Client(base)
    assert a.login("rev", USERS["rev"][1])[0] == 302
    assert b.login("rev", USERS["rev"][1])[0] == 302
    token_a = a.token(page)
    # session B's cookie with session A's token (and A's CSRF cookie, where there is one)
    cookies = f"minqing_session={b.cookie('minqing_session')}"
    if a.cookie("ds_csrftoken"):
        cookies += f"; ds_csrftoken={a.cookie('ds_csrftoken')}"
    body = urllib.parse.urlencode(
        {"csrftoken": token_a, "action": "line", "line_id": line_id, "text": FORGED}
    ).encode()
    status, _, _ = raw_request(
        base,
        "POST",
        "/-/review/save",
        {
            "Host": urllib.parse.urlsplit(base).netloc,
            "Cookie": cookies,
            "Content-Type": "application/x-www-form-urlencoded",
        },
        body,
    )
    assert status == 403
    assert line_text(root, line_id) == before
    # and A's own pair works
    status, _, _ = a.request(
        "/-/review/save", {"csrftoken": token_a, "action": "line", "line_id": line_id, "text": "甲"}
    )
    assert status == 303 and line_text(root, line_id) == "甲"


@pytest.mark.parametrize("path", ["/-/logout"])
def test_item09_logout_needs_the_sessions_token(users_server, path: str) -> None:
    base, _ = users_server
    a = Client(base)
    assert a.login("insp", USERS["insp"][1])[0] == 302
    status, _, _ = a.request(path, {"csrftoken": "forged"})
    assert status == 403
    assert a.request("/archive/entries")[0] == 200  # still logged in


def test_item02_names_given_with_allow_host_are_answered(local_archive) -> None:
    from tests.conftest import serve

    with serve(local_archive, "--allow-host", "archive.example") as base:
        port = urllib.parse.urlsplit(base).port
        ok = raw_request(base, "GET", "/archive/entries.json", {"Host": f"archive.example:{port}"})
        assert ok[0] == 200
        bad = raw_request(base, "GET", "/archive/entries.json", {"Host": f"evil.example:{port}"})
        assert bad[0] == 400


def _samples(root: Path) -> int:
    import sqlite3

    conn = sqlite3.connect(root / "archive.db")
    try:
        return conn.execute("select count(*) from spot_samples").fetchone()[0]
    finally:
        conn.close()


def test_item01_drawing_a_spot_check_sample_is_refused_cross_site(local_server) -> None:
    """Issue 15: the spot-check list's draw form writes like the review saves: a forged
    POST (another Origin, no cookie, no token) draws nothing; the site's own form draws."""
    base, root = local_server
    host = urllib.parse.urlsplit(base).netloc
    before = _samples(root)
    form = urllib.parse.urlencode({"size": "3", "mode": "blind"}).encode()
    for headers in (
        {"Origin": "http://evil.example"},
        {},  # curl: no Origin, no cookie, no token
    ):
        status, _, body = raw_request(
            base,
            "POST",
            "/-/spotcheck",
            {"Host": host, "Content-Type": "application/x-www-form-urlencoded", **headers},
            form,
        )
        assert status == 403, (status, body[:200])
    assert _samples(root) == before
    client = Client(base)
    token = client.token("/-/spotcheck")
    status, headers, body = client.request(
        "/-/spotcheck",
        {"csrftoken": token, "size": "3", "mode": "blind"},
        headers={"Origin": base},
    )
    assert status == 303, body[:300]
    assert {k.lower(): v for k, v in headers.items()}["location"].startswith("/-/spotcheck/")
    assert _samples(root) == before + 1
