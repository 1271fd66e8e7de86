"""Issue 12, items 14, 15, 17, 18, 23 (empty folder) and 26: awkward inputs to a real
``minqing ingest`` subprocess. Each test failed on the code before the fix."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from .conftest import SAMPLES, integrity, make_page, minqing, query, text


def test_item14_dates_going_backwards_link_and_rerun(tmp_path: Path) -> None:
    """Pages scanned in reverse order: dates go backwards through the notebook.
    Before: ``max() arg is an empty sequence`` in classify/links.py, exit 1, on every run."""
    book = tmp_path / "book"
    book.mkdir()
    src = SAMPLES / "shiqiao-liming"
    for i, n in enumerate((3, 2, 1), start=1):
        shutil.copy(src / f"page-{n:02d}.jpg", book / f"p{i:02d}.jpg")
    arc = tmp_path / "arc"
    for _run in (1, 2):  # the rerun crashed the same way
        proc = minqing("ingest", "book", "--archive", "arc", "-q", "--workers", "1", cwd=tmp_path)
        assert proc.returncode == 0, text(proc.stderr)
        assert "Traceback" not in text(proc.stderr)
    dates = [d for (d,) in query(arc, "select date from entries order by seq") if d]
    assert len(dates) >= 3 and dates != sorted(dates)  # the dates really go backwards
    # linking finished: the run was recorded (it is written after linking), twice
    assert query(arc, "select count(*) from runs")[0][0] == 2
    assert integrity(arc) == "ok"


def test_item15_non_utf8_file_name_is_archived_and_reported(tmp_path: Path) -> None:
    """A page named ``p02-\\xff\\xfe.png`` beside a good page.
    Before: UnicodeEncodeError in records.file_row, 0 pages archived, exit 1."""
    book = tmp_path / "book"
    book.mkdir()
    make_page(book / "p01.png", seed=1)
    make_page(os.fsencode(book) + b"/p02-\xff\xfe.png", seed=2)
    (book / "p03.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    os.rename(book / "p03.png", os.fsencode(book) + b"/p03-\xfe.png")
    arc = tmp_path / "arc"
    proc = minqing("ingest", "book", "--archive", "arc", "-q", "--workers", "1", cwd=tmp_path)
    err = text(proc.stderr)
    assert proc.returncode == 3, err  # the damaged page failed, the rest was archived
    assert "Traceback" not in err
    assert query(arc, "select count(*) from pages where book_id = 'book'")[0][0] == 2
    stored = dict(query(arc, "select path, state from files"))
    assert stored == {
        "book/p01.png": "ok",
        "book/p02-\\xff\\xfe.png": "ok",
        "book/p03-\\xfe.png": "failed",
    }
    # the failed file is named in one printable line, in the same escaped form
    (line,) = [ln for ln in err.splitlines() if "p03" in ln]
    assert line.startswith("error: book/p03-\\xfe.png: ")
    # a rerun recognises the stored file (nothing redone, nothing duplicated)
    again = minqing("ingest", "book", "--archive", "arc", "-q", "--workers", "1", cwd=tmp_path)
    assert again.returncode == 3
    assert query(arc, "select count(*) from pages")[0][0] == 2
    assert "0 OCR'd" in text(again.stderr)


def test_item15_non_utf8_folder_name_becomes_a_printable_book_id(tmp_path: Path) -> None:
    scans = tmp_path / "scans"
    scans.mkdir()
    folder = os.fsencode(scans) + b"/\xb2\xe2\xca\xd4"  # GBK bytes of 测试, not UTF-8
    os.mkdir(folder)
    make_page(folder + b"/p01.png", seed=3)
    arc = tmp_path / "arc"
    proc = minqing("ingest", "scans", "--archive", "arc", "-q", "--workers", "1", cwd=tmp_path)
    assert proc.returncode == 0, text(proc.stderr)
    assert query(arc, "select book_id from books") == [("\\xb2\\xe2\\xca\\xd4",)]
    assert query(arc, "select count(*) from pages")[0][0] == 1


@pytest.mark.skipif(not shutil.which("setpriv"), reason="needs setpriv to drop root's override")
def test_item17_unreadable_subfolder_is_one_failed_input(tmp_path: Path) -> None:
    """``scans/locked/`` cannot be listed. Before: the whole batch aborted, ``good`` not
    archived."""
    scans = tmp_path / "scans"
    for name in ("good", "locked"):
        (scans / name).mkdir(parents=True)
        make_page(scans / name / "p01.png", seed=len(name))
    (scans / "locked").chmod(0)
    arc = tmp_path / "arc"
    # root reads any folder; drop that power so the folder is really unreadable
    drop = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"] if os.geteuid() == 0 else []
    try:
        proc = minqing(
            "ingest",
            "scans",
            "--archive",
            "arc",
            "-q",
            "--workers",
            "1",
            cwd=tmp_path,
            preexec=drop,
        )
    finally:
        (scans / "locked").chmod(0o755)
    err = text(proc.stderr)
    assert proc.returncode == 3, err
    assert "Traceback" not in err
    assert query(arc, "select book_id, count(*) from pages group by book_id") == [("good", 1)]
    (line,) = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert "scans/locked: cannot list folder: Permission denied" in line
    assert query(arc, "select state from files where path like '%locked'") == [("failed",)]


def test_item18_symlink_loop_is_walked_once(tmp_path: Path) -> None:
    """``ln -s . book/loop``. Before: 41 books ``loop``, ``loop-2``, ... of the same pages."""
    book = tmp_path / "scans" / "book"
    book.mkdir(parents=True)
    make_page(book / "p01.png", seed=4)
    make_page(book / "p02.png", seed=5)
    os.symlink(".", book / "loop")
    os.symlink("..", book / "up")  # back to scans/, which holds book/ again
    arc = tmp_path / "arc"
    proc = minqing("ingest", "scans/book", "--archive", "arc", "-q", "--workers", "1", cwd=tmp_path)
    assert proc.returncode == 0, text(proc.stderr)
    assert query(arc, "select book_id from books") == [("book",)]
    assert query(arc, "select count(*) from pages")[0][0] == 2


def test_item23_empty_folder_exits_7_nothing_to_do(tmp_path: Path) -> None:
    """Before: exit 3 (the code for "some files failed")."""
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("not a scan")
    proc = minqing("ingest", "empty", "--archive", "arc", "-q", cwd=tmp_path)
    assert proc.returncode == 7
    expected = (
        "Error: empty: holds no scan files "
        "(give a folder of page images, a folder of PDFs or a PDF)"
    )
    assert text(proc.stderr).strip().splitlines() == [expected]


def test_item26_dangling_symlink_page_is_a_failed_file(tmp_path: Path) -> None:
    """Before: skipped silently, exit 0."""
    book = tmp_path / "book"
    book.mkdir()
    make_page(book / "p01.png", seed=6)
    os.symlink(tmp_path / "gone.png", book / "p02.png")
    arc = tmp_path / "arc"
    proc = minqing("ingest", "book", "--archive", "arc", "-q", "--workers", "1", cwd=tmp_path)
    err = text(proc.stderr)
    assert proc.returncode == 3, err
    (line,) = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert line == (
        f"error: book/p02.png: broken symbolic link (its target {tmp_path}/gone.png "
        "is missing) (restore the file it points to, or remove the link)"
    )
    assert query(arc, "select path, state from files order by path") == [
        ("book/p01.png", "ok"),
        ("book/p02.png", "failed"),
    ]


def test_item26_newline_in_a_file_name_keeps_its_error_on_one_line(tmp_path: Path) -> None:
    """Before: the error line of ``bad\\nname.jpg`` was split in two."""
    book = tmp_path / "book"
    book.mkdir()
    make_page(book / "p01.png", seed=7)
    (book / "p02\nbad.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated jpeg")
    arc = tmp_path / "arc"
    proc = minqing("ingest", "book", "--archive", "arc", "-q", "--workers", "1", cwd=tmp_path)
    err = text(proc.stderr)
    assert proc.returncode == 3, err
    errors = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith("error: book/p02\\nbad.jpg: ")
    assert not any(ln.startswith("bad.jpg") for ln in err.splitlines())
    assert query(arc, "select state from files where path = ?", ("book/p02\\nbad.jpg",)) == [
        ("failed",)
    ]
