"""Soak: many inspectors and reviewers on one archive while an ingest writes to it (issue 12).

A real ``minqing serve`` (subprocess, loopback, no users: the default mode) over an archive of
the bundled samples; meanwhile a real ``minqing ingest`` adds copies of the sample notebooks
to the same archive, ``--clients`` inspector threads each make ``--requests`` requests (search,
facets, entry pages, canned queries, round robin) and ``--reviewers`` reviewer threads save
line corrections through the review page's own form (cookie + CSRF token). Reports p50/p95
per kind, every error (a status >= 500, a refused save, ``database is locked`` in a body) and
whether every acknowledged save is in the archive afterwards. Never asserts.

Usage (from the repo root)::

    .venv/bin/python -m benchmarks.soak                      # 20 clients x 200 requests
    .venv/bin/python -m benchmarks.soak --clients 2 --requests 5 --reviewers 1 --saves 3  # tiny
"""

from __future__ import annotations

import argparse
import http.cookiejar
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import defaultdict
from pathlib import Path

import yaml

from benchmarks._common import command_line, machine

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "samples"
MINQING = [sys.executable, "-m", "minqing"]
TOKEN_RE = re.compile(r'name="csrftoken" value="([^"]+)"')
SEARCH_WORDS = ["饮水", "土地承包", "低保", "道路", "杨树沟"]


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*MINQING, *args], capture_output=True, text=True, check=False)


def build_archive(root: Path) -> None:
    proc = _run(
        "ingest",
        str(SAMPLES / "shiqiao-zhangwei"),
        str(SAMPLES / "shiqiao-liming"),
        "--manifest",
        str(SAMPLES / "books.csv"),
        "--archive",
        str(root),
        "--workers",
        "1",
        "-s",
    )
    if proc.returncode != 0:
        raise SystemExit(f"building the archive failed: {proc.stderr.strip()}")


def start_server(root: Path) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [*MINQING, "serve", "--archive", str(root), "--port", "0"],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stderr is not None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        m = re.search(r"(http://\S+?)/archive/entries", line)
        if m:
            return proc, m.group(1)
        if proc.poll() is not None:
            break
    proc.kill()
    raise SystemExit("minqing serve did not start")


class Client:
    """Cookies kept, redirects not followed (a save answers 303)."""

    def __init__(self, base: str) -> None:
        self.base = base

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *a, **k):  # type: ignore[no-untyped-def]
                return None

        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), NoRedirect
        )

    def get(self, path: str, data: dict | None = None) -> tuple[int, str, float]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        headers = {"Origin": self.base} if data is not None else {}
        req = urllib.request.Request(self.base + path, data=body, headers=headers)
        t0 = time.perf_counter()
        try:
            with self.opener.open(req, timeout=120) as resp:
                text = resp.read().decode("utf-8", "replace")
                status = resp.status
        except urllib.error.HTTPError as e:
            text, status = e.read().decode("utf-8", "replace"), e.code
        return status, text, time.perf_counter() - t0


