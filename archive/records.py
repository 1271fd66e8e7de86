"""Reading and writing stage results in the archive, without ever losing a human correction.

The archive's SQL for the pipeline and the CLI lives here (and in the other archive
modules), behind named functions: callers above the archive run none of their own.
Every writing function takes an :class:`archive.store.Archive` and leaves committing to
the caller's transaction (``with archive.db.atomic():``), so that the pipeline can write a
whole book atomically: a killed process leaves either the old rows or the new ones.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from minqing.archive.schema import (
    BOOKS,
    CORRECTIONS,
    ENTRIES,
    ENTRIES_ALT_FTS,
    ENTRIES_FTS,
    FILES,
    LINES,
    LINES_ALT_FTS,
    LINES_FTS,
    LINK_SUGGESTIONS,
    LINKS,
    OCR_CACHE,
    PAGES,
    RUNS,
    entry_id,
    line_id,
    page_id,
)
from minqing.archive.search import (
    accepted_alternates,
    alt_bigrams,
    bigrams,
    joined_alternates,
    stored_alternates,
)
from minqing.archive.store import Archive
from minqing.classify.types import CATEGORIES, STATUSES, BookLine, Entry, Link
from minqing.ingest import path_text
from minqing.ocr.types import Line, PageText

BOOK_META_FIELDS = ("title", "cadre", "post", "township", "village", "period")


def now() -> str:
    """The current UTC time, ISO formatted to the second."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


# -- books and files ---------------------------------------------------------------------


def upsert_book(
    archive: Archive, book_id: str, source: str, meta: Mapping[str, str] | None = None
) -> None:
    """Create the book row, or fill in metadata it lacks.

    Metadata already in the archive (set by a manifest or corrected later) is never
    overwritten by an empty or machine value; ``meta`` values given explicitly do
    replace it.
    """
    table = archive.db.table(BOOKS)
    row: dict[str, Any] = {"book_id": book_id, "source": path_text(source)}
    existing = next(table.rows_where("book_id = ?", [book_id]), None)
    if existing is None:
        row["created_at"] = now()
        for key in BOOK_META_FIELDS:
            row[key] = None
    for key, value in (meta or {}).items():
        if key in BOOK_META_FIELDS and value not in (None, ""):
            row[key] = value
    table.upsert(row, pk="book_id", alter=True)


def record_file(
    archive: Archive,
    path: str,
    book_id: str,
    state: str,
    *,
    sha256: str | None = None,
    size: int | None = None,
    reason: str | None = None,
    pages: int | None = None,
) -> None:
    """Record what happened to one input file (``ok``, ``failed`` or ``duplicate``).

    ``path`` is stored as :func:`ingest.path_text` gives it: a name with bytes that are
    not UTF-8 or with a newline is kept in escaped form (SQLite stores only UTF-8 text).
    """
    archive.db.table(FILES).upsert(
        {
            "path": path_text(path),
            "book_id": book_id,
            "sha256": sha256,
            "size": size,
            "state": state,
            "reason": reason,
            "pages": pages,
            "updated_at": now(),
        },
        pk="path",
    )


def file_row(archive: Archive, path: str) -> dict[str, Any] | None:
    """The ``files`` row of an input file (any name, see :func:`record_file`), or None."""
    return next(archive.db[FILES].rows_where("path = ?", [path_text(path)]), None)


def files_state(archive: Archive) -> dict[str, int]:
    """Counts of input files by state (``ok``, ``failed``, ``duplicate``)."""
    return {
        r["state"]: r["n"]
        for r in archive.db.query(f"select state, count(*) n from {FILES} group by state")
    }


def book_row(archive: Archive, book_id: str) -> dict[str, Any] | None:
    """The ``books`` row of a book, or None."""
    return next(archive.db[BOOKS].rows_where("book_id = ?", [book_id]), None)


def book_ids(archive: Archive) -> set[str]:
    """The ids of the archive's books."""
    return {r["book_id"] for r in archive.db.query(f"select book_id from {BOOKS}")}


def books_meta(archive: Archive) -> dict[str, dict[str, Any]]:
    """book id -> ``{"book_id", "village", "cadre", "township", "post"}`` of every book
    (what linking needs)."""
    return {
        r["book_id"]: r
        for r in archive.db.query(f"select book_id, village, cadre, township, post from {BOOKS}")
    }


