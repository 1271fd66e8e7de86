"""The archive's SQLite schema: every table, view, index and trigger, declared here only.

The schema is a sequence of named migrations (:data:`MIGRATIONS`, sqlite-utils'
:class:`~sqlite_utils.Migrations`), each recorded when applied in the table
``_sqlite_migrations`` under the set name ``minqing``. The rules:

* Writers (ingest, ``minqing users``, ``books set``, corrections import, spot-check,
  ``minqing migrate``) bring an archive up to date with :func:`migrate`, which
  :class:`~minqing.archive.store.Archive` calls when opened with ``write=True``.
* Readers never write: :func:`check_readable` refuses an archive that lacks a migration
  of this code (:class:`~minqing.archive.errors.ArchiveSchemaError`, which says which
  command upgrades it) and reads an archive that a newer minqing migrated further as it is.
  ``minqing serve`` is a reader at start-up, so the review saves it later makes (through
  Datasette's connection) always find this code's schema.
* A change to the schema is a NEW migration appended to the list; a migration, once
  released, is never edited. :data:`SCHEMA_VERSION` is the number of migrations this
  code knows; an archive's version is the number of them it has applied.

``docs/schema.md`` is generated from this module (``python -m minqing.archive.schema
--markdown``) by applying every migration to an empty database and describing the
result with the notes in :data:`TABLE_DOCS` and :data:`COLUMN_DOCS`; a test fails when
the committed file differs.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import sqlite_utils
from sqlite_utils import Migrations

from minqing.archive.errors import ArchiveSchemaError

if TYPE_CHECKING:
    from minqing.archive.store import Archive

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
#: the bigrams the recogniser's alternates spell (issue 17), rowids as in the tables above
ENTRIES_ALT_FTS = "entries_alt_fts"
LINES_ALT_FTS = "lines_alt_fts"
USERS = "users"
KEYWORDS = "keywords"
MATTERS = "matters"
#: human decisions anchored to page content, re-imposed after re-runs (review/corrections.py)
DECISIONS = "review_decisions"
#: engine confidence -> measured error rate, from spot-checks (review/spotcheck.py)
CALIBRATION = "ocr_calibration"
#: spot-check samples and their lines (review/spotcheck.py)
SAMPLES = "spot_samples"
ITEMS = "spot_items"

#: suggested follow-up links (issue 13): below the linker's threshold, for review only;
#: never in ``links``, never exported as ``follow_up_of``
LINK_SUGGESTIONS = "link_suggestions"

#: The migration set's name in ``_sqlite_migrations``.
MIGRATION_SET = "minqing"
MIGRATIONS = Migrations(MIGRATION_SET)
#: Names of :data:`MIGRATIONS`, in the order they apply.
MIGRATION_NAMES: list[str] = []
#: One line per migration for docs/schema.md.
MIGRATION_DOCS: dict[str, str] = {}

#: The ``matters`` view: one row per matter (a root entry and its follow-up chain).
#: ``status`` is the latest entry's status (latest by date, then entry id); a matter
#: is open (``open`` = 1) until that status is 已解决 (resolved) or 已解释 (explained).
#: The columns of a matter, computed from ``entries``: the body of the ``matters`` view of
#: m001 and of the rows the triggers of m006 keep (``{comment}``: lines before the latest-entry
#: subquery; ``{where}``: more conditions on the root entry ``r``).
_MATTER_SELECT = f"""
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
{{comment}}    SELECT f.entry_id FROM {ENTRIES} f WHERE f.matter_id = r.entry_id
    ORDER BY f.date DESC, f.entry_id DESC LIMIT 1)
