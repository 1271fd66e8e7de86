"""The main job: scans → pages → OCR → entries → archive, resumable and parallel.

Orchestration only; each step is a stage library call. The flow, per book:

1. every input file is loaded and normalised page by page by ``ingest.iter_pages`` (in worker
   processes when ``workers > 1``); a file unchanged since a successful earlier run
   (same path and content hash) is not even decoded;
2. every page is OCR'd unless the OCR cache holds a result for (page hash, engine
   id); results are cached as soon as they exist, so a killed run loses nothing
   expensive;
3. the book's pages and lines are written in one transaction, its entries (segmented
   in between, outside any transaction) in a second: a killed run leaves the book's
   pages as they were before or complete, and the next run completes it;
4. follow-up links are recomputed for the books touched and their villages.

Human corrections are never overwritten (see :mod:`archive.records`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2

from minqing import classify, ingest, ocr
from minqing._workers import WorkerCrash, WorkerPool
from minqing.archive import keywords, records
from minqing.archive.store import Archive, store_blob
from minqing.classify.segment import LINE_KINDS, continue_books, neighbour_spans, period_span
from minqing.classify.types import Link
from minqing.ingest.errors import BadInputError, read_error
from minqing.ingest.types import BookSource, Page, SourceFile
from minqing.ocr import EngineSpec
from minqing.ocr.types import Line, PageText
from minqing.review import corrections

#: Engine id used for pages whose text came from a PDF text layer.
TEXT_LAYER_ENGINE = "pdf-text-layer"


class EngineConfigError(Exception):
    """The engine rejected its parameters."""


@dataclass(frozen=True)
class PageResult:
    """One page of an input file as it comes back from a worker (small and picklable).

    The page's images are already stored in the archive folder (``image``, ``original``:
    relative paths, content-addressed); ``page_text`` is the page's fresh OCR (or PDF
    text layer) for the main process to cache, or None when the OCR cache already holds
    it (under the run's engine id, or under :data:`TEXT_LAYER_ENGINE` when
    ``text_layer``).
    """

    index_in_source: int
    image: str
    original: str
    sha256: str
    original_sha256: str
    width: int
    height: int
    transforms: tuple[str, ...]
    flags: tuple[tuple[str, float], ...]
    page_text: PageText | None = None
    text_layer: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "transforms", tuple(str(t) for t in self.transforms))
        flags = self.flags.items() if isinstance(self.flags, Mapping) else self.flags
        object.__setattr__(self, "flags", tuple((str(k), float(v)) for k, v in flags))
        if self.page_text is not None and (self.page_text.engine_id == TEXT_LAYER_ENGINE) != (
            self.text_layer
        ):
            raise ValueError("PageResult.text_layer must say whether page_text is a text layer")

    def record(
        self, book_id: str, page_no: int, source_file: str, page_text: PageText
    ) -> records.PageRecord:
        """The archive's record of this page as page ``page_no`` of ``book_id``."""
        return records.PageRecord(
            book_id=book_id,
            page_no=page_no,
            image=self.image,
            original=self.original,
            sha256=self.sha256,
            original_sha256=self.original_sha256,
            width=self.width,
            height=self.height,
            source_file=source_file,
            index_in_source=self.index_in_source,
            transforms=self.transforms,
            flags=self.flags,
            page_text=page_text,
            ingest_version=ingest.VERSION,
            needs_rescan=ingest.needs_rescan(self.flags),
        )


@dataclass
class FileResult:
    """What a worker returns for one input file (small and picklable)."""

    path: str
    book_id: str
    sha256: str
    size: int
    pages: list[PageResult] = field(default_factory=list)
    error: str | None = None
    ocr_pages: int = 0
    cached_pages: int = 0
    ocr_seconds: float = 0.0
    reused: bool = False


@dataclass
class IngestSummary:
    """Counts the CLI reports at the end of a run."""

    books: int = 0
    files_ok: int = 0
    files_failed: int = 0
    files_unchanged: int = 0
    pages: int = 0
    duplicate_pages: int = 0
    pages_ocr: int = 0
    pages_cached: int = 0
    entries: int = 0
    ocr_seconds: float = 0.0
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        """True when any input file failed."""
        return self.files_failed > 0


