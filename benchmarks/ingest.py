"""Ingest throughput: `minqing ingest` vs the bare engine, and --workers 1 vs 2.

Measures, in one run on the same pages (default: the bundled samples):

* the bare engine: rapidocr's own call on each page image (warm: after one warm-up);
* our OCR stage: ``ocr.get_engine("rapidocr").recognize`` (reading order, normalisation);
* ``minqing ingest`` end to end into a fresh archive with ``--workers 1`` (warm: the
  engine is already loaded in this process) and ``--workers 2`` (worker processes load
  their own engines: that start-up is included, as a user would see it);
* the share of ingest time spent outside the OCR engine.

Usage::

    .venv/bin/python -m benchmarks.ingest [PATH ...] [--repeat 3]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from benchmarks._common import command_line, machine, median, peak_rss_mib

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("paths", nargs="*", type=Path, help="notebook folders (default: samples/*)")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs per configuration")
    args = ap.parse_args()

    import cv2
    from rapidocr import RapidOCR

    from minqing import ingest, ocr
    from minqing.archive.store import Archive
    from minqing.pipeline import run_ingest

    paths = args.paths or sorted(p for p in (REPO / "samples").iterdir() if p.is_dir())
    books = ingest.discover(paths)
    sources = [s for b in books for s in b.files]
    pages = [p for s in sources for p in ingest.load_source(s)]
    n = len(pages)
    print(f"machine: {machine()}")
    print(f"command: {command_line()}")
    print(f"input:   {len(books)} book(s), {n} page(s) from {', '.join(str(p) for p in paths)}\n")

    # bare engine ------------------------------------------------------------------------
    bare = RapidOCR(params={"Global.use_cls": False})
    bare(pages[0].image)  # warm-up
    bare_t = []
    for _ in range(args.repeat):
        for p in pages:
            t0 = time.perf_counter()
            bare(p.image)
            bare_t.append(time.perf_counter() - t0)

    # our stage --------------------------------------------------------------------------
    engine = ocr.get_engine("rapidocr")
    engine.recognize(pages[0].image)
    stage_t = []
    for _ in range(args.repeat):
        for p in pages:
            t0 = time.perf_counter()
            engine.recognize(p.image)
            stage_t.append(time.perf_counter() - t0)

    # ingest end to end --------------------------------------------------------------------
    results: dict[int, list[tuple[float, float]]] = {1: [], 2: []}
    for _ in range(args.repeat):
        for workers in (1, 2):
            tmp = Path(tempfile.mkdtemp(prefix="minqing-bench-"))
            try:
                archive = Archive(tmp / "archive", create=True)
                t0 = time.perf_counter()
                summary = run_ingest(paths, archive, workers=workers)
                wall = time.perf_counter() - t0
                archive.close()
                assert summary.pages == n and summary.pages_ocr == n, summary
                results[workers].append((wall, summary.ocr_seconds))
            finally:
                shutil.rmtree(tmp, ignore_errors=True)

    def row(name: str, per_page: float, note: str = "") -> None:
        print(f"{name:<34} {per_page:8.3f} s/page {60 / per_page:8.1f} pages/min  {note}")

    print(f"{'configuration':<34} {'median':>8}")
    row("bare engine (rapidocr call)", median(bare_t))
    row(
        "our OCR stage (ocr.recognize)",
        median(stage_t),
        f"{median(stage_t) / median(bare_t):.2f}x bare",
    )
    for workers, runs in results.items():
        walls = [w for w, _ in runs]
        per_page = median(walls) / n
        outside = median([(w - o) / w for w, o in runs]) if workers == 1 else None
        note = f"{per_page / median(bare_t):.2f}x bare"
        if outside is not None:
            note += f"; {outside:.0%} of the time outside the OCR engine"
        row(f"minqing ingest --workers {workers}", per_page, note)
    w1 = median([w for w, _ in results[1]])
    w2 = median([w for w, _ in results[2]])
    print(
        f"\n--workers 2 vs 1: {w1 / w2:.2f}x faster (median of {args.repeat} runs each; "
        "2 includes worker start-up)"
    )
    print(
        f"peak RSS: this process {peak_rss_mib():.0f} MiB, "
        f"worker processes {peak_rss_mib(children=True):.0f} MiB"
    )
    _ = cv2


if __name__ == "__main__":
    main()