WHERE r.matter_id = r.entry_id{{where}}
"""

MATTERS_VIEW_SQL = f"\nCREATE VIEW {MATTERS} AS" + _MATTER_SELECT.format(
    comment="    -- the latest entry of the chain: one backwards step in the "
    "(matter_id, date, ...) index,\n"
    "    -- so a filter on the root (township, date, ...) is applied before any of this runs\n",
    where="",
)


def entry_id(book_id: str, seq: int) -> str:
    """The stable id of entry ``seq`` (1-based) of ``book_id``."""
    return f"{book_id}:{seq:03d}"


def page_id(book_id: str, page_no: int) -> str:
    """The id of page ``page_no`` (1-based) of ``book_id``."""
    return f"{book_id}/{page_no}"


def line_id(book_id: str, page_no: int, line_no: int) -> str:
    """The id of line ``line_no`` (0-based) on page ``page_no`` of ``book_id``."""
    return f"{book_id}/{page_no}/{line_no}"


def migration(
    func: Callable[[sqlite_utils.Database], None],
) -> Callable[[sqlite_utils.Database], None]:
    """Register ``func`` as the next migration, named after the function."""
    MIGRATIONS(name=func.__name__)(func)
    MIGRATION_NAMES.append(func.__name__)
    MIGRATION_DOCS[func.__name__] = (func.__doc__ or "").strip().splitlines()[0]
    return func


# -- the migrations, oldest first; never edit one that has been released ------------------


@migration
def m001_initial(db: sqlite_utils.Database) -> None:
    """The schema as of issue 11, with the tables review, spot-check and access made lazily.

    Idempotent (``if_not_exists``, columns added only when missing, the view replaced) so
    that it also adopts archives written before migrations were recorded.
    """
    db.table(BOOKS).create(
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
    db.table(FILES).create(
        {
            "path": str,
            "book_id": str,
            "sha256": str,
            "size": int,
            "state": str,
            "reason": str,
            "pages": int,
            "updated_at": str,
        },
        pk="path",
        if_not_exists=True,
    )
    db.table(PAGES).create(
        {
            "page_id": str,
            "book_id": str,
            "page_no": int,
            "image": str,
            "original": str,
            "sha256": str,
            "original_sha256": str,
            "width": int,
            "height": int,
            "source_file": str,
            "index_in_source": int,
            "transforms": str,
            "quality_flags": str,
            "needs_rescan": int,
            "ocr_engine": str,
            "ocr_seconds": float,
            "ingest_version": str,
            "created_at": str,
        },
        pk="page_id",
        foreign_keys=[("book_id", BOOKS, "book_id")],
        if_not_exists=True,
    )
    db.table(OCR_CACHE).create(
        {"sha256": str, "engine_id": str, "result": str, "seconds": float, "created_at": str},
        pk=("sha256", "engine_id"),
        if_not_exists=True,
    )
    db.table(LINES).create(
        {
            "line_id": str,
            "page_id": str,
            "book_id": str,
            "page_no": int,
            "line_no": int,
            "text": str,
            "machine_text": str,
            "raw_text": str,
            "box": str,
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
    db.table(ENTRIES).create(
        {
            "entry_id": str,
            "book_id": str,
            "seq": int,
            "page_start": int,
            "page_end": int,
            "date": str,
            "date_inferred": int,
            "month": str,
            "category_code": int,
            "category": str,
            "category_score": float,
            "category_evidence": str,
            "category_confirmed": int,
            "status_code": str,
            "status": str,
            "status_confirmed": int,
            "follow_up_of": str,
            "matter_id": str,
            "text": str,
            "fields": str,
            "line_ids": str,
            "cadre": str,
            "township": str,
            "village": str,
            "classifier": str,
            "layout": str,
            "date_flags": str,
        },
        pk="entry_id",
        foreign_keys=[("book_id", BOOKS, "book_id")],
        if_not_exists=True,
    )
    db.table(LINKS).create(
        {"child": str, "parent": str, "score": float, "evidence": str, "confirmed": int},
        pk=("child", "parent"),
        if_not_exists=True,
    )
    db.table(CORRECTIONS).create(
        {
            "id": int,
            "at": str,
            "who": str,
            "target": str,
            "target_id": str,
            "field": str,
            "old": str,
            "new": str,
        },
        pk="id",
        if_not_exists=True,
    )
    db.table(RUNS).create(
        {
            "id": int,
            "started_at": str,
            "finished_at": str,
            "command": str,
            "versions": str,
            "summary": str,
        },
        pk="id",
        if_not_exists=True,
    )
    db.table(USERS).create(
        {
            "name": str,
            "role": str,
            "password_hash": str,
            "created_at": str,
            "changed_at": str,
        },
        pk="name",
        if_not_exists=True,
    )
    db.table(KEYWORDS).create(
        {"book_id": str, "month": str, "township": str, "word": str, "n": int},
        pk=("book_id", "month", "word"),
        if_not_exists=True,
    )
    # the view holds no data: an archive written before migrations may carry an older one.
    # (Issue 16: not over the table m002 makes, when an archive lost its migration records.)
    if MATTERS not in db.table_names():
        db.execute(f"DROP VIEW IF EXISTS {MATTERS}")
        db.execute(MATTERS_VIEW_SQL.strip())
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
        # the matters view's latest-entry scan, then filter + facet pairs of the web archive
        (ENTRIES, ["matter_id", "date", "entry_id", "status_code", "status"]),
        (ENTRIES, ["category", "township"]),
        (ENTRIES, ["township", "category"]),
        (ENTRIES, ["township", "status"]),
        (ENTRIES, ["village", "category"]),
        (ENTRIES, ["status", "date"]),
        (ENTRIES, ["month", "category"]),
        (KEYWORDS, ["month", "township", "word", "n"]),
    ]:
        db.table(table).create_index(cols, if_not_exists=True)
    for fts in (ENTRIES_FTS, LINES_FTS):
        db.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS {fts} USING fts5(bigrams)")
    # review (formerly review/corrections.py ensure_review_schema)
    db.table(DECISIONS).create(
        {
            "id": int,
            "at": str,
            "who": str,
            "book_id": str,
            "kind": str,
            "page_id": str,
            "page_sha": str,
            "box": str,
            "page_id2": str,
            "page_sha2": str,
            "box2": str,
            "value": str,
            "active": int,
        },
        pk="id",
        if_not_exists=True,
    )
    db.table(DECISIONS).create_index(["book_id", "kind"], if_not_exists=True)
    if "date_confirmed" not in db.table(ENTRIES).columns_dict:
        db.table(ENTRIES).add_column("date_confirmed", int)
    db.table(CALIBRATION).create(
        {
            "lo": float,
            "hi": float,
            "lines": int,
            "chars": int,
            "errors": int,
            "cer": float,
            "updated_at": str,
        },
        pk="lo",
        if_not_exists=True,
    )
    # spot-check (formerly review/spotcheck.py ensure_spotcheck_schema)
    db.table(SAMPLES).create(
        {
            "sample_id": int,
            "created_at": str,
            "who": str,
            "scope": str,
            "seed": int,
            "mode": str,
            "threshold": float,
            "size": int,
            "population_lines": int,
            "population_pages": int,
            "plan": str,
        },
        pk="sample_id",
        if_not_exists=True,
    )
    db.table(ITEMS).create(
        {
            "sample_id": int,
            "line_id": str,
            "book_id": str,
            "page_id": str,
            "page_sha": str,
            "x0": float,
            "y0": float,
            "x1": float,
            "y1": float,
            "stratum": str,
            "population": int,
            "drawn": int,
            "confidence": float,
            "shown_text": str,
            "machine_text": str,
            "transcription": str,
            "ref_chars": int,
            "errors": int,
            "machine_errors": int,
            "recorded_at": str,
            "who": str,
        },
        pk=("sample_id", "line_id"),
        if_not_exists=True,
    )


@migration
def m002_accounts_out(db: sqlite_utils.Database) -> None:
    """Web accounts move out of `archive.db` into `accounts.db` (mode 0600); `users` is dropped."""
    if USERS not in db.table_names():
        return
    rows = [r for r in db.table(USERS).rows if r.get("password_hash")]
    row = db.execute("select file from pragma_database_list where name = 'main'").fetchone()
    if rows and row and row[0]:
        import os
        import sqlite3

        path = Path(row[0]).with_name(ACCOUNTS_DB)
        if not path.exists():
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        os.chmod(path, 0o600)
        conn = sqlite3.connect(path, timeout=30)
        try:
            conn.executescript(ACCOUNTS_SCHEMA)
            with conn:
                conn.executemany(
                    f"insert or ignore into {ACCOUNT_USERS}"
                    " (name, role, password_hash, created_at, changed_at) values (?, ?, ?, ?, ?)",
                    [
                        (
                            r["name"],
                            r["role"],
                            r["password_hash"],
                            r["created_at"],
                            r.get("changed_at") or r["created_at"],
                        )
                        for r in rows
                    ],
                )
        finally:
            conn.close()
    # overwrite the freed pages, so that no hash stays behind in the file Datasette serves
    db.execute("pragma secure_delete = on")
    db.table(USERS).drop()


@migration
def m003_entry_date_kinds(db: sqlite_utils.Database) -> None:
    """Entries say how their date was written and carry their later notes and body dates."""
    entries = db.table(ENTRIES)
    have = entries.columns_dict
    for name, kind in (
        ("date_kind", str),
        ("shares_heading", int),
        ("later_notes", str),
        ("body_dates", str),
    ):
        if name not in have:
            entries.add_column(name, kind)


@migration
def m004_search_alternates(db: sqlite_utils.Database) -> None:
    """Search alternates (issue 17): `alternates` columns, two FTS tables, a trigger.

    `lines.alternates` and `entries.alternates`; `entries_alt_fts` and `lines_alt_fts`
    index the bigrams alternates spell (their own tables: an FTS5 column filter reads the
    whole token list, a table of its own only the few rows with alternates); a corrected
    line drops its alternates (trigger).
    """
    for table in (LINES, ENTRIES):
        if "alternates" not in db.table(table).columns_dict:
            db.table(table).add_column("alternates", str)
    for fts in (ENTRIES_ALT_FTS, LINES_ALT_FTS):
        db.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS {fts} USING fts5(alt)")
    # a line whose text a person set keeps no machine alternates, whoever writes it
    db.execute(
        f"""CREATE TRIGGER IF NOT EXISTS {LINES}_corrected_drop_alternates
        AFTER UPDATE OF text, corrected ON {LINES}
        WHEN new.corrected = 1 AND new.alternates IS NOT NULL
        BEGIN UPDATE {LINES} SET alternates = NULL WHERE rowid = new.rowid; END"""
    )


@migration
def m005_link_suggestions(db: sqlite_utils.Database) -> None:
    """Suggested follow-up links below the linker's threshold, kept for review only."""
    db.table(LINK_SUGGESTIONS).create(
        {"child": str, "parent": str, "score": float, "evidence": str},
        pk=("child", "parent"),
        if_not_exists=True,
    )