# -- worker side ---------------------------------------------------------------------------

_ENGINE: ocr.OcrEngine | None = None
_ENGINE_SPEC: EngineSpec | None = None
#: ONNX Runtime threads per engine in this process (None: all cores); set in workers
_THREADS: int | None = None


def _init_worker(threads: int) -> None:
    """Worker start-up: share the cores among the workers instead of oversubscribing."""
    global _THREADS
    _THREADS = threads


def _engine(spec: EngineSpec) -> ocr.OcrEngine:
    """The engine of ``spec``, built once per process."""
    global _ENGINE, _ENGINE_SPEC
    if _ENGINE is None or spec != _ENGINE_SPEC:
        _ENGINE = spec.build(threads=_THREADS)
        _ENGINE_SPEC = spec
    return _ENGINE


def _text_layer_page_text(page: Page) -> PageText:
    h, w = page.image.shape[:2]
    lines = []
    for text, (x0, y0, x1, y1) in page.text_lines or ():
        lines.append(Line(text=text, box=((x0, y0), (x1, y0), (x1, y1), (x0, y1)), confidence=1.0))
    return PageText(lines=tuple(lines), engine_id=TEXT_LAYER_ENGINE, width=w, height=h)


def _digest(path: Path) -> tuple[str, int]:
    """sha256 and size of a file, read in blocks (a 2 GB PDF is not held twice)."""
    h = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            h.update(block)
            size += len(block)
    return h.hexdigest(), size


def process_file(
    src: SourceFile,
    archive_root: str,
    engine: EngineSpec,
    engine_id: str,
    cached: frozenset[str],
) -> FileResult:
    """Load, normalise, store and OCR one input file. Runs in a worker process.

    ``cached`` holds the page hashes whose OCR result for ``engine_id`` is already in
    the archive's cache; those pages are not OCR'd again. Bad input is returned as
    ``error`` (one line), never raised, so the batch goes on. Pages are read, stored
    and OCR'd one at a time, so memory is that of one page however long the file.
    """
    path = Path(src.path)
    try:
        sha, size = _digest(path)
    except OSError as exc:
        return FileResult(str(path), src.book_id, "", 0, error=str(read_error(path, exc)))
    result = FileResult(str(path), src.book_id, sha, size)
    name = ingest.path_text(path)
    try:
        for page in ingest.iter_pages(src):
            result.pages.append(_store_page(page, archive_root, engine, engine_id, cached, result))
            del page
    except BadInputError as exc:
        result.error = str(exc)
    except ocr.OcrError as exc:
        n = len(result.pages) + 1  # the page that failed: the ones before it are stored
        result.error = (
            f"{name}: OCR failed on page {n}: {exc} (try again; report it if it persists)"
        )
    except MemoryError:
        result.error = (
            f"{name}: out of memory on page {len(result.pages) + 1} "
            "(ingest it alone with --workers 1, or on a machine with more memory)"
        )
    except OSError as exc:  # storing the page: disk full, archive folder not writable
        result.error = (
            f"{name}: cannot store page {len(result.pages) + 1} in the archive: "
            f"{exc.strerror or exc} "
            "(free disk space or fix the archive folder's permissions, then run again)"
        )
    except Exception as exc:  # a bug must fail one file, not the batch
        first = (str(exc).strip().splitlines() or [""])[0]
        result.error = (
            f"{name}: internal error on page {len(result.pages) + 1}: "
            f"{type(exc).__name__}: {first} (a bug: please report it with this file)"
        )
    if result.error:
        result.pages.clear()
    return result


