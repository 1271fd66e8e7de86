"""Helpers of the fault suite (issue 12, items 14-26): real files, real processes, real signals.

Self-contained on purpose (it imports nothing from ``tests.*`` or, at import time, from
``minqing``), so that the same files can be run against an older checkout to show that
each test fails there: ``cd /tmp && OLD/.venv/bin/python -m pytest --import-mode=importlib
NEW/tests/faults``. Every ``minqing`` command runs in a subprocess whose working folder
is the test's temporary folder.
"""

from __future__ import annotations

import os
import random
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "samples"
MINQING = [sys.executable, "-m", "minqing"]


def make_page(path: Path | bytes, seed: int = 0, size: tuple[int, int] = (480, 640)) -> None:
    """A small, distinct page image (a few ruled strokes) at ``path`` (str, Path or bytes)."""
    from PIL import Image, ImageDraw

    rng = random.Random(seed)
    im = Image.new("RGB", size, "white")
    d = ImageDraw.Draw(im)
    w, h = size
    for i in range(5):
        y = 60 + i * (h - 120) // 5 + rng.randint(-8, 8)
        d.line((40, y, w - 40 - rng.randint(0, 120), y + rng.randint(-4, 4)), fill="black", width=3)
    fmt = "PNG"
    name = os.fsdecode(path) if isinstance(path, bytes) else str(path)
    if name.lower().endswith((".jpg", ".jpeg")):
        fmt = "JPEG"
    with open(path, "wb") as fh:
        im.save(fh, format=fmt)


def minqing(
    *args: str | os.PathLike,
    cwd: Path,
    env: dict[str, str] | None = None,
    timeout: float = 600,
    preexec: list[str] | None = None,
) -> subprocess.CompletedProcess:
    """Run ``minqing ARGS`` in a subprocess (working folder ``cwd``); never raises on exit code."""
    return subprocess.run(
        [*(preexec or []), *MINQING, *map(os.fspath, args)],
        cwd=cwd,
        capture_output=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        check=False,
    )


def popen_minqing(*args: str | os.PathLike, cwd: Path, **kw) -> subprocess.Popen:
    """Start ``minqing ARGS`` in its own session (so its process group can be found)."""
    return subprocess.Popen(
        [*MINQING, *map(os.fspath, args)],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        **kw,
    )


def text(b: bytes) -> str:
    """Process output as text (bytes that are not UTF-8 shown as \\x escapes)."""
    return b.decode("utf-8", "backslashreplace")


def query(archive: Path, sql: str, params: tuple = ()) -> list[tuple]:
    """Rows of ``sql`` on the archive's database (read-only)."""
    conn = sqlite3.connect(f"file:{archive / 'archive.db'}?mode=ro", uri=True)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def integrity(archive: Path) -> str:
    """``pragma integrity_check`` of the archive's database."""
    return query(archive, "pragma integrity_check")[0][0]


def session_processes(sid: int) -> list[tuple[int, str]]:
    """(pid, command line) of every live process in session ``sid`` (zombies excluded)."""
    out = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            state, session = fields[0], int(fields[3])
            if session != sid or state == "Z":
                continue
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            out.append((int(d.name), cmd.strip()))
        except (OSError, ValueError, IndexError):
            continue
    return out


def wait_for(predicate, timeout: float, step: float = 0.1) -> bool:
    """Poll ``predicate`` until true or ``timeout`` seconds pass; its last answer."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(step)


@pytest.fixture()
def pages_book(tmp_path: Path) -> Path:
    """A folder ``scans/book`` with three distinct small pages."""
    book = tmp_path / "scans" / "book"
    book.mkdir(parents=True)
    for i in range(3):
        make_page(book / f"p{i + 1:02d}.png", seed=i)
    return book
