"""The OCR cache, corrections across re-runs, and resuming after a kill -9."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from tests._helpers import MINQING, run_cli, sample_books


def q(archive: Path, sql: str, params: tuple = ()) -> list[tuple]:
    db = sqlite3.connect(archive / "archive.db")
    try:
        return db.execute(sql, params).fetchall()
    finally:
        db.close()


def correct_line(archive: Path, line_id: str, text: str) -> None:
    db = sqlite3.connect(archive / "archive.db")
    with db:
        db.execute(
            "update lines set text = ?, corrected = 1, corrected_text = ? where line_id = ?",
            (text, text, line_id),
        )
    db.close()


def test_engine_change_reocrs_but_keeps_corrections(archive_copy: Path) -> None:
    books = [str(p) for p in sample_books()]
    line_id, old = q(
        archive_copy,
        "select line_id, text from lines where length(text) > 8 order by line_id limit 1",
    )[0]
    fixed = "校对后的文字" + old[6:]
    correct_line(archive_copy, line_id, fixed)
    eid, code = q(
        archive_copy, "select entry_id, category_code from entries order by entry_id limit 1"
    )[0]
    new_code = 8 if code != 8 else 1
    db = sqlite3.connect(archive_copy / "archive.db")
    with db:
        db.execute(
            "update entries set category_code = ?, category_confirmed = 1 where entry_id = ?",
            (new_code, eid),
        )
    db.close()

    proc = run_cli(
        "ingest",
        *books,
        "--archive",
        str(archive_copy),
        "--engine-option",
        "pad=false",
        "--workers",
        "1",
        "-q",
    )
    ocrd = int(proc.stderr.split(" OCR'd")[0].rsplit(" ", 1)[-1])
    assert ocrd == q(archive_copy, "select count(*) from pages")[0][0], proc.stderr

    ((text, corrected),) = q(archive_copy, "select text, corrected from lines where corrected = 1")
    assert text == fixed and corrected == 1
    entry_text = q(
        archive_copy,
        "select text from entries "
        "where entry_id = (select entry_id from lines where corrected = 1)",
    )[0][0]
    assert fixed in entry_text
    assert q(
        archive_copy,
        "select category_code, category_confirmed from entries where category_confirmed = 1",
    ) == [(new_code, 1)]
    engines = {r[0] for r in q(archive_copy, "select distinct engine_id from ocr_cache")}
    assert len(engines) == 2  # the old results stay cached beside the new ones


def test_same_engine_again_is_served_from_cache(archive_copy: Path) -> None:
    proc = run_cli(
        "ingest", *map(str, sample_books()), "--archive", str(archive_copy), "--workers", "2", "-q"
    )
    assert "0 OCR'd" in proc.stderr


@pytest.mark.slow
def test_kill_9_mid_batch_then_resume(tmp_path: Path) -> None:
    scans = tmp_path / "scans"
    for book in sample_books():
        shutil.copytree(book, scans / book.name, ignore=shutil.ignore_patterns("*.json", "*.md"))
    archive = tmp_path / "archive"
    args = [*MINQING, "ingest", str(scans), "--archive", str(archive), "--workers", "2", "-q"]
    proc = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
    )
    deadline = time.monotonic() + 300
    try:
        while time.monotonic() < deadline:
            if (archive / "archive.db").exists():
                try:
                    if q(archive, "select count(*) from ocr_cache")[0][0] >= 2:
                        break
                except sqlite3.OperationalError:
                    pass
            assert proc.poll() is None, "ingest finished before it could be killed"
            time.sleep(0.2)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    n_pages = sum(1 for b in scans.iterdir() for p in b.iterdir())
    assert q(archive, "select count(*) from pages")[0][0] < n_pages  # really interrupted

    done = subprocess.run(args, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    pages = q(archive, "select book_id, page_no, source_file from pages order by book_id, page_no")
    assert len(pages) == n_pages
    assert len({p[2] for p in pages}) == n_pages  # every scan exactly once
    for book in scans.iterdir():
        nos = [p[1] for p in pages if p[0] == book.name]
        assert nos == list(range(1, len(list(book.iterdir())) + 1))
    assert q(
        archive,
        "select count(*) from pages p "
        "where not exists (select 1 from lines l where l.page_id = p.page_id)",
    ) == [(0,)]
    assert q(archive, "select count(*) from files where state != 'ok'") == [(0,)]
    # resumed run re-used the OCR already done before the kill
    ocr_rows = q(archive, "select count(*) from ocr_cache")[0][0]
    assert ocr_rows == n_pages
    entries = q(archive, "select count(*) from entries")[0][0]
    assert entries > 0
