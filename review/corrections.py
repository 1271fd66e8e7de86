"""Human review of the archive: corrections that outrank the machine forever (issue 7).

Everything a reviewer can change lives here, as plain functions over an
:class:`archive.store.Archive` (the Datasette plugin and the CLI are thin adapters):

* :func:`correct_line` — a line's text; :func:`check_line` — or confirms it as it stands;
* :func:`set_category`, :func:`set_status`, :func:`set_date` — an entry's values;
* :func:`confirm_link` — which earlier entry an entry follows up (or none);
* :func:`split_entry`, :func:`merge_with_next`, :func:`move_line` — segmentation fixes.

Each call is ONE transaction: the change, the derived data (entry text, the
``entries_fts``/``lines_fts`` search rows, the machine category and status of an
unconfirmed entry, follow-up chains) and one audit row per changed value in
``corrections``. Each takes an ``expected`` value (the value the reviewer saw, or an
entry's :func:`entry_rev`): when the archive holds something else, another reviewer
got there first and :class:`StaleEditError` is raised and nothing changes.

Why corrections survive re-runs
-------------------------------
Line ids (``book/page/line``) and entry ids (``book:seq``) are renumbered whenever
OCR or segmentation changes, so every human decision is ALSO stored in
``review_decisions`` anchored to the *content*: the page image hash plus the line's
box. :func:`reapply_decisions` re-imposes them on whatever the machine wrote (it
finds the line whose box overlaps the anchor on the same page image):

* corrected line text is carried by :func:`archive.records.write_page` itself;
* confirmed category/status are carried by :func:`archive.records.write_entries`;
* dates, entry boundaries (split/merge/move) and confirmed links are carried by
  :func:`reapply_decisions`, which the pipeline must call after it rewrites a book's
  entries (see the function's docstring).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from minqing.archive import records
from minqing.archive.errors import BadCorrectionError
from minqing.archive.schema import (
    BOOKS,
    CALIBRATION,
    CORRECTIONS,
    DECISIONS,
    ENTRIES,
    LINES,
    LINKS,
    PAGES,
)
from minqing.archive.store import Archive
from minqing.classify.types import CATEGORIES, STATUSES

#: decision kinds stored in ``review_decisions``
KINDS = ("start", "join", "category", "status", "date", "link")

_WS = re.compile(r"\s+")
#: a new decision replaces an older one of the same kind on the same line: same page image
#: and boxes this alike (not the rule that carries decisions across a re-OCR, which is
#: :func:`minqing.archive.records.carry_target`)
SAME_LINE_IOU = 0.9


class StaleEditError(BadCorrectionError):
    """The value changed since the reviewer loaded it (another reviewer saved first)."""


class TargetNotFoundError(BadCorrectionError):
    """The line, entry or page named by a correction is not in the archive."""


# -- helpers -------------------------------------------------------------------------------


def _one(archive: Archive, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
    return next(iter(archive.db.query(sql, list(params))), None)


def _line(archive: Archive, line_id: str) -> dict[str, Any]:
    row = _one(archive, f"select rowid, * from {LINES} where line_id = ?", [line_id])
    if row is None:
        raise TargetNotFoundError(
            archive.db_path,
            f"no line {line_id!r}",
            "reload the page: the book may have been re-ingested",
        )
    return row


def _entry(archive: Archive, eid: str) -> dict[str, Any]:
    row = _one(archive, f"select rowid, * from {ENTRIES} where entry_id = ?", [eid])
    if row is None:
        raise TargetNotFoundError(
            archive.db_path,
            f"no entry {eid!r}",
            "reload the page: the book may have been re-segmented",
        )
    return row


def entry_rev(row: dict[str, Any]) -> str:
    """A short version tag of an entry's structure and values (for stale-form checks)."""
    key = json.dumps(
        [
            row.get("entry_id"),
            row.get("line_ids"),
            row.get("text"),
            row.get("category_code"),
            row.get("status_code"),
            row.get("date"),
        ],
        ensure_ascii=False,
    )
    return hashlib.sha1(key.encode("utf-8")).hexdigest()[:12]


def _check(archive: Archive, what: str, expected: Any, current: Any) -> None:
    if expected is None:
        return
    norm = lambda v: "" if v is None else str(v)  # noqa: E731
    if norm(expected) != norm(current):
        raise StaleEditError(
            archive.db_path,
            f"{what} was changed by someone else since you loaded it "
            f"(you saw {norm(expected)!r}, it is now {norm(current)!r})",
            "reload the page and apply your change again",
        )


def _entry_text(lines: Iterable[str]) -> str:
    # the project's convention: lines joined without separator, whitespace removed
    return _WS.sub("", "".join(t or "" for t in lines))


@dataclass(frozen=True)
class Anchor:
    """Where a line is, independent of line numbering: page image hash + box."""

    page_id: str
    page_sha: str
    box: tuple[float, float, float, float]


def line_anchor(archive: Archive, line_id: str) -> Anchor:
    """The content anchor of a line (raises :class:`TargetNotFoundError`)."""
    r = _one(
        archive,
        f"select l.page_id, p.sha256, l.x0, l.y0, l.x1, l.y1 from {LINES} l "
        f"join {PAGES} p on p.page_id = l.page_id where l.line_id = ?",
        [line_id],
    )
    if r is None:
        _line(archive, line_id)  # raises
        raise AssertionError  # pragma: no cover
    return Anchor(
        r["page_id"], r["sha256"] or "", (r["x0"] or 0, r["y0"] or 0, r["x1"] or 0, r["y1"] or 0)
    )


def resolve_anchor(archive: Archive, book_id: str, anchor: Anchor) -> str | None:
    """The line id that the anchor designates now, or None when it is gone."""
    rows = list(
        archive.db.query(
            f"select l.line_id, l.x0, l.y0, l.x1, l.y1 from {LINES} l join {PAGES} p "
            "on p.page_id = l.page_id where l.book_id = ? and p.sha256 = ?",
            [book_id, anchor.page_sha],
        )
    )
    if not rows:  # the image changed (new normalisation): fall back to the page number
        rows = list(
            archive.db.query(
                f"select line_id, x0, y0, x1, y1 from {LINES} where page_id = ?", [anchor.page_id]
            )
        )
    return records.carry_target(
        anchor.box,
        (
            (r["line_id"], None if r["x0"] is None else (r["x0"], r["y0"], r["x1"], r["y1"]))
            for r in rows
        ),
    )