#: A matter row computed from ``entries`` (the columns of :data:`MATTERS_VIEW_SQL`);
#: ``{root}`` is the condition on the root entry ``r`` (e.g. ``r.entry_id = NEW.matter_id``).
MATTER_ROWS_SQL = _MATTER_SELECT.format(comment="", where=" AND ({root})")

#: entries' columns a matter row depends on: an UPDATE OF these recomputes the matter
_MATTER_INPUTS = (
    "entry_id, matter_id, date, month, status_code, status, book_id, cadre, township, "
    "village, category_code, category, text"
)

#: Entries per cadre and day (``cadre`` is the entry's cadre, or its book id when it has
#: none), kept by triggers: the weekly compliance queries read it instead of ``entries``.
CADRE_DAYS = "cadre_days"


def _recompute_matter(ref: str) -> str:
    """Trigger statements that recompute the matter ``ref`` (``NEW.matter_id`` ...)."""
    rows = MATTER_ROWS_SQL.format(root=f"r.entry_id = {ref}").strip()
    return f"DELETE FROM {MATTERS} WHERE matter_id = {ref};\n    INSERT INTO {MATTERS} {rows};"


def _cadre_day(row: str, delta: int) -> str:
    key = f"coalesce(nullif({row}.cadre, ''), {row}.book_id)"
    if delta > 0:
        return (
            f"INSERT INTO {CADRE_DAYS} (cadre, day, n) SELECT {key}, {row}.date, 1 "
            f"WHERE {row}.date IS NOT NULL "
            "ON CONFLICT (cadre, day) DO UPDATE SET n = n + 1;"
        )
    return (
        f"UPDATE {CADRE_DAYS} SET n = n - 1 WHERE cadre = {key} AND day = {row}.date;\n"
        f"    DELETE FROM {CADRE_DAYS} WHERE cadre = {key} AND day = {row}.date AND n <= 0;"
    )


