"""Logins and sessions against a real ``minqing serve`` (issue 12 items 3–7)."""

from __future__ import annotations

import math
import shutil
import statistics
import time
import urllib.parse
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from minqing.web import access
from tests.conftest import launch_chromium, needs_chromium, run_cli, serve
from tests.security.conftest import USERS, Client, add_users, first_line, line_text


def test_item03_removing_the_last_user_does_not_open_the_archive(users_server) -> None:
    base, root = users_server
    for name in USERS:
        run_cli("users", "remove", name, "--archive", str(root))
    time.sleep(1.2)  # the users check is cached for one second
    anon = Client(base)
    assert anon.request("/archive/entries")[0] == 302  # to the login page
    status, _, body = anon.request("/archive.json?sql=select+line_id,text+from+lines")
    assert status == 403 and "line_id" not in body
    assert anon.request("/-/review")[0] in (302, 403)
    line_id, before, _, _ = first_line(root)
    token = anon.token("/-/login")
    status, _, _ = anon.request(
        "/-/review/save", {"csrftoken": token, "action": "line", "line_id": line_id, "text": "x"}
    )
    assert status == 403 and line_text(root, line_id) == before


def test_item03_a_server_started_without_users_requires_login_once_one_is_added(
    local_server, tmp_path: Path
) -> None:
    base, root = local_server
    assert Client(base).request("/archive/entries")[0] == 200
    pw = tmp_path / "pw"
    pw.write_text("temporary-pass\n", encoding="utf-8")
    run_cli("users", "add", "tmp", "--password-file", str(pw), "--archive", str(root))
    time.sleep(1.2)
    assert Client(base).request("/archive/entries")[0] == 302
    run_cli("users", "remove", "tmp", "--archive", str(root))
    time.sleep(1.2)
    assert Client(base).request("/archive/entries")[0] == 302  # latched


BAD_NEXT = ["/\t/evil.example", "//evil.example/", "/\\evil.example", "https://evil.example/"]
CONTROL_NEXT = ["/\n/evil.example", "/\r\n/evil.example", "/\x0b/x", "/\x0c/x", "/\x00/x"]


@pytest.fixture(scope="module")
def redirect_server(
    sample_archive: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Path]]:
    """One ``minqing serve`` with users for every ``next=`` case below: each case logs in
    once with the right password, which changes nothing the next case reads."""
    tmp = tmp_path_factory.mktemp("redirect")
    root = tmp / "archive"
    shutil.copytree(sample_archive, root)
    add_users(root, tmp)
    with serve(root) as base:
        yield base, root


@pytest.mark.parametrize("nxt", BAD_NEXT + CONTROL_NEXT)
def test_item04_login_redirect_stays_on_this_site(redirect_server, nxt: str) -> None:
    base, _ = redirect_server
    client = Client(base)
    # the login page itself answers cleanly whatever next= holds
    status, _, _ = client.request("/-/login?" + urllib.parse.urlencode({"next": nxt}))
    assert status == 200
    status, headers = client.login("insp", USERS["insp"][1], next_url=nxt)
    assert status == 302
    location = headers["Location"]
    assert location == "/", repr(location)


@needs_chromium
def test_item04_browser_login_with_a_tab_in_next_stays_on_this_site(users_server) -> None:
    from playwright.sync_api import sync_playwright

    base, _ = users_server
    ours = urllib.parse.urlsplit(base).netloc
    requested: list[str] = []
    with sync_playwright() as p:
        browser = launch_chromium(p)
        page = browser.new_page()
        page.on("request", lambda r: requested.append(r.url))
        page.goto(base + "/-/login?next=%2F%09%2Fevil.example")
        page.fill("input[name=username]", "insp")
        page.fill("input[name=password]", USERS["insp"][1])
        with page.expect_navigation():
            page.click("button[type=submit], input[type=submit]")
        final = page.url
        browser.close()
    assert not [u for u in requested if "evil.example" in urllib.parse.urlsplit(u).netloc]
    assert urllib.parse.urlsplit(final).netloc == ours, final


def test_item05_logout_ends_the_session_for_good(users_server) -> None:
    base, _ = users_server
    client = Client(base)
    assert client.login("insp", USERS["insp"][1])[0] == 302
    captured = client.cookie("minqing_session")
    assert captured and client.request("/archive/entries")[0] == 200
    token = client.token("/-/logout")
    assert client.request("/-/logout", {"csrftoken": token})[0] == 302
    # the captured cookie, replayed after the logout, opens nothing
    replay = Client(base)
    status, headers, _ = replay.request(
        "/archive/entries", headers={"Cookie": f"minqing_session={captured}"}
    )
    assert status == 302 and headers["Location"].startswith("/-/login")
    status, _, _ = replay.request(
        "/archive.json?sql=select+1", headers={"Cookie": f"minqing_session={captured}"}
    )
    assert status == 403


def test_item06_parallel_guessing_is_throttled_by_account_and_client(users_server) -> None:
    base, _ = users_server
    name, password = "insp", USERS["insp"][1]

    def guesser(n: int) -> list[int]:
        client = Client(base)
        out = []
        for i in range(25):
            out.append(client.login(name, f"wrong-password-{n}-{i}")[0])
        return out

    t0 = time.monotonic()
    with ThreadPoolExecutor(12) as pool:
        statuses = [s for r in pool.map(guesser, range(12)) for s in r]
    elapsed = time.monotonic() - t0
    assert len(statuses) == 300
    # 5 free failures, then one more try after 1, 2, 4, 8 ... s: the rest get 429
    allowed = 5 + math.ceil(math.log2(elapsed + 1)) + 1
    assert statuses.count(401) <= allowed, (statuses.count(401), elapsed)
    assert set(statuses) <= {401, 429}
    # the right password right after is refused too: the account is locked for a while
    assert Client(base).login(name, password)[0] == 429


def test_item07_unknown_and_known_users_cost_the_same(users_archive: Path, monkeypatch) -> None:
    import hashlib

    calls: list[int] = []
    real = hashlib.scrypt

    def counting(*a, **k):  # type: ignore[no-untyped-def]
        calls.append(1)
        return real(*a, **k)

    db = users_archive / "archive.db"  # the login check's argument, then and now
    access.authenticate(db, "nobody", "warm-up")  # one-time set-up cost
    monkeypatch.setattr(hashlib, "scrypt", counting)
    assert access.authenticate(db, "nobody-at-all", "wrong-password") is None
    unknown = len(calls)
    calls.clear()
    assert access.authenticate(db, "insp", "wrong-password") is None
    known = len(calls)
    assert unknown == known == 1
    monkeypatch.setattr(hashlib, "scrypt", real)
    # and the clock agrees (medians of interleaved tries)
    t_unknown, t_known = [], []
    for i in range(9):
        t0 = time.perf_counter()
        access.authenticate(db, f"nobody-{i}", "wrong-password")
        t_unknown.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        access.authenticate(db, "insp", "wrong-password")
        t_known.append(time.perf_counter() - t0)
    ratio = statistics.median(t_unknown) / statistics.median(t_known)
    assert 0.67 < ratio < 1.5, ratio