def _record_decision(
    archive: Archive,
    who: str,
    book_id: str,
    kind: str,
    anchor: Anchor,
    value: Any,
    anchor2: Anchor | None = None,
) -> None:
    """Store a durable decision; older decisions of the same kind on the same line lapse."""
    # structure marks on one line exclude each other; values replace older values
    kinds = ("start", "join") if kind in ("start", "join") else (kind,)
    for old in list(
        archive.db.query(
            f"select id, page_sha, box from {DECISIONS} where book_id = ? and active = 1 "
            f"and kind in ({','.join('?' * len(kinds))})",
            [book_id, *kinds],
        )
    ):
        if (
            old["page_sha"] == anchor.page_sha
            and records.box_iou(anchor.box, json.loads(old["box"])) >= SAME_LINE_IOU
        ):
            archive.db.execute(f"update {DECISIONS} set active = 0 where id = ?", [old["id"]])
    archive.db.table(DECISIONS).insert(
        {
            "at": records.now(),
            "who": who,
            "book_id": book_id,
            "kind": kind,
            "page_id": anchor.page_id,
            "page_sha": anchor.page_sha,
            "box": json.dumps(list(anchor.box)),
            "page_id2": anchor2.page_id if anchor2 else None,
            "page_sha2": anchor2.page_sha if anchor2 else None,
            "box2": json.dumps(list(anchor2.box)) if anchor2 else None,
            "value": None if value is None else str(value),
            "active": 1,
        }
    )


def _first_line(row: dict[str, Any]) -> str | None:
    ids = json.loads(row["line_ids"] or "[]")
    return ids[0] if ids else None


def _who(who: str) -> str:
    who = (who or "").strip()
    if not who:
        raise BadCorrectionError("archive", "a correction needs a reviewer name", "log in first")
    return who


# -- line text -----------------------------------------------------------------------------


def normalise_line_text(text: str) -> str:
    """A reviewer's line text as stored: NFC, no line breaks, outer whitespace removed."""
    text = unicodedata.normalize("NFC", text or "")
    return text.replace("\r", "").replace("\n", "").strip()


def correct_line(
    archive: Archive, line_id: str, text: str, *, who: str, expected: str | None = None
) -> bool:
    """Set a line's text; returns False when it already had that text (nothing recorded).

    Updates the line, ``lines_fts``, the text of its entry (and ``entries_fts``) and,
    unless confirmed by a reviewer, the entry's category and status.

    Raises:
        TargetNotFoundError: no such line.
        StaleEditError: the line's text is not ``expected`` any more.
    """
    who = _who(who)
    with archive.db.atomic():
        return _correct_line(archive, line_id, text, who, expected)


def _correct_line(archive: Archive, line_id: str, text: str, who: str, expected: Any) -> bool:
    new = normalise_line_text(text)
    row = _line(archive, line_id)
    _check(archive, f"line {line_id}", expected, row["text"])
    if new == (row["text"] or ""):
        return False
    _apply_line_text(archive, row, new)
    records.record_correction(archive, who, LINES, line_id, "text", row["text"], new)
    return True


def check_line(
    archive: Archive, line_id: str, text: str, *, who: str, expected: str | None = None
) -> str:
    """A reviewer's verdict on one line: its text as read off the image (issue 15).

    Returns ``"corrected"`` when the text changed (as :func:`correct_line`), ``"checked"``
    when the reviewer confirmed the text as it stood: the line then counts as checked (it
    is marked corrected with its own text, so a re-run carries it like any correction, and
    its now-settled alternates leave the search index), audited as field ``checked``; and
    ``"already"`` when it was checked before (nothing recorded).

    Raises:
        TargetNotFoundError: no such line.
        StaleEditError: the line's text is not ``expected`` any more.
    """
    who = _who(who)
    with archive.db.atomic():
        if _correct_line(archive, line_id, text, who, expected):
            return "corrected"
        row = _line(archive, line_id)
        if row["corrected"]:
            return "already"
        _apply_line_text(archive, row, row["text"] or "")
        records.record_correction(archive, who, LINES, line_id, "checked", None, row["text"])
        return "checked"


def _apply_line_text(archive: Archive, row: dict[str, Any], new: str) -> None:
    archive.db.execute(
        f"update {LINES} set text = ?, corrected = 1, corrected_text = ? where line_id = ?",
        [new, new, row["line_id"]],
    )
    # the archive drops a corrected line's alternates (a trigger) and reindexes it without
    records.index_line(archive, row["line_id"])
    if row["entry_id"]:
        refresh_entry(archive, row["entry_id"])


def refresh_entry(archive: Archive, eid: str) -> None:
    """Recompute an entry's derived data from its lines (inside the caller's transaction).

    Text and search row always; category and status only while not confirmed.
    """
    from minqing.classify import classify_category, classify_status

    row = _entry(archive, eid)
    ids = json.loads(row["line_ids"] or "[]")
    texts = (
        {
            r["line_id"]: r["text"]
            for r in archive.db.query(
                f"select line_id, text from {LINES} where line_id in ({','.join('?' * len(ids))})",
                ids,
            )
        }
        if ids
        else {}
    )
    text = _entry_text(texts.get(i, "") for i in ids)
    upd: dict[str, Any] = {"text": text}
    if not row["category_confirmed"]:
        code, score, evidence = classify_category(text)
        upd.update(
            category_code=code,
            category=CATEGORIES[code],
            category_score=score,
            category_evidence=json.dumps(list(evidence), ensure_ascii=False),
        )
    if not row["status_confirmed"]:
        st = classify_status(text)[0]
        upd.update(status_code=st, status=STATUSES[st])
    archive.db.table(ENTRIES).update(eid, upd)
    records.index_entries(archive, [eid])