#: The triggers that keep ``matters`` and ``cadre_days`` up to date as entries are written
#: (by ingest, review saves through Datasette, merge, anything): name -> SQL.
DERIVED_TRIGGERS: dict[str, str] = {
    "entries_ai_derived": f"""CREATE TRIGGER entries_ai_derived AFTER INSERT ON {ENTRIES}
BEGIN
    {_recompute_matter("NEW.matter_id")}
    {_cadre_day("NEW", +1)}
END""",
    "entries_ad_derived": f"""CREATE TRIGGER entries_ad_derived AFTER DELETE ON {ENTRIES}
BEGIN
    {_recompute_matter("OLD.matter_id")}
    {_cadre_day("OLD", -1)}
END""",
    "entries_au_matter": f"""CREATE TRIGGER entries_au_matter
AFTER UPDATE OF {_MATTER_INPUTS} ON {ENTRIES}
BEGIN
    {_recompute_matter("OLD.matter_id")}
    {_recompute_matter("NEW.matter_id")}
END""",
    "entries_au_cadre_day": f"""CREATE TRIGGER entries_au_cadre_day
AFTER UPDATE OF cadre, book_id, date ON {ENTRIES}
BEGIN
    {_cadre_day("OLD", -1)}
    {_cadre_day("NEW", +1)}
END""",
}


def refill_derived(db: sqlite_utils.Database) -> None:
    """Recompute ``matters`` and ``cadre_days`` from ``entries`` in two statements.

    For bulk loads that drop :data:`DERIVED_TRIGGERS` while writing (the benchmark) and
    for the migration that introduces them; the triggers keep both exact afterwards.
    """
    db.execute(f"DELETE FROM {MATTERS}")
    db.execute(f"INSERT INTO {MATTERS} " + MATTER_ROWS_SQL.format(root="1").strip())
    db.execute(f"DELETE FROM {CADRE_DAYS}")
    db.execute(
        f"INSERT INTO {CADRE_DAYS} (cadre, day, n) "
        f"SELECT coalesce(nullif(cadre, ''), book_id), date, count(*) FROM {ENTRIES} "
        "WHERE date IS NOT NULL GROUP BY 1, 2"
    )


@migration
def m006_maintained_matters(db: sqlite_utils.Database) -> None:
    """``matters`` becomes a table kept up to date by triggers on ``entries``, plus ``cadre_days``.

    Issue 16: the view recomputed every matter per request (open matters 758/798 ms p50/p95
    at 1M entries); the supervision queries now read rows kept exact at write time.
    """
    if MATTERS in db.view_names():
        db.execute(f"DROP VIEW {MATTERS}")
    db.execute(
        f"""CREATE TABLE IF NOT EXISTS {MATTERS} (
    matter_id TEXT PRIMARY KEY,
    book_id TEXT, cadre TEXT, township TEXT, village TEXT,
    category_code INTEGER, category TEXT,
    first_date TEXT, month TEXT, latest_date TEXT, latest_follow_up_date TEXT,
    entries INTEGER, status_code TEXT, status TEXT, open INTEGER, escalated INTEGER,
    summary TEXT)"""
    )
    db.execute(
        f"""CREATE TABLE IF NOT EXISTS {CADRE_DAYS} (
    cadre TEXT NOT NULL, day TEXT NOT NULL, n INTEGER NOT NULL,
    PRIMARY KEY (cadre, day))"""
    )
    for cols in (
        ["open", "first_date"],
        ["escalated", "open", "first_date"],
        ["township", "open", "first_date"],
        ["township", "escalated"],
        ["township", "village", "category_code"],
        ["first_date"],
        ["month"],
        ["category", "township"],
        ["status"],
    ):
        db.table(MATTERS).create_index(cols, if_not_exists=True)
    db.table(CADRE_DAYS).create_index(["day", "cadre", "n"], if_not_exists=True)
    # the weekly queries' list of cadres (a cadre, or the book id where none) streams in
    # this index's order instead of grouping every book first
    db.execute(
        f"CREATE INDEX IF NOT EXISTS idx_books_cadre_key ON {BOOKS} "
        "(coalesce(nullif(cadre, ''), book_id), township, village)"
    )
    for name, sql in DERIVED_TRIGGERS.items():
        db.execute(f"DROP TRIGGER IF EXISTS {name}")
        db.execute(sql)
    refill_derived(db)


#: The archives merged into this one (``minqing merge``): one row per origin label.
ORIGINS = "origins"
#: Tables whose rows keep their origin: ``origin`` (NULL = written here) and, for the
#: audit tables with integer ids, ``origin_id`` (the row's id in the archive it came from).
ORIGIN_TABLES = (BOOKS, CORRECTIONS, RUNS, DECISIONS, SAMPLES)
AUDIT_TABLES = (CORRECTIONS, RUNS, DECISIONS, SAMPLES)


