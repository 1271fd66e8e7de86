"""The archive's SQLite schema: the single source of truth.

Tables (all created through sqlite-utils so that re-runs are idempotent):

``books``      one row per notebook: ``book_id`` (pk), cadre, post, township, village,
               period, source path.
``files``      every input file seen by ingest, with its state (``ok``, ``failed`` +
               reason, ``duplicate``); nothing is silently dropped.
``pages``      ``page_id`` = ``book_id/page_no`` (pk); page number, normalised and
               original image (paths relative to the archive folder), content hash,
               quality flags (JSON), OCR engine id.
``ocr_cache``  OCR results keyed by (page content hash, engine id): a re-run costs nothing.
``lines``      ``line_id`` = ``book_id/page_no/line_no`` (pk); machine text, raw engine
               text, box (JSON), confidence; ``corrected_text`` when a reviewer
               corrected it (then ``text`` holds the correction too).
``entries``    ``entry_id`` = ``book_id:seq`` (pk, seq zero-padded); pages, date, text,
               category (+ score, evidence, confirmed flag), status, fields (JSON),
               follow-up link, matter id; book metadata copied in for facets.
``links``      follow-up links (child entry → parent entry) with score and evidence.
``corrections`` audit trail of every human change: who, when, what, old, new.
``runs``       which stage version produced what, when.
``entries_fts`` FTS5 table of character bigrams of the entry text (rowid = entries.rowid),
               see :mod:`archive.search`.
``keywords``   hot-topic words per (book, month): township, word, count; filled by
               :func:`minqing.web.presentation.refresh_keywords`.
``matters``    VIEW, one row per matter (root entry + follow-ups): first date, latest
               follow-up date, latest status, open flag. See ``docs/schema.md``.
"""

from __future__ import annotations

import sqlite_utils

SCHEMA_VERSION = 1

BOOKS = "books"
FILES = "files"
PAGES = "pages"
OCR_CACHE = "ocr_cache"
LINES = "lines"
ENTRIES = "entries"
LINKS = "links"
CORRECTIONS = "corrections"
RUNS = "runs"
ENTRIES_FTS = "entries_fts"
LINES_FTS = "lines_fts"
USERS = "users"
KEYWORDS = "keywords"
MATTERS = "matters"

#: The ``matters`` view: one row per matter (a root entry and its follow-up chain).
#: ``status`` is the latest entry's status (latest by date, then entry id); a matter
#: is open (``open`` = 1) until that status is 已解决 (resolved) or 已解释 (explained).
MATTERS_VIEW_SQL = f"""
CREATE VIEW {MATTERS} AS
SELECT r.entry_id AS matter_id,
       r.book_id, r.cadre, r.township, r.village,
       r.category_code, r.category,
       r.date AS first_date,
       r.month AS month,
       l.date AS latest_date,
       CASE WHEN l.entry_id != r.entry_id THEN l.date END AS latest_follow_up_date,
       (SELECT count(*) FROM {ENTRIES} c WHERE c.matter_id = r.entry_id) AS entries,
       l.status_code AS status_code,
       l.status AS status,
       CASE WHEN l.status_code IN ('resolved', 'explained') THEN 0 ELSE 1 END AS open,
       EXISTS (SELECT 1 FROM {ENTRIES} c
               WHERE c.matter_id = r.entry_id AND c.status_code = 'escalated') AS escalated,
       substr(r.text, 1, 80) AS summary
FROM {ENTRIES} r
JOIN {ENTRIES} l ON l.entry_id = (
    -- the latest entry of the chain: one backwards step in the (matter_id, date, ...) index,
    -- so a filter on the root (township, date, ...) is applied before any of this runs
    SELECT f.entry_id FROM {ENTRIES} f WHERE f.matter_id = r.entry_id
    ORDER BY f.date DESC, f.entry_id DESC LIMIT 1)
WHERE r.matter_id = r.entry_id
"""


def entry_id(book_id: str, seq: int) -> str:
    """The stable id of entry ``seq`` (1-based) of ``book_id``."""
    return f"{book_id}:{seq:03d}"


def page_id(book_id: str, page_no: int) -> str:
    """The id of page ``page_no`` (1-based) of ``book_id``."""
    return f"{book_id}/{page_no}"


def line_id(book_id: str, page_no: int, line_no: int) -> str:
    """The id of line ``line_no`` (0-based) on page ``page_no`` of ``book_id``."""
    return f"{book_id}/{page_no}/{line_no}"


def _ensure_web_schema(db: sqlite_utils.Database) -> None:
    """Tables and views of the web archive: hot-topic keywords, matters.

    Web accounts are not kept here: they live in ``accounts.db`` beside the archive
    (:mod:`minqing.web.access`), out of the database Datasette publishes.
    """
    db[KEYWORDS].create(
        {"book_id": str, "month": str, "township": str, "word": str, "n": int},
        pk=("book_id", "month", "word"),
        if_not_exists=True,
    )
    row = db.execute("select sql from sqlite_master where name = ?", [MATTERS]).fetchone()
    if row is None or row[0].strip() != MATTERS_VIEW_SQL.strip():
        # the view holds no data: redefining it on a schema change is free
        if row is not None:
            db.execute(f"DROP VIEW {MATTERS}")
        db.execute(MATTERS_VIEW_SQL.strip())