def book_summaries(archive: Archive) -> list[dict[str, Any]]:
    """Every book row with its ``pages`` and ``entries`` counts, by book id."""
    return list(
        archive.db.query(
            f"select b.*, (select count(*) from {PAGES} p where p.book_id = b.book_id) as pages, "
            f"(select count(*) from {ENTRIES} e where e.book_id = b.book_id) as entries "
            f"from {BOOKS} b order by b.book_id"
        )
    )


# -- OCR cache -----------------------------------------------------------------------------


def page_text_to_json(page_text: PageText) -> str:
    """Serialise a :class:`PageText` for the OCR cache."""
    return json.dumps(
        {
            "engine_id": page_text.engine_id,
            "width": page_text.width,
            "height": page_text.height,
            "seconds": page_text.seconds,
            "lines": [
                {
                    "text": ln.text,
                    "raw_text": ln.raw_text,
                    "box": [list(p) for p in ln.box],
                    "confidence": ln.confidence,
                    "char_confidences": list(ln.char_confidences),
                    "alternates": [[i, a, list(p)] for i, a, p in ln.alternates],
                }
                for ln in page_text.lines
            ],
        },
        ensure_ascii=False,
    )


def page_text_from_json(data: str) -> PageText:
    """Inverse of :func:`page_text_to_json`."""
    obj = json.loads(data)
    return PageText(
        lines=tuple(
            Line(
                text=ln["text"],
                raw_text=ln.get("raw_text", ""),
                box=tuple(tuple(p) for p in ln["box"]),
                confidence=ln["confidence"],
                char_confidences=tuple(ln.get("char_confidences", ())),
                alternates=tuple((i, a, tuple(p)) for i, a, p in ln.get("alternates", ())),
            )
            for ln in obj["lines"]
        ),
        engine_id=obj["engine_id"],
        width=obj["width"],
        height=obj["height"],
        seconds=0.0,
    )


def cached_ocr(archive: Archive, sha256: str, engine_id: str) -> PageText | None:
    """The cached OCR result of a page image for an engine, or None."""
    row = next(
        archive.db[OCR_CACHE].rows_where("sha256 = ? and engine_id = ?", [sha256, engine_id]),
        None,
    )
    return page_text_from_json(row["result"]) if row else None


def cached_ocr_hashes(archive: Archive, engine_id: str) -> frozenset[str]:
    """The page hashes whose OCR result for ``engine_id`` is in the cache."""
    return frozenset(
        r["sha256"]
        for r in archive.db.query(
            f"select sha256 from {OCR_CACHE} where engine_id = ?", [engine_id]
        )
    )


def store_ocr(archive: Archive, sha256: str, page_text: PageText) -> None:
    """Cache an OCR result under (page hash, engine id)."""
    archive.db.table(OCR_CACHE).upsert(
        {
            "sha256": sha256,
            "engine_id": page_text.engine_id,
            "result": page_text_to_json(page_text),
            "seconds": page_text.seconds,
            "created_at": now(),
        },
        pk=("sha256", "engine_id"),
    )


# -- pages and lines -----------------------------------------------------------------------


@dataclass(frozen=True)
class PageRecord:
    """What the pipeline knows about one page when it writes it."""

    book_id: str
    page_no: int
    image: str
    original: str
    sha256: str
    original_sha256: str
    width: int
    height: int
    source_file: str
    index_in_source: int
    transforms: tuple[str, ...]
    flags: tuple[tuple[str, float], ...]
    page_text: PageText
    needs_rescan: bool = False
    ingest_version: str | None = None


Box = tuple[float, float, float, float]
K = TypeVar("K")

#: After a re-OCR, a reviewer's line correction, and a review decision anchored on a line,
#: follow the new line whose box overlaps the old box most, provided their IoU (area of
#: intersection over area of union) reaches this. Measured on the 105 sample lines re-read
#: with ``pad=False`` (what tests/test_review_rerun.py does): the same line keeps an IoU of
#: 0.61 at least (median 0.96), two different lines of a page overlap by 0. 0.3, the value
#: both former copies of this rule used, also lets a correction follow the larger piece of
#: a line the new detector cuts in two or three (a half overlaps the whole by about 0.5).
CARRY_IOU = 0.3


