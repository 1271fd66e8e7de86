"""Merge county archives into one city or province archive (issue 16).

:func:`merge` copies every book of each source archive into the destination: books, files,
pages, lines, entries, links, keywords, the OCR cache, the page images (content-addressed
files, copied when missing) and the audit trail (corrections, runs, review decisions,
spot-check samples), each row of which keeps the label of the archive it came from in
``origin`` and its id there in ``origin_id``. Web accounts are not merged: they belong to
each archive's own web layer.

Rules:

* **Idempotent.** Each merged book records a hash of its rows in the source
  (``books.merged_sha``): a book merged before from the same origin and unchanged there is
  left alone (merging the same archive twice writes nothing); one that changed in the
  source is replaced by the source's current rows. Audit rows are keyed by
  ``(origin, origin_id)`` and copied once.
* **Conflicts are refused, all of them before anything is written.** A book id that the
  destination already holds from another origin (or ingested there), or that two sources
  both carry, raises :class:`MergeConflictError` naming the ids and both origins, unless
  the source is given a prefix: every id derived from a book id (book, page, line, entry,
  matter, link ids and the audit rows pointing at them) then starts with the prefix.
* Each source is merged in one transaction; the ``matters`` and ``cadre_days`` tables
  follow through their triggers, the FTS indexes are written for the rows inserted.

Storage only: no printing, no click (see ``minqing/cmd_merge.py``).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from minqing.archive.errors import ArchiveError
from minqing.archive.records import now
from minqing.archive.schema import (
    BOOKS,
    CORRECTIONS,
    DECISIONS,
    ENTRIES,
    ENTRIES_FTS,
    FILES,
    ITEMS,
    KEYWORDS,
    LINES,
    LINES_FTS,
    LINKS,
    OCR_CACHE,
    ORIGINS,
    PAGES,
    RUNS,
    SAMPLES,
)
from minqing.archive.search import bigrams
from minqing.archive.store import Archive


class MergeConflictError(ArchiveError):
    """Two archives hold books with the same id: merging them would mix two notebooks."""


#: correction fields whose old/new values are ids derived from a book id
_ID_FIELDS = {"follow_up_of", "merge_with", "split_at", "entry_id"}


@dataclass(frozen=True)
class Source:
    """One archive to merge: its folder, its origin label and the prefix for its ids."""

    root: Path
    label: str
    prefix: str = ""

    def __post_init__(self) -> None:
        if not self.label or "|" in self.label:
            raise ValueError(f"bad origin label {self.label!r}")


@dataclass
class MergeReport:
    """What one source contributed (rows written; 0 everywhere on a repeated merge)."""

    origin: str
    books: int = 0
    books_unchanged: int = 0
    entries: int = 0
    pages: int = 0
    images_copied: int = 0
    audit_rows: dict[str, int] = field(default_factory=dict)


def sources_from(
    roots: Sequence[Path | str], prefixes: Mapping[str, str] | None = None
) -> list[Source]:
    """Sources labelled by folder name; ``prefixes`` maps a folder (as given, or its name)
    to its prefix."""
    prefixes = dict(prefixes or {})
    out = []
    for r in roots:
        p = Path(r)
        label = p.resolve().name
        pfx = prefixes.get(str(r), prefixes.get(label, prefixes.get(str(p.resolve()), "")))
        out.append(Source(p, label, pfx))
    labels = [s.label for s in out]
    dup = sorted({x for x in labels if labels.count(x) > 1})
    if dup:
        raise ArchiveError(
            Path(str(roots[0])),
            f"two sources share the folder name {', '.join(dup)}",
            "give each county archive its own folder name (the name is its origin label)",
        )
    return out


def _origin_of(row_origin: str | None, label: str) -> str:
    """The origin a merged row keeps: the source's label, chained for merged rows."""
    return label if not row_origin else f"{label}/{row_origin}"


