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
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from minqing.ingest.testing import assemble_pdf

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


def _as_from_a_terminal() -> None:
    """In the child, before exec: SIGINT handled by default, as in a terminal's foreground job.

    A test run started in the background of a non-interactive shell (``make test &``,
    nohup) inherits SIGINT *ignored*, and Python keeps an ignored SIGINT ignored, as every
    program should; the Ctrl-C test would then only show that convention."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def popen_minqing(*args: str | os.PathLike, cwd: Path, **kw) -> subprocess.Popen:
    """Start ``minqing ARGS`` in its own session (so its process group can be found),
    with SIGINT as a terminal gives it."""
    return subprocess.Popen(
        [*MINQING, *map(os.fspath, args)],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        preexec_fn=_as_from_a_terminal,
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


def text_pdf(pages: list[str], size_pt: tuple[float, float] = (298, 420)) -> bytes:
    """A minimal valid PDF whose pages carry a real text layer (Helvetica, ASCII text).

    Written by hand (no PDF library needed): one content stream per page, an xref
    table with exact offsets. ``size_pt`` defaults to A6.
    """
    w, h = size_pt
    objs: list[bytes] = []
    n = len(pages)
    # 1: catalog, 2: pages, 3: font, then (page, content) pairs
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(n))
    objs.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objs.append(f"<< /Type /Pages /Kids [{kids}] /Count {n} >>".encode())
    objs.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    for i, line in enumerate(pages):
        safe = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        stream = (
            f"BT /F1 14 Tf 30 {h - 60:.0f} Td ({safe}) Tj 0 -24 Td (page {i + 1}) Tj ET".encode()
        )
        objs.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {w:.0f} {h:.0f}] "
            f"/Resources << /Font << /F1 3 0 R >> >> /Contents {5 + 2 * i} 0 R >>".encode()
        )
        objs.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    return assemble_pdf(objs, header=b"%PDF-1.4\n")


def peak_rss_mib(cmd: list[str], cwd: Path) -> tuple[int, float, str]:
    """Run ``cmd``; its exit code, its peak resident memory (MiB, largest process of its
    tree that was waited for) and its stderr."""
    wrapper = (
        "import resource, subprocess, sys\n"
        "p = subprocess.run(sys.argv[1:], stderr=subprocess.PIPE, check=False)\n"
        "sys.stderr.buffer.write(p.stderr)\n"
        "print(p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", wrapper, *cmd], cwd=cwd, capture_output=True, check=False
    )
    code, kib = proc.stdout.split()
    return int(code), int(kib) / 1024, text(proc.stderr)
