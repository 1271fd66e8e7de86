"""Shared fixtures: the sample archive (ingested once per run, real OCR), the OCR engine,
Datasette in process and over HTTP. Helper functions live in ``tests/_helpers.py``."""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests._helpers import (  # noqa: F401  (re-exported: older tests import them from here)
    CHROMIUM,
    MINQING,
    REPO,
    SAMPLES,
    SCORER,
    SHARED,
    Site,
    free_port,
    launch_chromium,
    need_shared,
    needs_chromium,
    ocr_threads,
    run_cli,
    run_minqing,
    sample_books,
    serve,
    thread_kw,
    wait_for_http,
)


def pytest_configure(config: pytest.Config) -> None:
    threads = ocr_threads()
    if threads is not None:
        # the pipeline's in-process engine (``--workers 1``, run_ingest(workers=1)) takes its
        # threads from the same setting as a pool worker's; there is no public knob yet
        from minqing import pipeline

        if hasattr(pipeline, "_init_worker"):
            pipeline._init_worker(threads)


def run_shared_dir(tmp_path_factory: pytest.TempPathFactory, name: str) -> Path:
    """A folder shared by every worker of this test run (one per run without xdist)."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # pytest-N/: this run's, shared by its popen-gwK workers
    return base / name


@pytest.fixture(scope="session")
def sample_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled samples, ingested by ``minqing ingest`` once per test run (the first
    worker to ask builds it under a lock, in process; the others wait and reuse it).
    Read-only for tests: copy it (``archive_copy``) to change it. (A fresh ``minqing``
    process with a pool of workers ingests the samples in test_resume's kill -9 test.)"""
    shared = run_shared_dir(tmp_path_factory, "sample-archive")
    shared.mkdir(parents=True, exist_ok=True)
    root = shared / "archive"
    with open(shared / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (shared / ".done").exists():
            if root.exists():  # a worker died half-way: start again
                shutil.rmtree(root)
            proc = run_cli(
                "ingest",
                *map(str, sample_books()),
                "--archive",
                str(root),
                "--manifest",
                str(SAMPLES / "books.csv"),
                "--workers",
                "1",
                "-q",
            )
            assert "OCR'd" in proc.stderr
            # whatever opening the archive for serving sets up (the web secret), done once
            # here rather than by parallel readers at the same moment
            Site(root).close()
            (shared / ".done").touch()
    return root


@pytest.fixture()
def archive_copy(sample_archive: Path, tmp_path: Path) -> Path:
    """A private copy of the sample archive that a test may change."""
    dest = tmp_path / "archive"
    shutil.copytree(sample_archive, dest)
    return dest


@pytest.fixture(scope="session")
def sample_site(sample_archive: Path) -> Iterator[Site]:
    """minqing's Datasette over the sample archive, in this process (no server)."""
    s = Site(sample_archive)
    yield s
    s.close()


@pytest.fixture(scope="session")
def served_archive(sample_archive: Path) -> Iterator[str]:
    """The sample archive served by ``minqing serve`` over real HTTP; yields the base URL."""
    with serve(sample_archive) as base:
        yield base


@pytest.fixture(scope="session")
def rapidocr_engine():  # type: ignore[no-untyped-def]
    """The default rapidocr engine, loaded once per worker (tests only read with it)."""
    from minqing.ocr import get_engine

    return get_engine("rapidocr", **thread_kw())


#: test modules that take longest (real OCR of many pages, browsers), handed out first under
#: ``pytest -n N --dist loadscope --no-loadscope-reorder`` (``make test``) so that no long
#: module starts last while the other workers idle. Workers take modules in turns: the
#: first (test_resume) builds the sample archive while the second opens a browser.
LONGEST_FIRST = (
    "test_resume.py",
    "test_browser_review.py",
    "test_books.py",
    "test_classify_model.py",
    "test_ingest.py",
    "test_ocr.py",
    "test_ingest_normalise.py",
    "test_ocr_decode.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The longest modules first; the order within a module is kept."""
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


@pytest.fixture(scope="module")
def browser():  # type: ignore[no-untyped-def]
    """Headless Debian chromium (Playwright), one per test module."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = launch_chromium(p)
        yield b
        b.close()