def _book_origin(src_db: Archive, label: str) -> dict[str, str]:
    return {
        r["book_id"]: _origin_of(r["origin"], label)
        for r in src_db.db.query(f"select book_id, origin from {BOOKS}")
    }


def check_conflicts(dest: Archive, sources: Sequence[Source], opened: Sequence[Archive]) -> None:
    """Raise :class:`MergeConflictError` for every book id two origins share (reads only)."""
    held = {
        r["book_id"]: r["origin"] or "(ingested here)"
        for r in dest.db.query(f"select book_id, origin from {BOOKS}")
    }
    clashes: list[str] = []
    for src, a in zip(sources, opened, strict=True):
        for bid, origin in _book_origin(a, src.label).items():
            new_id = src.prefix + bid
            other = held.get(new_id)
            if other is not None and other != origin:
                clashes.append(f"{new_id} ({other} and {origin})")
            held.setdefault(new_id, origin)
    if clashes:
        shown = ", ".join(clashes[:10]) + (
            f" and {len(clashes) - 10} more" if len(clashes) > 10 else ""
        )
        raise MergeConflictError(
            dest.db_path,
            f"book ids held by two archives: {shown}",
            "merge with `--prefix SRC=PFX` so that that source's ids start with PFX",
        )


def merge(dest: Archive, sources: Sequence[Source]) -> list[MergeReport]:
    """Merge every source into ``dest`` (opened for writing); see the module docstring.

    Raises :class:`MergeConflictError` (nothing written) on clashing book ids, and
    :class:`~minqing.archive.errors.ArchiveSchemaError` for a source older than this code.
    """
    if dest.root is None:
        raise ValueError("merge needs an archive folder (images are copied into it)")
    opened = [Archive(s.root) for s in sources]
    try:
        for s, a in zip(sources, opened, strict=True):
            if a.db_path.resolve() == dest.db_path.resolve():
                raise ArchiveError(s.root, "this is the destination archive", "merge another one")
        check_conflicts(dest, sources, opened)
        return [_merge_one(dest, s, a) for s, a in zip(sources, opened, strict=True)]
    finally:
        for a in opened:
            a.close()