def box_iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two ``(x0, y0, x1, y1)`` boxes (0 when disjoint)."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def carry_target(box: Sequence[float], candidates: Iterable[tuple[K, Box | None]]) -> K | None:
    """The one rule that carries a correction across a re-OCR: the key of the candidate
    line whose box overlaps ``box`` most, when that overlap reaches :data:`CARRY_IOU`;
    else None. The first of equally good candidates wins; a candidate without a box
    (``None``) never does."""
    best, best_iou = None, 0.0
    for key, cand in candidates:
        if cand is None:
            continue
        v = box_iou(box, cand)
        if v > best_iou:
            best, best_iou = key, v
    return best if best_iou >= CARRY_IOU else None


def _corrected_lines_for(archive: Archive, sha256: str) -> list[dict[str, Any]]:
    """Corrected lines of any page with this image hash (the page may have moved)."""
    return list(
        archive.db.query(
            f"select l.* from {LINES} l join {PAGES} p on p.page_id = l.page_id "
            "where p.sha256 = ? and l.corrected = 1",
            [sha256],
        )
    )


def write_page(archive: Archive, rec: PageRecord) -> None:
    """Write (or rewrite) one page and its lines.

    A line a reviewer corrected keeps its correction: it is carried to the new line
    whose box overlaps it most (:func:`carry_target`), or kept as a line of its own when
    the new OCR has no such line.
    """
    pid = page_id(rec.book_id, rec.page_no)
    corrected = _corrected_lines_for(archive, rec.sha256)
    flags = dict(rec.flags)
    archive.db.table(PAGES).upsert(
        {
            "page_id": pid,
            "book_id": rec.book_id,
            "page_no": rec.page_no,
            "image": rec.image,
            "original": rec.original,
            "sha256": rec.sha256,
            "original_sha256": rec.original_sha256,
            "width": rec.width,
            "height": rec.height,
            "source_file": path_text(rec.source_file),
            "index_in_source": rec.index_in_source,
            "transforms": json.dumps(list(rec.transforms), ensure_ascii=False),
            "quality_flags": json.dumps(flags, ensure_ascii=False),
            "needs_rescan": int(rec.needs_rescan),
            "ocr_engine": rec.page_text.engine_id,
            "ocr_seconds": rec.page_text.seconds,
            "ingest_version": rec.ingest_version,
            "created_at": now(),
        },
        pk="page_id",
        alter=True,
    )
    old_rowids = [
        r["rowid"] for r in archive.db.query(f"select rowid from {LINES} where page_id = ?", [pid])
    ]
    archive.db.execute(f"delete from {LINES} where page_id = ?", [pid])
    for rowid in old_rowids:
        archive.db.execute(f"delete from {LINES_FTS} where rowid = ?", [rowid])
        archive.db.execute(f"delete from {LINES_ALT_FTS} where rowid = ?", [rowid])
    rows: list[dict[str, Any]] = []
    for n, ln in enumerate(rec.page_text.lines):
        x0, y0, x1, y1 = ln.bbox
        rows.append(
            {
                "line_id": line_id(rec.book_id, rec.page_no, n),
                "page_id": pid,
                "book_id": rec.book_id,
                "page_no": rec.page_no,
                "line_no": n,
                "text": ln.text,
                "machine_text": ln.text,
                "raw_text": ln.raw_text,
                "box": json.dumps([list(p) for p in ln.box]),
                "x0": x0,
                "y0": y0,
                "x1": x1,
                "y1": y1,
                "confidence": ln.confidence,
                "corrected": 0,
                "corrected_text": None,
                "entry_id": None,
                "alternates": stored_alternates(ln.text, ln.alternates, ln.char_confidences),
            }
        )
    for old in corrected:
        box = (old["x0"], old["y0"], old["x1"], old["y1"])
        target = carry_target(
            box, ((k, (r["x0"], r["y0"], r["x1"], r["y1"])) for k, r in enumerate(rows))
        )
        best = rows[target] if target is not None else None
        if best is not None and not best["corrected"]:
            best.update(
                text=old["corrected_text"],
                corrected=1,
                corrected_text=old["corrected_text"],
                alternates=None,  # the machine's doubts are not a person's text's
            )
        else:
            rows.append(
                {
                    **{k: old[k] for k in old if k not in ("rowid",)},
                    "line_id": line_id(rec.book_id, rec.page_no, len(rows)),
                    "page_id": pid,
                    "page_no": rec.page_no,
                    "line_no": len(rows),
                    "machine_text": "",
                    "alternates": None,
                }
            )
    if rows:
        archive.db.table(LINES).insert_all(rows, pk="line_id", alter=True)
        for r in archive.db.query(
            f"select rowid, text, alternates from {LINES} where page_id = ?", [pid]
        ):
            _index_line_row(archive, r)