def _store_page(
    page: Page,
    archive_root: str,
    engine: EngineSpec,
    engine_id: str,
    cached: frozenset[str],
    result: FileResult,
) -> PageResult:
    """Store one page's images, OCR it unless cached; its typed record for the main side."""
    png = page.png  # the bytes ingest hashed; encode only when it did not keep them
    if png is None:
        ok, buf = cv2.imencode(".png", page.image)
        if not ok:  # pragma: no cover - OpenCV failure
            raise ValueError("could not encode the normalised page")
        png = buf.tobytes()
    image_rel, sha = store_blob(archive_root, png, ".png")
    original_rel, original_sha = store_blob(archive_root, page.original_bytes, page.original_ext)
    h, w = page.image.shape[:2]
    page_text: PageText | None = None
    if page.text_lines is not None:
        page_text = _text_layer_page_text(page)
    elif sha not in cached:
        t0 = time.perf_counter()
        page_text = _engine(engine).recognize(page.image)
        result.ocr_seconds += time.perf_counter() - t0
        result.ocr_pages += 1
    else:
        result.cached_pages += 1
    return PageResult(
        index_in_source=page.index_in_source,
        image=image_rel,
        original=original_rel,
        sha256=sha,
        original_sha256=original_sha,
        width=w,
        height=h,
        transforms=page.transforms,
        flags=page.flags,
        page_text=page_text,
        text_layer=page.text_lines is not None,
    )


# -- main side -----------------------------------------------------------------------------


def _reuse_file(
    archive: Archive, src: SourceFile, data_sha: str, engine_id: str
) -> FileResult | None:
    """The stored result of a file unchanged since a successful run, or None."""
    row = records.file_row(archive, str(src.path))
    if not row or row["state"] != "ok" or row["sha256"] != data_sha:
        return None
    pages = records.source_file_pages(archive, src.book_id, ingest.path_text(src.path))
    if len(pages) != (row["pages"] or 0):
        return None
    if any(p.get("ingest_version") != ingest.VERSION for p in pages):
        return None  # normalisation changed: load the file again (OCR is still cached by hash)
    result = FileResult(str(src.path), src.book_id, data_sha, row["size"] or 0, reused=True)
    for p in pages:
        text_layer = p["ocr_engine"] == TEXT_LAYER_ENGINE
        if not text_layer and records.cached_ocr(archive, p["sha256"], engine_id) is None:
            return None  # a new engine: OCR again (through the normal path)
        result.cached_pages += 1
        result.pages.append(
            PageResult(
                index_in_source=p["index_in_source"],
                image=p["image"],
                original=p["original"],
                sha256=p["sha256"],
                original_sha256=p["original_sha256"],
                width=p["width"],
                height=p["height"],
                transforms=json.loads(p["transforms"] or "[]"),
                flags=json.loads(p["quality_flags"] or "{}"),
                text_layer=text_layer,
            )
        )
    return result


def _page_text_for(archive: Archive, page: PageResult, engine_id: str) -> PageText:
    """The page's text as cached (every page's OCR is in the cache by the time a book is
    assembled: the main process caches each worker result as it arrives)."""
    engine = TEXT_LAYER_ENGINE if page.text_layer else engine_id
    cached = records.cached_ocr(archive, page.sha256, engine)
    if cached is None:  # pragma: no cover - the worker OCRs every uncached page
        raise RuntimeError(f"no OCR result for page {page.sha256}")
    return cached


ProgressFn = Callable[[str, int, str], None]


def _noop(event: str, n: int, detail: str) -> None:
    pass