def _rows(a: Archive, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
    return list(a.db.query(sql, list(params)))


def _fingerprint(a: Archive, book_id: str) -> str:
    """Every row of a book in the tables merge copies, as one comparable string."""
    parts = []
    for table, where in (
        (BOOKS, "book_id = ?"),
        (FILES, "book_id = ?"),
        (PAGES, "book_id = ?"),
        (LINES, "book_id = ?"),
        (ENTRIES, "book_id = ?"),
        (KEYWORDS, "book_id = ?"),
    ):
        cols = [c for c in a.db.table(table).columns_dict if c not in ("origin", "merged_sha")]
        order = ", ".join(a.db.table(table).pks)
        rows = a.db.execute(
            f"select {', '.join(cols)} from {table} where {where} order by {order}", [book_id]
        ).fetchall()
        parts.append(json.dumps(rows, ensure_ascii=False, default=str))
    return "\n".join(parts)


def _merge_one(dest: Archive, src: Source, a: Archive) -> MergeReport:
    pfx = src.prefix
    report = MergeReport(src.label)

    def pid(x: str | None) -> str | None:
        return None if x is None else pfx + x

    origins = _book_origin(a, src.label)
    with dest.db.atomic():
        for bid in sorted(origins):
            new_bid = pfx + bid
            sha = hashlib.sha256(_fingerprint(a, bid).encode()).hexdigest()
            have = dest.db.execute(
                f"select origin, merged_sha from {BOOKS} where book_id = ?", [new_bid]
            ).fetchone()
            if have == (origins[bid], sha):
                report.books_unchanged += 1
                continue
            _delete_book(dest, new_bid)
            copied = _copy_book(dest, src, a, bid, origins[bid], pid, sha)
            report.books += 1
            report.entries += copied["entries"]
            report.pages += copied["pages"]
            report.images_copied += copied["images"]
        # the OCR cache is keyed by image hash: shared freely, never overwritten
        for row in a.db.query(f"select * from {OCR_CACHE}"):
            dest.db.execute(
                f"insert or ignore into {OCR_CACHE} ({', '.join(row)}) "
                f"values ({', '.join('?' * len(row))})",
                list(row.values()),
            )
        # links between this source's entries (confirmed ones included)
        for row in a.db.query(f"select * from {LINKS}"):
            row["child"], row["parent"] = pid(row["child"]), pid(row["parent"])
            cur = dest.db.execute(
                f"select score, evidence, confirmed from {LINKS} where child = ? and parent = ?",
                [row["child"], row["parent"]],
            ).fetchone()
            if cur != (row["score"], row["evidence"], row["confirmed"]):
                dest.db.table(LINKS).upsert(row, pk=("child", "parent"))
        report.audit_rows = _merge_audit(dest, src, a, pid)
        n_corr = report.audit_rows.get(CORRECTIONS, 0)
        row = {
            "origin": src.label,
            "source": str(src.root),
            "prefix": pfx or None,
            "books": len(origins),
            "entries": a.db.execute(f"select count(*) from {ENTRIES}").fetchone()[0],
            "corrections": a.db.execute(f"select count(*) from {CORRECTIONS}").fetchone()[0],
        }
        cur = next(dest.db.table(ORIGINS).rows_where("origin = ?", [src.label]), None)
        if cur is None or any(cur.get(k) != v for k, v in row.items()) or report.books or n_corr:
            dest.db.table(ORIGINS).upsert({**row, "merged_at": now()}, pk="origin")
    return report


def _delete_book(dest: Archive, book_id: str) -> None:
    db = dest.db
    for (rowid,) in db.execute(f"select rowid from {ENTRIES} where book_id = ?", [book_id]):
        db.execute(f"delete from {ENTRIES_FTS} where rowid = ?", [rowid])
    for (rowid,) in db.execute(f"select rowid from {LINES} where book_id = ?", [book_id]):
        db.execute(f"delete from {LINES_FTS} where rowid = ?", [rowid])
    n = len(book_id) + 1
    db.execute(
        f"delete from {LINKS} where substr(child, 1, ?) = ? or substr(parent, 1, ?) = ?",
        [n, book_id + ":"] * 2,
    )
    for table in (ENTRIES, LINES, PAGES, KEYWORDS, FILES):
        db.execute(f"delete from {table} where book_id = ?", [book_id])
    db.execute(f"delete from {BOOKS} where book_id = ?", [book_id])


def _copy_image(dest_root: Path, src_root: Path, rel: str | None) -> int:
    if not rel:
        return 0
    target = dest_root / rel
    if target.exists():
        return 0
    source = src_root / rel
    if not source.exists():
        return 0  # the source archive lost it; the row still says which file it was
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + f".tmp{os.getpid()}")
    shutil.copyfile(source, tmp)
    os.replace(tmp, target)
    return 1


def _insert(dest: Archive, table: str, rows: Iterable[dict[str, Any]]) -> list[int]:
    """Insert rows as they are; return the new rowids (for the FTS index)."""
    out: list[int] = []
    for row in rows:
        cur = dest.db.execute(
            f"insert into {table} ({', '.join(row)}) values ({', '.join('?' * len(row))})",
            list(row.values()),
        )
        out.append(int(cur.lastrowid or 0))
    return out


