"""Helpers the tests share (not collected: no tests here).

- the command line in this process (click's ``CliRunner``) or, where the process is the
  point (kill -9, a fresh interpreter), as a real subprocess;
- minqing's Datasette in this process (its ASGI app through httpx, as ``datasette.client``
  does), or ``minqing serve`` as a real server on a free port where HTTP is the point
  (browsers, ``serve`` itself);
- Debian's chromium for Playwright;
- ``need_shared``: files of ``../shared`` skip a test locally but fail it in CI.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "samples"
SHARED = REPO.parent / "shared"
SCORER = SHARED / "tools" / "score_export.py"
MINQING = [sys.executable, "-m", "minqing"]


def sample_books() -> list[Path]:
    """The bundled sample notebooks (folders with page images)."""
    return sorted(p for p in SAMPLES.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))


def in_ci() -> bool:
    """True on the CI runner (``CI=true``), where nothing a test needs may be missing."""
    return os.environ.get("CI") == "true"


def need_shared(*candidates: Path) -> Path:
    """The first of ``candidates`` (files of ``../shared``) that exists.

    When none does, the test is skipped on a developer's machine but fails under
    ``CI=true``: an accuracy assertion must never pass in CI by not running.
    """
    for path in candidates:
        if path.exists():
            return path
    names = ", ".join(str(p) for p in candidates)
    if in_ci():
        pytest.fail(f"CI=true but {names} is absent: check out ../shared beside the repository")
    pytest.skip(f"{names} is absent (../shared is not checked out)")


def ocr_threads() -> int | None:
    """Threads for an OCR engine built in a test process: under ``pytest -n N`` each worker
    gets its share of the cores (ONNX Runtime's default of one thread per core, in N
    workers at once, spends about twice the CPU per page, waiting); ``None`` (the engine's
    default) in a single test process."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT") or 1)
    if workers <= 1:
        return None
    return max(1, len(os.sched_getaffinity(0)) // workers)


def thread_kw() -> dict[str, int]:
    """``get_engine(..., **thread_kw())``: ``ocr_threads()`` as keyword arguments."""
    threads = ocr_threads()
    return {} if threads is None else {"threads": threads}


# -- the command line --------------------------------------------------------------------------


@dataclass
class CliResult:
    """What a ``minqing`` run printed and returned (the fields of ``CompletedProcess``)."""

    args: list[str]
    returncode: int
    stdout: str
    stderr: str


def run_cli(
    *args: str, check: bool = True, env: dict | None = None, input: str | None = None
) -> CliResult:
    """Run ``minqing ARGS`` in this process through click's ``CliRunner``.

    Exit codes, stdout and stderr are those of the real command (``Error: ...`` lines
    included); an unexpected exception (a bug) is raised with its traceback.
    """
    from click.testing import CliRunner

    from minqing.cli import cli

    try:
        runner = CliRunner(mix_stderr=False, env=env)  # type: ignore[call-arg]  # click < 8.2
    except TypeError:
        runner = CliRunner(env=env)  # click ≥ 8.2 keeps stdout and stderr apart
    res = runner.invoke(cli, list(args), input=input, prog_name="minqing")
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        raise res.exception
    if check and res.exit_code != 0:
        raise AssertionError(f"minqing {' '.join(args)} exited {res.exit_code}\n{res.stderr}")
    return CliResult(list(args), res.exit_code, res.stdout, res.stderr)


def run_minqing(
    *args: str, check: bool = True, env: dict | None = None, timeout: int = 600
) -> subprocess.CompletedProcess:
    """Run the real ``minqing`` command in a subprocess (where the process is the point)."""
    proc = subprocess.run(
        [*MINQING, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, **(env or {})},
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"minqing {' '.join(args)} exited {proc.returncode}\n{proc.stderr}")
    return proc


def seed_ocr_cache(sample: Path, root: Path, *book_ids: str) -> Path:
    """Create the archive ``root`` with, in its OCR cache, the sample archive's OCR results
    for the pages of ``book_ids`` (all books when none is given): the real OCR the
    ``sample_archive`` fixture did once per run. An ingest of the same scans into ``root``
    then reads those pages from the cache (as a re-run does) instead of OCR'ing them again.
    For tests whose point is not the OCR itself; pages the sample does not hold (a rescan,
    a damaged copy) are OCR'd for real."""
    from minqing.archive.store import Archive

    with Archive(root, create=True):
        pass
    conn = sqlite3.connect(f"file:{root / 'archive.db'}", uri=True)
    try:
        conn.execute("attach database ? as sample", [f"file:{sample / 'archive.db'}?mode=ro"])
        where = "1" if not book_ids else f"book_id in ({', '.join('?' * len(book_ids))})"
        with conn:
            conn.execute(
                "insert into ocr_cache select * from sample.ocr_cache where sha256 in"
                f" (select sha256 from sample.pages where {where})",
                book_ids,
            )
        conn.execute("detach database sample")
    finally:
        conn.close()
    return root


# -- Datasette in this process -----------------------------------------------------------------


class Site:
    """minqing's Datasette (its config dir, plugins and templates) over an archive, in this
    process: requests go to the ASGI app through httpx, as ``datasette.client`` does; no
    server, no port. A ``Site`` keeps cookies like a browser and never follows redirects
    unless asked. Use from synchronous tests (it runs its own event loop)."""

    def __init__(self, archive_dir: Path) -> None:
        import httpx

        from minqing.cmd_serve import make_datasette

        self.root = Path(archive_dir)
        self.ds = make_datasette(self.root)
        self._loop = asyncio.new_event_loop()
        self._loop.run_until_complete(self.ds.invoke_startup())
        self._client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.ds.app()), base_url="http://localhost"
        )
        self._owner = True

    def session(self) -> Site:
        """Another visitor of the same Datasette: its own cookies."""
        import httpx

        other = object.__new__(Site)
        other.root, other.ds, other._loop, other._owner = self.root, self.ds, self._loop, False
        other._client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.ds.app()), base_url="http://localhost"
        )
        return other

    def request(
        self,
        method: str,
        path: str,
        data: dict | None = None,
        follow_redirects: bool = False,
        **kwargs: Any,
    ) -> Any:
        """The ``httpx.Response`` to METHOD PATH (a form body when ``data`` is given)."""
        return self._loop.run_until_complete(
            self._client.request(
                method, path, data=data, follow_redirects=follow_redirects, **kwargs
            )
        )

    def fetch(self, path: str, follow_redirects: bool = False) -> tuple[int, str, bytes]:
        """(status, content type, body) of a GET."""
        resp = self.request("GET", path, follow_redirects=follow_redirects)
        return resp.status_code, resp.headers.get("content-type", ""), resp.content

    def get_json(self, path: str) -> Any:
        status, _, body = self.fetch(path)
        assert status == 200, body[:500]
        return json.loads(body)

    def close(self) -> None:
        self._loop.run_until_complete(self._client.aclose())
        if self._owner:
            self._loop.close()