# -- entry values --------------------------------------------------------------------------


def _entry_decision(archive: Archive, who: str, row: dict[str, Any], kind: str, value: Any) -> None:
    first = _first_line(row)
    if first is not None:
        _record_decision(archive, who, row["book_id"], kind, line_anchor(archive, first), value)


def set_category(
    archive: Archive, eid: str, code: int | str, *, who: str, expected: int | str | None = None
) -> bool:
    """Confirm or change an entry's category (1–8). Returns False when nothing changed."""
    who = _who(who)
    try:
        code = int(code)
    except (TypeError, ValueError):
        code = 0
    if code not in CATEGORIES:
        raise BadCorrectionError(
            archive.db_path, f"category {code!r} is not 1–8", "pick one of the eight categories"
        )
    with archive.db.atomic():
        return _set_category(archive, eid, code, who, expected)


def _set_category(archive: Archive, eid: str, code: int, who: str, expected: Any) -> bool:
    row = _entry(archive, eid)
    _check(archive, f"the category of {eid}", expected, row["category_code"])
    if row["category_code"] == code and row["category_confirmed"]:
        return False
    archive.db.table(ENTRIES).update(
        eid,
        {
            "category_code": code,
            "category": CATEGORIES[code],
            "category_score": 1.0,
            "category_confirmed": 1,
        },
    )
    _entry_decision(archive, who, row, "category", code)
    records.record_correction(
        archive, who, ENTRIES, eid, "category_code", row["category_code"], code
    )
    return True


def set_status(
    archive: Archive, eid: str, status: str, *, who: str, expected: str | None = None
) -> bool:
    """Confirm or change an entry's status (a key of ``classify.types.STATUSES``)."""
    who = _who(who)
    if status not in STATUSES:
        raise BadCorrectionError(
            archive.db_path, f"status {status!r} is unknown", f"use one of {', '.join(STATUSES)}"
        )
    with archive.db.atomic():
        return _set_status(archive, eid, status, who, expected)


def _set_status(archive: Archive, eid: str, status: str, who: str, expected: Any) -> bool:
    row = _entry(archive, eid)
    _check(archive, f"the status of {eid}", expected, row["status_code"])
    if row["status_code"] == status and row["status_confirmed"]:
        return False
    archive.db.table(ENTRIES).update(
        eid, {"status_code": status, "status": STATUSES[status], "status_confirmed": 1}
    )
    _entry_decision(archive, who, row, "status", status)
    records.record_correction(archive, who, ENTRIES, eid, "status_code", row["status_code"], status)
    return True


def parse_iso_date(value: str | None) -> str | None:
    """``YYYY-MM-DD`` (or empty for "no date") → ISO string or None; raises ValueError."""
    value = (value or "").strip()
    if not value:
        return None
    return dt.date.fromisoformat(value).isoformat()


def set_date(
    archive: Archive, eid: str, date: str | None, *, who: str, expected: str | None = None
) -> bool:
    """Set an entry's date (ISO ``YYYY-MM-DD``; empty for none) and mark it confirmed."""
    who = _who(who)
    try:
        iso = parse_iso_date(date)
    except ValueError:
        raise BadCorrectionError(
            archive.db_path,
            f"date {date!r} is not a date",
            "write it as YYYY-MM-DD, e.g. 2024-03-05",
        ) from None
    with archive.db.atomic():
        return _set_date(archive, eid, iso, who, expected)


def _set_date(archive: Archive, eid: str, iso: str | None, who: str, expected: Any) -> bool:
    row = _entry(archive, eid)
    _check(archive, f"the date of {eid}", expected, row["date"])
    if row["date"] == iso and row.get("date_confirmed"):
        return False
    archive.db.table(ENTRIES).update(
        eid,
        {"date": iso, "month": iso[:7] if iso else None, "date_inferred": 0, "date_confirmed": 1},
    )
    _entry_decision(archive, who, row, "date", iso or "")
    records.record_correction(archive, who, ENTRIES, eid, "date", row["date"], iso)
    return True


# -- follow-up links -----------------------------------------------------------------------

#: parent value of a confirmed "this entry follows nothing up" row in ``links``
NO_PARENT = ""


def _write_link(archive: Archive, child: str, parent: str | None) -> None:
    archive.db.execute(f"delete from {LINKS} where child = ?", [child])
    archive.db.table(LINKS).insert(
        {
            "child": child,
            "parent": parent or NO_PARENT,
            "score": 1.0,
            "evidence": json.dumps(
                ["reviewer" if parent else "reviewer: not a follow-up"], ensure_ascii=False
            ),
            "confirmed": 1,
        },
        pk=("child", "parent"),
        replace=True,
    )


def confirm_link(
    archive: Archive, child: str, parent: str | None, *, who: str, expected: str | None = None
) -> bool:
    """Confirm which entry ``child`` follows up (``parent``), or that it follows none (None/"").

    ``expected`` is the ``follow_up_of`` the reviewer saw ("" for none). The choice is
    stored as a confirmed row in ``links`` (a confirmed row with an empty parent means
    "no follow-up"), which the pipeline's re-linking keeps.
    """
    who = _who(who)
    with archive.db.atomic():
        return _confirm_link(archive, child, parent or None, who, expected)