def source_file_pages(archive: Archive, book_id: str, path: str) -> list[dict[str, Any]]:
    """The ``pages`` rows that came from one input file of a book, in their order there."""
    return list(
        archive.db.query(
            f"select * from {PAGES} where book_id = ? and source_file = ? order by index_in_source",
            [book_id, path],
        )
    )


def page_list(
    archive: Archive, *, needs_rescan: bool = False, book_id: str | None = None
) -> list[dict[str, Any]]:
    """Pages (book, page number, quality flags, rescan flag, source file) in book and page
    order; only those flagged for a rescan, only those of one book, when asked."""
    where, params = [], []
    if needs_rescan:
        where.append("needs_rescan = 1")
    if book_id is not None:
        where.append("book_id = ?")
        params.append(book_id)
    return list(
        archive.db[PAGES].rows_where(
            " and ".join(where) or None,
            params,
            order_by="book_id, page_no",
            select="book_id, page_no, quality_flags, needs_rescan, source_file",
        )
    )


def book_lines(archive: Archive, book_id: str) -> list[BookLine]:
    """A book's lines in reading order, corrected text where corrected."""
    out = []
    for r in archive.db.query(
        f"select l.line_id, l.page_no, l.line_no, l.text, l.x0, l.y0, l.x1, l.y1, p.height "
        f"from {LINES} l join {PAGES} p on p.page_id = l.page_id "
        "where l.book_id = ? order by l.page_no, l.line_no",
        [book_id],
    ):
        out.append(
            BookLine(
                line_id=r["line_id"],
                page_no=r["page_no"],
                line_no=r["line_no"],
                text=r["text"] or "",
                box=(r["x0"], r["y0"], r["x1"], r["y1"]) if r["x0"] is not None else None,
                page_height=r["height"] or 0,
            )
        )
    return out


def prune_pages(archive: Archive, book_id: str, keep_page_nos: Iterable[int]) -> None:
    """Delete pages (and their lines) of a book that are no longer part of it."""
    keep = set(keep_page_nos)
    for r in list(
        archive.db.query(f"select page_id, page_no from {PAGES} where book_id = ?", [book_id])
    ):
        if r["page_no"] not in keep:
            archive.db.execute(f"delete from {LINES} where page_id = ?", [r["page_id"]])
            archive.db.execute(f"delete from {PAGES} where page_id = ?", [r["page_id"]])


# -- entries and links ---------------------------------------------------------------------


def _confirmed_values(archive: Archive, book_id: str) -> list[dict[str, Any]]:
    return list(
        archive.db.query(
            f"select * from {ENTRIES} where book_id = ? "
            "and (category_confirmed = 1 or status_confirmed = 1)",
            [book_id],
        )
    )


