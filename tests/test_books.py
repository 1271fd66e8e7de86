"""Book metadata corrected without re-ingesting; rescans, duplicates and retries."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from tests._helpers import run_cli, sample_books, seed_ocr_cache


def q(archive: Path, sql: str, params: tuple = ()) -> list[tuple]:
    db = sqlite3.connect(archive / "archive.db")
    try:
        return db.execute(sql, params).fetchall()
    finally:
        db.close()


def test_books_set_updates_entries_and_audit(archive_copy: Path) -> None:
    ocr_before = q(archive_copy, "select count(*) from ocr_cache")
    proc = run_cli(
        "books",
        "set",
        "shiqiao-liming",
        "--village",
        "新河湾村",
        "--who",
        "archivist",
        "--archive",
        str(archive_copy),
    )
    assert "1 field(s) changed" in proc.stderr
    assert q(
        archive_copy, "select distinct village from entries where book_id = 'shiqiao-liming'"
    ) == [("新河湾村",)]
    assert q(archive_copy, "select who, target, target_id, field, old, new from corrections") == [
        ("archivist", "books", "shiqiao-liming", "village", "河湾村", "新河湾村")
    ]
    assert q(archive_copy, "select count(*) from ocr_cache") == ocr_before
    listing = run_cli("books", "list", "--archive", str(archive_copy)).stdout
    assert "shiqiao-liming\t李明\t驻村干部\t石桥镇\t新河湾村" in listing


def test_books_import_with_an_unknown_book_changes_nothing(
    archive_copy: Path, tmp_path: Path
) -> None:
    manifest = tmp_path / "books.csv"
    manifest.write_text(
        "book_id,village\nshiqiao-liming,别的村\nno-such-book,某村\n", encoding="utf-8"
    )
    proc = run_cli("books", "import", str(manifest), "--archive", str(archive_copy), check=False)
    assert proc.returncode == 6
    assert "no-such-book" in proc.stderr
    assert q(archive_copy, "select village from books where book_id = 'shiqiao-liming'") == [
        ("河湾村",)
    ]


def test_rescan_duplicate_and_retry(sample_archive: Path, tmp_path: Path) -> None:
    book = tmp_path / "scans" / "b1"
    src = sample_books()[1]  # shiqiao-zhangwei, 5 pages
    shutil.copytree(src, book, ignore=shutil.ignore_patterns("*.json", "*.md"))
    pages = sorted(book.iterdir())
    (book / "page-03.jpg").write_bytes(b"\xff\xd8\xff\xe0 broken")  # a failed file
    (book / "page-02b.jpg").write_bytes(pages[1].read_bytes())  # the same page scanned twice
    archive = tmp_path / "archive"
    # the sample's pages come from the OCR cache (its real OCR, done once per run); the
    # rescan of page 4 below is a new image, OCR'd for real
    seed_ocr_cache(sample_archive, archive, src.name)
    proc = run_cli(
        "ingest", str(book), "--archive", str(archive), "--workers", "1", "-q", check=False
    )
    assert proc.returncode == 3
    assert q(archive, "select count(*) from pages") == [(4,)]
    assert q(archive, "select state from files where path like '%page-02b.jpg'") == [("duplicate",)]
    # the failed file is rescanned (fixed) and retried on the next run: pages renumber in file order
    shutil.copy(src / "page-03.jpg", book / "page-03.jpg")
    proc = run_cli("ingest", str(book), "--archive", str(archive), "--workers", "1", "-q")
    assert q(archive, "select count(*) from pages") == [(5,)]
    assert q(archive, "select page_no from pages where source_file like '%page-03.jpg'") == [(3,)]
    assert q(archive, "select count(*) from files where state = 'failed'") == [(0,)]
    # a rescan of page 4 (another image under the same name) replaces it, same page number
    old_sha = q(archive, "select sha256 from pages where page_no = 4")[0][0]
    from PIL import Image, ImageEnhance

    with Image.open(src / "page-04.jpg") as im:  # the archivist's new scan: a bit brighter
        ImageEnhance.Brightness(im).enhance(1.08).save(book / "page-04.jpg", quality=85)
    run_cli("ingest", str(book), "--archive", str(archive), "--workers", "1", "-q")
    assert q(archive, "select count(*) from pages") == [(5,)]
    (new_sha,) = q(archive, "select sha256 from pages where page_no = 4")[0]
    assert new_sha != old_sha
    assert q(archive, "select count(*) from pages where page_no = 5") == [(1,)]