def _confirm_link(
    archive: Archive, child: str, parent: str | None, who: str, expected: Any
) -> bool:
    row = _entry(archive, child)
    _check(archive, f"the follow-up link of {child}", expected, row["follow_up_of"])
    if parent is not None:
        prow = _entry(archive, parent)
        if parent == child:
            raise BadCorrectionError(
                archive.db_path, f"{child} cannot follow itself up", "choose an earlier entry"
            )
        if _is_descendant(archive, parent, child):
            raise BadCorrectionError(
                archive.db_path,
                f"{parent} already follows up {child}: a link back would make a loop",
                "choose the matter's first entry instead",
            )
    else:
        prow = None
    was_confirmed = _one(
        archive, f"select 1 from {LINKS} where child = ? and confirmed = 1", [child]
    )
    if row["follow_up_of"] == parent and was_confirmed:
        return False
    _write_link(archive, child, parent)
    records.refresh_matters(archive)
    first = _first_line(row)
    if first is not None:
        pfirst = _first_line(prow) if prow else None
        _record_decision(
            archive,
            who,
            row["book_id"],
            "link",
            line_anchor(archive, first),
            parent or "",
            line_anchor(archive, pfirst) if pfirst else None,
        )
    records.record_correction(
        archive, who, LINKS, child, "follow_up_of", row["follow_up_of"], parent
    )
    return True


def _is_descendant(archive: Archive, eid: str, ancestor: str) -> bool:
    seen = set()
    cur: str | None = eid
    while cur and cur not in seen:
        seen.add(cur)
        r = _one(archive, f"select follow_up_of from {ENTRIES} where entry_id = ?", [cur])
        cur = r["follow_up_of"] if r else None
        if cur == ancestor:
            return True
    return False


def link_candidates(archive: Archive, eid: str, limit: int = 8) -> list[dict[str, Any]]:
    """Entries ``eid`` may follow up: the machine's suggestions first, then earlier
    entries of the same book, then of the same village (latest first)."""
    row = _entry(archive, eid)
    out: dict[str, dict[str, Any]] = {}
    for r in archive.db.query(
        f"select e.entry_id, e.date, e.text, k.score, k.confirmed from {LINKS} k "
        f"join {ENTRIES} e on e.entry_id = k.parent where k.child = ? "
        "order by k.confirmed desc, k.score desc",
        [eid],
    ):
        out[r["entry_id"]] = {
            **r,
            "why": "confirmed" if r["confirmed"] else f"machine {r['score']:.2f}",
        }
    for r in archive.db.query(
        f"select entry_id, date, text from {ENTRIES} where book_id = ? and seq < ? "
        "order by seq desc limit ?",
        [row["book_id"], row["seq"], limit],
    ):
        out.setdefault(r["entry_id"], {**r, "why": "same book"})
    if row["village"]:
        for r in archive.db.query(
            f"select entry_id, date, text from {ENTRIES} where village = ? and book_id != ? "
            "and (date is null or ? is null or date <= ?) order by date desc limit ?",
            [row["village"], row["book_id"], row["date"], row["date"], limit],
        ):
            out.setdefault(r["entry_id"], {**r, "why": "same village"})
    return list(out.values())[: max(limit, 1)]


# -- segmentation: split, merge, move ------------------------------------------------------


def _book_groups(archive: Archive, book_id: str) -> list[list[str]]:
    return [
        json.loads(r["line_ids"] or "[]")
        for r in archive.db.query(
            f"select line_ids from {ENTRIES} where book_id = ? order by seq", [book_id]
        )
    ]


def split_entry(
    archive: Archive, eid: str, at_line: str, *, who: str, expected: str | None = None
) -> str:
    """Split entry ``eid`` so that a new entry starts at line ``at_line``; returns its id.

    ``expected`` is the entry's :func:`entry_rev` as the reviewer saw it.
    """
    who = _who(who)
    with archive.db.atomic():
        row = _entry(archive, eid)
        _check(archive, f"entry {eid}", expected, entry_rev(row))
        ids = json.loads(row["line_ids"] or "[]")
        if at_line not in ids or ids.index(at_line) == 0:
            raise BadCorrectionError(
                archive.db_path,
                f"line {at_line} is not inside entry {eid} (after its first line)",
                "pick a line of the entry other than its first",
            )
        _record_decision(archive, who, row["book_id"], "start", line_anchor(archive, at_line), None)
        records.record_correction(archive, who, ENTRIES, eid, "split_at", None, at_line)
        new_ids = _regroup(archive, row["book_id"])
    return new_ids.get(at_line, at_line)


def merge_with_next(archive: Archive, eid: str, *, who: str, expected: str | None = None) -> None:
    """Merge entry ``eid`` with the entry after it (segmentation cut one matter in two)."""
    who = _who(who)
    with archive.db.atomic():
        row = _entry(archive, eid)
        _check(archive, f"entry {eid}", expected, entry_rev(row))
        nxt = _one(
            archive,
            f"select * from {ENTRIES} where book_id = ? and seq > ? order by seq limit 1",
            [row["book_id"], row["seq"]],
        )
        if nxt is None:
            raise BadCorrectionError(
                archive.db_path, f"{eid} is the last entry of its book", "nothing to merge it with"
            )
        _record_decision(
            archive, who, row["book_id"], "join", line_anchor(archive, _first_line(nxt) or ""), None
        )
        records.record_correction(archive, who, ENTRIES, eid, "merge_with", None, nxt["entry_id"])
        _regroup(archive, row["book_id"])


