"""Benchmark: search that finds what was written, not only what was read (issue 17).

Samples words of 2–4 characters from truth texts, ingests the notebooks they come from
with the real pipeline (real OCR, alternates stored), and reports, per set of notebooks,
the recall (truth entries holding the word that a search finds) and the precision (found
entries that truly hold it) of exact search and of search with alternates, plus the
index size with and without alternates; then the query time of the search function the
web archive and ``minqing search`` use, at a size the machine allows.

Sets (each rendered once into ``--cache``, ingested into an archive there, reused):

* ``samples``: the bundled sample notebooks (flat scans);
* ``corpus``: the generated notebooks in ``tests/data/corpus`` (flat scans, one form book);
* ``hard-corpus``: hard captures (issue 17 acceptance) of the corpus books: photographed
  with a phone (the form book among them), laid A5-on-A4 on a flatbed, photographed in dim
  light, in turn;
* ``hard-indep``: notebooks of the independent corpus (``tests/data/indep`` train + dev,
  never test) drawn by ``tools/render_notebook.py`` and captured the same ways;
* ``far-corpus``, ``far-indep``: the same books photographed from further away (half
  the pixels per character, JPEG 70): the OCR misreads more there.

The thresholds of :mod:`minqing.archive.search` (ALT_BELOW, ALT_MIN, ALT_PER_CHAR) are
chosen on the generated pages of the corpus (``samples``, ``corpus``, ``hard-corpus``,
``far-corpus``: ``--calibrate`` prints the grid) and only reported on the independent
corpus's (``hard-indep``, ``far-indep``); never on real data.

Each OCR'd line is given to the truth line of its page it resembles most (difflib ratio
≥ 0.5; capture moves boxes, text does not), and a truth entry's read text is its lines'
texts joined with no gap, alternates carried along (:func:`joined_alternates`), indexed
with the archive's own functions (:func:`bigrams`, :func:`alt_bigrams`) and searched with
:func:`search`.

    .venv/bin/python -m benchmarks.search_recall                         # all sets, 400 words
    .venv/bin/python -m benchmarks.search_recall --sets hard-indep
    .venv/bin/python -m benchmarks.search_recall --scale 100000          # + query p95

Reports the machine and the command.
"""

from __future__ import annotations

import argparse
import difflib
import json
import random
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks._common import command_line, machine
from minqing.archive import search as S

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "samples"
CORPUS = REPO / "tests" / "data" / "corpus"
INDEP = REPO / "tests" / "data" / "indep"
CJK_RUN = re.compile(r"[\u4e00-\u9fff]+")
#: capture types of the hard set, in turn
CAPTURES = ("phone", "a5-on-a4", "phone-dim")
#: the sets the thresholds may be chosen on (generated pages of the project's own corpus)
CALIBRATION_SETS = ("samples", "corpus", "hard-corpus", "far-corpus")
#: bump when the drawing or the captures change, so the cache redraws
RENDER_VERSION = "sr-1"


# -- captures ------------------------------------------------------------------------------