def run_ingest(
    paths: Sequence[Path],
    archive: Archive,
    *,
    engine_name: str = "rapidocr",
    engine_params: dict[str, Any] | None = None,
    workers: int = 1,
    manifest: dict[str, dict[str, str]] | None = None,
    progress: ProgressFn = _noop,
    executor: Executor | None = None,
) -> IngestSummary:
    """Ingest scans into the archive; returns the run's counts.

    Args:
        paths: folders of page images, folders of such folders, PDFs.
        archive: the archive to write.
        engine_name: OCR engine (see ``ocr.available_engines()``).
        engine_params: the engine's parameters (part of its id, so of the cache key).
        workers: processes that load and OCR pages in parallel (1: in this process).
        manifest: book id → metadata (cadre, post, township, village, period).
        progress: called with ``("books", total, "")`` once, ``("file", 1, path)`` per
            input file done and ``("error", 0, message)`` per failed file.
        executor: runs ``process_file`` calls instead of a local process pool (e.g. the
            Dask cluster of :mod:`minqing.cluster`); ``workers`` is then ignored. The
            pipeline shuts it down at the end.

    Raises:
        ingest.errors.InputNotFoundError: a PATH does not exist or holds no scans.
        ocr.EngineUnavailableError: the engine cannot be loaded.
    """
    started = time.perf_counter()
    started_at = records.now()
    summary = IngestSummary()
    books = ingest.discover(paths)
    summary.books = len(books)
    engine = EngineSpec(engine_name, tuple((engine_params or {}).items()))
    try:
        engine_id = engine.id()
    except ValueError as exc:
        raise EngineConfigError(f"engine {engine_name!r}: {exc} (check --engine-option)") from exc
    model = category_model(archive)
    smodel = status_model(archive)
    total_files = sum(len(b.files) for b in books)
    progress("files", total_files, "")
    pool: WorkerPool | Executor | None = executor
    if pool is None and workers > 1 and total_files > 1:
        threads = max(1, ocr.cpu_count() // workers)
        # workers that die with this process; a worker crash fails one file (_workers.py)
        pool = WorkerPool(workers, initializer=_init_worker, initargs=(threads,))
    touched: list[str] = []
    try:
        for book in books:
            with archive.db.atomic():  # committed at once: the book is listed even if OCR dies
                records.upsert_book(
                    archive, book.book_id, str(book.origin), (manifest or {}).get(book.book_id)
                )
            if _ingest_book(
                book, archive, engine, engine_id, pool, summary, progress, model, smodel
            ):
                touched.append(book.book_id)
    except BaseException:
        # Ctrl-C, disk full: do not wait for work in progress
        if isinstance(pool, WorkerPool):
            pool.shutdown(kill=True)
        elif pool is not None:
            pool.shutdown(cancel_futures=True)
        raise
    if pool is not None:
        pool.shutdown()
    if touched:
        _year_from_neighbours(archive, touched, model)
        _link(archive, touched)
    summary.entries = records.count_entries(archive)
    summary.seconds = time.perf_counter() - started
    with archive.db.atomic():
        records.record_run(
            archive,
            "ingest " + " ".join(str(p) for p in paths),
            started_at,
            {"ingest": ingest.VERSION, "ocr": engine_id, "classify": classify.CLASSIFIER_VERSION},
            {k: v for k, v in vars(summary).items() if k != "errors"}
            | {"errors": len(summary.errors)},
        )
    return summary


def _ingest_book(
    book: BookSource,
    archive: Archive,
    engine: EngineSpec,
    engine_id: str,
    pool: WorkerPool | Executor | None,
    summary: IngestSummary,
    progress: ProgressFn,
    model: Any = None,
    smodel: Any = None,
) -> bool:
    results: dict[str, FileResult] = {}
    todo: list[SourceFile] = []
    for src in book.files:
        try:
            data_sha = hashlib.sha256(Path(src.path).read_bytes()).hexdigest()
        except OSError:
            data_sha = ""
        reused = _reuse_file(archive, src, data_sha, engine_id) if data_sha else None
        if reused is not None:
            results[str(src.path)] = reused
            summary.files_unchanged += 1
            progress("file", 1, str(src.path))
        else:
            todo.append(src)
    cached = records.cached_ocr_hashes(archive, engine_id)

    def handle(res: FileResult) -> None:
        results[res.path] = res
        # cache OCR at once: a killed run loses nothing expensive
        with archive.db.atomic():
            for p in res.pages:
                if p.page_text is not None:
                    records.store_ocr(archive, p.sha256, p.page_text)
        progress("file", 1, res.path)

    archive_root = str(archive.folder)
    if pool is None:
        for src in todo:
            handle(process_file(src, archive_root, engine, engine_id, cached))
    elif not isinstance(pool, WorkerPool):  # another executor: a Dask cluster's workers
        futures = [
            pool.submit(process_file, src, archive_root, engine, engine_id, cached) for src in todo
        ]
        for fut in futures:
            handle(fut.result())
    else:
        for src, res in pool.map(process_file, todo, archive_root, engine, engine_id, cached):
            if isinstance(res, WorkerCrash):
                res = FileResult(
                    str(src.path),
                    src.book_id,
                    "",
                    0,
                    error=f"{ingest.path_text(src.path)}: {res} "
                    "(ingest it alone with --workers 1, split it, "
                    "or use a machine with more memory)",
                )
            handle(res)

    # assemble the book: page numbers follow file order, then position within the file
    seen_pages: set[str] = set()
    page_no = 0
    with archive.db.atomic():
        kept: list[int] = []
        for src in book.files:
            res = results[str(src.path)]
            if res.error:
                summary.files_failed += 1
                summary.errors.append(res.error)
                progress("error", 0, res.error)
                records.record_file(
                    archive,
                    res.path,
                    book.book_id,
                    "failed",
                    sha256=res.sha256 or None,
                    size=res.size,
                    reason=res.error,
                )
                continue
            fresh = [p for p in res.pages if p.sha256 not in seen_pages]
            if res.pages and not fresh:
                summary.duplicate_pages += len(res.pages)
                records.record_file(
                    archive,
                    res.path,
                    book.book_id,
                    "duplicate",
                    sha256=res.sha256,
                    size=res.size,
                    reason="same page already in this book",
                    pages=0,
                )
                continue
            if not res.reused:
                summary.files_ok += 1
            summary.pages_ocr += res.ocr_pages
            summary.pages_cached += res.cached_pages
            summary.ocr_seconds += res.ocr_seconds
            for p in fresh:
                seen_pages.add(p.sha256)
                page_no += 1
                kept.append(page_no)
                page_text = _page_text_for(archive, p, engine_id)
                records.write_page(archive, p.record(book.book_id, page_no, res.path, page_text))
            summary.duplicate_pages += len(res.pages) - len(fresh)
            records.record_file(
                archive,
                res.path,
                book.book_id,
                "ok",
                sha256=res.sha256,
                size=res.size,
                pages=len(fresh),
            )
        records.prune_pages(archive, book.book_id, kept)
    summary.pages += len(kept)
    # Segmenting and classifying take seconds a book: done between two short write
    # transactions, not inside one, so that reviewers' saves are not kept waiting
    # (issue 12, item 19). A killed run leaves new pages with old entries; the next run
    # redoes the entries (every file is then reused).
    lines = records.book_lines(archive, book.book_id)
    entries = classify.segment_book(
        lines,
        year_hint=_year_hint(archive, book.book_id),
        model=model,
        status_model=smodel,
        span=_period(archive, book.book_id),
    )
    with archive.db.atomic():
        now_lines = records.book_lines(archive, book.book_id)
        if now_lines != lines:  # a reviewer corrected a line meanwhile: theirs counts
            entries = classify.segment_book(
                now_lines,
                year_hint=_year_hint(archive, book.book_id),
                model=model,
                status_model=smodel,
                span=_period(archive, book.book_id),
            )
        records.write_entries(archive, book.book_id, entries, classify.CLASSIFIER_VERSION)
        # reviewers' splits, merges, moved lines, dates outrank re-segmentation
        corrections.reapply_decisions(archive, [book.book_id])
        keywords.refresh_keywords(archive, [book.book_id])
    return True


#: where ``minqing retrain`` writes the category model, relative to the archive folder
MODEL_PATH = Path("models") / "category-model.joblib"
#: where ``minqing retrain`` writes the status model (issue 13)
STATUS_MODEL_PATH = Path("models") / "status-model.joblib"


def status_model(archive: Archive):
    """The archive's adapted status model, or None (the shipped one is used then)."""
    path = archive.folder / STATUS_MODEL_PATH
    if not path.exists():
        return None
    from minqing.classify.model import load_status_model

    return load_status_model(path)


def category_model(archive: Archive):
    """The archive's trained category model, or None when none was trained.

    A model file that cannot be loaded (damaged, older format) raises
    ``classify.model.CategoryModelError`` naming the file and ``minqing retrain``.
    """
    path = archive.folder / MODEL_PATH
    if not path.exists():
        return None
    from minqing.classify.model import load_category_model

    return load_category_model(path)


def _year_hint(archive: Archive, book_id: str) -> int | None:
    """The first year named in the book's period (manifest), for dates written without one."""
    row = records.book_row(archive, book_id)
    m = re.search(r"(19|20)\d\d", (row or {}).get("period") or "")
    return int(m.group(0)) if m else None


def _period(archive: Archive, book_id: str) -> tuple[dt.date, dt.date] | None:
    """The book's period (manifest) as ``(first, last day)``, or None."""
    row = records.book_row(archive, book_id)
    return period_span((row or {}).get("period"))


def _link(archive: Archive, touched: Iterable[str]) -> None:
    """Recompute follow-up links for the touched books and the books of their villages
    and townships (a cadre may cite another cadre's diary of the township), then let
    linked follow-ups without category words of their own take their matter's category
    (never a reviewer-confirmed one)."""
    meta = records.books_meta(archive)
    villages = {meta[b]["village"] for b in touched if b in meta and meta[b]["village"]}
    towns = {meta[b]["township"] for b in touched if b in meta and meta[b]["township"]}
    scope = set(touched) | {
        b
        for b, r in meta.items()
        if (r["village"] and r["village"] in villages) or (r["township"] and r["township"] in towns)
    }
    by_book = {b: records.book_entries(archive, b) for b in scope}
    # a notebook opening mid-entry continues the same cadre's previous one (issue 18)
    cadres = {b: meta.get(b, {}).get("cadre") for b in scope}
    carried, pairs = continue_books(by_book, cadres)
    suggested: list[Link] = []
    links = classify.link_entries(
        carried,
        {b: meta.get(b, {}).get("village") for b in scope},
        cadres=cadres,
        townships={b: meta.get(b, {}).get("township") for b in scope},
        posts={b: meta.get(b, {}).get("post") for b in scope},
        suggestions=suggested,
    )
    children = {c for c, _ in pairs}
    links = [lk for lk in links if lk.child not in children]
    links += [Link(child=c, parent=p, score=1.0, evidence=("continuation",)) for c, p in pairs]
    with archive.db.atomic():
        records.write_carried(archive, by_book, carried)
        records.write_links(archive, scope, links)
        records.write_link_suggestions(archive, scope, suggested)
        corrections.reapply_decisions(archive, scope)
        _inherit_categories(archive, scope)


def _inherit_categories(archive: Archive, scope: set[str]) -> None:
    """Apply ``classify.inherit_categories`` over the links in effect (reviewers' included)."""
    by_book = {b: records.book_entries(archive, b) for b in scope}
    in_effect, confirmed = records.links_in_effect(archive, scope)
    changed = classify.inherit_categories(by_book, in_effect, confirmed=confirmed)
    for book, entries in changed.items():
        originals = {e.seq: e for e in by_book[book]}
        for e in entries:
            if e is not originals.get(e.seq):
                records.set_machine_category(archive, book, e)


def _year_from_neighbours(archive: Archive, touched: Iterable[str], model: Any) -> None:
    """Segment again, with a period, a book whose dates name no year (lunar only, no
    weekday, no cover, no manifest period), taking it from the same cadre's other
    notebooks, else those of its village, its township, the archive."""
    meta = records.books_meta(archive)
    needy = {}
    for b in touched:
        es = records.book_entries(archive, b) if b in meta else []
        if any(e.date is None and e.date_kind in LINE_KINDS for e in es):
            needy[b] = es
    if not needy:
        return
    keys = ("cadre", "village", "township")
    scope = {b for b, r in meta.items() if any(
        r[k] and r[k] == meta[n][k] for n in needy for k in keys)}  # fmt: skip
    cadre = {b: r["cadre"] for b, r in meta.items()}
    spans = neighbour_spans(
        {b: needy.get(b) or records.book_entries(archive, b) for b in scope | set(needy)},
        cadre,
        townships={b: r["township"] for b, r in meta.items()},
        villages={b: r["village"] for b, r in meta.items()},
    )
    for bid, span in spans.items():
        if bid not in touched or _year_hint(archive, bid) is not None:
            continue
        entries = classify.segment_book(
            records.book_lines(archive, bid),
            span=span,
            model=model,
            status_model=status_model(archive),
        )
        with archive.db.atomic():
            records.write_entries(archive, bid, entries, classify.CLASSIFIER_VERSION)
            corrections.reapply_decisions(archive, [bid])
            keywords.refresh_keywords(archive, [bid])