def move_line(
    archive: Archive, line_id: str, direction: str, *, who: str, expected: str | None = None
) -> None:
    """Move the first line of an entry to the previous entry (``"prev"``) or the last
    line of an entry to the next one (``"next"``). ``expected``: the entry's rev."""
    who = _who(who)
    if direction not in ("prev", "next"):
        raise BadCorrectionError(archive.db_path, f"direction {direction!r}", "use prev or next")
    with archive.db.atomic():
        line = _line(archive, line_id)
        if not line["entry_id"]:
            raise BadCorrectionError(
                archive.db_path, f"line {line_id} belongs to no entry", "split an entry instead"
            )
        row = _entry(archive, line["entry_id"])
        _check(archive, f"entry {row['entry_id']}", expected, entry_rev(row))
        ids = json.loads(row["line_ids"] or "[]")
        book = row["book_id"]
        if direction == "prev":
            prev = _one(
                archive,
                f"select entry_id from {ENTRIES} where book_id = ? and seq < ? "
                "order by seq desc limit 1",
                [book, row["seq"]],
            )
            if ids[0] != line_id or prev is None:
                raise BadCorrectionError(
                    archive.db_path,
                    f"line {line_id} is not the first line of an entry with an entry before it",
                    "only an entry's first line can move to the previous entry; split first",
                )
            _record_decision(archive, who, book, "join", line_anchor(archive, line_id), None)
            if len(ids) > 1:
                _record_decision(archive, who, book, "start", line_anchor(archive, ids[1]), None)
            target = prev["entry_id"]
        else:
            nxt = _one(
                archive,
                f"select line_ids, entry_id from {ENTRIES} where book_id = ? and seq > ? "
                "order by seq limit 1",
                [book, row["seq"]],
            )
            if ids[-1] != line_id or nxt is None:
                raise BadCorrectionError(
                    archive.db_path,
                    f"line {line_id} is not the last line of an entry with an entry after it",
                    "only an entry's last line can move to the next entry; split first",
                )
            if len(ids) > 1:
                _record_decision(archive, who, book, "start", line_anchor(archive, line_id), None)
            _record_decision(
                archive, who, book, "join", line_anchor(archive, _first_line(nxt) or ""), None
            )
            target = nxt["entry_id"]
        records.record_correction(archive, who, LINES, line_id, "entry_id", row["entry_id"], target)
        _regroup(archive, book)


def _marks(archive: Archive, book_id: str) -> dict[str, str]:
    """Active structure decisions of a book, resolved to current line ids (latest wins)."""
    out: dict[str, str] = {}
    for d in archive.db.query(
        f"select * from {DECISIONS} where book_id = ? and active = 1 "
        "and kind in ('start', 'join') order by id",
        [book_id],
    ):
        lid = resolve_anchor(
            archive, book_id, Anchor(d["page_id"], d["page_sha"] or "", tuple(json.loads(d["box"])))
        )
        if lid is not None:
            out[lid] = d["kind"]
    return out


def _line_order(archive: Archive, book_id: str) -> list[str]:
    return [
        r["line_id"]
        for r in archive.db.query(
            f"select line_id from {LINES} where book_id = ? order by page_no, line_no", [book_id]
        )
    ]


def _regroup(archive: Archive, book_id: str) -> dict[str, str]:
    """Impose the book's start/join marks on its entries; rebuild entries that changed.

    Returns a map line id → the id of the entry it now belongs to. Runs inside the
    caller's transaction.
    """
    groups = _book_groups(archive, book_id)
    in_entry = {lid for g in groups for lid in g}
    order = [lid for lid in _line_order(archive, book_id) if lid in in_entry]
    marks = _marks(archive, book_id)
    starts = {g[0] for g in groups if g}
    for lid, kind in marks.items():
        if lid not in in_entry:
            continue
        if kind == "start":
            starts.add(lid)
        else:
            starts.discard(lid)
    new_groups: list[list[str]] = []
    for i, lid in enumerate(order):
        if i == 0 or lid in starts:
            new_groups.append([])
        new_groups[-1].append(lid)
    if new_groups != groups:
        _rebuild_entries(archive, book_id, new_groups)
    return {
        r["line_id"]: r["entry_id"]
        for r in archive.db.query(
            f"select line_id, entry_id from {LINES} where book_id = ?", [book_id]
        )
    }


def _rebuild_entries(archive: Archive, book_id: str, groups: list[list[str]]) -> None:
    """Replace a book's entries by ``groups`` of line ids, keeping what can be kept.

    A group that starts where an old entry started keeps that entry's values (date,
    fields, confirmed category/status); a new group gets machine values from the
    classify stage. Links and line → entry pointers follow the renumbering.
    """
    from minqing.classify import classify_category, classify_status, segment_book

    old = list(
        archive.db.query(
            f"select rowid, * from {ENTRIES} where book_id = ? order by seq", [book_id]
        )
    )
    by_first = {_first_line(r): r for r in old if _first_line(r)}
    line_to_old = {lid: r for r in old for lid in json.loads(r["line_ids"] or "[]")}
    lines = {
        r["line_id"]: r
        for r in archive.db.query(
            f"select l.*, p.height from {LINES} l join {PAGES} p on p.page_id = l.page_id "
            "where l.book_id = ?",
            [book_id],
        )
    }
    book = _one(archive, "select * from books where book_id = ?", [book_id]) or {}
    new_rows: list[dict[str, Any]] = []
    prev_date: str | None = None
    for seq, g in enumerate(groups, start=1):
        eid = records.entry_id(book_id, seq)
        text = _entry_text(lines[lid]["text"] for lid in g)
        keep = by_first.get(g[0])
        origin = line_to_old.get(g[0])
        if keep is not None:
            row = {k: v for k, v in keep.items() if k != "rowid"}
            row.update(entry_id=eid, seq=seq, line_ids=json.dumps(g, ensure_ascii=False), text=text)
        else:
            from minqing.classify.types import BookLine

            bls = [
                BookLine(
                    line_id=lid,
                    page_no=lines[lid]["page_no"],
                    line_no=lines[lid]["line_no"],
                    text=lines[lid]["text"] or "",
                    box=(lines[lid]["x0"], lines[lid]["y0"], lines[lid]["x1"], lines[lid]["y1"])
                    if lines[lid]["x0"] is not None
                    else None,
                    page_height=lines[lid]["height"] or 0,
                )
                for lid in g
            ]
            found = segment_book(bls)
            dated = [e.date for e in found if e.date is not None and not e.date_inferred]
            date = dated[0].isoformat() if dated else prev_date
            row = {
                "entry_id": eid,
                "book_id": book_id,
                "seq": seq,
                "date": date,
                "date_inferred": 0 if dated else int(date is not None),
                "month": date[:7] if date else None,
                "category_confirmed": 0,
                "status_confirmed": 0,
                "date_confirmed": 0,
                "follow_up_of": None,
                "matter_id": eid,
                "fields": json.dumps(dict(found[0].fields) if found else {}, ensure_ascii=False),
                "line_ids": json.dumps(g, ensure_ascii=False),
                "text": text,
                "cadre": book.get("cadre"),
                "township": book.get("township"),
                "village": book.get("village"),
                "classifier": (origin or {}).get("classifier"),
            }
        if not row.get("category_confirmed"):
            code, score, evidence = classify_category(text)
            row.update(
                category_code=code,
                category=CATEGORIES[code],
                category_score=score,
                category_evidence=json.dumps(list(evidence), ensure_ascii=False),
            )
        if not row.get("status_confirmed"):
            st = classify_status(text)[0]
            row.update(status_code=st, status=STATUSES[st])
        pages = [lines[lid]["page_no"] for lid in g]
        row.update(page_start=min(pages), page_end=max(pages))
        prev_date = row.get("date") or prev_date
        new_rows.append(row)
    # old entry id → new entry id: the group holding the old entry's first line
    line_to_new = {lid: r["entry_id"] for r in new_rows for lid in json.loads(r["line_ids"])}
    id_map = {r["entry_id"]: line_to_new.get(_first_line(r) or "") for r in old}
    records.unindex_entries(archive, [r["rowid"] for r in old])
    archive.db.execute(f"delete from {ENTRIES} where book_id = ?", [book_id])
    archive.db.execute(f"update {LINES} set entry_id = null where book_id = ?", [book_id])
    archive.db.table(ENTRIES).insert_all(new_rows, pk="entry_id", alter=True)
    for r in new_rows:
        ids = json.loads(r["line_ids"])
        archive.db.execute(
            f"update {LINES} set entry_id = ? where line_id in ({','.join('?' * len(ids))})",
            [r["entry_id"], *ids],
        )
    records.index_entries(archive, [r["entry_id"] for r in new_rows])
    _remap_links(archive, book_id, id_map)
    records.refresh_matters(archive)


