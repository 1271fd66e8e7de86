"""Issue 12, item 23: exit codes as the README documents them (SIGINT → 130 and the
empty folder → 7 are tested with the ingest faults). Before: a bug exited 1 with a
Python traceback, and the documented code 15 was never used."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from .conftest import minqing, text

_BOOM = """
import sys
from minqing.cli import cli

@cli.command("boom")
def boom():
    raise RuntimeError("kaboom\\nsecond line")

cli(sys.argv[1:], prog_name="minqing")
"""


def _boom(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    """A command with a bug in it, run through minqing's real command line."""
    return subprocess.run(
        [sys.executable, "-c", _BOOM, *args],
        cwd=tmp_path,
        capture_output=True,
        timeout=120,
        check=False,
    )


def test_item23_a_bug_exits_15_with_one_line_and_a_log(tmp_path: Path) -> None:
    proc = _boom(tmp_path, "boom")
    err = text(proc.stderr)
    assert proc.returncode == 15, err
    (line,) = err.strip().splitlines()
    assert line.startswith(
        "Error: internal error: RuntimeError: kaboom (a bug, please report it; the traceback is in "
    )
    log = Path(line.split("the traceback is in ")[1].split(";")[0])
    try:
        logged = log.read_text()
        assert "Traceback (most recent call last)" in logged and "kaboom" in logged
    finally:
        log.unlink(missing_ok=True)
    # usage errors keep click's codes
    assert minqing("no-such-command", cwd=tmp_path).returncode == 2
    assert minqing("--version", cwd=tmp_path).returncode == 0
    missing = minqing("ingest", "nowhere", "--archive", "arc", cwd=tmp_path)
    assert missing.returncode == 2 and "does not exist" in text(missing.stderr)


def test_item23_debug_prints_the_traceback(tmp_path: Path) -> None:
    proc = _boom(tmp_path, "--debug", "boom")
    err = text(proc.stderr)
    assert proc.returncode == 15, err
    assert "Traceback (most recent call last)" in err and "RuntimeError: kaboom" in err
    Path(err.split("the traceback is in ")[1].split(";")[0]).unlink(missing_ok=True)


def test_item23_damaged_archive_database_exits_4_in_one_line(tmp_path: Path) -> None:
    arc = tmp_path / "arc"
    arc.mkdir()
    (arc / "archive.db").write_bytes(b"this is not an SQLite database at all" * 100)
    proc = minqing("export", "entries", "--archive", "arc", cwd=tmp_path)
    err = text(proc.stderr)
    assert proc.returncode == 4, err
    expected = (
        "Error: the archive database cannot be used: file is not a database (restore "
        "archive.db from a backup, or free disk space if the disk is full)"
    )
    assert err.strip().splitlines() == [expected]


def test_an_archive_written_by_a_newer_minqing_is_one_line_and_exit_4(tmp_path: Path) -> None:
    """Before: "Error: internal error: ArchiveSchemaError: … (a bug, please report it…)",
    exit 15, although the archive (not the code) is what does not fit."""
    from minqing.archive.store import Archive

    with Archive(tmp_path / "arc", create=True) as a:
        a.db["_sqlite_migrations"].insert(
            {"migration_set": "minqing", "name": "m999_future", "applied_at": "2030-01-01"}
        )
    (tmp_path / "scans" / "book").mkdir(parents=True)
    proc = minqing("ingest", "scans/book", "--archive", "arc", cwd=tmp_path)
    (line,) = text(proc.stderr).strip().splitlines()
    assert proc.returncode == 4, line
    assert line == (
        "Error: arc/archive.db: the archive was upgraded by a newer minqing (migrations "
        "m999_future) (upgrade minqing before writing to this archive; reading it works)"
    )
