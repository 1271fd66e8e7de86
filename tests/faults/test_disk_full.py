"""Issue 12, item 22 (ingest half): the archive's disk fills up during an ingest.

A real full disk: a small tmpfs mounted as the archive folder (needs root; skipped
elsewhere). Before: a traceback, exit 1, ``images/*/*.png.tmpNNNN`` left behind."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from .conftest import integrity, make_page, minqing, query, text


@pytest.fixture()
def small_disk(tmp_path: Path):
    """A 3 MiB tmpfs at ``tmp_path/arc``."""
    mnt = tmp_path / "arc"
    mnt.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small filesystem needs root")
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mnt)],
        capture_output=True,
        check=False,
    )
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.decode(errors='replace')}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def _noisy_pages(folder: Path, n: int) -> None:
    """Pages whose PNGs (~4.5 MB each) cannot fit on the small disk."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        arr = np.full((1600, 1200, 3), 255, np.uint8)
        arr[200:1400:40, 100:1100] = 0
        arr = (arr.astype(int) - rng.integers(0, 60, arr.shape)).clip(0, 255).astype(np.uint8)
        Image.fromarray(arr).save(folder / f"p{i + 1:02d}.png")


def _leftover_temp_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if ".tmp" in p.name]


def _check_one_line_errors(stderr: str) -> None:
    assert "Traceback" not in stderr
    for line in stderr.strip().splitlines():
        assert line.startswith(("error: ", "Error: ")) or "book(s)" in line or "failed" in line, (
            line
        )


def test_item22_disk_full_fails_the_files_keeps_the_archive(
    tmp_path: Path, small_disk: Path
) -> None:
    book_a = tmp_path / "scans" / "a"
    book_a.mkdir(parents=True)
    for i in range(3):
        make_page(book_a / f"p{i + 1:02d}.png", seed=i)
    first = minqing("ingest", "scans/a", "--archive", "arc", "-q", "--workers", "1", cwd=tmp_path)
    assert first.returncode == 0, text(first.stderr)

    # pages too big for the space left: each file fails with one line, the run exits 3
    _noisy_pages(tmp_path / "scans" / "b", 2)
    full = minqing("ingest", "scans/b", "--archive", "arc", "-q", "--workers", "1", cwd=tmp_path)
    err = text(full.stderr)
    assert full.returncode == 3, err
    _check_one_line_errors(err)
    errors = [ln for ln in err.splitlines() if ln.startswith("error: ")]
    assert len(errors) == 2
    assert all("No space left on device" in ln for ln in errors), errors
    assert _leftover_temp_files(small_disk) == []
    assert query(small_disk, "select book_id, count(*) from pages group by book_id") == [("a", 3)]

    # the disk filled to the last byte: now the database itself cannot grow
    book_c = tmp_path / "scans" / "c"
    book_c.mkdir()
    make_page(book_c / "p01.png", seed=9, size=(200, 200))
    filler = small_disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        while os.write(fd, b"\0" * 4096):
            pass
    except OSError:
        pass
    finally:
        os.close(fd)
    stuck = minqing("ingest", "scans/c", "--archive", "arc", "-q", "--workers", "1", cwd=tmp_path)
    err = text(stuck.stderr)
    assert stuck.returncode in (3, 4), err
    _check_one_line_errors(err)
    assert "disk is full" in err or "No space left on device" in err, err
    assert _leftover_temp_files(small_disk) == []

    # nothing already archived was lost, and freeing space is all it takes
    filler.unlink()
    assert integrity(small_disk) == "ok"
    assert query(small_disk, "select book_id, count(*) from pages group by book_id") == [("a", 3)]
    again = minqing("ingest", "scans/c", "--archive", "arc", "-q", "--workers", "1", cwd=tmp_path)
    assert again.returncode == 0, text(again.stderr)
    assert query(small_disk, "select book_id, count(*) from pages group by book_id") == [
        ("a", 3),
        ("c", 1),
    ]
