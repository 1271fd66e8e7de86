"""Splitting a book's lines into single-matter entries (一事一记).

An entry starts at

* a date line (any form :mod:`classify.dates` reads, maybe behind a ``时间：`` label);
* the first line of a pre-printed form page (one form per entry);
* a labelled record's first label when the labels start over (``地点：`` after ``办理结果：``);
* a line that opens with a relative date (当天下午, 次日, 第二天 …) after a blank gap or
  a finished sentence, when the entry before is complete.

Printed page headers (the 民情日记 title, page numbers), cover pages and blank gaps are
left out. Entries continue across page breaks.
"""

from __future__ import annotations

import datetime as dt
import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field

from minqing.classify.category import classify_category
from minqing.classify.dates import (
    DateMatch,
    normalise,
    parse_date_line,
    relative_offset,
    repair_date,
)
from minqing.classify.fields import FIELD_KEYS, ORDER, is_form_page, label_of
from minqing.classify.status import classify_status
from minqing.classify.types import BookLine, Entry

_HEADER_RE = re.compile(
    r"^(?:民情日[记記](?:本|簿|登记表|记录|记录表)?|[（(]?\s*[-—–]?\s*第?\s*\d{1,3}\s*页?\s*[-—–]?\s*[）)]?"
    r"|第\s*\d{1,3}\s*页\s*(?:共\s*\d{1,3}\s*页)?|\d{1,3}\s*/\s*\d{1,3}|page\s*\d{1,3})$",
    re.IGNORECASE,
)
_COVER_RE = re.compile(
    r"(?:姓\s*名|单\s*位|职\s*务|所在村|乡\s*镇|编\s*号|起止(?:时间|日期)?|年\s*度|联系电话|记录人"
    r"|驻村|村\s*别|镇\s*别|本册|册\s*号)\s*[:：]"
)
_WS = re.compile(r"\s+")
_SENTENCE_END = ("。", "！", "？", "!", "?", "…", "”", "）", ")", "；")


def is_header(text: str) -> bool:
    """Whether a line is a printed page header or page number, not handwriting."""
    t = re.sub(r"\s+", "", normalise(text))
    return bool(t) and bool(_HEADER_RE.match(t))


@dataclass
class _Draft:
    lines: list[BookLine] = field(default_factory=list)
    date_match: DateMatch | None = None
    relative: tuple[str, int] | None = None
    layout: str = "narrative"
    labels_seen: list[str] = field(default_factory=list)
    fields: dict[str, list[str]] = field(default_factory=dict)
    time_value: str = ""


def _line_height(lines: Sequence[BookLine]) -> float:
    hs = [ln.box[3] - ln.box[1] for ln in lines if ln.box is not None and ln.box[3] > ln.box[1]]
    return statistics.median(hs) if hs else 0.0


def _gap_before(lines: Sequence[BookLine], i: int, height: float) -> bool:
    """A blank gap (more than one line height of white) above line ``i`` of a page."""
    if i == 0 or height <= 0:
        return i == 0
    a, b = lines[i - 1].box, lines[i].box
    if a is None or b is None:
        return False
    return (b[1] - a[3]) > 1.2 * height


def _pages(lines: Sequence[BookLine]) -> list[list[BookLine]]:
    pages: dict[int, list[BookLine]] = {}
    for ln in sorted(lines, key=lambda x: (x.page_no, x.line_no)):
        pages.setdefault(ln.page_no, []).append(ln)
    return [pages[p] for p in sorted(pages)]


def _is_cover(page: list[BookLine]) -> bool:
    texts = [normalise(ln.text) for ln in page]
    if any(parse_date_line(t) for t in texts if not _COVER_RE.search(t)):
        return False
    return sum(1 for t in texts if _COVER_RE.search(t)) >= 1 or all(is_header(t) for t in texts)


def _original(line: str, value: str) -> str:
    """The tail of ``line`` as written that corresponds to ``value`` (read from its NFKC form)."""
    orig = line.strip()
    if value and len(normalise(orig)) == len(orig) and len(value) <= len(orig):
        return orig[len(orig) - len(value) :]
    return value


def _assign_form_fields(page: list[BookLine], draft: _Draft) -> None:
    """Give each handwritten line of a form page to the printed label whose box holds it."""
    labels: list[tuple[BookLine, str, str]] = []
    others: list[BookLine] = []
    for ln in page:
        lab = label_of(ln.text, printed=True)
        if lab is not None:
            labels.append((ln, lab[0], lab[1]))
        else:
            others.append(ln)
    if not labels:
        return
    values: dict[int, list[str]] = {
        i: [_original(ln.text, v)] if v else [] for i, (ln, _, v) in enumerate(labels)
    }
    have_boxes = all(ln.box is not None for ln, _, _ in labels)
    for ln in others:
        best = None
        if have_boxes and ln.box is not None:
            cy = (ln.box[1] + ln.box[3]) / 2
            tol = 0.25 * (ln.box[3] - ln.box[1])
            # the label band holding the line: the lowest label whose top is above it
            for i, (lab_ln, _, _) in enumerate(labels):
                if lab_ln.box is not None and lab_ln.box[1] <= cy + tol:
                    best = i
        else:
            for i, (lab_ln, _, _) in enumerate(labels):
                if lab_ln.line_no < ln.line_no:
                    best = i
        if best is not None:
            values[best].append(ln.text.strip())
    for i, (_, key, _) in enumerate(labels):
        text = "".join(values[i])
        if key == "time":
            draft.time_value = draft.time_value or text
        elif text:
            draft.fields.setdefault(key, []).append(text)