def write_entries(
    archive: Archive, book_id: str, entries: Sequence[Entry], classifier: str
) -> None:
    """Replace a book's machine entries, keeping every confirmed category and status.

    A confirmed value is carried to the new entry that shares most lines with the
    entry it was confirmed on.
    """
    confirmed = _confirmed_values(archive, book_id)
    book = next(archive.db[BOOKS].rows_where("book_id = ?", [book_id]), {}) or {}
    old_rowids = [
        r["rowid"]
        for r in archive.db.query(f"select rowid from {ENTRIES} where book_id = ?", [book_id])
    ]
    unindex_entries(archive, old_rowids)
    archive.db.execute(f"delete from {ENTRIES} where book_id = ?", [book_id])
    archive.db.execute(f"update {LINES} set entry_id = null where book_id = ?", [book_id])
    rows: list[dict[str, Any]] = []
    for e in entries:
        eid = entry_id(book_id, e.seq)
        rows.append(
            {
                "entry_id": eid,
                "book_id": book_id,
                "seq": e.seq,
                "page_start": e.page_start,
                "page_end": e.page_end,
                "date": e.date.isoformat() if e.date else None,
                "date_inferred": int(e.date_inferred),
                "month": e.date.strftime("%Y-%m") if e.date else None,
                "category_code": e.category_code,
                "category": e.category,
                "category_score": round(e.category_score, 4),
                "category_evidence": json.dumps(list(e.category_evidence), ensure_ascii=False),
                "category_confirmed": 0,
                "status_code": e.status,
                "status": STATUSES[e.status],
                "status_confirmed": 0,
                "follow_up_of": None,
                "matter_id": eid,
                "text": e.text,
                "fields": json.dumps(dict(e.fields), ensure_ascii=False),
                "line_ids": json.dumps(list(e.line_ids), ensure_ascii=False),
                "cadre": book.get("cadre"),
                "township": book.get("township"),
                "village": book.get("village"),
                "classifier": classifier,
                "layout": getattr(e, "layout", None),
                "date_flags": json.dumps(list(getattr(e, "date_flags", ())), ensure_ascii=False),
                # issue 18: how the date was written, matters sharing a heading, 补记, body dates
                "date_kind": getattr(e, "date_kind", "gregorian"),
                "shares_heading": int(getattr(e, "shares_heading", False)),
                "later_notes": json.dumps(list(getattr(e, "later_notes", ())), ensure_ascii=False),
                "body_dates": json.dumps(
                    [list(b) for b in getattr(e, "body_dates", ())], ensure_ascii=False
                ),
            }
        )
    for old in confirmed:
        old_lines = set(json.loads(old["line_ids"] or "[]"))
        best = max(
            rows, key=lambda r: len(old_lines & set(json.loads(r["line_ids"]))), default=None
        )
        if best is None or not old_lines & set(json.loads(best["line_ids"])):
            continue
        if old["category_confirmed"]:
            best.update(
                category_code=old["category_code"],
                category=CATEGORIES[old["category_code"]],
                category_score=1.0,
                category_confirmed=1,
            )
        if old["status_confirmed"]:
            best.update(status_code=old["status_code"], status=old["status"], status_confirmed=1)
    if rows:
        archive.db.table(ENTRIES).insert_all(rows, pk="entry_id", alter=True)
    for r in rows:
        for lid in json.loads(r["line_ids"]):
            archive.db.execute(
                f"update {LINES} set entry_id = ? where line_id = ?", [r["entry_id"], lid]
            )
    index_entries(archive, [r["entry_id"] for r in rows])


# -- the search index -----------------------------------------------------------------------


def _index_line_row(archive: Archive, r: dict[str, Any]) -> None:
    text = r["text"] or ""
    _put_fts(
        archive, LINES_FTS, LINES_ALT_FTS, r["rowid"], text, accepted_alternates(r["alternates"])
    )


def _put_fts(
    archive: Archive, fts: str, alt_fts: str, rowid: int, text: str, alts: dict[int, str]
) -> None:
    archive.db.execute(f"delete from {fts} where rowid = ?", [rowid])
    archive.db.execute(f"delete from {alt_fts} where rowid = ?", [rowid])
    archive.db.execute(f"insert into {fts}(rowid, bigrams) values (?, ?)", [rowid, bigrams(text)])
    alt = alt_bigrams(text, alts)
    if alt:
        archive.db.execute(f"insert into {alt_fts}(rowid, alt) values (?, ?)", [rowid, alt])


def unindex_entries(archive: Archive, rowids: Iterable[int]) -> None:
    """Remove entries' search rows (before the entries are deleted or rewritten)."""
    for rowid in rowids:
        archive.db.execute(f"delete from {ENTRIES_FTS} where rowid = ?", [rowid])
        archive.db.execute(f"delete from {ENTRIES_ALT_FTS} where rowid = ?", [rowid])