def _copy_book(
    dest: Archive,
    src: Source,
    a: Archive,
    bid: str,
    origin: str | None,
    pid: Callable[[str | None], str | None],
    sha: str,
) -> dict[str, int]:
    book = _rows(a, f"select * from {BOOKS} where book_id = ?", [bid])[0]
    book["book_id"] = pid(bid)
    book["origin"] = origin
    book["merged_sha"] = sha
    _insert(dest, BOOKS, [book])
    files = _rows(a, f"select * from {FILES} where book_id = ?", [bid])
    for f in files:
        f["book_id"] = pid(bid)
        # an input path seen by two counties stays one row per origin
        clash = dest.db.execute(
            f"select book_id from {FILES} where path = ?", [f["path"]]
        ).fetchone()
        if clash is not None:
            f["path"] = f"{src.label}:{f['path']}"
        dest.db.execute(f"delete from {FILES} where path = ?", [f["path"]])
    _insert(dest, FILES, files)
    n_images = 0
    pages = _rows(a, f"select * from {PAGES} where book_id = ?", [bid])
    for p in pages:
        p["page_id"], p["book_id"] = pid(p["page_id"]), pid(bid)
        if dest.root is not None and a.root is not None:
            n_images += _copy_image(dest.root, a.root, p["image"])
            n_images += _copy_image(dest.root, a.root, p["original"])
    _insert(dest, PAGES, pages)
    lines = _rows(a, f"select * from {LINES} where book_id = ?", [bid])
    for ln in lines:
        for k in ("line_id", "page_id", "book_id", "entry_id"):
            ln[k] = pid(ln[k])
    for rowid, ln in zip(_insert(dest, LINES, lines), lines, strict=True):
        dest.db.execute(
            f"insert into {LINES_FTS}(rowid, bigrams) values (?, ?)",
            [rowid, bigrams(ln["text"] or "")],
        )
    entries = _rows(a, f"select * from {ENTRIES} where book_id = ?", [bid])
    for e in entries:
        for k in ("entry_id", "book_id", "follow_up_of", "matter_id"):
            e[k] = pid(e[k])
        e["line_ids"] = json.dumps(
            [pid(x) for x in json.loads(e["line_ids"] or "[]")], ensure_ascii=False
        )
    for rowid, e in zip(_insert(dest, ENTRIES, entries), entries, strict=True):
        dest.db.execute(
            f"insert into {ENTRIES_FTS}(rowid, bigrams) values (?, ?)",
            [rowid, bigrams(e["text"] or "")],
        )
    kws = _rows(a, f"select * from {KEYWORDS} where book_id = ?", [bid])
    for kw in kws:
        kw["book_id"] = pid(bid)
    _insert(dest, KEYWORDS, kws)
    return {"entries": len(entries), "pages": len(pages), "images": n_images}


def _merge_audit(
    dest: Archive, src: Source, a: Archive, pid: Callable[[str | None], str | None]
) -> dict[str, int]:
    """Copy corrections, runs, review decisions and spot-check samples not copied before."""
    written: dict[str, int] = {}
    sample_ids: dict[int, int] = {}
    for table, pk in ((CORRECTIONS, "id"), (RUNS, "id"), (DECISIONS, "id"), (SAMPLES, "sample_id")):
        n = 0
        for row in a.db.query(f"select * from {table} order by {pk}"):
            origin = _origin_of(row.get("origin"), src.label)
            oid = row["origin_id"] if row.get("origin") else row[pk]
            have = dest.db.execute(
                f"select {pk} from {table} where origin = ? and origin_id = ?", [origin, oid]
            ).fetchone()
            old_pk = row.pop(pk)
            if have is not None:
                if table == SAMPLES:
                    sample_ids[old_pk] = have[0]
                continue
            row["origin"], row["origin_id"] = origin, oid
            if table == CORRECTIONS:
                row["target_id"] = pid(row["target_id"])
                if row["field"] in _ID_FIELDS:
                    row["old"], row["new"] = pid(row["old"]), pid(row["new"])
            elif table == DECISIONS:
                for k in ("book_id", "page_id", "page_id2"):
                    row[k] = pid(row[k])
            (new_pk,) = _insert(dest, table, [row])
            if table == SAMPLES:
                sample_ids[old_pk] = new_pk
                items = _rows(a, f"select * from {ITEMS} where sample_id = ?", [old_pk])
                for it in items:
                    it["sample_id"] = new_pk
                    for k in ("line_id", "book_id", "page_id"):
                        it[k] = pid(it[k])
                _insert(dest, ITEMS, items)
            n += 1
        written[table] = n
    return written