@migration
def m007_merge_origins(db: sqlite_utils.Database) -> None:
    """``origins`` and ``origin``/``origin_id`` columns: merged archives keep rows apart by source.

    Issue 16 (``minqing merge``): books, the audit trail (corrections, runs, review
    decisions, spot-check samples) remember the archive they came from; a unique
    ``(origin, origin_id)`` makes merging the same archive twice a no-op.
    """
    db.table(ORIGINS).create(
        {
            "origin": str,
            "source": str,
            "merged_at": str,
            "prefix": str,
            "books": int,
            "entries": int,
            "corrections": int,
        },
        pk="origin",
        if_not_exists=True,
    )
    for table in ORIGIN_TABLES:
        cols = db.table(table).columns_dict
        if "origin" not in cols:
            db.table(table).add_column("origin", str)
        if table == BOOKS and "merged_sha" not in cols:
            db.table(table).add_column("merged_sha", str)
        if table in AUDIT_TABLES and "origin_id" not in cols:
            db.table(table).add_column("origin_id", int)
    db.table(BOOKS).create_index(["origin"], if_not_exists=True)
    for table in AUDIT_TABLES:
        db.table(table).create_index(["origin", "origin_id"], unique=True, if_not_exists=True)


#: Hot-topic words per month and township, summed over the notebooks (``n``) with the number
#: of notebooks that used them (``books``), kept by triggers on ``keywords``.
TOPICS = "topics"


def _topic(row: str, sign: int) -> str:
    key = f"{row}.month, coalesce({row}.township, ''), {row}.word"
    if sign > 0:
        return (
            f"INSERT INTO {TOPICS} (month, township, word, n, books) "
            f"SELECT {key}, {row}.n, 1 WHERE {row}.month IS NOT NULL "
            "ON CONFLICT (month, township, word) DO UPDATE SET n = n + excluded.n, "
            "books = books + 1;"
        )
    where = f"month = {row}.month AND township = coalesce({row}.township, '') AND word = {row}.word"
    return (
        f"UPDATE {TOPICS} SET n = n - {row}.n, books = books - 1 WHERE {where};\n"
        f"    DELETE FROM {TOPICS} WHERE {where} AND books <= 0;"
    )


TOPIC_TRIGGERS: dict[str, str] = {
    "keywords_ai_topics": f"""CREATE TRIGGER keywords_ai_topics AFTER INSERT ON {KEYWORDS}
BEGIN
    {_topic("NEW", +1)}
END""",
    "keywords_ad_topics": f"""CREATE TRIGGER keywords_ad_topics AFTER DELETE ON {KEYWORDS}
BEGIN
    {_topic("OLD", -1)}
END""",
    "keywords_au_topics": f"""CREATE TRIGGER keywords_au_topics
AFTER UPDATE OF month, township, word, n ON {KEYWORDS}
BEGIN
    {_topic("OLD", -1)}
    {_topic("NEW", +1)}
END""",
}


def refill_topics(db: sqlite_utils.Database) -> None:
    """Recompute ``topics`` from ``keywords`` in one statement (see :func:`refill_derived`)."""
    db.execute(f"DELETE FROM {TOPICS}")
    db.execute(
        f"INSERT INTO {TOPICS} (month, township, word, n, books) "
        f"SELECT month, coalesce(township, ''), word, sum(n), count(*) FROM {KEYWORDS} "
        "WHERE month IS NOT NULL GROUP BY 1, 2, 3"
    )


@migration
def m008_supervision_indexes_and_topics(db: sqlite_utils.Database) -> None:
    """Indexes that give the supervision queries their rows in order, and ``topics``.

    Issue 16, measured at 1M entries: open and escalated matters of one township still took
    ~0.8 s (the township filter could not use an index under ``:乡镇 = '' or ...``; the
    canned queries now take the township branch or the all-townships branch), and hot topics
    grouped every notebook's keywords of the month (~1.2 s): ``topics`` keeps the monthly
    sums per township at write time.
    """
    for cols in (
        "open, first_date, matter_id",
        "township, open, first_date, matter_id",
        "escalated, open DESC, first_date, matter_id",
        "township, escalated, open DESC, first_date, matter_id",
    ):
        name = "idx_matters_" + "_".join(c.split()[0] for c in cols.split(", ")) + "_ord"
        db.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {MATTERS} ({cols})")
    db.execute(
        f"""CREATE TABLE IF NOT EXISTS {TOPICS} (
    month TEXT NOT NULL, township TEXT NOT NULL, word TEXT NOT NULL,
    n INTEGER NOT NULL, books INTEGER NOT NULL,
    PRIMARY KEY (month, township, word))"""
    )
    for name, sql in TOPIC_TRIGGERS.items():
        db.execute(f"DROP TRIGGER IF EXISTS {name}")
        db.execute(sql)
    refill_topics(db)


@migration
def m009_township_page_indexes(db: sqlite_utils.Database) -> None:
    """Indexes that serve the entries table filtered by township from the index alone.

    Issue 16, measured at 1M entries (one township of ~10,000 entries): its first page,
    newest first, read ~2,000 rows along the date index (29 ms), and the default facets
    month and cadre looked up every row of the township (28 and 27 ms); the facets
    category, status and village already had such indexes (2-5 ms).
    """
    for cols in (["township", "date"], ["township", "month"], ["township", "cadre"]):
        db.table(ENTRIES).create_index(cols, if_not_exists=True)


#: What this code's schema is: the number of migrations it knows.
SCHEMA_VERSION = len(MIGRATION_NAMES)


# -- applying and checking -----------------------------------------------------------------


def applied(archive: Archive) -> list[str]:
    """Names of the migrations recorded in the archive, in the order applied (reads only)."""
    return [m.name for m in MIGRATIONS.applied(archive.db)]


def pending(archive: Archive) -> list[str]:
    """Names of this code's migrations the archive has not applied yet (reads only)."""
    done = set(applied(archive))
    return [name for name in MIGRATION_NAMES if name not in done]


def schema_version(archive: Archive) -> int:
    """How many of this code's migrations the archive has applied."""
    return SCHEMA_VERSION - len(pending(archive))