def segment_book(
    lines: Sequence[BookLine],
    *,
    year_hint: int | None = None,
    model=None,
    status_model=None,
) -> list[Entry]:
    """Split a book's lines (reading order across pages) into single-matter entries.

    Args:
        lines: every line of the book; sorted here by ``(page_no, line_no)``.
        year_hint: the year for dates written without one, until a dated entry gives
            a year (e.g. the year on the notebook's cover or in the manifest).
        model: an optional trained category model (:func:`train_category_model`),
            combined with the lexicon (None: the shipped one; False: the lexicon alone).
        status_model: an optional status model (``minqing retrain``); None: the shipped one.

    Returns:
        The entries, ``seq`` from 1, each with its date (read, repaired or inferred),
        category, status and labelled fields.
    """
    drafts: list[_Draft] = []
    cur: _Draft | None = None
    started = False
    for page in _pages(lines):
        content = [ln for ln in page if ln.text.strip() and not is_header(ln.text)]
        if not content:
            continue
        if not started and _is_cover(content):
            continue
        height = _line_height(content)
        form = is_form_page([ln.text for ln in content])
        if form:
            cur = _Draft(layout="form")
            drafts.append(cur)
            started = True
            cur.lines.extend(content)
            _assign_form_fields(content, cur)
            m = parse_date_line(cur.time_value) if cur.time_value else None
            if m is None:
                for ln in content:
                    m = parse_date_line(ln.text)
                    if m:
                        break
            cur.date_match = m
            cur = None  # the next page starts afresh
            continue
        for i, ln in enumerate(content):
            text = normalise(ln.text).strip()
            lab = label_of(text)
            m = parse_date_line(text)
            prev_text = cur.lines[-1].text.strip() if cur and cur.lines else ""
            ended = (not prev_text) or prev_text.endswith(_SENTENCE_END)
            gap = _gap_before(content, i, height)
            start = False
            if m is not None:
                if m.year is None and m.rest and not ended and not gap:
                    m = None  # "…详见\n3月5日上午的记录" runs on; not a new entry
                else:
                    start = True
            if not start and lab is not None and cur is not None:
                key = lab[0]
                seen = [ORDER[k] for k in cur.labels_seen]
                if key == "time" or (seen and ORDER[key] <= max(seen) and key in cur.labels_seen):
                    start = True
            if not start and lab is not None and lab[0] == "time" and cur is None:
                start = True
            rel = None
            if not start and m is None:
                rel = relative_offset(text)
                if rel is not None and cur is not None and ended and (gap or height == 0):
                    start = True
                elif rel is not None and cur is None:
                    start = True
            if start or cur is None:
                cur = _Draft(date_match=m, relative=rel)
                drafts.append(cur)
                started = True
            cur.lines.append(ln)
            if lab is not None:
                key, value = lab
                if cur.layout == "narrative":
                    cur.layout = "labelled"
                cur.labels_seen.append(key)
                if key == "time":
                    cur.time_value = value
                    if cur.date_match is None:
                        cur.date_match = parse_date_line(value)
                else:
                    cur.fields.setdefault(key, []).append(_original(ln.text, value))
            elif cur.labels_seen and cur.labels_seen[-1] != "time":
                cur.fields.setdefault(cur.labels_seen[-1], []).append(ln.text.strip())
    return _finish(drafts, year_hint, model, status_model)


def _finish(drafts: list[_Draft], year_hint: int | None, model, status_model=None) -> list[Entry]:
    dates: list[dt.date | None] = []
    inferred: list[bool] = []
    flags: list[tuple[str, ...]] = []
    prev: dt.date | None = None
    for d in drafts:
        if d.date_match is not None:
            date, fl = repair_date(d.date_match, prev, year_hint)
            dates.append(date)
            inferred.append(False)
            flags.append(fl)
            if date is not None:
                prev = date
        elif d.relative is not None and prev is not None:
            date = prev + dt.timedelta(days=d.relative[1])
            dates.append(date)
            inferred.append(True)
            flags.append((f"relative:{d.relative[0]}",))
            prev = date
        else:
            dates.append(prev)
            inferred.append(prev is not None)
            flags.append(("from_previous",) if prev is not None else ())
    # entries before the first dated one take the next date
    nxt: dt.date | None = None
    for i in range(len(drafts) - 1, -1, -1):
        if dates[i] is None and nxt is not None:
            dates[i] = nxt
            inferred[i] = True
            flags[i] = ("from_next",)
        if dates[i] is not None:
            nxt = dates[i]
    entries: list[Entry] = []
    for i, d in enumerate(drafts):
        # the project's convention: lines joined with no separator, whitespace removed
        text = _WS.sub("", "".join(ln.text for ln in d.lines))
        code, score, evidence = classify_category(text, model=model)
        fields = tuple(
            (k, _WS.sub("", "".join(d.fields[k]))) for k in FIELD_KEYS if "".join(d.fields.get(k, []))
        )
        entries.append(
            Entry(
                seq=i + 1,
                page_start=d.lines[0].page_no,
                page_end=d.lines[-1].page_no,
                line_ids=tuple(ln.line_id for ln in d.lines),
                text=text,
                date=dates[i],
                date_inferred=inferred[i],
                category_code=code,
                category_score=score,
                category_evidence=evidence,
                status=classify_status(text, model=status_model)[0],
                fields=fields,
                layout=d.layout,
                date_flags=flags[i],
            )
        )
    return entries
