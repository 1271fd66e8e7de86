"""Datasette over real HTTP (``minqing serve`` as a subprocess) answers Chinese searches;
``serve`` listens on a public address only when users are configured."""

from __future__ import annotations

import json
import shutil
import sqlite3
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from minqing.archive.store import Archive
from minqing.web import access
from tests._helpers import SAMPLES, http_fetch, run_minqing, serve


def get_json(url: str) -> object:
    with urllib.request.urlopen(url, timeout=30) as resp:
        assert resp.status == 200
        return json.loads(resp.read().decode("utf-8"))


def search(base: str, query: str) -> set[str]:
    q = urllib.parse.urlencode(
        {"_search": query, "_shape": "array", "_col": "entry_id", "_size": "max"}
    )
    rows = get_json(f"{base}/archive/entries.json?{q}")
    return {r["entry_id"] for r in rows}  # type: ignore[union-attr]


def substring_scan(archive: Path, word: str) -> set[str]:
    db = sqlite3.connect(archive / "archive.db")
    try:
        return {
            r[0] for r in db.execute("select entry_id, text from entries") if word in (r[1] or "")
        }
    finally:
        db.close()


def truth_count(word: str) -> int:
    truth = json.loads((SAMPLES / "truth.json").read_text(encoding="utf-8"))
    return sum(word in e["text"] for e in truth["entries"])


def four_char_compound() -> str:
    """The four-character compound the samples' README promises (土地承包)."""
    return "土地承包"


@pytest.mark.parametrize("word", ["饮水", four_char_compound()])
def test_search_box_finds_exactly_the_entries_containing_the_word(
    served_archive: str, sample_archive: Path, word: str
) -> None:
    found = search(served_archive, word)
    assert found == substring_scan(sample_archive, word)
    assert len(found) == truth_count(word) > 0


def test_search_page_html_lists_the_hits(served_archive: str) -> None:
    q = urllib.parse.quote("饮水")
    with urllib.request.urlopen(
        f"{served_archive}/archive/entries?_search={q}", timeout=30
    ) as resp:
        html = resp.read().decode("utf-8")
    assert "事项条目" in html
    assert "饮水" in html


def test_multiword_search_requires_every_word(served_archive: str, sample_archive: Path) -> None:
    found = search(served_archive, "饮水 村民")
    expected = substring_scan(sample_archive, "饮水") & substring_scan(sample_archive, "村民")
    assert found == expected


def test_serve_refuses_public_address_without_users(sample_archive: Path) -> None:
    # a subprocess: were the refusal to fail, this would serve, not hang the test run
    proc = run_minqing(
        "serve", "--archive", str(sample_archive), "--host", "0.0.0.0", check=False, timeout=60
    )
    assert proc.returncode == 8
    assert "refusing to listen on 0.0.0.0" in proc.stderr


def test_serve_with_users_listens_on_a_public_address(sample_archive: Path, tmp_path: Path) -> None:
    root = tmp_path / "archive"
    shutil.copytree(sample_archive, root)
    with Archive(root) as a:
        access.add_user(a.db, "wang", "inspector", "inspect-pass-1")
    with serve(root, "--host", "0.0.0.0") as base:
        status, _, body = http_fetch(base + "/-/login")
        assert status == 200 and "密码" in body.decode("utf-8")
        status, _, _ = http_fetch(base + "/archive/entries")
        assert status == 302  # every page needs a login