def migrate(archive: Archive) -> list[str]:
    """Apply the pending migrations, each in its own transaction; return their names.

    Raises :class:`ArchiveSchemaError` when the archive was migrated by a newer minqing
    (it records migrations this code does not know): an older writer could damage it.
    Writes nothing when the archive is up to date.
    """
    newer = [name for name in applied(archive) if name not in MIGRATION_NAMES]
    if newer:
        raise ArchiveSchemaError(
            archive.db_path,
            f"the archive was upgraded by a newer minqing (migrations {', '.join(newer)})",
            "upgrade minqing before writing to this archive; reading it works",
        )
    todo = pending(archive)
    if todo:
        MIGRATIONS.apply(archive.db)
    return todo


def check_readable(archive: Archive) -> None:
    """Raise :class:`ArchiveSchemaError` unless this code can read the archive as it is.

    Reads only. An archive that lacks one of this code's migrations is refused with a
    message naming the command that upgrades it; one that a newer minqing migrated
    further is read as it is (migrations only add).
    """
    todo = pending(archive)
    if todo:
        raise ArchiveSchemaError(
            archive.db_path,
            f"the archive's schema is older than this minqing (schema {SCHEMA_VERSION - len(todo)}"
            f" of {SCHEMA_VERSION}; missing {', '.join(todo)})",
            f"run `minqing migrate --archive {archive.root}` once, or any command that writes "
            "to it, e.g. `minqing ingest`",
        )


# -- docs/schema.md ------------------------------------------------------------------------

#: One line per table and view (required: generating the docs fails on a table without one).
TABLE_DOCS: dict[str, str] = {
    LINK_SUGGESTIONS: "suggested follow-up links below the linker's threshold (child, parent, "
    "score, evidence): shown to reviewers, never in `links`, never exported as `follow_up_of`",
    BOOKS: "one notebook: cadre, post, township, village, period, source",
    FILES: "every input file ingest saw, with its state (`ok` / `failed` + reason / "
    "`duplicate`); nothing is silently dropped",
    PAGES: "one page (`page_id` = `book/page_no`): page number, normalised image, original "
    "scan, hashes, size, quality flags, `needs_rescan`, OCR engine",
    OCR_CACHE: "OCR result per page image hash and engine: a re-run costs nothing",
    LINES: "one recognised line (`line_id` = `book/page/line`): text, machine/raw text, box, "
    "confidence, correction, entry",
    ENTRIES: "one single-matter entry (`entry_id` = `book:seq`): pages, date, category, status, "
    "follow-up, matter, text, fields; book metadata copied in for facets",
    LINKS: "follow-up links child entry → parent entry, with score and evidence",
    CORRECTIONS: "audit trail of every human change: who, when, target table/id, field, old, new",
    RUNS: "each command run and the stage versions it used",
    USERS: "web accounts: role (`inspector`/`reviewer`), scrypt password hash "
    "(see `datasette/web/access.py`)",
    KEYWORDS: "hot-topic words per notebook and month with counts, township copied for "
    "filtering; filled by `archive/keywords.py`",
    DECISIONS: "every human review decision, anchored to the page image hash and the line's box "
    "so that it survives re-OCR and re-segmentation (`review/corrections.py`)",
    CALIBRATION: "engine confidence bin → measured character error rate, from spot-checks; "
    "orders the review queue",
    SAMPLES: "spot-check samples: scope, seed, mode (`blind`/`verify`), threshold, plan",
    ITEMS: "the lines of each spot-check sample, the text shown, the reviewer's "
    "transcription and the errors counted",
    ENTRIES_FTS: "FTS5 over character bigrams of the entry text (rowid = `entries.rowid`), "
    "see `archive/search.py`",
    LINES_FTS: "FTS5 over character bigrams of the line text (rowid = `lines.rowid`)",
    ENTRIES_ALT_FTS: "FTS5 over the bigrams of short windows of the entry text spelt with "
    "the recogniser's alternates (rowid = `entries.rowid`; only entries that have some)",
    LINES_ALT_FTS: "the same for lines (rowid = `lines.rowid`)",
    MATTERS: "one row per matter: a root entry and its follow-up chain, kept up to date by "
    "triggers on `entries` (see below)",
    CADRE_DAYS: "entries per cadre (or book id when the cadre is unknown) and day, kept by "
    "triggers on `entries`: the weekly compliance queries read it",
    ORIGINS: "the archives merged into this one (`minqing merge`): label, source path, "
    "prefix, counts",
    TOPICS: "hot-topic words per month and township (`''` when unknown): `n` summed over the "
    "notebooks' `keywords`, `books` the notebooks that used the word; kept by triggers",
    "_sqlite_migrations": "the migrations applied to this archive (set `minqing`), in order",
}

