"""Benchmark: entry segmentation, dates, categories, status and follow-up links (issue 5).

Two runs over the labelled development corpus ``tests/data/corpus/``, scored with
``score_export.py`` (``../shared/tools/score_export.py`` relative to the repo root, or
``--scorer``):

(a) end to end: ``minqing ingest <books> --archive TMP --manifest books.csv`` then
    ``minqing export entries --archive TMP --format jsonl``;
(b) OCR bypassed: the per-line ground truth (``lines.json``: text + box per line) fed to
    ``segment_book`` / ``link_entries`` (with the manifest's cadres) /
    ``inherit_categories`` directly. (a) scores what the pipeline does, which may lag
    behind the classify API (see the report of issue 5 round 2).

Usage (from the repo root)::

    .venv/bin/python benchmarks/entries.py            # both
    .venv/bin/python benchmarks/entries.py --bypass   # (b) only, a second or two
    .venv/bin/python benchmarks/entries.py --e2e      # (a) only, minutes (OCR)
    .venv/bin/python benchmarks/entries.py --heldout  # the held-out books (never tuned on)
    .venv/bin/python benchmarks/entries.py --e2e --keep DIR   # reuses DIR/archive's OCR

Prints the machine, the command and both score tables; never asserts.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "data" / "corpus"
SCORER = ROOT.parent / "shared" / "tools" / "score_export.py"

sys.path.insert(0, str(ROOT))


def machine() -> str:
    """One line describing the machine."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.node()} | {cpu} | {os.cpu_count()} cpus | Python {platform.python_version()}"


def book_lines(book_dir: Path):
    """BookLines of a corpus book from its per-line ground truth."""
    from minqing.classify.types import BookLine

    out = []
    for pg in json.loads((book_dir / "lines.json").read_text(encoding="utf-8")):
        for i, (text, box) in enumerate(zip(pg["lines"], pg["boxes"], strict=True)):
            out.append(
                BookLine(f"{book_dir.name}/{pg['page']}/{i}", pg["page"], i, text, tuple(box), pg["size"][1])
            )
    return out


def bypass_export(truth: dict, out: Path, context: dict | None = None) -> float:
    """Run classify on the per-line truth of every book; write an export; return seconds.

    ``context``: another truth document whose books are classified and linked too (the
    development books beside the held-out ones) but left out of the export.
    """
    from minqing.archive.schema import entry_id
    from minqing.classify import inherit_categories, link_entries, segment_book
    from minqing.classify.types import STATUSES

    every = [*(context or {}).get("books", []), *truth["books"]]
    wanted = {b["book_id"] for b in truth["books"]}
    t0 = time.perf_counter()
    books = {b["book_id"]: segment_book(book_lines(CORPUS / b["book_id"])) for b in every}
    links = link_entries(
        books,
        {b["book_id"]: b.get("village") for b in every},
        cadres={b["book_id"]: b.get("cadre") for b in every},
    )
    books = inherit_categories(books, links)
    seconds = time.perf_counter() - t0
    parent = {lk.child: lk.parent for lk in links}
    with out.open("w", encoding="utf-8") as fh:
        for bid, entries in books.items():
            if bid not in wanted:
                continue
            for e in entries:
                p = parent.get((bid, e.seq))
                row = {
                    "entry_id": entry_id(bid, e.seq),
                    "book": bid,
                    "page_start": e.page_start,
                    "page_end": e.page_end,
                    "date": e.date.isoformat() if e.date else None,
                    "category_code": e.category_code,
                    "category": e.category,
                    "text": e.text,
                    "follow_up_of": entry_id(*p) if p else None,
                    "status": STATUSES[e.status],
                }
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    return seconds


def e2e_export(truth: dict, out: Path, workdir: Path, manifest: Path) -> float:
    """Ingest the corpus images with the real CLI and export the entries; return seconds.

    An archive already in ``workdir`` is reused (its OCR cache makes a re-run quick);
    only the entries of ``truth``'s books are kept in ``out``.
    """
    exe = [sys.executable, "-m", "minqing.cli"] if not shutil.which("minqing") else ["minqing"]
    venv_exe = ROOT / ".venv" / "bin" / "minqing"
    if venv_exe.exists():
        exe = [str(venv_exe)]
    archive = workdir / "archive"
    books = [str(CORPUS / b["book_id"]) for b in truth["books"]]
    cmd = [*exe, "ingest", *books, "--archive", str(archive), "--manifest", str(manifest)]
    print("$", " ".join(cmd), flush=True)
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - t0
    cmd = [*exe, "export", "entries", "--archive", str(archive), "--format", "jsonl"]
    print("$", " ".join(cmd), flush=True)
    done = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True)
    wanted = {b["book_id"] for b in truth["books"]}
    with out.open("w", encoding="utf-8") as fh:
        for line in done.stdout.splitlines():
            if line.strip() and json.loads(line).get("book") in wanted:
                fh.write(line + "\n")
    return seconds


def score(scorer: Path, truth_path: Path, export: Path) -> None:
    subprocess.run([sys.executable, str(scorer), str(truth_path), str(export)], check=False)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bypass", action="store_true", help="only (b): OCR bypassed")
    ap.add_argument("--e2e", action="store_true", help="only (a): end to end from images")
    ap.add_argument("--scorer", type=Path, default=SCORER)
    ap.add_argument(
        "--keep", type=Path,
        help="keep exports and the archive in this folder (an archive there is reused: OCR cached)",
    )  # fmt: skip
    ap.add_argument(
        "--heldout", action="store_true",
        help="score the held-out books (truth_heldout.json), the development books beside them",
    )  # fmt: skip
    a = ap.parse_args(argv)
    if not a.scorer.exists():
        print(f"skipped: scorer {a.scorer} not found (pass --scorer)")
        return 0
    suffix = "_heldout" if a.heldout else ""
    truth_path = CORPUS / f"truth{suffix}.json"
    manifest = CORPUS / f"books{suffix}.csv"
    truth = json.loads(truth_path.read_text(encoding="utf-8"))
    context = json.loads((CORPUS / "truth.json").read_text(encoding="utf-8")) if a.heldout else None
    n_pages = sum(b.get("pages", 0) for b in truth["books"])
    print(f"machine: {machine()}")
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    print(f"corpus: {len(truth['books'])} books, {n_pages} pages, {len(truth['entries'])} entries")
    work = Path(tempfile.mkdtemp(prefix="minqing-bench-")) if a.keep is None else a.keep
    work.mkdir(parents=True, exist_ok=True)
    try:
        if not a.e2e:
            out = work / f"bypass{suffix}.jsonl"
            s = bypass_export(truth, out, context)
            print(f"\n## (b) OCR bypassed: per-line ground truth -> segment_book/link_entries "
                  f"({s:.2f} s)")
            score(a.scorer, truth_path, out)
        if not a.bypass:
            out = work / f"e2e{suffix}.jsonl"
            s = e2e_export(truth, out, work, manifest)
            print(f"\n## (a) end to end from images: ingest {s:.1f} s "
                  f"({s / max(1, n_pages):.2f} s/page)")
            score(a.scorer, truth_path, out)
    finally:
        if a.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
