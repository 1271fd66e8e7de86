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

    .venv/bin/python -m benchmarks.entries            # both
    .venv/bin/python -m benchmarks.entries --bypass   # (b) only, a second or two
    .venv/bin/python -m benchmarks.entries --e2e      # (a) only, minutes (OCR)
    .venv/bin/python -m benchmarks.entries --heldout  # the held-out books (never tuned on)
    .venv/bin/python -m benchmarks.entries --e2e --keep DIR   # reuses DIR/archive's OCR
    .venv/bin/python -m benchmarks.entries --indep dev [--bypass | --e2e]   # issues 13, 18

``--indep SPLIT`` scores the independent corpus (``tests/data/indep/``, see
``benchmarks/indep.py``): (b) the drawn lines (boxes from the layout) straight into the
classify API, (a) the notebooks drawn into ``$MINQING_INDEP_CACHE`` (default
``~/.cache/minqing/indep``; once, deterministic) and run through ``minqing ingest`` +
``minqing export entries``; each scored with ``score_export.py`` and, per trait and per
``date_kind`` (the writers' keys), found / date / status / category / link accuracy, with
the full category confusion table. ``--indep test`` is the frozen split: look only at these
aggregate figures.

Prints the machine, the command and both score tables; never asserts.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._common import command_line, machine

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "data" / "corpus"
SCORER = ROOT.parent / "shared" / "tools" / "score_export.py"


def book_lines(book_dir: Path):
    """BookLines of a corpus book from its per-line ground truth."""
    from minqing.classify.types import BookLine

    out = []
    for pg in json.loads((book_dir / "lines.json").read_text(encoding="utf-8")):
        for i, (text, box) in enumerate(zip(pg["lines"], pg["boxes"], strict=True)):
            out.append(
                BookLine(
                    f"{book_dir.name}/{pg['page']}/{i}",
                    pg["page"],
                    i,
                    text,
                    tuple(box),
                    pg["size"][1],
                )
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


# ---------------------------------------------------------------------------------------------
# the independent corpus (issues 13, 18)
# ---------------------------------------------------------------------------------------------
def _export_row(bid: str, e, parent) -> dict:  # type: ignore[no-untyped-def]
    from minqing.archive.schema import entry_id
    from minqing.classify.types import STATUSES

    row = {
        "entry_id": entry_id(bid, e.seq),
        "book": bid,
        "page_start": e.page_start,
        "page_end": e.page_end,
        "date": e.date.isoformat() if e.date else None,
        "category_code": e.category_code,
        "category": e.category,
        "text": e.text,
        "follow_up_of": entry_id(*parent) if parent else None,
        "status": STATUSES[e.status],
    }
    for extra in ("date_kind", "shares_heading"):
        if hasattr(e, extra):
            row[extra] = getattr(e, extra)
    return row


def indep_bypass(split: str, out: Path) -> float:
    """Classify the drawn lines of every notebook of ``split``; write an export; seconds."""
    from benchmarks import indep
    from minqing.classify import inherit_categories, link_entries, segment_book
    from minqing.classify.segment import continue_books, neighbour_spans
    from minqing.classify.types import Link

    lines = indep.lines_of(split)
    meta = {r["book_id"]: r for r in indep.manifest_rows(split)}
    t0 = time.perf_counter()
    books = {bid: segment_book(ls) for bid, ls in lines.items()}
    cadres = {b: meta[b]["cadre"] for b in books}
    spans = neighbour_spans(  # no year in the book itself: the neighbours' period
        books,
        cadres,
        townships={b: meta[b].get("township") for b in books},
        villages={b: meta[b].get("village") for b in books},
    )
    for bid, span in spans.items():
        books[bid] = segment_book(lines[bid], span=span)
    books, pairs = continue_books(books, cadres)
    links = link_entries(
        books,
        {b: meta[b]["village"] for b in books},
        cadres={b: meta[b]["cadre"] for b in books},
        townships={b: meta[b].get("township") for b in books},
        posts={b: meta[b].get("post") for b in books},
    )
    # a notebook's opening continuation follows up the unfinished entry of the one before
    links = [lk for lk in links if lk.child not in {c for c, _ in pairs}]
    links += [Link(child=c, parent=p, score=1.0, evidence=("continuation",)) for c, p in pairs]
    books = inherit_categories(books, links)
    seconds = time.perf_counter() - t0
    parent = {lk.child: lk.parent for lk in links}
    with out.open("w", encoding="utf-8") as fh:
        for bid, entries in books.items():
            for e in entries:
                row = _export_row(bid, e, parent.get((bid, e.seq)))
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    return seconds


def indep_e2e(split: str, out: Path, workdir: Path) -> float:
    """Draw (cached), ingest and export the notebooks of ``split``; returns ingest seconds."""
    from benchmarks import indep

    paths = indep.render(split, log=lambda m: print(m, flush=True))
    manifest = indep.write_manifest(split, workdir / f"books-{split}.csv")
    exe = [str(ROOT / ".venv" / "bin" / "minqing")]
    if not Path(exe[0]).exists():
        exe = [sys.executable, "-m", "minqing.cli"]
    archive = workdir / f"archive-{split}"
    cmd = [*exe, "ingest", *map(str, paths.values()), "--archive", str(archive),
           "--manifest", str(manifest)]  # fmt: skip
    print("$", " ".join(cmd[:3]), "…", " ".join(cmd[-4:]), flush=True)
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - t0
    cmd = [*exe, "export", "entries", "--archive", str(archive), "--format", "jsonl"]
    done = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True)
    out.write_text(done.stdout, encoding="utf-8")
    return seconds


def _scorer_module(scorer: Path):  # type: ignore[no-untyped-def]
    import importlib.util

    spec = importlib.util.spec_from_file_location("score_export", scorer)
    mod = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return mod


def indep_report(scorer: Path, truth: dict, export: Path) -> dict:
    """Print the scorer's report, the confusion table and per-trait figures; return metrics."""
    sc = _scorer_module(scorer)
    rows, issues = sc.load_export(str(export))
    m = sc.score(truth, [dict(r) for r in rows], issues)
    sc.report(m)
    # matching as the scorer does it, to attribute outcomes to the writers' traits
    tby: dict[str, list] = {}
    for e in truth["entries"]:
        tby.setdefault(e["book_id"], []).append(e)
    sby: dict[str, list] = {}
    for r in rows:
        sby.setdefault(r["book"], []).append(r)
    found: dict[str, dict] = {}
    for b, te in tby.items():
        se = sby.get(b, [])
        w = [[(s if (s := sc.sim(sc.norm_text(t["text"]), r["ntext"])) >= 0.3 else 0.0) for r in se]
             for t in te]  # fmt: skip
        for i, j in sc.hungarian_max(w):
            if w[i][j] >= 0.6:
                found[te[i]["entry_id"]] = se[j]
    sys_to_truth = {id(r): tid for tid, r in found.items()}
    by_sys_id: dict[tuple[str, str], dict] = {(r["book"], r["entry_id"]): r for r in rows}
    by_id_any: dict[str, dict] = {r["entry_id"]: r for r in rows}
    conf: dict[tuple[int, object], int] = {}
    groups: dict[str, list[dict]] = {}
    for e in truth["entries"]:
        for g in ["ALL", *e.get("traits", []), f"kind:{e.get('date_kind')}"]:
            groups.setdefault(g, []).append(e)
    print("\ncategory confusion (rows: truth, columns: predicted)")
    for e in truth["entries"]:
        r = found.get(e["entry_id"])
        if r is not None:
            conf[(e["category_code"], r["category_code"])] = (
                conf.get((e["category_code"], r["category_code"]), 0) + 1
            )
    print("     " + "".join(f"{c:>4}" for c in range(1, 9)))
    for a in range(1, 9):
        print(f"{a:>4} " + "".join(f"{conf.get((a, p), 0) or '.':>4}" for p in range(1, 9)))

    def link_ok(e: dict) -> bool | None:
        if not e.get("follow_up_of"):
            return None
        r = found.get(e["entry_id"])
        if r is None or not r.get("follow_up_of"):
            return False
        parent = by_sys_id.get((r["book"], r["follow_up_of"])) or by_id_any.get(r["follow_up_of"])
        return parent is not None and sys_to_truth.get(id(parent)) == e["follow_up_of"]

    print("\nper trait (found = segmented, sim >= 0.6; other columns over found entries)")
    print(f"{'trait':<22}{'n':>5}{'found':>7}{'date':>7}{'status':>8}{'cat':>7}{'links':>9}")
    per = {}
    for g in sorted(groups, key=lambda k: (k != "ALL", k.startswith("kind:"), k)):
        es = groups[g]
        f = [e for e in es if e["entry_id"] in found]
        d = sum(found[e["entry_id"]]["date"] == e["date"] for e in f)
        s_ = sum(sc.norm_status(found[e["entry_id"]]["status"]) == e["status"] for e in f)
        c = sum(found[e["entry_id"]]["category_code"] == e["category_code"] for e in f)
        lk = [x for e in es if (x := link_ok(e)) is not None]
        nf = max(1, len(f))
        per[g] = {"n": len(es), "found": len(f) / len(es), "date": d / nf, "status": s_ / nf,
                  "cat": c / nf, "links": (sum(lk), len(lk))}  # fmt: skip
        print(
            f"{g:<22}{len(es):>5}{len(f) / len(es):>7.3f}{d / nf:>7.3f}"
            f"{s_ / nf:>8.3f}{c / nf:>7.3f}"
            f"{f'{sum(lk)}/{len(lk)}' if lk else '-':>9}"
        )
    m["per_trait"] = per
    # how wrong the wrong dates are (no texts): missing, a year off, a month off, days off
    print("\nwrong dates by kind of error (found entries)")
    print(f"{'trait':<22}{'wrong':>6}{'null':>6}{'~year':>7}{'~month':>8}{'days':>6}{'other':>7}")
    for g in sorted(groups, key=lambda k: (k != "ALL", k.startswith("kind:"), k)):
        errs = {"null": 0, "~year": 0, "~month": 0, "days": 0, "other": 0}
        for e in groups[g]:
            r = found.get(e["entry_id"])
            if r is None or r["date"] == e["date"]:
                continue
            if not r["date"]:
                errs["null"] += 1
                continue
            try:
                off = abs(
                    (dt.date.fromisoformat(r["date"]) - dt.date.fromisoformat(e["date"])).days
                )
            except (TypeError, ValueError):
                errs["other"] += 1
                continue
            k = "~year" if 330 <= off <= 400 else "~month" if 25 <= off <= 35 else (
                "days" if off < 25 else "other")  # fmt: skip
            errs[k] += 1
        if sum(errs.values()):
            print(f"{g:<22}{sum(errs.values()):>6}" + "".join(f"{v:>{w}}" for v, w in zip(
                errs.values(), (6, 7, 8, 6, 7), strict=True)))  # fmt: skip
    return m


def indep_main(a) -> int:  # type: ignore[no-untyped-def]
    from benchmarks import indep

    split = a.indep
    truth = indep.truth(split)
    n_pages = sum(b["pages"] for b in truth["books"])
    print(f"machine: {machine()}")
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    print(f"independent corpus, split {split}: {len(truth['books'])} notebooks, {n_pages} pages, "
          f"{len(truth['entries'])} entries")  # fmt: skip
    work = Path(tempfile.mkdtemp(prefix="minqing-indep-")) if a.keep is None else a.keep
    work.mkdir(parents=True, exist_ok=True)
    truth_path = work / f"truth-{split}.json"
    truth_path.write_text(json.dumps(truth, ensure_ascii=False), encoding="utf-8")
    results = {}
    try:
        if not a.e2e:
            out = work / f"bypass-{split}.jsonl"
            s = indep_bypass(split, out)
            print(f"\n## (1) OCR bypassed: drawn lines -> segment_book/link_entries ({s:.2f} s)")
            results["bypass"] = indep_report(a.scorer, truth, out)
        if not a.bypass:
            out = work / f"e2e-{split}.jsonl"
            s = indep_e2e(split, out, work)
            print(
                f"\n## (2) end to end from images: ingest {s:.1f} s "
                f"({s / max(1, n_pages):.2f} s/page)"
            )
            results["e2e"] = indep_report(a.scorer, truth, out)
        if a.json:
            a.json.write_text(json.dumps(results, ensure_ascii=False, indent=1, default=str))
    finally:
        if a.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


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
    ap.add_argument(
        "--indep", choices=("train", "dev", "test", "test2", "train2", "train3", "train4", "test3"),
        help="score a split of the independent corpus (tests/data/indep/; test is frozen)",
    )  # fmt: skip
    ap.add_argument("--json", type=Path, help="with --indep: write all metrics to this file")
    a = ap.parse_args(argv)
    if not a.scorer.exists():
        print(f"skipped: scorer {a.scorer} not found (pass --scorer)")
        return 0
    if a.indep:
        return indep_main(a)
    suffix = "_heldout" if a.heldout else ""
    truth_path = CORPUS / f"truth{suffix}.json"
    manifest = CORPUS / f"books{suffix}.csv"
    truth = json.loads(truth_path.read_text(encoding="utf-8"))
    context = json.loads((CORPUS / "truth.json").read_text(encoding="utf-8")) if a.heldout else None
    n_pages = sum(b.get("pages", 0) for b in truth["books"])
    print(f"machine: {machine()}")
    print(f"command: {command_line()}")
    print(f"corpus: {len(truth['books'])} books, {n_pages} pages, {len(truth['entries'])} entries")
    work = Path(tempfile.mkdtemp(prefix="minqing-bench-")) if a.keep is None else a.keep
    work.mkdir(parents=True, exist_ok=True)
    try:
        if not a.e2e:
            out = work / f"bypass{suffix}.jsonl"
            s = bypass_export(truth, out, context)
            print(
                f"\n## (b) OCR bypassed: per-line ground truth -> "
                f"segment_book/link_entries ({s:.2f} s)"
            )
            score(a.scorer, truth_path, out)
        if not a.bypass:
            out = work / f"e2e{suffix}.jsonl"
            s = e2e_export(truth, out, work, manifest)
            print(
                f"\n## (a) end to end from images: ingest {s:.1f} s "
                f"({s / max(1, n_pages):.2f} s/page)"
            )
            score(a.scorer, truth_path, out)
    finally:
        if a.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