#: Notes on columns whose name does not say everything, by table.
COLUMN_DOCS: dict[str, dict[str, str]] = {
    FILES: {"state": "`ok`, `failed` or `duplicate`", "reason": "why it failed"},
    PAGES: {
        "image": "normalised image, path relative to the archive folder",
        "original": "the untouched scan, relative path",
        "sha256": "hash of the normalised image",
        "transforms": "JSON list of what normalisation did",
        "quality_flags": "JSON object flag → value",
        "ingest_version": "version of the ingest stage that normalised it",
    },
    LINES: {
        "text": "the corrected text where corrected, else the machine text",
        "machine_text": "normalised engine text",
        "raw_text": "engine text before normalisation",
        "box": "JSON polygon; `x0..y1` its bounding box in the normalised image's pixels",
        "corrected": "1 when a reviewer corrected it",
        "alternates": "JSON `[[index, p_read, chars, [p, ...]], ...]`: the next likeliest "
        "characters where the recogniser was unsure; NULL once corrected",
    },
    ENTRIES: {
        "date": "ISO date or NULL",
        "month": "`YYYY-MM`, for facets",
        "category_code": "1–8 (DESIGN.md §2)",
        "category_evidence": "JSON list",
        "category_confirmed": "1 when a reviewer confirmed it: outranks the classifier",
        "status": "Chinese label of `status_code`",
        "follow_up_of": "the `entry_id` this entry follows up, or NULL",
        "matter_id": "the root entry of its follow-up chain",
        "fields": "JSON object",
        "line_ids": "JSON list",
        "classifier": "version of the classify stage that produced it",
        "layout": "`narrative`, `labelled` or `form`",
        "date_flags": "JSON list: `weekday_mismatch`, `year_repaired`, `relative:次日` …",
        "date_kind": "how the date was written: `gregorian`, `lunar`, `both`, `relative`, "
        "`shared_heading`, `visit_header`, `continuation`, `undated`",
        "shares_heading": "1 when the entry is one of several matters under one date heading",
        "later_notes": "JSON list of 补记 later notes (their own dates; not the entry's date)",
        "body_dates": "JSON list of dates mentioned in the body: [kind, ISO date]",
        "date_confirmed": "1 when a reviewer set the date",
        "alternates": "JSON `{index in text: characters}`: the alternates its lines' unsure "
        "characters add to search (`archive/search.py`)",
    },
    LINKS: {"evidence": "JSON list", "confirmed": "1 when a reviewer confirmed the link"},
    BOOKS: {
        "origin": "label of the archive it was merged from (NULL: ingested here)",
        "merged_sha": "hash of the book's rows in that archive when merged: unchanged books "
        "are skipped when merged again",
    },
    CORRECTIONS: {
        "target": "table name",
        "old": "value before",
        "new": "value after",
        "origin": "label of the archive it was merged from (NULL: made here)",
        "origin_id": "its `id` in that archive",
    },
    CADRE_DAYS: {"n": "entries of that cadre dated that day"},
    ORIGINS: {
        "origin": "the label (the source folder's name; `a/b` for b merged into a first)",
        "prefix": "prepended to every book id of that source (`--prefix`), or NULL",
    },
    RUNS: {"versions": "JSON object stage → version", "summary": "JSON"},
    USERS: {"changed_at": "changes with the password or role: ends old sessions"},
    DECISIONS: {
        "kind": "`start`, `join`, `category`, `status`, `date` or `link`",
        "box": "JSON `[x0, y0, x1, y1]` of the anchor line",
        "page_id2": "the link parent's anchor (with `page_sha2`, `box2`)",
        "active": "0 once superseded",
    },
    SAMPLES: {"plan": "JSON: minimum lines, fraction, size asked"},
    ITEMS: {
        "stratum": "`book|confidence band`",
        "population": "lines in the stratum",
        "drawn": "lines drawn from the stratum",
        "shown_text": "the text the archive showed when drawn",
        "errors": "edit distance of `shown_text` to the transcription",
        "machine_errors": "the same for the engine text (calibration)",
    },
    MATTERS: {
        "matter_id": "the root entry's `entry_id`",
        "book_id": "from the root entry, as are `cadre` … `category`",
        "first_date": "the root entry's date (`month` its month)",
        "latest_date": "date of the latest entry of the chain (latest by date, then entry id)",
        "latest_follow_up_date": "the same, NULL when the matter has no follow-up",
        "entries": "number of entries in the chain",
        "status_code": "the latest entry's status (and `status`)",
        "open": "1 until the latest status is 已解决 (`resolved`) or 已解释 (`explained`)",
        "escalated": "1 when any entry of the chain was 已上报 (`escalated`)",
        "summary": "the first 80 characters of the root entry",
    },
}

_INTRO = """\
One SQLite file, `archive.db`, in the archive folder; page images live next to it under
`images/` (content-addressed; the database stores paths relative to the archive folder).

Every table, view, index and trigger is declared in `archive/schema.py` as a named
migration; each applied migration is recorded in `_sqlite_migrations` (set `minqing`).
Commands that write (ingest, `users`, `books set`, `corrections import`, `spotcheck`,
`migrate`) apply pending migrations. Reading never writes and refuses an archive that lacks
a migration (run `minqing migrate --archive DIR`); `minqing serve` reads at start-up, so the
review saves made through it find the current schema. A `chmod -R a-w` archive is read (and
served) `immutable=1`: no lock or WAL file is created next to it."""

_MATTERS_NOTE = """\
A matter is a root entry (an entry that follows up nothing) and every entry whose
`matter_id` points at it. Since migration `m002_maintained_matters` (issue 16) `matters` is
a table, not a view: triggers on `entries` recompute the row of every matter an inserted,
deleted or updated entry belongs to (before and after the change), in the writer's
transaction, so the supervision queries (open, escalated, per village and category) read
indexed rows instead of walking every chain per request (the view took 758/798 ms p50/p95
for open matters at 1M entries). `latest_*` and `status` come from the chain's latest entry
(latest by date, then entry id). A change to the rows is a new migration."""