def _phone(img, rng: random.Random, dim: bool = False, far: bool = False):  # type: ignore[no-untyped-def]
    """The page photographed on a table: perspective, uneven light, noise (dim: darker,
    soft; far: from further away, so the writing is about half as many pixels high)."""
    import cv2
    import numpy as np
    from PIL import Image

    page = np.asarray(img.convert("RGB"))[:, :, ::-1]
    h, w = page.shape[:2]
    ow, oh = round(w * 1.25), round(h * 1.2)
    nrng = np.random.default_rng(rng.randrange(2**32))
    table = np.empty((oh, ow, 3), np.float32)
    table[:] = (70, 100, 135)
    corners = np.float32(
        [
            [ow * 0.1, oh * 0.07],
            [ow * 0.9, oh * 0.09],
            [ow * 0.92, oh * 0.93],
            [ow * 0.08, oh * 0.91],
        ]
    )
    corners += nrng.uniform(-0.02 * ow, 0.02 * ow, corners.shape).astype(np.float32)
    src = np.float32([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]])
    m = cv2.getPerspectiveTransform(src, corners)
    warped = cv2.warpPerspective(page, m, (ow, oh), flags=cv2.INTER_LINEAR)
    mask = cv2.warpPerspective(np.full((h, w), 255, np.uint8), m, (ow, oh))
    alpha = (mask.astype(np.float32) / 255.0)[..., None]
    photo = warped.astype(np.float32) * alpha + table * (1 - alpha)
    yy, xx = np.mgrid[0:oh, 0:ow].astype(np.float32)
    gx, gy = rng.uniform(0.4, 0.8), rng.uniform(0.5, 0.9)
    light = 1.05 - 0.4 * ((xx / ow) * gx + (yy / oh) * gy) / (gx + gy)
    if dim:
        light *= 0.55
    photo *= light[..., None]
    photo += nrng.normal(0, 6 if dim else 3, photo.shape)
    out = np.clip(photo, 0, 255).astype(np.uint8)
    if dim:
        out = cv2.GaussianBlur(out, (3, 3), 0.8)
    if far:
        out = cv2.resize(out, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    return Image.fromarray(out[:, :, ::-1].copy())


def _a5_on_a4(img, rng: random.Random):  # type: ignore[no-untyped-def]
    """The A5 page lying tilted on an A4 flatbed, grey lid around it."""
    import cv2
    import numpy as np
    from PIL import Image

    page = np.asarray(img.convert("RGB"))[:, :, ::-1]
    h, w = page.shape[:2]
    cw, ch = round(w * 1.414), round(h * 1.414)
    angle = rng.choice((-1, 1)) * rng.uniform(2.0, 6.0)
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    m[0, 2] += rng.randint(30, cw - w - 30)
    m[1, 2] += rng.randint(30, max(31, ch // 3 - 30))
    scan = np.full((ch, cw, 3), rng.randint(195, 225), np.uint8)
    warped = cv2.warpAffine(page, m, (cw, ch), flags=cv2.INTER_LINEAR)
    mask = cv2.warpAffine(np.full((h, w), 255, np.uint8), m, (cw, ch))
    scan[mask > 0] = warped[mask > 0]
    return Image.fromarray(scan[:, :, ::-1].copy())


def capture(folder: Path, kind: str, seed: int) -> None:
    """Turn the page images in ``folder`` into ``kind`` captures, in place (JPEG)."""
    from PIL import Image

    rng = random.Random(seed)
    for p in sorted([*folder.glob("page-*.jpg"), *folder.glob("page-*.png")]):
        img = Image.open(p).convert("RGB")
        if kind == "a5-on-a4":
            new = _a5_on_a4(img, rng)
        else:
            new = _phone(img, rng, dim=kind == "phone-dim", far=kind == "phone-far")
        p.unlink()
        new.save(p.with_suffix(".jpg"), "JPEG", quality=70 if kind == "phone-far" else 85)


# -- the sets --------------------------------------------------------------------------------


def _renderer():  # type: ignore[no-untyped-def]
    from tools import render_notebook as rn

    return rn


def indep_specs(n: int) -> list[dict]:
    """The first ``n`` notebooks of the independent corpus's train + dev splits (in a fixed
    shuffled order) as render specs: heading as date line, paragraphs, later notes."""
    books = []
    for split in ("train", "dev"):
        books += json.loads((INDEP / f"{split}.json").read_text(encoding="utf-8"))["notebooks"]
    random.Random(17).shuffle(books)
    specs = []
    for nb in books[:n]:
        entries = []
        for e in nb["entries"]:
            paragraphs = list(e.get("paragraphs") or [])
            for note in e.get("later_notes") or []:
                text = note.get("text") if isinstance(note, dict) else str(note)
                if text:
                    paragraphs.append(text)
            if not paragraphs:
                continue
            entries.append(
                {
                    "entry_id": e["entry_id"],
                    "date": e.get("date") or "2024-01-01",
                    "date_line": e.get("heading") or "",
                    "category_code": e.get("category_code") or 8,
                    "status": e.get("status") or "已记录",
                    "paragraphs": paragraphs,
                    "new_page": bool(e.get("new_page")),
                }
            )
        meta = {k: nb.get(k) for k in ("cadre", "township", "village")}
        specs.append({"book_id": nb["book_id"], "meta": meta, "entries": entries})
    return specs


def prepare(set_name: str, cache: Path, indep_books: int) -> list[Path]:
    """The book folders of a set (rendered and captured into ``cache`` when needed)."""
    if set_name == "samples":
        return sorted(p for p in SAMPLES.iterdir() if (p / "lines.json").is_file())
    if set_name == "corpus":
        return sorted(p for p in CORPUS.iterdir() if (p / "lines.json").is_file())
    if set_name not in ("hard-corpus", "hard-indep", "far-corpus", "far-indep"):
        raise SystemExit(f"unknown set {set_name!r}")
    suffix = f"-{indep_books}" if set_name.endswith("-indep") else ""
    far = set_name.startswith("far-")
    root = cache / f"{set_name}-{RENDER_VERSION}{suffix}"
    done = root / ".done"
    if done.is_file():
        return sorted(p for p in root.iterdir() if (p / "lines.json").is_file())
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    folders = []
    if set_name.endswith("-corpus"):
        corpus = sorted(p for p in CORPUS.iterdir() if (p / "lines.json").is_file())
        for n, src in enumerate(corpus):
            kind = "phone" if src.name == "hexi-sunhp" else CAPTURES[n % len(CAPTURES)]
            kind = "phone-far" if far else kind
            dst = root / f"{src.name}-{kind}"
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns("truth.json"))
            capture(dst, kind, seed=n)
            folders.append(dst)
    else:
        rn = _renderer()
        fonts = [rn.WENKAI, rn.UKAI]
        for n, spec in enumerate(indep_specs(indep_books)):
            kind = "phone-far" if far else CAPTURES[n % len(CAPTURES)]
            spec = {**spec, "book_id": f"{spec['book_id']}-{kind}"}
            dst = root / spec["book_id"]
            hand = rn.HandStyle(font_path=fonts[n % 2], font_px=40, chars_per_line=17)
            rn.render_book(spec, dst, 1000 + n, hand, rn.PageStyle())
            capture(dst, kind, seed=100 + n)
            folders.append(dst)
    done.write_text("ok\n")
    return folders


def ingest(set_name: str, folders: list[Path], cache: Path) -> Path:
    """Ingest the folders into ``cache/archive-<set>`` with the real CLI (resumable)."""
    archive = cache / f"archive-{set_name}"
    t0 = time.perf_counter()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "minqing",
            "ingest",
            *map(str, folders),
            "--archive",
            str(archive),
            "-q",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        # the search index needs the pages and lines only: a later stage's failure (entries,
        # links) is reported, not fatal, when every book's pages were written
        conn = (
            sqlite3.connect(archive / "archive.db") if (archive / "archive.db").is_file() else None
        )
        books = (
            {r[0] for r in conn.execute("select distinct book_id from lines")} if conn else set()
        )
        if conn is None or books < {f.name for f in folders}:
            raise SystemExit(f"ingest of {set_name} failed:\n{proc.stderr}")
        last = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else ""
        print(
            f"  WARNING: ingest of {set_name} exited {proc.returncode} after writing every "
            f"page ({last}); lines are scored",
            file=sys.stderr,
        )
    print(
        f"  ingest {set_name}: {time.perf_counter() - t0:.0f} s; {proc.stderr.strip()}",
        file=sys.stderr,
    )
    return archive


# -- truth and read texts ----------------------------------------------------------------------


@dataclass
class Doc:
    """One truth entry: its written text and what the archive read of it."""

    truth: str
    parts: list[tuple[str, str | None]] = field(default_factory=list)  # (text, stored alts)


def _squeeze(t: str) -> str:
    return re.sub(r"\s+", "", t or "")


def documents(archive: Path, folders: list[Path]) -> list[Doc]:
    """Truth entries with the read lines that belong to them (see the module doc)."""
    docs: dict[str, Doc] = {}
    truth_pages: dict[tuple[str, int], list[tuple[str, str]]] = {}
    for f in folders:
        for page in json.loads((f / "lines.json").read_text(encoding="utf-8")):
            rows = []
            for text, eid in zip(page["lines"], page["entry_ids"], strict=True):
                if eid is None:
                    continue
                key = f"{f.name}|{eid}"
                docs.setdefault(key, Doc(""))
                docs[key].truth += _squeeze(text)
                rows.append((_squeeze(text), key))
            truth_pages[(f.name, page["page"])] = rows
    conn = sqlite3.connect(archive / "archive.db")
    read = conn.execute(
        "select book_id, page_no, line_no, text, alternates from lines "
        "order by book_id, page_no, line_no"
    ).fetchall()
    conn.close()
    assigned: dict[str, list[tuple[int, int, str, str | None]]] = {}
    for book, page_no, _line_no, text, alts in read:
        cands = truth_pages.get((book, page_no), [])
        t = _squeeze(text)
        if not t or not cands:
            continue
        best, score = None, 0.0
        for n, (tt, key) in enumerate(cands):
            r = difflib.SequenceMatcher(None, t, tt, autojunk=False).ratio()
            if r > score:
                best, score = (n, key), r
        if best is not None and score >= 0.5:
            assigned.setdefault(best[1], []).append((page_no, best[0], text, alts))
    for key, parts in assigned.items():
        parts.sort(key=lambda p: (p[0], p[1]))
        docs[key].parts = [(text, alts) for _, _, text, alts in parts]
    return list(docs.values())


def sample_words(docs: list[Doc], n: int, seed: int = 17) -> list[str]:
    """``n`` distinct words of 2–4 CJK characters cut from random truth entries."""
    rng = random.Random(seed)
    runs = [r for d in docs for r in CJK_RUN.findall(d.truth) if len(r) >= 2]
    words: list[str] = []
    seen: set[str] = set()
    tries = 0
    while len(words) < n and tries < 50 * n:
        tries += 1
        run = rng.choice(runs)
        k = rng.randint(2, min(4, len(run)))
        s = rng.randrange(len(run) - k + 1)
        w = run[s : s + k]
        if w not in seen:
            seen.add(w)
            words.append(w)
    return words


# -- scoring ---------------------------------------------------------------------------------


@dataclass
class Score:
    relevant: int = 0
    found_exact: int = 0
    hit_exact: int = 0
    found_alt: int = 0
    hit_alt: int = 0
    missed_exact: list[str] = field(default_factory=list)
    missed_alt: list[str] = field(default_factory=list)
    wrong_alt: list[str] = field(default_factory=list)

    def row(self) -> dict[str, float]:
        def div(a: int, b: int) -> float:
            return a / b if b else float("nan")

        return {
            "relevant": self.relevant,
            "recall_exact": div(self.hit_exact, self.relevant),
            "precision_exact": div(self.hit_exact, self.found_exact),
            "recall_alt": div(self.hit_alt, self.relevant),
            "precision_alt": div(self.hit_alt, self.found_alt),
        }


def build_index(docs: list[Doc], cfg: dict[str, float]) -> sqlite3.Connection:
    """An in-memory ``entries`` table + FTS of the read texts, alternates per ``cfg``."""
    conn = sqlite3.connect(":memory:")
    conn.execute("create table entries (entry_id text, text text, alternates text)")
    conn.execute("create virtual table entries_fts using fts5(bigrams)")
    conn.execute("create virtual table entries_alt_fts using fts5(alt)")
    for n, d in enumerate(docs, 1):
        text = "".join(_squeeze(t) for t, _ in d.parts)
        parts = [(t, S.accepted_alternates(a, **cfg)) for t, a in d.parts]  # type: ignore[arg-type]
        alts = S.joined_alternates(parts, text)
        conn.execute(
            "insert into entries(rowid, entry_id, text, alternates) values (?, ?, ?, ?)",
            [n, str(n), text, json.dumps(alts) if alts else None],
        )
        _put(conn, "entries", n, text, S.alt_bigrams(text, alts))
    return conn


def _put(conn: sqlite3.Connection, table: str, rowid: int, text: str, alt: str | None) -> None:
    """The search rows of one row, as ``archive.records`` writes them."""
    conn.execute(f"insert into {table}_fts(rowid, bigrams) values (?, ?)", [rowid, S.bigrams(text)])
    if alt:
        conn.execute(f"insert into {table}_alt_fts(rowid, alt) values (?, ?)", [rowid, alt])


def score(docs: list[Doc], words: list[str], cfg: dict[str, float]) -> Score:
    conn = build_index(docs, cfg)
    sc = Score()
    for w in words:
        relevant = {str(n) for n, d in enumerate(docs, 1) if w in d.truth}
        res = S.search(conn, w, columns="t.entry_id", limit=10_000)
        exact = {h.row["entry_id"] for h in res.hits if not h.alternate}
        both = {h.row["entry_id"] for h in res.hits}
        sc.relevant += len(relevant)
        sc.found_exact += len(exact)
        sc.hit_exact += len(exact & relevant)
        sc.found_alt += len(both)
        sc.hit_alt += len(both & relevant)
        if relevant - exact:
            sc.missed_exact.append(w)
        if relevant - both:
            sc.missed_alt.append(w)
        if both - exact - relevant:
            sc.wrong_alt.append(w)
    conn.close()
    return sc


def fts_bytes(conn: sqlite3.Connection, fts: str = "entries_fts") -> int:
    """Bytes of the pages of an FTS5 table's shadow tables (dbstat)."""
    names = [fts] + [f"{fts}_{s}" for s in ("data", "idx", "content", "docsize", "config")]
    return conn.execute(
        "select coalesce(sum(pgsize), 0) from dbstat where name in (?, ?, ?, ?, ?, ?)", names
    ).fetchone()[0]


def index_sizes(archive: Path, cfg: dict[str, float]) -> dict[str, int]:
    """Bytes of ``entries_fts`` + ``lines_fts`` of the archive's texts, without and with
    alternates (each rebuilt in a fresh file and vacuumed)."""
    src = sqlite3.connect(archive / "archive.db")
    lines = src.execute("select rowid, text, alternates, corrected from lines").fetchall()
    entries = src.execute("select rowid, text, line_ids from entries").fetchall()
    by_id = {
        r[0]: r[1:] for r in src.execute("select line_id, text, alternates from lines").fetchall()
    }
    src.close()
    out = {}
    for with_alt in (False, True):
        with tempfile.TemporaryDirectory() as tmp:
            conn = sqlite3.connect(Path(tmp) / "x.db")
            for t in ("entries", "lines"):
                conn.execute(f"create virtual table {t}_fts using fts5(bigrams)")
                conn.execute(f"create virtual table {t}_alt_fts using fts5(alt)")
            for rowid, text, alts, _ in lines:
                a = (
                    S.alt_bigrams(text or "", S.accepted_alternates(alts, **cfg))
                    if with_alt
                    else None
                )  # type: ignore[arg-type]
                _put(conn, "lines", rowid, text or "", a)
            for rowid, text, line_ids in entries:
                a = None
                if with_alt:
                    parts = [
                        (by_id[i][0] or "", S.accepted_alternates(by_id[i][1], **cfg))  # type: ignore[arg-type]
                        for i in json.loads(line_ids or "[]")
                        if i in by_id
                    ]
                    a = S.alt_bigrams(text or "", S.joined_alternates(parts, text or ""))
                _put(conn, "entries", rowid, text or "", a)
            conn.commit()
            tables = ("entries_fts", "lines_fts", "entries_alt_fts", "lines_alt_fts")
            for fts in tables:
                conn.execute(f"insert into {fts}({fts}) values ('optimize')")
            conn.commit()
            conn.execute("vacuum")
            size = sum(fts_bytes(conn, t) for t in tables)
            conn.close()
        out["with_alternates" if with_alt else "without"] = size
    return out


def current_cfg() -> dict[str, float]:
    return {"below": S.ALT_BELOW, "min_prob": S.ALT_MIN, "per_char": S.ALT_PER_CHAR}


GRID_BELOW = (0.5, 0.7, 0.8, 0.9, 0.95, 0.98)
GRID_MIN = (0.005, 0.01, 0.02, 0.05, 0.1)
GRID_PER = (1, 2, 3)


def calibrate(docs: list[Doc], words: list[str]) -> list[tuple[dict, dict]]:
    out = []
    for below in GRID_BELOW:
        for min_prob in GRID_MIN:
            for per in GRID_PER:
                cfg = {"below": below, "min_prob": min_prob, "per_char": per}
                out.append((cfg, score(docs, words, cfg).row()))
    return out


# -- query time at scale ------------------------------------------------------------------------


def scale(n: int, root: Path, alt_rate: float, alts_per_char: float, queries: int) -> dict:
    """Build ``n`` synthetic entries (benchmarks/archive.py), give a share ``alt_rate`` of
    their characters ``alts_per_char`` alternates on average, time :func:`search`."""
    from benchmarks.archive import build

    if root.exists():
        shutil.rmtree(root)
    t0 = time.perf_counter()
    build(root, n, page_books=0)
    built = time.perf_counter() - t0
    conn = sqlite3.connect(root / "archive.db")
    conn.execute("insert into entries_fts(entries_fts) values ('optimize')")
    conn.commit()
    before = fts_bytes(conn)
    rng = random.Random(5)
    texts = conn.execute("select rowid, text from entries").fetchall()
    pool = sorted({c for _, t in texts[:2000] for run in CJK_RUN.findall(t or "") for c in run})
    t1 = time.perf_counter()
    conn.execute("BEGIN")
    conn.execute("DELETE FROM entries_alt_fts")
    rows, fts = [], []
    for rowid, text in texts:
        text = text or ""
        alts = {}
        for i, ch in enumerate(text):
            if "\u4e00" <= ch <= "\u9fff" and rng.random() < alt_rate:
                k = 1 + (rng.random() < alts_per_char - 1)
                alts[i] = "".join(rng.sample(pool, k))
        rows.append((json.dumps(alts, ensure_ascii=False) if alts else None, rowid))
        if alts:
            fts.append((rowid, S.alt_bigrams(text, alts)))
    conn.executemany("update entries set alternates = ? where rowid = ?", rows)
    conn.executemany("insert into entries_alt_fts(rowid, alt) values (?, ?)", fts)
    conn.execute("COMMIT")
    conn.execute("insert into entries_alt_fts(entries_alt_fts) values ('optimize')")
    conn.commit()
    reindexed = time.perf_counter() - t1
    after = before + fts_bytes(conn, "entries_alt_fts")
    words = []
    for _, text in rng.sample(texts, min(queries, len(texts))):
        runs = [r for r in CJK_RUN.findall(text or "") if len(r) >= 2]
        if runs:
            r = rng.choice(runs)
            k = rng.randint(2, min(4, len(r)))
            s = rng.randrange(len(r) - k + 1)
            words.append(r[s : s + k])
    conn.close()
    conn = sqlite3.connect(f"file:{root / 'archive.db'}?mode=ro", uri=True)
    times = []
    for w in words:
        t = time.perf_counter()
        S.search(
            conn, w, columns="t.entry_id, t.date", order_by="t.date desc, t.entry_id", limit=50
        )
        times.append((time.perf_counter() - t) * 1000)
    conn.close()
    times.sort()
    return {
        "entries": n,
        "build_s": round(built, 1),
        "index_alternates_s": round(reindexed, 1),
        "fts_bytes_without": before,
        "fts_bytes_with": after,
        "ratio": round(after / before, 3) if before else None,
        "queries": len(times),
        "p50_ms": round(statistics.median(times), 1),
        "p95_ms": round(times[int(0.95 * (len(times) - 1))], 1),
        "max_ms": round(times[-1], 1),
    }


# -- main ---------------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sets", default="samples,corpus,hard-corpus,hard-indep,far-corpus,far-indep")
    ap.add_argument("--words", type=int, default=400, help="words sampled per set")
    ap.add_argument("--indep-books", type=int, default=6, help="independent notebooks drawn")
    ap.add_argument(
        "--cache", type=Path, default=Path.home() / ".cache" / "minqing" / "search-recall"
    )
    ap.add_argument("--calibrate", action="store_true", help="print the threshold grid")
    ap.add_argument("--scale", type=int, default=0, help="synthetic entries for query p95")
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument(
        "--alt-rate",
        type=float,
        help="share of characters with alternates at --scale (default: as measured on the "
        "sets run, else 0.015, the share measured on samples + corpus)",
    )
    ap.add_argument("--alts-per-char", type=float, help="default: as measured, else 1.5")
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    cfg = current_cfg()
    print(f"# search recall (issue 17)\n\nmachine: {machine()}\ncommand: {command_line()}")
    print(
        f"index thresholds: ALT_BELOW={cfg['below']} ALT_MIN={cfg['min_prob']} "
        f"ALT_PER_CHAR={cfg['per_char']} ALT_WINDOW={S.ALT_WINDOW}\n"
    )
    results: dict = {"machine": machine(), "command": command_line(), "cfg": cfg, "sets": {}}
    calib_docs: list[Doc] = []
    calib_words: list[str] = []
    alt_chars = total_chars = n_alts = 0
    print(
        "| set | books | entries | words | relevant | recall exact | precision exact "
        "| recall alt | precision alt | FTS bytes without | with alt | ratio |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name in [s for s in args.sets.split(",") if s]:
        folders = prepare(name, args.cache, args.indep_books)
        archive = ingest(name, folders, args.cache)
        docs = documents(archive, folders)
        words = sample_words(docs, args.words)
        sc = score(docs, words, cfg)
        sizes = index_sizes(archive, cfg)
        row = sc.row()
        ratio = sizes["with_alternates"] / sizes["without"] if sizes["without"] else float("nan")
        print(
            f"| {name} | {len(folders)} | {len(docs)} | {len(words)} | {row['relevant']} "
            f"| {row['recall_exact']:.2%} | {row['precision_exact']:.2%} "
            f"| {row['recall_alt']:.2%} | {row['precision_alt']:.2%} "
            f"| {sizes['without']:,} | {sizes['with_alternates']:,} | {ratio:.2f} |"
        )
        results["sets"][name] = {
            **row,
            "books": len(folders),
            "entries": len(docs),
            "words": len(words),
            "sizes": sizes,
            "missed_exact": sc.missed_exact,
            "missed_alt": sc.missed_alt,
            "wrong_alt": sc.wrong_alt,
        }
        for d in docs:
            for t, a in d.parts:
                total_chars += len(_squeeze(t))
                acc = S.accepted_alternates(a, **cfg)  # type: ignore[arg-type]
                alt_chars += len(acc)
                n_alts += sum(len(v) for v in acc.values())
        if name in CALIBRATION_SETS:
            calib_docs += docs
            calib_words += words
    print()
    for name, r in results["sets"].items():
        print(f"{name}: words missed with alternates: {' '.join(r['missed_alt'][:30]) or '-'}")
        print(f"{name}: words with a wrong alternate hit: {' '.join(r['wrong_alt'][:30]) or '-'}")
    rate = alt_chars / total_chars if total_chars else 0.0
    per = n_alts / alt_chars if alt_chars else 1.0
    print(f"\ncharacters with indexed alternates: {rate:.2%} ({per:.2f} alternates each)")
    results["alt_rate"], results["alts_per_char"] = rate, per
    if args.calibrate and calib_docs:
        print(f"\n## calibration grid ({' + '.join(CALIBRATION_SETS)} present)\n")
        print("| below | min_prob | per_char | recall exact | recall alt | precision alt |")
        print("|---|---|---|---|---|---|")
        grid = calibrate(calib_docs, calib_words)
        for c, r in grid:
            print(
                f"| {c['below']} | {c['min_prob']} | {c['per_char']} | {r['recall_exact']:.2%} "
                f"| {r['recall_alt']:.2%} | {r['precision_alt']:.2%} |"
            )
        results["grid"] = grid
    if args.scale:
        if args.alt_rate is not None:
            rate = args.alt_rate
        elif not total_chars:
            rate = 0.015
        if args.alts_per_char is not None:
            per = args.alts_per_char
        elif not alt_chars:
            per = 1.5
        res = scale(args.scale, args.cache / f"scale-{args.scale}", rate, per, args.queries)
        res.update(alt_rate=rate, alts_per_char=per)
        print(f"\n## query time at {res['entries']:,} entries (search(), in process)\n")
        print(json.dumps(res, indent=1))
        results["scale"] = res
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