@contextmanager
def site(archive_dir: Path) -> Iterator[Site]:
    s = Site(archive_dir)
    try:
        yield s
    finally:
        s.close()


# -- a real server (where HTTP is the point) ---------------------------------------------------


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
            time.sleep(0.1)
    proc.kill()
    raise AssertionError(f"{url} did not answer within {timeout} s")


@contextmanager
def serve(archive: Path, *extra: str) -> Iterator[str]:
    """``minqing serve`` as a real subprocess on a free port; yields the base URL.

    Tests run in parallel: when another process takes the port between ``free_port``
    and the server's bind, the server is started again on another port.
    """
    for attempt in range(3):
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
        except AssertionError as exc:
            if attempt < 2 and "address already in use" in str(exc).lower():
                continue
            raise
        break
    try:
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def http_fetch(url: str) -> tuple[int, str, bytes]:
    """(status, content type, body) of a real HTTP GET that does not follow redirects."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *a, **k):  # type: ignore[no-untyped-def]
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(url, timeout=30) as resp:
            return resp.status, resp.headers.get("content-type", ""), resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("content-type", ""), e.read()


def http_get_json(url: str):  # type: ignore[no-untyped-def]
    status, _, body = http_fetch(url)
    assert status == 200, body[:500]
    return json.loads(body)


def urlq(params) -> str:  # type: ignore[no-untyped-def]
    return urllib.parse.urlencode(params)


# -- the browser -------------------------------------------------------------------------------

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


@contextmanager
def served_reviewer_copy(sample: Path, folder: Path) -> Iterator[tuple[str, Path]]:
    """A copy of the sample archive in ``folder`` with a reviewer (lihua / reviewer-pass-1)
    and the second notebook moved to another township (so that township filters and scopes
    have two to tell apart), served by a real ``minqing serve``: ``(base URL, archive)``."""
    from minqing.archive import records
    from minqing.archive.store import Archive
    from minqing.web import access

    root = folder / "archive"
    shutil.copytree(sample, root)
    with Archive(root, write=True) as arc:
        access.add_user(arc.db, "lihua", "reviewer", "reviewer-pass-1")
        records.set_book_metadata(arc, "shiqiao-zhangwei", {"township": "河口乡"}, who="test")
    with serve(root) as base:
        yield base, root
