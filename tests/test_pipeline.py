"""End to end through the real CLI: samples → archive → export, scored against truth."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests._helpers import SAMPLES, SCORER, need_shared, run_cli, sample_books, seed_ocr_cache

CONTRACT = (
    "entry_id",
    "book",
    "page_start",
    "page_end",
    "date",
    "category_code",
    "category",
    "text",
    "follow_up_of",
    "status",
)


def export_entries(archive: Path) -> list[dict]:
    proc = run_cli("export", "entries", "--archive", str(archive), "--format", "jsonl")
    return [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]


def test_export_has_every_contract_field(sample_archive: Path) -> None:
    rows = export_entries(sample_archive)
    assert len(rows) >= 10
    for row in rows:
        missing = [f for f in CONTRACT if f not in row]
        assert not missing, f"{row['entry_id']} lacks {missing}"
        assert 1 <= row["category_code"] <= 8
        assert row["book"] in {p.name for p in sample_books()}
        assert 1 <= row["page_start"] <= row["page_end"]
    assert len({r["entry_id"] for r in rows}) == len(rows)
    # book metadata from the samples' manifest reaches every entry (facets rely on it)
    assert {(r["book"], r["cadre"], r["village"]) for r in rows} == {
        ("shiqiao-zhangwei", "张伟", "杨树沟村"),
        ("shiqiao-liming", "李明", "河湾村"),
    }


def test_export_csv_has_header_and_rows(sample_archive: Path, tmp_path: Path) -> None:
    out = tmp_path / "entries.csv"
    run_cli(
        "export", "entries", "--archive", str(sample_archive), "--format", "csv", "-o", str(out)
    )
    import csv

    # a UTF-8 BOM first, so that Excel on Chinese Windows reads the file as UTF-8
    assert out.read_bytes().startswith(b"\xef\xbb\xbfentry_id,")
    rows = list(csv.DictReader(out.open(encoding="utf-8-sig")))
    assert rows and set(CONTRACT) <= set(rows[0])
    assert len(rows) == len(export_entries(sample_archive))
    # booleans as 1/0, never Python's True/False
    assert {r["date_inferred"] for r in rows} <= {"0", "1"}
    assert {r["category_confirmed"] for r in rows} <= {"0", "1"}


def test_export_scores_against_truth(sample_archive: Path, tmp_path: Path) -> None:
    scorer = need_shared(SCORER)
    export = tmp_path / "entries.jsonl"
    run_cli("export", "entries", "--archive", str(sample_archive), "-o", str(export))
    metrics = tmp_path / "metrics.json"
    proc = subprocess.run(
        [
            sys.executable,
            str(scorer),
            str(SAMPLES / "truth.json"),
            str(export),
            "--json",
            str(metrics),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    m = json.loads(metrics.read_text())
    print(proc.stdout)
    assert m["seg_f1"] >= 0.9, proc.stdout
    assert m["cat_acc"] >= 0.8, proc.stdout
    assert m["date_acc"] >= 0.9, proc.stdout
    assert m["cer_book"] <= 0.05, proc.stdout


def test_second_ingest_does_no_ocr(archive_copy: Path) -> None:
    db = sqlite3.connect(archive_copy / "archive.db")
    before = db.execute("select count(*) from ocr_cache").fetchone()[0]
    pages_before = db.execute("select page_id, sha256 from pages order by page_id").fetchall()
    db.close()
    proc = run_cli("ingest", *map(str, sample_books()), "--archive", str(archive_copy), "-q")
    assert "0 OCR'd" in proc.stderr and "no OCR redone" in proc.stderr, proc.stderr
    db = sqlite3.connect(archive_copy / "archive.db")
    assert db.execute("select count(*) from ocr_cache").fetchone()[0] == before
    assert (
        db.execute("select page_id, sha256 from pages order by page_id").fetchall() == pages_before
    )


def test_corrupt_file_in_a_notebook(sample_archive: Path, tmp_path: Path) -> None:
    book = tmp_path / "scans" / "bad-book"
    src = sample_books()[0]
    shutil.copytree(src, book, ignore=shutil.ignore_patterns("*.json", "*.md"))
    pages = sorted(p for p in book.iterdir())
    good = len(pages)
    corrupt = book / "page-99.jpg"
    corrupt.write_bytes(pages[0].read_bytes()[:400])  # truncated image
    archive = tmp_path / "archive"
    # the good pages' OCR comes from the cache (the sample archive's real OCR, done once)
    seed_ocr_cache(sample_archive, archive, src.name)
    proc = run_cli(
        "ingest", str(book), "--archive", str(archive), "--workers", "1", "-q", check=False
    )
    assert proc.returncode == 3, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if str(corrupt) in line]
    assert len(errors) == 1, proc.stderr
    db = sqlite3.connect(archive / "archive.db")
    assert db.execute("select count(*) from pages where book_id = 'bad-book'").fetchone()[0] == good
    assert (
        db.execute("select state from files where path = ?", [str(corrupt)]).fetchone()[0]
        == "failed"
    )
    assert db.execute("select count(*) from entries where book_id = 'bad-book'").fetchone()[0] > 0


def test_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    proc = run_cli("ingest", str(tmp_path / "nope"), "--archive", str(tmp_path / "a"), check=False)
    assert proc.returncode == 2
    assert "does not exist" in proc.stderr


def test_export_without_archive_says_what_to_do(tmp_path: Path) -> None:
    proc = run_cli("export", "entries", "--archive", str(tmp_path / "none"), check=False)
    assert proc.returncode == 4
    assert proc.stderr.strip().splitlines()[-1].startswith("Error: ")
    assert "minqing ingest" in proc.stderr