#: The web layer's accounts live in a second database of the archive folder, ``accounts.db``
#: (mode 0600), which Datasette never opens (issue 12): web users and their server-side
#: sessions. ``archive.db`` keeps the legacy ``users`` table of migration 1, emptied when
#: its rows move to ``accounts.db`` on the first write.
ACCOUNTS_DB = "accounts.db"
ACCOUNT_USERS = "users"
ACCOUNT_SESSIONS = "sessions"
ACCOUNTS_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {ACCOUNT_USERS} (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    changed_at TEXT NOT NULL  -- changes with the password or role: ends old sessions
);
CREATE TABLE IF NOT EXISTS {ACCOUNT_SESSIONS} (
    token_sha256 TEXT PRIMARY KEY,
    user TEXT NOT NULL,
    stamp TEXT NOT NULL,       -- the user's changed_at at login
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    ended_at REAL              -- set by logout: the session is over for good
);
CREATE INDEX IF NOT EXISTS sessions_user ON {ACCOUNT_SESSIONS} (user);
"""

_WEB_NOTE = f"""\
Web accounts and sessions are not in `archive.db`: they live in `{ACCOUNTS_DB}` next to it
(mode 0600, never opened by Datasette), declared here as:

```sql
{ACCOUNTS_SCHEMA.strip()}
```

Datasette connections read the legacy `users` table and the engine text of spot-check items
(`spot_items.machine_text`, `shown_text`) as NULL (an SQLite authorizer), and the
cookie-signing secret is the file `.web-secret` (mode 0600) next to `archive.db`, never in
the database."""


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def markdown() -> str:
    """The text of ``docs/schema.md``: every migration applied to an empty database, described."""
    db = sqlite_utils.Database(memory=True)
    MIGRATIONS.apply(db)
    objects = db.execute(
        "select type, name, tbl_name, sql from sqlite_master order by rowid"
    ).fetchall()
    shadow = {
        f"{fts}_{s}"
        for fts in (ENTRIES_FTS, LINES_FTS, ENTRIES_ALT_FTS, LINES_ALT_FTS)
        for s in ("data", "idx", "content", "docsize", "config")
    }
    tables = [n for t, n, _, sql in objects if t == "table" and n not in shadow]
    views = [n for t, n, _, _ in objects if t == "view"]
    missing = [n for n in tables + views if n not in TABLE_DOCS]
    if missing:
        raise KeyError(f"no TABLE_DOCS entry for {missing}: describe every table in schema.py")
    out = [
        "# The archive's schema (`archive.db`)",
        "",
        (
            "<!-- Generated from archive/schema.py by "
            "`python -m minqing.archive.schema --markdown > docs/schema.md`; do not edit. -->"
        ),
        "",
        _INTRO,
        "",
        f"## Migrations (schema version {SCHEMA_VERSION})",
        "",
    ]
    out += [f"{i}. `{name}`: {MIGRATION_DOCS[name]}" for i, name in enumerate(MIGRATION_NAMES, 1)]
    out += ["", "## Tables", "", "| table | primary key | what |", "|---|---|---|"]
    for name in tables:
        pks = db.table(name).pks if not db.table(name).virtual_table_using else []
        pk = ", ".join(f"`{p}`" for p in pks if p != "rowid") or "rowid"
        out.append(f"| `{name}` | {pk} | {_cell(TABLE_DOCS[name])} |")
    for name in tables + views:
        is_view = name in views
        out += ["", f"### `{name}`" + (" (view)" if is_view else ""), ""]
        if is_view:
            out += [TABLE_DOCS[name], ""]
        elif name == MATTERS:
            out += [_MATTERS_NOTE, ""]
        elif db.table(name).virtual_table_using:
            sql = next(s for _, n, _, s in objects if n == name)
            out += [f"{TABLE_DOCS[name]}: `{sql}`."]
            continue
        fks = {
            fk.column: f"→ `{fk.other_table}.{fk.other_column}`"
            for fk in ([] if is_view else db.table(name).foreign_keys)
        }
        notes = COLUMN_DOCS.get(name, {})
        columns = (db.view(name) if is_view else db.table(name)).columns
        unknown = set(notes) - {c.name for c in columns}
        if unknown:
            raise KeyError(f"COLUMN_DOCS[{name!r}] names no column {sorted(unknown)}")
        out += ["| column | type | notes |", "|---|---|---|"]
        for c in columns:
            note = " ".join(x for x in (fks.get(c.name, ""), notes.get(c.name, "")) if x)
            out.append(f"| `{c.name}` | {c.type or ''} | {_cell(note)} |")
        if not is_view:
            idx = [i for i in db.table(name).indexes if not i.name.startswith("sqlite_autoindex")]
            if idx:
                out.append("")
                out.append(
                    "Indexes: "
                    + ", ".join(
                        ("unique " if i.unique else "")
                        + "("
                        + ", ".join(c or "expression" for c in i.columns)
                        + ")"
                        for i in sorted(idx, key=lambda i: i.name)
                    )
                    + "."
                )
    triggers = [(n, t) for kind, n, t, _ in objects if kind == "trigger"]
    out += ["", "## Triggers", ""]
    out += [f"- `{n}` on `{t}`" for n, t in triggers] or ["None."]
    out += ["", "## Web access", "", _WEB_NOTE, ""]
    db.close()
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    """``python -m minqing.archive.schema --markdown``: print docs/schema.md."""
    parser = argparse.ArgumentParser(prog="python -m minqing.archive.schema")
    parser.add_argument("--markdown", action="store_true", help="print docs/schema.md")
    args = parser.parse_args(argv)
    if not args.markdown:
        parser.print_help()
        return 2
    sys.stdout.write(markdown())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
