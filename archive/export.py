"""Exports of the archive (DESIGN.md §5: the entries contract).

Contract fields, on every entry, never renamed: ``entry_id``, ``book``, ``page_start``,
``page_end``, ``date``, ``category_code``, ``category``, ``text``, ``follow_up_of``,
``status``. More fields are added freely.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

from minqing.archive.schema import BOOKS, ENTRIES
from minqing.archive.store import Archive

CONTRACT_FIELDS = (
    "entry_id",
    "book",
    "page_start",
    "page_end",
    "date",
    "category_code",
    "category",
    "text",
    "follow_up_of",
    "status",
)
EXTRA_FIELDS = (
    "seq",
    "date_inferred",
    "status_code",
    "matter_id",
    "category_score",
    "category_evidence",
    "category_confirmed",
    "fields",
    "cadre",
    "township",
    "village",
    "date_kind",
    "shares_heading",
    "later_notes",
    "body_dates",
)
EXPORT_FIELDS = CONTRACT_FIELDS + EXTRA_FIELDS


def iter_entries(archive: Archive) -> Iterator[dict[str, Any]]:
    """Every entry as an export record, in book and entry order."""
    sql = (
        f"select e.*, b.cadre as b_cadre, b.township as b_township, b.village as b_village "
        f"from {ENTRIES} e left join {BOOKS} b on b.book_id = e.book_id "
        "order by e.book_id, e.seq"
    )
    for r in archive.db.query(sql):
        yield {
            "entry_id": r["entry_id"],
            "book": r["book_id"],
            "page_start": r["page_start"],
            "page_end": r["page_end"],
            "date": r["date"],
            "category_code": r["category_code"],
            "category": r["category"],
            "text": r["text"],
            "follow_up_of": r["follow_up_of"],
            "status": r["status"],
            "seq": r["seq"],
            "date_inferred": bool(r["date_inferred"]),
            "status_code": r["status_code"],
            "matter_id": r["matter_id"],
            "category_score": r["category_score"],
            "category_evidence": json.loads(r["category_evidence"] or "[]"),
            "category_confirmed": bool(r["category_confirmed"]),
            "fields": json.loads(r["fields"] or "{}"),
            "cadre": r["b_cadre"],
            "township": r["b_township"],
            "village": r["b_village"],
            # issue 18 (absent in archives written before it)
            "date_kind": r.get("date_kind") or "gregorian",
            "shares_heading": bool(r.get("shares_heading")),
            "later_notes": json.loads(r.get("later_notes") or "[]"),
            "body_dates": [
                {"kind": k, "date": d} for k, d in json.loads(r.get("body_dates") or "[]")
            ],
        }


def to_jsonl(record: dict[str, Any]) -> str:
    """One export record as a JSON line (UTF-8, not ASCII-escaped)."""
    return json.dumps(record, ensure_ascii=False)


def csv_header() -> str:
    """The CSV header line of the entries export."""
    buf = io.StringIO()
    csv.writer(buf).writerow(EXPORT_FIELDS)
    return buf.getvalue()


def to_csv_row(record: dict[str, Any]) -> str:
    """One export record as a CSV row; lists and objects as JSON."""
    buf = io.StringIO()
    values = []
    for f in EXPORT_FIELDS:
        v = record.get(f)
        if isinstance(v, (list, dict)):
            v = json.dumps(v, ensure_ascii=False)
        values.append("" if v is None else v)
    csv.writer(buf).writerow(values)
    return buf.getvalue()
