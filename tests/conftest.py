"""Shared fixtures: the sample archive (ingested once, real OCR), servers, ports."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "samples"
SHARED = REPO.parent / "shared"
SCORER = SHARED / "tools" / "score_export.py"
MINQING = [sys.executable, "-m", "minqing"]


def sample_books() -> list[Path]:
    """The bundled sample notebooks (folders with page images)."""
    return sorted(p for p in SAMPLES.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))


def run_minqing(
    *args: str, check: bool = True, env: dict | None = None, timeout: int = 600
) -> subprocess.CompletedProcess:
    """Run the real ``minqing`` command in a subprocess."""
    proc = subprocess.run(
        [*MINQING, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"minqing {' '.join(args)} exited {proc.returncode}\n{proc.stderr}")
    return proc


@pytest.fixture(scope="session")
def sample_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled samples, ingested once for the session by the real CLI."""
    root = tmp_path_factory.mktemp("sample-archive") / "archive"
    proc = run_minqing(
        "ingest",
        *map(str, sample_books()),
        "--archive",
        str(root),
        "--manifest",
        str(SAMPLES / "books.csv"),
        "-q",
    )
    assert "OCR'd" in proc.stderr
    return root


@pytest.fixture()
def archive_copy(sample_archive: Path, tmp_path: Path) -> Path:
    """A private copy of the sample archive that a test may change."""
    dest = tmp_path / "archive"
    shutil.copytree(sample_archive, dest)
    return dest


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_http(url: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    """Wait until ``url`` answers (any status) or fail with the server's output."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out = proc.stdout.read() if proc.stdout else ""
            raise AssertionError(f"server exited {proc.returncode}:\n{out}")
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise AssertionError(f"{url} did not answer within {timeout} s")


@contextmanager
def serve(archive: Path, *extra: str) -> Iterator[str]:
    """``minqing serve`` as a real subprocess on a free port; yields the base URL."""
    port = free_port()
    proc = subprocess.Popen(
        [*MINQING, "serve", "--archive", str(archive), "--port", str(port), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(base + "/-/versions.json", proc)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="session")
def served_archive(sample_archive: Path) -> Iterator[str]:
    """The sample archive served by ``minqing serve``; yields the base URL."""
    with serve(sample_archive) as base:
        yield base


#: Debian's chromium, driven by Playwright through executable_path (never a downloaded browser)
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"
)


def launch_chromium(playwright):  # type: ignore[no-untyped-def]
    """Headless Debian chromium with the flags this offline machine needs."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