def index_line(archive: Archive, line_id: str) -> None:
    """(Re)write a line's search row from its text and alternates (none once corrected)."""
    for r in archive.db.query(
        f"select rowid, text, alternates from {LINES} where line_id = ?", [line_id]
    ):
        _index_line_row(archive, r)


def index_entries(archive: Archive, entry_ids: Iterable[str]) -> None:
    """(Re)compute ``entries.alternates`` from the entries' lines and rewrite their search rows.

    An entry's alternates are those of its lines (in its line order; a corrected line has
    none), placed at their positions in the entry text: the words they spell across the
    join of two lines are indexed too (issue 17).
    """
    for eid in entry_ids:
        row = next(
            archive.db.query(
                f"select rowid, text, line_ids from {ENTRIES} where entry_id = ?", [eid]
            ),
            None,
        )
        if row is None:
            continue
        text = row["text"] or ""
        ids = json.loads(row["line_ids"] or "[]")
        lines = (
            {
                r["line_id"]: r
                for r in archive.db.query(
                    f"select line_id, text, alternates from {LINES} "
                    f"where line_id in ({','.join('?' * len(ids))})",
                    ids,
                )
            }
            if ids
            else {}
        )
        parts = [
            (lines[i]["text"] or "", accepted_alternates(lines[i]["alternates"]))
            for i in ids
            if i in lines
        ]
        alts = joined_alternates(parts, text)
        archive.db.execute(
            f"update {ENTRIES} set alternates = ? where rowid = ?",
            [json.dumps(alts, ensure_ascii=False) if alts else None, row["rowid"]],
        )
        _put_fts(archive, ENTRIES_FTS, ENTRIES_ALT_FTS, row["rowid"], text, alts)


def count_entries(archive: Archive) -> int:
    """The number of entries in the archive."""
    return archive.db[ENTRIES].count


def book_entries(archive: Archive, book_id: str) -> list[Entry]:
    """A book's entries as stored (reviewers' values included), in order."""
    out = []
    for r in archive.db.query(f"select * from {ENTRIES} where book_id = ? order by seq", [book_id]):
        out.append(
            Entry(
                seq=r["seq"],
                page_start=r["page_start"],
                page_end=r["page_end"],
                line_ids=tuple(json.loads(r["line_ids"] or "[]")),
                text=r["text"] or "",
                date=dt.date.fromisoformat(r["date"]) if r["date"] else None,
                date_inferred=bool(r["date_inferred"]),
                category_code=r["category_code"],
                category_score=r["category_score"] or 0.0,
                category_evidence=tuple(json.loads(r["category_evidence"] or "[]")),
                status=r["status_code"],
                fields=tuple(json.loads(r["fields"] or "{}").items()),
                date_flags=tuple(json.loads(r.get("date_flags") or "[]")),
                date_kind=r.get("date_kind") or "gregorian",
                shares_heading=bool(r.get("shares_heading")),
            )
        )
    return out


def write_carried(
    archive: Archive, before: dict[str, list[Entry]], after: dict[str, list[Entry]]
) -> None:
    """Store the dates and categories carried into a notebook's continuation entries
    (``classify.continue_books``): every entry of ``after`` that is not the same object as
    in ``before``. A reviewer-confirmed category is never overwritten."""
    for book, entries in after.items():
        old = {e.seq: e for e in before.get(book, [])}
        for e in entries:
            if e is old.get(e.seq):
                continue
            archive.db.execute(
                f"update {ENTRIES} set date = ?, month = ?, date_inferred = ?, date_flags = ? "
                "where entry_id = ?",
                [
                    e.date.isoformat() if e.date else None,
                    e.date.strftime("%Y-%m") if e.date else None,
                    int(e.date_inferred),
                    json.dumps(list(e.date_flags), ensure_ascii=False),
                    entry_id(book, e.seq),
                ],
            )
            archive.db.execute(
                f"update {ENTRIES} set category_code = ?, category = ?, category_score = ? "
                "where entry_id = ? and coalesce(category_confirmed, 0) = 0",
                [e.category_code, e.category, round(e.category_score, 4), entry_id(book, e.seq)],
            )