def ensure_schema(db: sqlite_utils.Database) -> None:
    """Create every table and index the archive needs; safe to call repeatedly."""
    db.execute("PRAGMA foreign_keys = ON")
    if db.journal_mode != "wal":
        db.enable_wal()
    db[BOOKS].create(
        {
            "book_id": str,
            "title": str,
            "cadre": str,
            "post": str,
            "township": str,
            "village": str,
            "period": str,
            "source": str,
            "created_at": str,
        },
        pk="book_id",
        if_not_exists=True,
    )
    db[FILES].create(
        {
            "path": str,
            "book_id": str,
            "sha256": str,
            "size": int,
            "state": str,  # ok | failed | duplicate
            "reason": str,
            "pages": int,
            "updated_at": str,
        },
        pk="path",
        if_not_exists=True,
    )
    db[PAGES].create(
        {
            "page_id": str,
            "book_id": str,
            "page_no": int,
            "image": str,  # relative path of the normalised image
            "original": str,  # relative path of the untouched scan
            "sha256": str,  # hash of the normalised image
            "original_sha256": str,
            "width": int,
            "height": int,
            "source_file": str,
            "index_in_source": int,
            "transforms": str,  # JSON list
            "quality_flags": str,  # JSON object name -> value
            "needs_rescan": int,
            "ocr_engine": str,
            "ocr_seconds": float,
            "ingest_version": str,  # version of the ingest stage that normalised it
            "created_at": str,
        },
        pk="page_id",
        foreign_keys=[("book_id", BOOKS, "book_id")],
        if_not_exists=True,
    )
    db[OCR_CACHE].create(
        {"sha256": str, "engine_id": str, "result": str, "seconds": float, "created_at": str},
        pk=("sha256", "engine_id"),
        if_not_exists=True,
    )
    db[LINES].create(
        {
            "line_id": str,
            "page_id": str,
            "book_id": str,
            "page_no": int,
            "line_no": int,
            "text": str,  # corrected text where corrected, else machine text
            "machine_text": str,  # normalised engine text
            "raw_text": str,  # engine text before normalisation
            "box": str,  # JSON polygon
            "x0": float,
            "y0": float,
            "x1": float,
            "y1": float,
            "confidence": float,
            "corrected": int,
            "corrected_text": str,
            "entry_id": str,
        },
        pk="line_id",
        foreign_keys=[("page_id", PAGES, "page_id")],
        if_not_exists=True,
    )
    db[ENTRIES].create(
        {
            "entry_id": str,
            "book_id": str,
            "seq": int,
            "page_start": int,
            "page_end": int,
            "date": str,  # ISO date or NULL
            "date_inferred": int,
            "month": str,  # YYYY-MM, for facets
            "category_code": int,
            "category": str,
            "category_score": float,
            "category_evidence": str,  # JSON list
            "category_confirmed": int,
            "status_code": str,
            "status": str,  # Chinese label
            "status_confirmed": int,
            "follow_up_of": str,
            "matter_id": str,
            "text": str,
            "fields": str,  # JSON object
            "line_ids": str,  # JSON list
            "cadre": str,
            "township": str,
            "village": str,
            "classifier": str,  # version of the classify stage that produced it
            "layout": str,  # narrative | labelled | form
            "date_flags": str,  # JSON list: weekday_mismatch, year_repaired, relative:次日 ...
        },
        pk="entry_id",
        foreign_keys=[("book_id", BOOKS, "book_id")],
        if_not_exists=True,
    )
    db[LINKS].create(
        {
            "child": str,
            "parent": str,
            "score": float,
            "evidence": str,  # JSON list
            "confirmed": int,
        },
        pk=("child", "parent"),
        if_not_exists=True,
    )
    db[CORRECTIONS].create(
        {
            "id": int,
            "at": str,
            "who": str,
            "target": str,  # table
            "target_id": str,
            "field": str,
            "old": str,
            "new": str,
        },
        pk="id",
        if_not_exists=True,
    )
    db[RUNS].create(
        {
            "id": int,
            "started_at": str,
            "finished_at": str,
            "command": str,
            "versions": str,  # JSON object stage -> version
            "summary": str,  # JSON
        },
        pk="id",
        if_not_exists=True,
    )
    _ensure_web_schema(db)
    for table, cols in [
        (PAGES, ["book_id", "page_no"]),
        (LINES, ["page_id", "line_no"]),
        (LINES, ["entry_id"]),
        (LINES, ["confidence"]),
        (ENTRIES, ["book_id", "seq"]),
        (ENTRIES, ["date"]),
        (ENTRIES, ["category_code", "township"]),
        (ENTRIES, ["township", "village"]),
        (ENTRIES, ["status_code", "date"]),
        (ENTRIES, ["cadre", "date"]),
        (ENTRIES, ["month"]),
        (ENTRIES, ["follow_up_of"]),
        (ENTRIES, ["matter_id"]),
        (LINKS, ["parent"]),
        (CORRECTIONS, ["target", "target_id"]),
        # the web archive: the matters view's latest-entry scan, filter + facet pairs
        (ENTRIES, ["matter_id", "date", "entry_id", "status_code", "status"]),
        (ENTRIES, ["category", "township"]),
        (ENTRIES, ["township", "category"]),
        (ENTRIES, ["township", "status"]),
        (ENTRIES, ["village", "category"]),
        (ENTRIES, ["status", "date"]),
        (ENTRIES, ["month", "category"]),
        (KEYWORDS, ["month", "township", "word", "n"]),
    ]:
        db[table].create_index(cols, if_not_exists=True)
    if not db[ENTRIES_FTS].exists():
        db.execute(f"CREATE VIRTUAL TABLE {ENTRIES_FTS} USING fts5(bigrams)")
    if not db[LINES_FTS].exists():
        db.execute(f"CREATE VIRTUAL TABLE {LINES_FTS} USING fts5(bigrams)")
    db.conn.commit()