def _remap_links(archive: Archive, book_id: str, id_map: dict[str, str | None]) -> None:
    prefix = book_id + ":"
    rows = list(
        archive.db.query(
            f"select * from {LINKS} where child like ? or parent like ?",
            [prefix + "%", prefix + "%"],
        )
    )
    for r in rows:
        archive.db.execute(
            f"delete from {LINKS} where child = ? and parent = ?", [r["child"], r["parent"]]
        )
    for r in rows:
        child = id_map.get(r["child"], r["child"]) if r["child"].startswith(prefix) else r["child"]
        parent = r["parent"]
        if parent.startswith(prefix):
            parent = id_map.get(parent, parent)
        if not child or (parent is None) or child == parent:
            continue
        archive.db.table(LINKS).insert(
            {**r, "child": child, "parent": parent}, pk=("child", "parent"), replace=True
        )


# -- re-imposing decisions after a machine re-run ------------------------------------------


def reapply_decisions(archive: Archive, book_ids: Iterable[str] | None = None) -> int:
    """Re-impose every reviewer decision on the books' current machine output.

    The pipeline must call this after it rewrites a book's entries
    (``records.write_entries``, same transaction) and again after ``write_links``
    (``_link``), so that entry boundaries, dates and confirmed links made by reviewers
    outrank re-segmentation and re-linking. Idempotent; returns the number of
    decisions that could be applied (anchors whose line no longer exists are skipped,
    their audit rows stay).
    """
    if book_ids is None:
        book_ids = [
            r["book_id"]
            for r in archive.db.query(f"select distinct book_id from {DECISIONS} where active = 1")
        ]
    applied = 0
    for book in book_ids:
        _regroup(archive, book)
        entry_of = {
            r["line_id"]: r["entry_id"]
            for r in archive.db.query(
                f"select line_id, entry_id from {LINES} where book_id = ?", [book]
            )
        }
        for d in list(
            archive.db.query(
                f"select * from {DECISIONS} where book_id = ? and active = 1 "
                "and kind not in ('start', 'join') order by id",
                [book],
            )
        ):
            lid = resolve_anchor(
                archive,
                book,
                Anchor(d["page_id"], d["page_sha"] or "", tuple(json.loads(d["box"]))),
            )
            eid = entry_of.get(lid) if lid else None
            if eid is None:
                continue
            v = d["value"]
            if d["kind"] == "category":
                archive.db.table(ENTRIES).update(
                    eid,
                    {
                        "category_code": int(v),
                        "category": CATEGORIES[int(v)],
                        "category_score": 1.0,
                        "category_confirmed": 1,
                    },
                )
            elif d["kind"] == "status":
                archive.db.table(ENTRIES).update(
                    eid, {"status_code": v, "status": STATUSES[v], "status_confirmed": 1}
                )
            elif d["kind"] == "date":
                archive.db.table(ENTRIES).update(
                    eid,
                    {
                        "date": v or None,
                        "month": v[:7] if v else None,
                        "date_inferred": 0,
                        "date_confirmed": 1,
                    },
                )
            elif d["kind"] == "link":
                parent = None
                if v:
                    pbook = v.split(":")[0]
                    plid = resolve_anchor(
                        archive,
                        pbook,
                        Anchor(d["page_id2"], d["page_sha2"] or "", tuple(json.loads(d["box2"]))),
                    )
                    prow = (
                        _one(archive, f"select entry_id from {LINES} where line_id = ?", [plid])
                        if plid
                        else None
                    )
                    parent = prow["entry_id"] if prow else None
                    if parent is None:
                        continue
                _write_link(archive, eid, parent)
            applied += 1
    records.refresh_matters(archive)
    return applied


# -- review queue --------------------------------------------------------------------------


def calibrated_error_rate(archive: Archive) -> Any:
    """A function confidence → expected character error rate.

    From the spot-check calibration (``ocr_calibration``, written by
    :func:`minqing.review.spotcheck.calibrate`) when there is one, else ``1 - confidence``.
    """
    bins = list(archive.db.query(f"select lo, hi, cer from {CALIBRATION} order by lo"))
    if not bins:
        return lambda c: max(0.0, 1.0 - (c if c is not None else 0.0))

    def rate(c: float | None) -> float:
        c = 0.0 if c is None else c
        for b in bins:
            if b["lo"] <= c < b["hi"] or (c >= b["hi"] and b is bins[-1]):
                return b["cer"]
        return bins[0]["cer"]

    return rate


