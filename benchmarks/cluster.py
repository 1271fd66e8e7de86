"""Ingest throughput on Dask (issue 16): plain pool vs ``--cluster local:1`` vs ``local:2``.

In one run, on the same pages, each configuration ingests into a fresh archive (empty OCR
cache, so every page is really OCR'd):

* ``plain --workers 1``: in this process (the engine is loaded once first, as for a warm
  run, then timed);
* ``plain --workers 2``: the process pool (its workers load their engines: included);
* ``--cluster local:1`` and ``local:2``: a Dask LocalCluster with 1 / 2 worker processes
  (cluster start-up reported apart; the workers' engine loading is included, as for the
  pool). Input bytes and page images travel through Dask as they would between machines.

Pages: the bundled sample pages, each copied ``--copies`` times with a small mark so that
every copy has its own hash (the OCR cache would answer a repeated page).

    .venv/bin/python -m benchmarks.cluster --copies 2
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from benchmarks._common import command_line, machine

REPO = Path(__file__).resolve().parents[1]


def make_pages(dest: Path, copies: int) -> list[Path]:
    """Sample pages, ``copies`` times each, marked apart; one folder (book) per copy."""
    from PIL import Image, ImageDraw

    books = []
    samples = sorted(p for p in (REPO / "samples").iterdir() if p.is_dir())
    for c in range(copies):
        for s in samples:
            book = dest / f"{s.name}-{c}"
            book.mkdir(parents=True)
            for page in sorted(s.glob("page-*.jpg")):
                im = Image.open(page).convert("RGB")
                ImageDraw.Draw(im).rectangle((4 + c, 4, 6 + c, 6), fill=(200, 200, 200))
                im.save(book / page.name, quality=92)
            books.append(book)
    return books


def run(books: list[Path], root: Path, *, workers: int = 1, cluster: str | None = None) -> dict:
    from minqing.archive.store import Archive
    from minqing.pipeline import run_ingest

    executor = None
    t0 = time.perf_counter()
    if cluster:
        from minqing.cluster import DaskExecutor

        executor = DaskExecutor(cluster)
    startup = time.perf_counter() - t0
    with Archive(root, create=True) as a:
        t1 = time.perf_counter()
        s = run_ingest(books, a, workers=workers, executor=executor)
        seconds = time.perf_counter() - t1
    assert s.files_failed == 0 and s.pages_ocr == s.pages, vars(s)
    return {
        "pages": s.pages,
        "seconds": round(seconds, 1),
        "startup_s": round(startup, 1),
        "pages_per_min": round(s.pages / seconds * 60, 1),
        # OCR time as the workers measured it (engine loading on the first page included)
        "ocr_s": round(s.ocr_seconds, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--copies", type=int, default=2, help="copies of each sample page")
    args = ap.parse_args()
    print(f"machine: {machine()}\ncommand: {command_line()}", flush=True)
    from minqing import ocr

    tmp = Path(tempfile.mkdtemp(prefix="minqing-bench-cluster-"))
    try:
        books = make_pages(tmp / "scans", args.copies)
        n = sum(len(list(b.iterdir())) for b in books)
        print(f"pages: {n} ({args.copies} marked copies of the samples)", flush=True)
        ocr.get_engine("rapidocr")  # warm the in-process engine's files (disk cache)
        configs = [
            ("plain --workers 1 (in process)", {"workers": 1}),
            ("plain --workers 2 (process pool)", {"workers": 2}),
            ("--cluster local:1", {"cluster": "local:1"}),
            ("--cluster local:2", {"cluster": "local:2"}),
        ]
        results = {}
        for i, (label, kw) in enumerate(configs):
            r = run(books, tmp / f"archive-{i}", **kw)
            results[label] = r
            print(
                f"{label:34s} {r['pages']:4d} pages {r['seconds']:7.1f} s "
                f"{r['pages_per_min']:7.1f} pages/min, OCR {r['ocr_s']:6.1f} s "
                f"(cluster start-up {r['startup_s']} s)",
                flush=True,
            )
        for w, plain in ((1, configs[0][0]), (2, configs[1][0])):
            d = results[f"--cluster local:{w}"]["seconds"] / results[plain]["seconds"] - 1
            print(f"Dask overhead at {w} worker(s): {d * 100:+.1f}% of the plain run's time")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