def targets(base: str, root: Path) -> list[tuple[str, str]]:
    conn = sqlite3.connect(f"file:{root / 'archive.db'}?mode=ro", uri=True)
    ids = [r[0] for r in conn.execute("select entry_id from entries order by entry_id")]
    conn.close()
    meta = yaml.safe_load((REPO / "datasette" / "metadata.yaml").read_text(encoding="utf-8"))
    queries = list(meta["databases"]["archive"].get("queries", {}))
    out = [("search", f"/archive/entries?_search={urllib.parse.quote(w)}") for w in SEARCH_WORDS]
    out += [
        ("facets", "/archive/entries.json?_facet=village&_facet=category&_facet=status"),
        ("facets", "/archive/entries?_facet=cadre&_facet=month"),
    ]
    out += [("entry", f"/-/entry/{urllib.parse.quote(e, safe='')}") for e in ids]
    out += [("canned", f"/archive/{q}") for q in queries]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--requests", type=int, default=200, help="per client")
    ap.add_argument("--reviewers", type=int, default=2)
    ap.add_argument("--saves", type=int, default=30, help="per reviewer")
    ap.add_argument("--ingests", type=int, default=2, help="copies of the samples ingested")
    args = ap.parse_args(argv)
    print(f"machine: {machine()}\ncommand: {command_line()}\n")

    work = Path(tempfile.mkdtemp(prefix="minqing-soak-"))
    root = work / "archive"
    build_archive(root)
    server, base = start_server(root)
    lat: dict[str, list[float]] = defaultdict(list)
    errors: list[str] = []
    saved: dict[str, str] = {}
    lock = threading.Lock()
    try:
        plan = targets(base, root)
        conn = sqlite3.connect(f"file:{root / 'archive.db'}?mode=ro", uri=True)
        lines = conn.execute(
            "select line_id, book_id, page_no from lines order by book_id, page_no, line_no"
        ).fetchall()
        conn.close()

        def inspector(k: int) -> None:
            c = Client(base)
            for i in range(args.requests):
                kind, path = plan[(k * 7 + i) % len(plan)]
                status, text, s = c.get(path)
                with lock:
                    lat[kind].append(s)
                    if status >= 500 or "database is locked" in text:
                        errors.append(f"{status} {kind} {path}")

        def reviewer(k: int) -> None:
            c = Client(base)
            for i in range(args.saves):
                line_id, book, page_no = lines[(k * 13 + i) % len(lines)]
                page = f"/-/review/page/{urllib.parse.quote(book, safe='')}/{page_no}"
                status, html, _ = c.get(page)
                m = TOKEN_RE.search(html)
                if status != 200 or not m:
                    with lock:
                        errors.append(f"{status} review page {page}")
                    continue
                text = f"浸泡校对{k}-{i}"
                form = {"csrftoken": m.group(1), "action": "line", "line_id": line_id}
                status, body, s = c.get("/-/review/save", {**form, "text": text})
                with lock:
                    lat["review save"].append(s)
                    if status in (200, 303):
                        saved[line_id] = text
                    else:
                        errors.append(f"{status} save {line_id}: {body[:80]}")

        copies = []
        for n in range(args.ingests):
            for book in ("shiqiao-zhangwei", "shiqiao-liming"):
                dest = work / "scans" / f"soak{n}-{book}"
                shutil.copytree(SAMPLES / book, dest)
                copies.append(str(dest))
        t0 = time.perf_counter()
        ingest = subprocess.Popen(
            [*MINQING, "ingest", *copies, "--archive", str(root), "--workers", "1", "-s"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        threads = [threading.Thread(target=inspector, args=(k,)) for k in range(args.clients)]
        threads += [threading.Thread(target=reviewer, args=(k,)) for k in range(args.reviewers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        web_s = time.perf_counter() - t0
        _, ingest_err = ingest.communicate()
        ingest_s = time.perf_counter() - t0
    finally:
        server.terminate()
        server.wait(timeout=30)

    conn = sqlite3.connect(root / "archive.db")
    stored = dict(conn.execute("select line_id, text from lines").fetchall())
    conn.close()
    lost = [lid for lid, text in saved.items() if stored.get(lid) != text]
    total = sum(len(v) for v in lat.values())
    print(
        f"{args.clients} clients x {args.requests} requests, {args.reviewers} reviewers x "
        f"{args.saves} saves, ingest of {len(copies)} notebooks alongside "
        f"(exit {ingest.returncode}, {ingest_s:.1f} s; web traffic {web_s:.1f} s)\n"
    )
    print("| kind | requests | p50 ms | p95 ms |\n|---|---|---|---|")
    for kind in sorted(lat):
        xs = sorted(lat[kind])
        p95 = xs[min(len(xs) - 1, int(0.95 * len(xs)))]
        print(f"| {kind} | {len(xs)} | {statistics.median(xs) * 1000:.0f} | {p95 * 1000:.0f} |")
    print(f"\nrequests: {total}; errors: {len(errors)}; saves acknowledged: {len(saved)} lines, ")
    print(f"of which not in the archive afterwards: {len(lost)}")
    for e in errors[:10]:
        print("  error:", e)
    if ingest.returncode != 0:
        print("  ingest:", ingest_err.strip()[-300:])
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