def confirmed_statuses(archive: Archive) -> list[tuple[str, str]]:
    """``(text, status code)`` of every entry whose status a reviewer confirmed (entries
    without text left out): the status model's training data in ``minqing retrain``."""
    return [
        (r["text"], r["status_code"])
        for r in archive.db.query(
            f"select text, status_code from {ENTRIES} where status_confirmed = 1 "
            "and trim(coalesce(text, '')) != ''"
        )
    ]


def confirmed_categories(archive: Archive) -> list[tuple[str, int]]:
    """``(text, category code)`` of every entry whose category a reviewer confirmed
    (entries without text left out): the training data of ``minqing retrain``."""
    return [
        (r["text"], int(r["category_code"]))
        for r in archive.db.query(
            f"select text, category_code from {ENTRIES} where category_confirmed = 1 "
            "and trim(coalesce(text, '')) != ''"
        )
    ]


def links_in_effect(
    archive: Archive, book_ids: Iterable[str]
) -> tuple[list[Link], set[tuple[str, int]]]:
    """The follow-up links in effect (``follow_up_of``, reviewers' included) whose child and
    parent are both in ``book_ids``, and the ``(book, seq)`` of their entries whose category
    a reviewer confirmed."""
    books = set(book_ids)
    scope = sorted(books)
    links: list[Link] = []
    confirmed: set[tuple[str, int]] = set()
    for r in archive.db.query(
        "select e.book_id, e.seq, e.category_confirmed, p.book_id as pb, p.seq as ps "
        f"from {ENTRIES} e left join {ENTRIES} p on p.entry_id = e.follow_up_of "
        f"where e.book_id in ({','.join('?' * len(scope))})",
        scope,
    ):
        if r["category_confirmed"]:
            confirmed.add((r["book_id"], r["seq"]))
        if r["pb"] is not None and r["pb"] in books:
            links.append(Link(child=(r["book_id"], r["seq"]), parent=(r["pb"], r["ps"]), score=1.0))
    return links, confirmed


def set_machine_category(archive: Archive, book_id: str, entry: Entry) -> None:
    """Store a machine category (code, name, score, evidence) on an entry, unless a
    reviewer confirmed its category."""
    archive.db.execute(
        f"update {ENTRIES} set category_code = ?, category = ?, category_score = ?, "
        "category_evidence = ? where entry_id = ? and coalesce(category_confirmed, 0) = 0",
        [
            entry.category_code,
            entry.category,
            round(entry.category_score, 4),
            json.dumps(list(entry.category_evidence), ensure_ascii=False),
            entry_id(book_id, entry.seq),
        ],
    )


def write_links(archive: Archive, book_ids: Iterable[str], links: Sequence[Link]) -> None:
    """Replace the machine links whose child is in ``book_ids``; confirmed links stay.

    Then set ``follow_up_of`` and ``matter_id`` (the chain's root) on every entry of
    those books.
    """
    books = set(book_ids)
    for b in books:
        archive.db.execute(f"delete from {LINKS} where confirmed = 0 and child like ?", [b + ":%"])
    confirmed_children = {
        r["child"] for r in archive.db.query(f"select child from {LINKS} where confirmed = 1")
    }
    rows = []
    for link in links:
        child = entry_id(*link.child)
        if link.child[0] not in books or child in confirmed_children:
            continue
        rows.append(
            {
                "child": child,
                "parent": entry_id(*link.parent),
                "score": round(link.score, 4),
                "evidence": json.dumps(list(link.evidence), ensure_ascii=False),
                "confirmed": 0,
            }
        )
    if rows:
        archive.db.table(LINKS).upsert_all(rows, pk=("child", "parent"))
    refresh_matters(archive)