def review_queue(
    archive: Archive,
    *,
    book: str | None = None,
    cadre: str | None = None,
    township: str | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Pages to review, most urgent first: pages flagged for rescan, then by the expected
    number of character errors in their uncorrected lines (calibrated confidence).

    ``book``, ``cadre`` and ``township`` narrow the queue to one notebook, the notebooks
    of one cadre, or those of one township (the book's metadata)."""
    rate = calibrated_error_rate(archive)  # works on read-only connections too
    conds, params = [], []
    for column, value in (("p.book_id", book), ("b.cadre", cadre), ("b.township", township)):
        if value:
            conds.append(f"{column} = ?")
            params.append(value)
    where = ("where " + " and ".join(conds)) if conds else ""
    pages: dict[str, dict[str, Any]] = {}
    for r in archive.db.query(
        f"select p.page_id, p.book_id, p.page_no, p.needs_rescan, p.quality_flags, "
        f"b.cadre, b.village, b.township, "
        f"l.text, l.confidence, l.corrected from {PAGES} p "
        f"left join {BOOKS} b on b.book_id = p.book_id "
        f"left join {LINES} l on l.page_id = p.page_id {where}",
        params,
    ):
        p = pages.setdefault(
            r["page_id"],
            {
                "page_id": r["page_id"],
                "book_id": r["book_id"],
                "cadre": r["cadre"],
                "village": r["village"],
                "township": r["township"],
                "page_no": r["page_no"],
                "needs_rescan": bool(r["needs_rescan"]),
                "flags": json.loads(r["quality_flags"] or "{}"),
                "lines": 0,
                "corrected": 0,
                "min_confidence": None,
                "expected_errors": 0.0,
            },
        )
        if r["text"] is None and r["confidence"] is None:
            continue
        p["lines"] += 1
        if r["corrected"]:
            p["corrected"] += 1
            continue
        c = r["confidence"]
        if c is not None and (p["min_confidence"] is None or c < p["min_confidence"]):
            p["min_confidence"] = c
        p["expected_errors"] += len(r["text"] or "") * rate(c)
    items = sorted(
        pages.values(),
        key=lambda p: (
            not p["needs_rescan"],
            not p["flags"],
            p["corrected"] >= p["lines"] > 0,
            -p["expected_errors"],
            p["book_id"],
            p["page_no"],
        ),
    )
    for p in items:
        p["expected_errors"] = round(p["expected_errors"], 2)
    return items[:limit]


def book_choices(archive: Archive) -> dict[str, list[Any]]:
    """What the review queue and a spot-check may be narrowed to: the notebooks (with
    cadre, village and township), and the cadres and townships that have notebooks."""
    books = list(
        archive.db.query(
            f"select book_id, cadre, village, township from {BOOKS} "
            "order by township, village, cadre, book_id"
        )
    )
    return {
        "books": books,
        "cadres": sorted({b["cadre"] for b in books if b["cadre"]}),
        "townships": sorted({b["township"] for b in books if b["township"]}),
    }


def page_view(archive: Archive, book_id: str, page_no: int) -> dict[str, Any]:
    """Everything the review page shows for one page: the page, its lines (with the
    entry each belongs to) and the entries touching it (with revs and link candidates)."""
    page = _one(
        archive, f"select * from {PAGES} where book_id = ? and page_no = ?", [book_id, page_no]
    )
    if page is None:
        raise TargetNotFoundError(
            archive.db_path, f"no page {book_id}/{page_no}", "pick a page from the review queue"
        )
    lines = list(
        archive.db.query(
            "select line_id, line_no, text, machine_text, confidence, corrected, entry_id, "
            f"x0, y0, x1, y1 from {LINES} where page_id = ? order by line_no",
            [page["page_id"]],
        )
    )
    eids = []
    for ln in lines:
        if ln["entry_id"] and ln["entry_id"] not in eids:
            eids.append(ln["entry_id"])
    entries = []
    for eid in eids:
        e = _entry(archive, eid)
        e.pop("rowid", None)
        ids = json.loads(e["line_ids"] or "[]")
        e["rev"] = entry_rev(e)
        e["first_line"] = ids[0] if ids else None
        e["last_line"] = ids[-1] if ids else None
        e["is_first"] = (
            _one(
                archive,
                f"select 1 from {ENTRIES} where book_id = ? and seq < ?",
                [e["book_id"], e["seq"]],
            )
            is None
        )
        e["is_last"] = (
            _one(
                archive,
                f"select 1 from {ENTRIES} where book_id = ? and seq > ?",
                [e["book_id"], e["seq"]],
            )
            is None
        )
        e["candidates"] = link_candidates(archive, eid)
        e["link_confirmed"] = bool(
            _one(archive, f"select 1 from {LINKS} where child = ? and confirmed = 1", [eid])
        )
        entries.append(e)
    pages_row = _one(archive, f"select max(page_no) n from {PAGES} where book_id = ?", [book_id])
    n_pages = pages_row["n"] if pages_row else 0
    history = list(
        archive.db.query(
            f"select * from {CORRECTIONS} where target_id like ? "
            f"or target_id in ({','.join('?' * len(eids)) or 'null'}) order by id desc limit 20",
            [page["page_id"] + "/%", *eids],
        )
    )
    return {
        "page": page,
        "lines": lines,
        "entries": entries,
        "pages_in_book": n_pages,
        "history": history,
    }


# -- several changes in one transaction ----------------------------------------------------

#: (target, field) pairs a change may name, with the value they take
FIELDS = {
    ("line", "text"): "the line text",
    ("entry", "category_code"): "1–8",
    ("entry", "status_code"): ", ".join(STATUSES),
    ("entry", "date"): "YYYY-MM-DD or empty",
    ("entry", "follow_up_of"): "an entry id, or empty for none",
}


@dataclass(frozen=True)
class Change:
    """One correction: ``target`` ``line``/``entry``, its id, the field, the new value and
    (optionally) the value the editor saw, for the stale check."""

    target: str
    target_id: str
    field: str
    value: str
    expected: str | None = None

    def __post_init__(self) -> None:
        if (self.target, self.field) not in FIELDS:
            known = ", ".join(f"{t}.{f}" for t, f in FIELDS)
            raise ValueError(f"cannot correct {self.target}.{self.field}; correctable: {known}")


def _apply_change(archive: Archive, c: Change, who: str) -> bool:
    if c.target == "line":
        return _correct_line(archive, c.target_id, c.value, who, c.expected)
    if c.field == "category_code":
        try:
            code = int(str(c.value).strip())
        except ValueError:
            code = 0
        if code not in CATEGORIES:
            raise BadCorrectionError(
                archive.db_path, f"category {c.value!r} is not 1–8", "use a code 1–8"
            )
        return _set_category(archive, c.target_id, code, who, c.expected)
    if c.field == "status_code":
        if c.value not in STATUSES:
            raise BadCorrectionError(
                archive.db_path,
                f"status {c.value!r} is unknown",
                f"use one of {', '.join(STATUSES)}",
            )
        return _set_status(archive, c.target_id, c.value, who, c.expected)
    if c.field == "date":
        try:
            iso = parse_iso_date(c.value)
        except ValueError:
            raise BadCorrectionError(
                archive.db_path, f"date {c.value!r} is not a date", "write it as YYYY-MM-DD"
            ) from None
        return _set_date(archive, c.target_id, iso, who, c.expected)
    return _confirm_link(archive, c.target_id, (c.value or "").strip() or None, who, c.expected)


class ChangeError(BadCorrectionError):
    """One change of a batch is invalid; nothing of the batch was applied."""

    def __init__(self, index: int, label: str, error: Exception) -> None:
        self.index = index
        self.error = error
        super().__init__(label, str(getattr(error, "problem", error)), getattr(error, "hint", ""))


def apply_changes(
    archive: Archive, changes: Sequence[Change], *, who: str, labels: Sequence[str] | None = None
) -> int:
    """Apply ``changes`` in ONE transaction; returns how many changed something.

    When any change is invalid (unknown id, bad value, stale expected value) nothing
    is applied and :class:`ChangeError` names it (``labels[i]``, e.g. "file.csv row 7").
    """
    who = _who(who)
    n = 0
    with archive.db.atomic():
        for i, c in enumerate(changes):
            try:
                n += bool(_apply_change(archive, c, who))
            except BadCorrectionError as exc:
                raise ChangeError(i, labels[i] if labels else f"change {i + 1}", exc) from exc
    return n


def update_entry(
    archive: Archive,
    eid: str,
    *,
    who: str,
    category: str | int | None = None,
    status: str | None = None,
    date: str | None = None,
    expected: dict[str, Any] | None = None,
) -> int:
    """Set several values of one entry in one transaction (None: leave alone)."""
    exp = expected or {}
    changes = []
    if category is not None:
        changes.append(
            Change("entry", eid, "category_code", str(category), exp.get("category_code"))
        )
    if status is not None:
        changes.append(Change("entry", eid, "status_code", status, exp.get("status_code")))
    if date is not None:
        changes.append(Change("entry", eid, "date", date, exp.get("date")))
    try:
        return apply_changes(archive, changes, who=who)
    except ChangeError as exc:
        raise exc.error from None


def correctable_rows(
    archive: Archive,
    *,
    what: str = "all",
    books: Sequence[str] | None = None,
    max_confidence: float | None = None,
) -> Iterable[dict[str, Any]]:
    """Rows for offline correction: ``target, id, field, current, new`` (+ context)."""
    bw, bp = ("", [])
    if books:
        bw, bp = f" and book_id in ({','.join('?' * len(books))})", list(books)
    if what in ("lines", "all"):
        cw, cp = ("", [])
        if max_confidence is not None:
            cw, cp = " and (confidence is null or confidence < ?)", [max_confidence]
        for r in archive.db.query(
            f"select line_id, text, confidence, entry_id from {LINES} where 1 = 1{bw}{cw} "
            "order by book_id, page_no, line_no",
            bp + cp,
        ):
            yield {
                "target": "line",
                "id": r["line_id"],
                "field": "text",
                "current": r["text"],
                "new": "",
                "confidence": r["confidence"],
                "context": r["entry_id"] or "",
            }
    if what in ("entries", "all"):
        for r in archive.db.query(
            f"select * from {ENTRIES} where 1 = 1{bw} order by book_id, seq", bp
        ):
            ctx = (r["text"] or "")[:30]
            for field in ("category_code", "status_code", "date", "follow_up_of"):
                yield {
                    "target": "entry",
                    "id": r["entry_id"],
                    "field": field,
                    "current": r[field],
                    "new": "",
                    "confidence": None,
                    "context": ctx,
                }


def page_line_changes(archive: Archive, lines: Iterable[Any]) -> list[Change]:
    """The line corrections a PAGE XML file read back carries: one :class:`Change` per line
    whose text differs from the text it was exported with (``exported_sha``, see
    :func:`minqing.archive.export.read_page_xml`), checked against the archive's current
    text; lines left as exported are no change at all.

    Raises:
        TargetNotFoundError: a line of the file is not in the archive.
        StaleEditError: a line edited in the file was changed in the archive since export.
    """
    from minqing.archive.export import text_digest

    changes = []
    for pl in lines:
        row = _line(archive, pl.line_id)
        new = normalise_line_text(pl.text)
        if new == (row["text"] or ""):
            continue  # already so (left as exported, or imported before)
        if pl.exported_sha is not None:
            if text_digest(new) == pl.exported_sha:
                continue  # left as exported
            if text_digest(row["text"]) != pl.exported_sha:
                raise StaleEditError(
                    archive.db_path,
                    f"line {pl.line_id} was changed in the archive since the export",
                    "export the page again and redo the edit there",
                )
        changes.append(Change("line", pl.line_id, "text", new, row["text"]))
    return changes
