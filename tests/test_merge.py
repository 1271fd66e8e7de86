"""``minqing merge``: county archives into one (issue 16), on archives ingested with real OCR."""

from __future__ import annotations

import json
import shutil
import sqlite3
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from minqing.archive import schema
from minqing.archive.store import Archive
from minqing.review import corrections
from tests._helpers import seed_ocr_cache
from tests.conftest import SAMPLES, run_cli, serve


def dump(db_file: Path) -> list[str]:
    """Every row of every table (FTS shadow tables included), as SQL."""
    conn = sqlite3.connect(db_file)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def export_rows(root: Path) -> set[str]:
    out = run_cli("export", "entries", "--archive", str(root), "--format", "jsonl").stdout
    return {line for line in out.splitlines() if line.strip()}


def audit(root: Path, table: str, cols: str, where: str = "1", *params: str) -> set[tuple]:
    conn = sqlite3.connect(root / "archive.db")
    try:
        return set(conn.execute(f"select {cols} from {table} where {where}", params).fetchall())
    finally:
        conn.close()


@pytest.fixture(scope="module")
def counties(sample_archive: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two county archives (one sample book each, real OCR), each with reviewer corrections.
    Each ingest reads its pages' OCR from the cache, seeded with the real OCR the sample
    archive did once per run (the same pages are not OCR'd again here)."""
    base = tmp_path_factory.mktemp("counties")
    roots = (base / "hexi", base / "qingshan")
    for root, book in zip(roots, ("shiqiao-liming", "shiqiao-zhangwei"), strict=True):
        seed_ocr_cache(sample_archive, root, book)
        run_cli(
            "ingest", str(SAMPLES / book), "--archive", str(root),
            "--manifest", str(SAMPLES / "books.csv"), "-q",
        )  # fmt: skip
    with Archive(roots[0], write=True) as a:
        eid = a.db.execute("select entry_id from entries order by entry_id").fetchone()[0]
        assert corrections.set_status(a, eid, "escalated", who="hexi-reviewer")
    with Archive(roots[1], write=True) as a:
        lid, text = a.db.execute(
            "select line_id, text from lines where entry_id is not null order by line_id"
        ).fetchone()
        assert corrections.correct_line(a, lid, text + "（校）", who="qingshan-reviewer")
        eid = a.db.execute("select entry_id from entries order by entry_id desc").fetchone()[0]
        assert corrections.set_status(a, eid, "resolved", who="qingshan-reviewer")
    return roots


def test_two_archives_merged_twice_are_their_union(
    counties: tuple[Path, Path], tmp_path: Path
) -> None:
    hexi, qingshan = counties
    dest = tmp_path / "city"
    proc = run_cli("merge", str(hexi), str(qingshan), "--into", str(dest))
    assert "hexi: 1 book(s) merged" in proc.stderr and "qingshan: 1 book(s) merged" in proc.stderr
    first = dump(dest / "archive.db")
    proc = run_cli("merge", str(hexi), str(qingshan), "--into", str(dest))
    assert "0 book(s) merged, 1 unchanged" in proc.stderr
    assert dump(dest / "archive.db") == first  # merging again changed nothing

    # entries (the export, corrections applied) are the union
    assert export_rows(dest) == export_rows(hexi) | export_rows(qingshan)
    # the audit trail is the union, each row keeping its origin and its id there
    cols = "at, who, target, target_id, field, old, new"
    assert audit(dest, "corrections", cols) == audit(hexi, "corrections", cols) | audit(
        qingshan, "corrections", cols
    )
    for src in counties:
        mine = audit(dest, "corrections", f"origin_id, {cols}", "origin = ?", src.name)
        assert mine == audit(src, "corrections", f"id, {cols}") and mine
        assert audit(dest, "runs", "started_at, command") >= audit(
            src, "runs", "started_at, command"
        )
        assert audit(dest, "review_decisions", "at, who, kind, value") >= audit(
            src, "review_decisions", "at, who, kind, value"
        )
    assert {r[0] for r in audit(dest, "books", "origin")} == {"hexi", "qingshan"}
    assert audit(dest, "origins", "origin") == {("hexi",), ("qingshan",)}
    # accounts stay per archive: they live in each archive's accounts.db, never merged
    assert not (dest / "accounts.db").exists()

    conn = sqlite3.connect(dest / "archive.db")
    try:
        assert conn.execute("pragma integrity_check").fetchone() == ("ok",)
        assert conn.execute("pragma foreign_key_check").fetchall() == []
        # the maintained matters equal a recomputation from the entries
        got = conn.execute("select * from matters order by matter_id").fetchall()
        want = conn.execute(
            schema.MATTER_ROWS_SQL.format(root="1") + " order by matter_id"
        ).fetchall()
        assert got == want and len(got) > 0
        images = [
            r[0] for r in conn.execute("select image from pages union select original from pages")
        ]
        sample = {
            src.name: conn.execute(
                "select entry_id, text from entries e join books b using (book_id) "
                "where b.origin = ? order by entry_id",
                [src.name],
            ).fetchone()
            for src in counties
        }
    finally:
        conn.close()
    assert images and all((dest / rel).is_file() for rel in images)

    with serve(dest) as base:
        for eid, text in sample.values():
            word = next(
                text[i : i + 4] for i in range(len(text)) if "\u4e00" <= text[i] <= "\u9fff"
            )
            url = f"{base}/archive/entries.json?" + urllib.parse.urlencode(
                {"_search": word, "_shape": "objects", "_size": "max"}
            )
            with urllib.request.urlopen(url) as resp:
                rows = json.load(resp)["rows"]
            assert eid in {r["entry_id"] for r in rows}, (word, eid)


def test_clashing_book_ids_are_refused_unless_prefixed(
    counties: tuple[Path, Path], tmp_path: Path
) -> None:
    hexi, _ = counties
    twin = tmp_path / "hexi-copy"
    shutil.copytree(hexi, twin)
    dest = tmp_path / "city"
    run_cli("merge", str(hexi), "--into", str(dest), "-s")
    before = dump(dest / "archive.db")
    proc = run_cli("merge", str(twin), "--into", str(dest), check=False)
    assert proc.returncode == 8
    assert "book ids held by two archives: shiqiao-liming (hexi and hexi-copy)" in proc.stderr
    assert "--prefix" in proc.stderr
    assert dump(dest / "archive.db") == before  # nothing written

    run_cli("merge", str(twin), "--into", str(dest), "--prefix", "hexi-copy=copy-", "-s")
    conn = sqlite3.connect(dest / "archive.db")
    try:
        ids = [r[0] for r in conn.execute("select entry_id from entries order by entry_id")]
        plain = [i for i in ids if not i.startswith("copy-")]
        assert sorted("copy-" + i for i in plain) == [i for i in ids if i.startswith("copy-")]
        # every derived id follows: matters, follow-ups, lines, pages point inside the copy
        assert conn.execute(
            "select count(*) from entries where book_id like 'copy-%' and "
            "(matter_id not like 'copy-%' or follow_up_of not like 'copy-%')"
        ).fetchone() == (0,)
        assert conn.execute(
            "select count(*) from lines where book_id like 'copy-%' and "
            "(page_id not like 'copy-%' or entry_id not like 'copy-%')"
        ).fetchone() == (0,)
        assert conn.execute(
            "select count(*) from corrections where origin = 'hexi-copy' "
            "and target_id not like 'copy-%'"
        ).fetchone() == (0,)
        assert conn.execute("pragma integrity_check").fetchone() == ("ok",)
    finally:
        conn.close()