def write_link_suggestions(
    archive: Archive, book_ids: Iterable[str], suggestions: Sequence[Link]
) -> None:
    """Replace the suggested links whose child is in ``book_ids`` (table ``link_suggestions``:
    child, suggested parent, score, evidence). A child that has a link gets none."""
    books = set(book_ids)
    for b in books:
        archive.db.execute(f"delete from {LINK_SUGGESTIONS} where child like ?", [b + ":%"])
    linked = {r["child"] for r in archive.db.query(f"select child from {LINKS}")}
    rows = [
        {
            "child": entry_id(*s.child),
            "parent": entry_id(*s.parent),
            "score": round(s.score, 4),
            "evidence": json.dumps(list(s.evidence), ensure_ascii=False),
        }
        for s in suggestions
        if s.child[0] in books and entry_id(*s.child) not in linked
    ]
    if rows:
        archive.db.table(LINK_SUGGESTIONS).upsert_all(rows, pk=("child", "parent"))


def refresh_matters(archive: Archive) -> None:
    """Recompute ``follow_up_of`` and ``matter_id`` of every entry from ``links``.

    A child keeps one parent: a confirmed link first, else the best-scored one.
    """
    parent: dict[str, str] = {}
    for r in archive.db.query(
        f"select child, parent from {LINKS} order by confirmed desc, score desc"
    ):
        parent.setdefault(r["child"], r["parent"])
    existing = {r["entry_id"] for r in archive.db.query(f"select entry_id from {ENTRIES}")}
    parent = {c: p for c, p in parent.items() if c in existing and p in existing}

    def root(eid: str) -> str:
        seen = {eid}
        while eid in parent and parent[eid] not in seen:
            eid = parent[eid]
            seen.add(eid)
        return eid

    # only the entries whose values change are written: every write fires the triggers
    # that keep ``matters`` up to date (issue 16), and most entries keep theirs
    for eid, follow, matter in archive.db.execute(
        f"select entry_id, follow_up_of, matter_id from {ENTRIES}"
    ).fetchall():
        want = (parent.get(eid), root(eid) if eid in parent else eid)
        if (follow, matter) != want:
            archive.db.execute(
                f"update {ENTRIES} set follow_up_of = ?, matter_id = ? where entry_id = ?",
                [*want, eid],
            )


def record_run(
    archive: Archive,
    command: str,
    started_at: str,
    versions: Mapping[str, str],
    summary: Mapping[str, Any],
) -> None:
    """Record one run of a command: which stage versions produced what, when."""
    archive.db.table(RUNS).insert(
        {
            "started_at": started_at,
            "finished_at": now(),
            "command": command,
            "versions": json.dumps(dict(versions), ensure_ascii=False),
            "summary": json.dumps(dict(summary), ensure_ascii=False, default=str),
        }
    )


def record_correction(
    archive: Archive, who: str, target: str, target_id: str, field: str, old: Any, new: Any
) -> None:
    """Append one human change to the audit trail."""
    archive.db.table(CORRECTIONS).insert(
        {
            "at": now(),
            "who": who,
            "target": target,
            "target_id": target_id,
            "field": field,
            "old": None if old is None else str(old),
            "new": None if new is None else str(new),
        }
    )


def set_book_metadata(
    archive: Archive, book_id: str, meta: Mapping[str, str | None], *, who: str
) -> int:
    """Correct a book's metadata without re-ingesting; returns the number of fields changed.

    The entries' copies (cadre, township, village: the facets) follow at once, and every
    change is recorded in ``corrections``. ``None`` leaves a field as it is; an empty string
    clears it.
    """
    from minqing.archive.errors import ArchiveError

    row = next(archive.db[BOOKS].rows_where("book_id = ?", [book_id]), None)
    if row is None:
        raise ArchiveError(
            archive.db_path, f"no book {book_id!r} in the archive", "see `minqing books list`"
        )
    changed = 0
    with archive.db.atomic():
        for key, value in meta.items():
            if key not in BOOK_META_FIELDS:
                raise ArchiveError(
                    archive.db_path,
                    f"unknown book field {key!r}",
                    f"use one of {', '.join(BOOK_META_FIELDS)}",
                )
            if value is None or (row.get(key) or "") == value:
                continue
            archive.db.table(BOOKS).update(book_id, {key: value or None}, alter=True)
            record_correction(archive, who, BOOKS, book_id, key, row.get(key), value or None)
            changed += 1
            if key in ("cadre", "township", "village"):
                archive.db.execute(
                    f"update {ENTRIES} set {key} = ? where book_id = ?", [value or None, book_id]
                )
    return changed
