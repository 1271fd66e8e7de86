"""Issue 12, items 20, 21 and 23 (SIGINT): real signals to a real ``minqing ingest``, and
two ingests into one archive. Each test failed on the code before the fix."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import time
from pathlib import Path

import pytest

from .conftest import (
    SAMPLES,
    integrity,
    minqing,
    popen_minqing,
    query,
    session_processes,
    text,
    wait_for,
)


def _sample_book(tmp_path: Path, name: str = "book", copies: int = 2) -> Path:
    """A notebook of real sample pages (slow enough to OCR that a run can be interrupted)."""
    book = tmp_path / "scans" / name
    book.mkdir(parents=True)
    from PIL import Image, ImageDraw

    n = 0
    for copy in range(copies):
        for src in sorted((SAMPLES / "shiqiao-liming").glob("page-*.jpg")):
            n += 1
            if copy == 0:
                shutil.copy(src, book / f"p{n:02d}.jpg")
                continue
            with Image.open(src) as im:  # another page: a mark in its margin
                im = im.convert("RGB")
                ImageDraw.Draw(im).rectangle((20, 20, 60 + 10 * n, 60), fill="black")
                im.save(book / f"p{n:02d}.jpg", quality=90)
    return book


def _start_with_workers(tmp_path: Path):
    """Start a 2-worker ingest in its own session; return it once its workers exist."""
    _sample_book(tmp_path)
    proc = popen_minqing(
        "ingest", "scans/book", "--archive", "arc", "--workers", "2", "-q", cwd=tmp_path
    )
    ok = wait_for(lambda: len(session_processes(proc.pid)) >= 4, timeout=90)
    if not ok:
        proc.kill()
        _, err = proc.communicate()
        pytest.fail(f"the workers never started: {session_processes(proc.pid)} {text(err)}")
    time.sleep(1.5)  # let the workers load their models and start reading pages
    return proc


def _reap(sid: int) -> None:
    """Kill whatever is left of a session (so a failing test leaves nothing running)."""
    for pid, _ in session_processes(sid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_item20_workers_die_with_a_killed_ingest(tmp_path: Path, sig: int) -> None:
    """``kill -9`` (or SIGTERM) of the ingest process only. Before: the forkserver, the
    resource tracker and both workers (~390 MB each) were still alive minutes later."""
    proc = _start_with_workers(tmp_path)
    sid = proc.pid
    try:
        os.kill(proc.pid, sig)
        # wait(), not communicate(): orphaned workers would hold its output pipes open
        assert proc.wait(timeout=30) == -sig
        gone = wait_for(lambda: not session_processes(sid), timeout=5)
        assert gone, f"still running 5 s after the ingest died: {session_processes(sid)}"
    finally:
        _reap(sid)
    # the run is completed by running the same command again
    again = minqing(
        "ingest", "scans/book", "--archive", "arc", "--workers", "2", "-q", cwd=tmp_path
    )
    assert again.returncode == 0, text(again.stderr)
    assert query(tmp_path / "arc", "select count(*) from pages")[0][0] == 6
    assert integrity(tmp_path / "arc") == "ok"


def test_item20_ctrl_c_exits_130_and_leaves_nothing_running(tmp_path: Path) -> None:
    """SIGINT to the process group, as Ctrl-C in a terminal sends it.
    Before: exit 1 "Aborted!" (and tracebacks from the workers)."""
    proc = _start_with_workers(tmp_path)
    sid = proc.pid
    try:
        os.killpg(sid, signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 130, text(err)
        assert "Traceback" not in text(err)
        assert text(err).strip().splitlines()[-1] == "interrupted"
        assert wait_for(lambda: not session_processes(sid), timeout=5), session_processes(sid)
    finally:
        _reap(sid)
    assert integrity(tmp_path / "arc") == "ok"


def test_item21_second_ingest_into_one_archive_is_refused(tmp_path: Path) -> None:
    """Before: one of the two died with a traceback (``database is locked`` in store_ocr,
    or ``view matters already exists``) in 4 of 4 trials."""
    _sample_book(tmp_path, "first", copies=1)
    second = tmp_path / "scans" / "second"
    second.mkdir()
    shutil.copy(SAMPLES / "shiqiao-zhangwei" / "page-01.jpg", second / "p01.jpg")
    first = popen_minqing(
        "ingest", "scans/first", "--archive", "arc", "--workers", "1", "-q", cwd=tmp_path
    )
    try:
        assert wait_for(lambda: (tmp_path / "arc" / "archive.db").exists(), timeout=60)
        time.sleep(0.5)
        other = minqing(
            "ingest", "scans/second", "--archive", "arc", "--workers", "1", "-q", cwd=tmp_path
        )
        assert other.returncode == 8, text(other.stderr)
        assert first.poll() is None, "the first ingest ended before the second one started"
        expected = (
            f"Error: arc: archive is being written by PID {first.pid} "
            "(wait for that ingest to finish, or stop it, then run again)"
        )
        assert text(other.stderr).strip().splitlines() == [expected]
        _, err = first.communicate(timeout=300)
        assert first.returncode == 0, text(err)
    finally:
        if first.poll() is None:
            first.kill()
        _reap(first.pid)
    # once the first is done, the second goes through
    again = minqing(
        "ingest", "scans/second", "--archive", "arc", "--workers", "1", "-q", cwd=tmp_path
    )
    assert again.returncode == 0, text(again.stderr)
    assert query(tmp_path / "arc", "select book_id, count(*) from pages group by book_id") == [
        ("first", 3),
        ("second", 1),
    ]
    assert integrity(tmp_path / "arc") == "ok"
