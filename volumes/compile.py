"""Compiled volumes (汇编成册): a period of the archive as an official-style Word document.

The guideline asks that diaries be "定期汇编成册，便于督办和检查".  A volume holds a
cover, a table of contents (a Word TOC field), an overview with statistics tables and
then, township by township, village by village and category by category, every matter
of the period with its follow-up chain.  The layout follows GB/T 9704-2012; see
:mod:`minqing.volumes._docx` for fonts, sizes and margins.

What a volume contains (issue 8):

* **Entries of the period**: entries whose date lies in ``[date_from, date_to]``.
  Each one appears exactly once, in full, under its matter.
* **Matters**: an entry and its follow-ups share ``matter_id`` (the root entry's id).
  A matter belongs to the volume when any of its entries is of the period.  Its
  township, village, category and cadre are those of its root entry, and the
  township/village/cadre/category filters select matters by these, so a follow-up
  is never split from its matter.  A root recorded before the period is shown for
  context and marked as such; follow-ups recorded before the period are listed by
  date and result only; entries after the period are left to the next volume.
* **Status** of a matter: the status of its latest entry up to the end of the period
  (the status filter selects on this).  "open" means recorded, in progress or
  escalated; "closed" means resolved or explained.
* **Weekly minimum** (每周不少于1篇): weeks run Monday to Sunday; a week counts to the
  period when its Thursday lies in it (the ISO rule, so that a period never starts
  or ends with a two-day "week").  A cadre's weeks are counted over all of the
  cadre's entries of the period, whatever the category/status filters, so a
  filtered volume never makes a cadre look idle.  Cadres are those with entries in
  the volume, plus those who kept a diary before and after the period but wrote
  nothing in it.
"""

from __future__ import annotations

import calendar
import datetime as dt
import io
import json
import math
import re
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from natsort import natsort_keygen

from minqing.archive.errors import NothingToCompileError
from minqing.archive.schema import BOOKS, ENTRIES, LINES, PAGES
from minqing.archive.store import Archive
from minqing.classify.lunar import LUNAR_KINDS, lunar_label
from minqing.classify.types import CATEGORIES, STATUSES
from minqing.volumes import _docx as dx

#: Status codes of matters still open, and of matters closed.
OPEN_STATUSES = ("recorded", "in_progress", "escalated")
CLOSED_STATUSES = ("resolved", "explained")
#: The order in which the overview lists statuses.
STATUS_ORDER = ("resolved", "explained", "escalated", "in_progress", "recorded")
STATUS_TABLE_LABELS = {
    "resolved": "已解决",
    "explained": "已解释",
    "escalated": "已上报",
    "in_progress": "办理中",
    "recorded": "已记录（尚未办理）",
}
#: Labels of the ``entries.fields`` keys, in the order they are printed.
FIELD_LABELS = (
    ("problem", "反映问题"),
    ("analysis", "分析研判"),
    ("measures", "措施建议"),
    ("result", "办理结果"),
)
NO_TOWNSHIP = "（未注明乡镇）"
NO_VILLAGE = "（未注明村）"
NO_CADRE = "（未注明）"
#: after a name read from the page's 记录人 cell (no manifest named the cadre)
FROM_PAGE = "（据原件记录人栏）"

ProgressCallback = Callable[[int, int], None]

_CN_DIGITS = "零一二三四五六七八九"
_QUARTERS = {1: "第一季度", 2: "第二季度", 3: "第三季度", 4: "第四季度"}
_natkey = natsort_keygen()


# --------------------------------------------------------------------------- periods


@dataclass(frozen=True)
class Period:
    """A closed date range with the label printed on the cover (e.g. 2024年第三季度)."""

    start: dt.date
    end: dt.date
    label: str

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"period ends ({self.end}) before it starts ({self.start})")


def _label_for(start: dt.date, end: dt.date) -> str:
    y = start.year
    if start == dt.date(y, 1, 1) and end == dt.date(y, 12, 31):
        return f"{y}年度"
    for q in range(1, 5):
        qs = dt.date(y, 3 * q - 2, 1)
        qe = dt.date(y, 3 * q, calendar.monthrange(y, 3 * q)[1])
        if (start, end) == (qs, qe):
            return f"{y}年{_QUARTERS[q]}"
    if (start, end) == (dt.date(y, 1, 1), dt.date(y, 6, 30)):
        return f"{y}年上半年"
    if (start, end) == (dt.date(y, 7, 1), dt.date(y, 12, 31)):
        return f"{y}年下半年"
    if start.day == 1 and end == dt.date(y, start.month, calendar.monthrange(y, start.month)[1]):
        return f"{y}年{start.month}月"
    return f"{cn_date(start)}至{cn_date(end)}"


def period_between(date_from: dt.date, date_to: dt.date) -> Period:
    """The period from ``date_from`` to ``date_to`` (inclusive), labelled by its shape."""
    return Period(date_from, date_to, _label_for(date_from, date_to))


def parse_period(text: str) -> Period:
    """Parse a period preset: ``2024``, ``2024Q3``, ``2024H1`` or ``2024-07``.

    Raises:
        ValueError: the text is none of these (the message lists the forms).
    """
    s = text.strip().upper().replace(" ", "")
    m = re.fullmatch(r"(\d{4})(?:-?([QH])([1-4])|-(\d{1,2}))?", s)
    if m:
        y = int(m.group(1))
        if m.group(2) == "Q":
            q = int(m.group(3))
            start = dt.date(y, 3 * q - 2, 1)
            end = dt.date(y, 3 * q, calendar.monthrange(y, 3 * q)[1])
            return period_between(start, end)
        if m.group(2) == "H" and m.group(3) in ("1", "2"):
            h = int(m.group(3))
            return period_between(
                dt.date(y, 1 if h == 1 else 7, 1),
                dt.date(y, 6 if h == 1 else 12, 30 if h == 1 else 31),
            )
        if m.group(4):
            mo = int(m.group(4))
            if 1 <= mo <= 12:
                return period_between(
                    dt.date(y, mo, 1), dt.date(y, mo, calendar.monthrange(y, mo)[1])
                )
        elif not m.group(2):
            return period_between(dt.date(y, 1, 1), dt.date(y, 12, 31))
    raise ValueError(
        f"{text!r} is not a period: use a year (2024), a quarter (2024Q3), "
        "a half-year (2024H1) or a month (2024-07)"
    )


# --------------------------------------------------------------------------- formatting


def cn_number(n: int) -> str:
    """1 → 一, 12 → 十二, 35 → 三十五 (Arabic digits from 100 on)."""
    if n < 10:
        return _CN_DIGITS[n]
    if n < 20:
        return "十" + (_CN_DIGITS[n - 10] if n > 10 else "")
    if n < 100:
        return _CN_DIGITS[n // 10] + "十" + (_CN_DIGITS[n % 10] if n % 10 else "")
    return str(n)


def cn_date(d: dt.date | None) -> str:
    """2024-07-03 → 2024年7月3日 (GB/T 9704 writes dates with Arabic numerals)."""
    if d is None:
        return "日期不详"
    return f"{d.year}年{d.month}月{d.day}日"


def _short_date(d: dt.date, with_year: bool) -> str:
    return (f"{d.year}年" if with_year else "") + f"{d.month}月{d.day}日"


def _pages(start: int | None, end: int | None) -> str:
    if not start:
        return ""
    if end and end != start:
        return f"第{start}—{end}页"
    return f"第{start}页"


def _notes(value: str | None) -> tuple[str, ...]:
    """The ``later_notes`` column (a JSON list of texts) as a tuple; broken JSON as none."""
    try:
        notes = json.loads(value) if value else []
    except (TypeError, ValueError):
        return ()
    return tuple(str(n) for n in notes if n) if isinstance(notes, list) else ()


def _as_date(value: str | None) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


# --------------------------------------------------------------------------- data model


@dataclass(frozen=True)
class CompileStats:
    """What :func:`compile_volume` wrote.

    Attributes:
        out_path: the .docx written.
        title: the volume's title.
        period: the period compiled.
        entries: entries of the period in the volume (each printed in full once).
        matters: matters in the volume.
        context_entries: entries from before the period shown for context.
        townships, villages, cadres: how many of each the volume covers.
        images: handwriting thumbnails embedded (``with_images``).
        missing_images: page images that were named in the archive but unreadable.
        undated_entries: entries in the archive (same township/village) with no date,
            which no period can include.
        seconds: wall time.
        contents: the headings of the contents, ``(level, text, bookmark)`` in order (for
            :func:`minqing.volumes.pages.fix_contents_pages`).
    """

    out_path: Path
    title: str
    period: Period
    entries: int
    matters: int
    context_entries: int
    townships: int
    villages: int
    cadres: int
    images: int = 0
    missing_images: int = 0
    undated_entries: int = 0
    seconds: float = 0.0
    contents: list[tuple[int, str, str]] = field(default_factory=list)


@dataclass
class _Entry:
    entry_id: str
    book_id: str
    seq: int
    page_start: int | None
    page_end: int | None
    date: dt.date | None
    date_inferred: bool
    category_code: int
    status_code: str | None
    text: str
    fields: dict[str, str]
    cadre: str | None
    township: str | None
    village: str | None
    in_period: bool = False
    date_kind: str = "gregorian"
    #: 补记 the cadre added later, as written (also at the end of ``text``)
    later_notes: tuple[str, ...] = ()

    @classmethod
    def from_row(cls, row: dict[str, Any], period: Period) -> _Entry:
        try:
            fields = json.loads(row["fields"]) if row["fields"] else {}
        except (TypeError, ValueError):
            fields = {}
        if not isinstance(fields, dict):
            fields = {}
        d = _as_date(row["date"])
        code = row["category_code"] if row["category_code"] in CATEGORIES else 8
        return cls(
            entry_id=row["entry_id"],
            book_id=row["book_id"],
            seq=row["seq"] or 0,
            page_start=row["page_start"],
            page_end=row["page_end"],
            date=d,
            date_inferred=bool(row["date_inferred"]),
            category_code=code,
            status_code=row["status_code"] if row["status_code"] in STATUSES else None,
            text=row["text"] or "",
            fields={str(k): str(v) for k, v in fields.items() if v},
            cadre=row["cadre"] or None,
            township=row["township"] or None,
            village=row["village"] or None,
            in_period=d is not None and period.start <= d <= period.end,
            date_kind=row.get("date_kind") or "gregorian",
            later_notes=_notes(row.get("later_notes")),
        )

    @property
    def date_text(self) -> str:
        """The entry's day as the volume prints it: 2025年1月22日（农历腊月廿三）（推定）."""
        out = cn_date(self.date)
        if self.date is not None and self.date_kind in LUNAR_KINDS:
            out += f"（{lunar_label(self.date)}）"
        return out + ("（推定）" if self.date_inferred else "")

    def body_and_notes(self) -> tuple[str, list[str]]:
        """The entry's text without its 补记, and the 补记 (each found in the text)."""
        body, notes = self.text, []
        for note in self.later_notes:
            at = body.rfind(note)
            if note and at >= 0:
                body = (body[:at] + body[at + len(note) :]).rstrip()
                notes.append(note)
        return body, notes

    @property
    def sort_key(self) -> tuple[Any, ...]:
        return (self.date is None, self.date or dt.date.min, self.book_id, self.seq)


@dataclass
class Matter:
    """A matter of the volume: its root entry and the follow-ups up to the period's end."""

    matter_id: str
    root: _Entry
    follow_ups: list[_Entry]
    status_code: str

    @property
    def township(self) -> str:
        return self.root.township or NO_TOWNSHIP

    @property
    def village(self) -> str:
        return self.root.village or NO_VILLAGE

    @property
    def category_code(self) -> int:
        return self.root.category_code

    @property
    def entries(self) -> list[_Entry]:
        return [self.root, *self.follow_ups]

    @property
    def period_entries(self) -> list[_Entry]:
        return [e for e in self.entries if e.in_period]


@dataclass
class CadreWeeks:
    """One cadre's record against the one-entry-a-week minimum."""

    cadre: str
    villages: list[str]
    entries: int
    weeks: int
    weeks_met: int
    missed: list[dt.date] = field(default_factory=list)  # Mondays of missed weeks


@dataclass
class Volume:
    """Everything a volume shows, gathered before a line of Word is written."""

    period: Period
    matters: list[Matter]
    cadres: list[CadreWeeks]
    categories: tuple[int, ...]
    undated_entries: int
    weeks: list[dt.date]

    @property
    def entry_count(self) -> int:
        return sum(len(m.period_entries) for m in self.matters)


def period_weeks(period: Period) -> list[dt.date]:
    """Mondays of the weeks that count to ``period`` (their Thursday lies in it)."""
    monday = period.start - dt.timedelta(days=period.start.weekday())
    out = []
    while monday <= period.end:
        if period.start <= monday + dt.timedelta(days=3) <= period.end:
            out.append(monday)
        monday += dt.timedelta(days=7)
    return out


def _status_codes(statuses: Iterable[str]) -> set[str]:
    by_label = {v: k for k, v in STATUSES.items()}
    out: set[str] = set()
    for s in statuses:
        s = s.strip()
        if s in ("open", "未办结"):
            out.update(OPEN_STATUSES)
        elif s in ("closed", "已办结"):
            out.update(CLOSED_STATUSES)
        elif s in STATUSES:
            out.add(s)
        elif s in by_label:
            out.add(by_label[s])
        else:
            raise ValueError(
                f"unknown status {s!r}: use open, closed, {', '.join(STATUSES)} or a Chinese label"
            )
    return out


_COLS = (
    "entry_id, book_id, seq, page_start, page_end, date, date_inferred, category_code, "
    "status_code, text, fields, cadre, township, village, matter_id, date_kind, later_notes"
)


def collect_volume(
    archive: Archive,
    *,
    period: Period,
    townships: Sequence[str] = (),
    villages: Sequence[str] = (),
    cadres: Sequence[str] = (),
    categories: Sequence[int] = (),
    statuses: Sequence[str] = (),
) -> Volume:
    """Select the matters, follow-up chains and cadre statistics of a volume.

    Raises:
        ValueError: an unknown status name.
    """
    status_filter = _status_codes(statuses)
    db = archive.db
    day_after = (period.end + dt.timedelta(days=1)).isoformat()
    args = [period.start.isoformat(), day_after, day_after]
    sql = f"""
        with sel as (
            select distinct coalesce(matter_id, entry_id) as mk from {ENTRIES}
            where date >= ? and date < ?
        )
        select {_COLS}, coalesce(matter_id, entry_id) as mk from {ENTRIES}
        where (matter_id in (select mk from sel) or entry_id in (select mk from sel))
          and (date is null or date < ?)
    """
    groups: dict[str, list[_Entry]] = defaultdict(list)
    for row in db.query(sql, args):
        groups[row["mk"]].append(_Entry.from_row(row, period))

    want_t, want_v, want_c = set(townships), set(villages), set(cadres)
    want_cat = set(categories)
    matters: list[Matter] = []
    for mk, rows in groups.items():
        rows.sort(key=lambda e: e.sort_key)
        root = next((e for e in rows if e.entry_id == mk), rows[0])
        if want_t and root.township not in want_t:
            continue
        if want_v and root.village not in want_v:
            continue
        if want_c and root.cadre not in want_c:
            continue
        if want_cat and root.category_code not in want_cat:
            continue
        follow = [e for e in rows if e is not root]
        status = root.status_code or "recorded"
        for e in reversed(rows):
            if e.date is not None and e.status_code:
                status = e.status_code
                break
        if status_filter and status not in status_filter:
            continue
        if not any(e.in_period for e in rows):
            continue
        matters.append(Matter(mk, root, follow, status))

    matters.sort(
        key=lambda m: (
            m.root.township is None,
            _natkey(m.township),
            m.root.village is None,
            _natkey(m.village),
            m.category_code,
            m.root.sort_key,
        )
    )
    weeks = covered_weeks(archive, period_weeks(period))
    cadre_rows = _cadre_weeks(archive, period, matters, weeks, want_t, want_v, want_c)
    undated = _count_undated(archive, want_t, want_v, want_c)
    cats = tuple(sorted(want_cat)) if want_cat else tuple(CATEGORIES)
    return Volume(period, matters, cadre_rows, cats, undated, weeks)


def _count_undated(archive: Archive, towns: set[str], villages: set[str], cadres: set[str]) -> int:
    where, args = ["date is null"], []
    for col, vals in (("township", towns), ("village", villages), ("cadre", cadres)):
        if vals:
            where.append(f"{col} in ({','.join('?' * len(vals))})")
            args += sorted(vals)
    return int(
        db_scalar(archive, f"select count(*) from {ENTRIES} where {' and '.join(where)}", args)
    )


def db_scalar(archive: Archive, sql: str, args: Sequence[Any] = ()) -> Any:
    """The first column of the first row of ``sql``."""
    return archive.db.execute(sql, list(args)).fetchone()[0]


def archive_span(archive: Archive) -> tuple[dt.date, dt.date] | None:
    """First and last date of the archive's dated entries (None when none is dated)."""
    row = archive.db.execute(
        f"select min(date), max(date) from {ENTRIES} where date is not null and date != ''"
    ).fetchone()
    first, last = (_as_date(row[0]), _as_date(row[1])) if row else (None, None)
    return (first, last) if first and last else None


def covered_weeks(archive: Archive, weeks: list[dt.date]) -> list[dt.date]:
    """The weeks of ``weeks`` that the archive covers: those overlapping the span from its
    first to its last dated entry (a March–April archive is not judged against 52 weeks)."""
    span = archive_span(archive)
    if span is None:
        return weeks
    first, last = span
    return [w for w in weeks if w + dt.timedelta(days=6) >= first and w <= last]


def _cadre_weeks(
    archive: Archive,
    period: Period,
    matters: list[Matter],
    weeks: list[dt.date],
    towns: set[str],
    villages: set[str],
    cadres: set[str],
) -> list[CadreWeeks]:
    names = {e.cadre for m in matters for e in m.period_entries if e.cadre}
    # cadres who kept a diary before and after the period but wrote nothing in it
    where, args = ["date is not null", "cadre is not null", "cadre != ''"], []
    for col, vals in (("township", towns), ("village", villages), ("cadre", cadres)):
        if vals:
            where.append(f"{col} in ({','.join('?' * len(vals))})")
            args += sorted(vals)
    sql = (
        f"select cadre from {ENTRIES} where {' and '.join(where)} group by cadre "
        "having min(date) < ? and max(date) >= ?"
    )
    day_after = (period.end + dt.timedelta(days=1)).isoformat()
    for row in archive.db.execute(sql, [*args, period.start.isoformat(), day_after]):
        names.add(row[0])
    if not names:
        return []
    dates: dict[str, list[dt.date]] = defaultdict(list)
    places: dict[str, Counter[str]] = defaultdict(Counter)
    name_list = sorted(names)
    for i in range(0, len(name_list), 500):
        chunk = name_list[i : i + 500]
        q = (
            f"select cadre, date, township, village from {ENTRIES} where cadre in "
            f"({','.join('?' * len(chunk))}) and date >= ? and date < ?"
        )
        for cadre, date, _town, village in archive.db.execute(
            q, [*chunk, period.start.isoformat(), day_after]
        ):
            d = _as_date(date)
            if d is not None:
                dates[cadre].append(d)
                places[cadre][village or NO_VILLAGE] += 1
    for cadre in name_list:
        if not places[cadre]:
            q = f"select village, count(*) from {ENTRIES} where cadre = ? group by village"
            for village, n in archive.db.execute(q, [cadre]):
                places[cadre][village or NO_VILLAGE] += n
    week_set = set(weeks)
    out = []
    for cadre in name_list:
        met = {d - dt.timedelta(days=d.weekday()) for d in dates[cadre]} & week_set
        out.append(
            CadreWeeks(
                cadre=cadre,
                villages=sorted(places[cadre], key=_natkey),
                entries=len(dates[cadre]),
                weeks=len(weeks),
                weeks_met=len(met),
                missed=[w for w in weeks if w not in met],
            )
        )
    out.sort(key=lambda c: (_natkey(c.villages[0] if c.villages else ""), _natkey(c.cadre)))
    return out


def missed_weeks_text(missed: Sequence[dt.date], with_year: bool = False) -> str:
    """Missed weeks (their Mondays) as merged date ranges: 7月1日—7月21日（3周）."""
    if not missed:
        return "无"
    runs: list[list[dt.date]] = [[missed[0]]]
    for w in missed[1:]:
        if w - runs[-1][-1] == dt.timedelta(days=7):
            runs[-1].append(w)
        else:
            runs.append([w])
    parts = []
    for r in runs:
        a, b = r[0], r[-1] + dt.timedelta(days=6)
        parts.append(f"{_short_date(a, with_year)}—{_short_date(b, with_year)}（{len(r)}周）")
    return "；".join(parts)


# --------------------------------------------------------------------------- statistics


@dataclass
class _Counts:
    entries: int = 0
    matters: int = 0
    closed: int = 0

    @property
    def open(self) -> int:
        return self.matters - self.closed

    def add(self, m: Matter) -> None:
        self.entries += len(m.period_entries)
        self.matters += 1
        self.closed += m.status_code in CLOSED_STATUSES

    def cells(self) -> list[str]:
        return [str(self.entries), str(self.matters), str(self.closed), str(self.open)]


def _pct(n: int, total: int) -> str:
    return f"{100 * n / total:.1f}%" if total else "—"


# --------------------------------------------------------------------------- writing


class _PageModel:
    """Estimates the page each heading lands on, for the contents' cached page numbers.

    Word recomputes the TOC when the file is opened (``w:updateFields``), but
    LibreOffice shows the cached result as it is, so the cache should be close to
    the truth.  The model follows the GB/T 9704 grid the styles set: a 156 × 225 mm
    text block, body lines at a fixed 28.95 pt pitch, 16 pt characters (27 a line),
    Latin letters and digits half width.  Tables and pictures are estimated.

    Checked against LibreOffice 7.4 (Noto CJK substituting the GB fonts): exact on
    the test volume (19 contents entries, 13 pages); on a 600-entry, 321-page
    volume the rendered page is 0 to 6 pages after the estimate (the error grows
    along the volume).  For exact numbers in LibreOffice: Tools ▸ Update ▸ Update All.
    """

    HEIGHT = 225 / 25.4 * 72
    WIDTH = 156 / 25.4 * 72
    PITCH = dx.LINE_PITCH_TWIPS / 20

    def __init__(self) -> None:
        self.page = 1
        self.used = 0.0

    @staticmethod
    def width(text: str) -> float:
        # Latin letters and digits are half width; CJK and general punctuation (— “ …) full;
        # Word and LibreOffice add about a quarter em between CJK and Latin runs
        total, prev = 0.0, None
        for c in text:
            latin = ord(c) < 0x2000
            total += 0.5 if latin else 1.0
            if prev is not None and latin != prev and not c.isspace():
                total += 0.25
            prev = latin
        return total

    def new_page(self) -> None:
        if self.used > 0:
            self.page += 1
            self.used = 0.0

    def paragraph(
        self,
        text: str,
        *,
        size: float = dx.SIZE_3HAO,
        indent: bool = True,
        before: float = 0.0,
        keep: float = 0.0,
    ) -> None:
        """A paragraph on the line grid (Word and LibreOffice snap lines to it).

        Spacing before/after costs one grid line; ``keep`` (pt) is how much of the
        next paragraph must share the page; a paragraph never leaves a single line
        at the foot or the head of a page (widow/orphan control).
        """
        pitch = self.PITCH
        per_line = max(1, int(self.WIDTH // size))
        n = max(1, -(-int(self.width(text) + (2 if indent else 0) + 0.99) // per_line))
        k = n + (1 if before > 0 else 0)
        self.used = -(-round(self.used * 100) // round(pitch * 100)) * pitch  # snap to the grid
        avail = int((self.HEIGHT - self.used) / pitch + 1e-6)
        keep_lines = round(keep / pitch)
        if keep_lines and k + keep_lines > avail:
            self.new_page()
        elif k > avail:
            if avail < 2 or (n >= 2 and avail - (k - n) < 2):
                self.new_page()
            else:
                rest = k - avail
                if rest == 1 and n >= 3:
                    rest = 2
                self.page += 1
                self.used = rest * pitch
                return
        self.used += k * pitch

    def block(self, height: float) -> None:
        if self.used + height > self.HEIGHT + 0.01:
            self.new_page()
        self.used += height

    def table(self, rows: list[list[str]], widths_mm: list[float]) -> None:
        total = sum(widths_mm)
        scale = (156 / total) if total > 156 else 1.0
        heights = []
        for cells in rows:
            n = 1
            for cell, w in zip(cells, widths_mm, strict=True):
                # less one character: line-breaking rules (no line starts with ）；) waste some
                per_line = max(1, int((w * scale / 25.4 * 72 - 11) // dx.SIZE_XIAO4) - 1)
                n = max(n, -(-int(self.width(cell) + 0.99) // per_line))
            heights.append(n * 14.5 + 4.0)  # 12 pt lines off the grid + cell padding
        # a short table is kept on one page (the header row is one of ``rows``)
        if len(rows) <= dx.KEEP_TABLE_ROWS + 1 and self.used + sum(heights) > self.HEIGHT:
            self.new_page()
        for h in heights:
            self.block(h)


class _Writer:
    """Lays a :class:`Volume` out into a :class:`minqing.volumes._docx.DocxStream`."""

    def __init__(
        self,
        stream: dx.DocxStream,
        archive: Archive,
        volume: Volume,
        *,
        with_images: bool,
        progress: ProgressCallback | None,
    ) -> None:
        self.s = stream
        self.archive = archive
        self.v = volume
        self.with_images = with_images
        self.progress = progress
        self.images = 0
        self.missing_images = 0
        self._bm = 0
        self.layout = _PageModel()
        self.thumbs = _Thumbnails(archive, volume.matters) if with_images else None
        #: estimated page of each heading bookmark
        self.heading_pages: dict[str, int] = {}
        self._books: dict[str, dict[str, Any]] = {
            r["book_id"]: r
            for r in archive.db.query(f"select book_id, title, cadre, post from {BOOKS}")
        }
        self.multi_year = volume.period.start.year != volume.period.end.year

    # -- primitives
    def heading(self, level: int, text: str, *, new_page: bool = False, keep: float = 2.0) -> None:
        """A numbered heading; ``keep`` is how many body lines must follow on its page."""
        self._bm += 1
        name = f"_TocMq{self._bm:05d}"
        font = {1: dx.FONT_H1, 2: dx.FONT_H2}.get(level, dx.FONT_BODY)
        body = dx.bookmark(self._bm, name, dx.run(text, font, dx.SIZE_3HAO, bold=level >= 3))
        self.s.write(dx.para(body, dx.ppr(f"Heading{level}", page_break_before=new_page)))
        if new_page:
            self.layout.new_page()
        self.layout.paragraph(text, keep=keep * _PageModel.PITCH)
        self.heading_pages[name] = self.layout.page

    def text(self, text: str, *, indent: bool = True) -> None:
        self.s.write(dx.para(dx.run(text), dx.ppr(indent_first=None if indent else 0)))
        self.layout.paragraph(text, indent=indent)

    def labelled(self, pairs: Sequence[tuple[str, str]], *, indent: bool = True) -> None:
        runs = []
        for i, (label, value) in enumerate(pairs):
            if i:
                runs.append(dx.run("　"))
            runs.append(dx.run(f"{label}：", bold=True))
            runs.append(dx.run(value))
        self.s.write(dx.para(runs, dx.ppr(indent_first=None if indent else 0)))
        self.layout.paragraph("　".join(f"{k}：{v}" for k, v in pairs), indent=indent)

    # -- the parts of the volume
    def cover(self, title: str, unit: str, compiled_on: dt.date, skeleton_break: str) -> None:
        v = self.v
        w = self.s.write
        for _ in range(5):
            w(dx.para("", dx.ppr(indent_first=0)))
        # centred directly too: LibreOffice maps the style id "Title" onto its own style
        w(
            dx.para(
                dx.run(title, dx.FONT_TITLE, dx.SIZE_2HAO),
                dx.ppr("Title", indent_first=0, jc="center"),
            )
        )
        # the cover is one page: each further line of a long title (about 20 characters of
        # 2号 a line) takes two of the blank lines between the title and the imprint
        title_lines = math.ceil(_PageModel.width(title) * 22 / _PageModel.WIDTH)
        for _ in range(max(3, 10 - 2 * (title_lines - 1))):
            w(dx.para("", dx.ppr(indent_first=0)))
        lines = []
        if unit:
            lines.append(("编印单位", unit))
        lines.append(("汇编期间", f"{cn_date(v.period.start)}至{cn_date(v.period.end)}"))
        lines.append(("收录范围", f"民情日记{v.entry_count}篇，事项{len(v.matters)}件"))
        lines.append(("编印日期", cn_date(compiled_on)))
        for label, value in lines:
            w(
                dx.para(
                    [dx.run(f"{label}：", dx.FONT_H2), dx.run(value, dx.FONT_H2)],
                    dx.ppr(indent_first=0, jc="center"),
                )
            )
        w(skeleton_break)

    def contents(self, toc: list[tuple[int, str, str]]) -> None:
        self.s.write(dx.para(dx.run("目　　录", dx.FONT_TITLE, dx.SIZE_2HAO), dx.ppr("TOCHeading")))
        self.s.write(dx.toc_field(toc))
        self.layout.block(2 * _PageModel.PITCH)
        for _level, text, _bm in toc:
            self.layout.paragraph(text, size=dx.SIZE_4HAO, indent=False)

    def overview(self, number: str) -> None:
        v = self.v
        self.heading(1, f"{number}、概况", new_page=True)
        total = _Counts()
        by_cat: dict[int, _Counts] = {c: _Counts() for c in v.categories}
        by_village: dict[tuple[str, str], _Counts] = {}
        by_status: Counter[str] = Counter()
        for m in v.matters:
            total.add(m)
            by_cat.setdefault(m.category_code, _Counts()).add(m)
            by_village.setdefault((m.township, m.village), _Counts()).add(m)
            by_status[m.status_code] += 1
        n = len(v.matters)
        closed = total.closed
        span = f"{cn_date(v.period.start)}至{cn_date(v.period.end)}"
        # a period without a shorter name (2024年第一季度 …) is named by its span, once
        named = span if v.period.label == span else f"{v.period.label}（{span}）"
        summary = (
            f"本册收录{named}"
            f"民情日记{total.entries}篇，涉及{len(by_village)}个村的群众事项{n}件。"
            f"截至{cn_date(v.period.end)}，已办结{closed}件（已解决{by_status['resolved']}件、"
            f"已解释{by_status['explained']}件），占{_pct(closed, n)}；未办结{n - closed}件"
            f"（已上报{by_status['escalated']}件、办理中{by_status['in_progress']}件、"
            f"尚未办理{by_status['recorded']}件）。"
        )
        self.text(summary)
        below = [c for c in v.cadres if c.missed]
        if v.weeks:
            self.text(
                f"本期应记{len(v.weeks)}周，{len(v.cadres)}名干部中{len(v.cadres) - len(below)}名"
                f"每周记录均不少于1篇，{len(below)}名有未达标周次（见表4）。"
            )

        self.heading(2, "（一）分类统计", keep=3.0)
        self._caption("表1　按类别统计")
        rows = [[f"{c}. {CATEGORIES[c]}", *by_cat[c].cells()] for c in sorted(by_cat)]
        rows.append(["合计", *total.cells()])
        self._table(
            ["类别", "记录（篇）", "事项（件）", "已办结", "未办结"],
            rows,
            [56, 25, 25, 25, 25],
            bold_last_row=True,
            align=["left", "center", "center", "center", "center"],
        )

        self.heading(2, "（二）分村统计", keep=3.0)
        self._caption("表2　按乡镇、村统计")
        rows = [[t, vil, *c.cells()] for (t, vil), c in by_village.items()]
        rows.append(["合计", "", *total.cells()])
        self._table(
            ["乡镇", "村", "记录（篇）", "事项（件）", "已办结", "未办结"],
            rows,
            [30, 34, 23, 23, 23, 23],
            bold_last_row=True,
        )

        self.heading(2, "（三）办理情况", keep=3.0)
        self._caption(f"表3　事项办理情况（截至{cn_date(v.period.end)}）")
        rows = [
            [STATUS_TABLE_LABELS[s], str(by_status[s]), _pct(by_status[s], n)] for s in STATUS_ORDER
        ]
        rows.append(["合计", str(n), _pct(n, n)])
        self._table(["办理状态", "事项（件）", "占比"], rows, [66, 45, 45], bold_last_row=True)

        self.heading(2, "（四）干部记录情况", keep=5.0)  # its rows are several lines tall
        self._caption("表4　干部每周记录情况（每周不少于1篇；单位：篇）")
        rows = []
        for c in v.cadres:
            avg = f"{c.entries / c.weeks:.1f}" if c.weeks else "—"
            rows.append(
                [
                    c.cadre,
                    "、".join(c.villages),
                    str(c.entries),
                    avg,
                    f"{c.weeks_met}/{c.weeks}",
                    missed_weeks_text(c.missed, self.multi_year),
                ]
            )
        if not rows:
            rows.append(["—", "—", "0", "—", "—", "—"])
        self._table(
            ["干部", "村", "记录", "周均", "达标周", "未达标周次"],
            rows,
            [20, 22, 14, 14, 16, 70],
            align=["center", "center", "center", "center", "center", "left"],
        )

        self.heading(2, "（五）编制说明")
        notes = [
            (
                "1. 本册按乡镇、村、类别编排，类别依据省委组织部民情日记工作指导意见所列八类。"
                "同一事项的跟踪办理记录编排在该事项之下，按日期先后排列。"
            ),
            "2. 本期以前首次记录、本期仍有跟踪办理的事项，其首次记录作为“前期记录”列出，供查阅。",
            f"3. 办理状态以截至{cn_date(v.period.end)}的最后一条记录为准；"
            "本期以后的记录编入下一期。",
            "4. 每周自星期一起至星期日止，周四在本期之内的周计入本期应记周数；"
            "档案中的记录只覆盖本期一部分时，只计其首末记录日期之间的周。",
            "5. 正文为经人工校对后的文字；“出处”注明原日记本及页码，便于查对原件。",
        ]
        if v.undated_entries:
            notes.append(
                f"6. 档案中另有{v.undated_entries}篇记录未能识别日期，未编入本册，"
                "请在复核页面补正日期。"
            )
        for note in notes:
            self.text(note)

    def _table(
        self, header: list[str], rows: list[list[str]], widths: list[float], **kw: Any
    ) -> None:
        self.s.write(dx.table(header, rows, widths, **kw))
        self.layout.table([header, *rows], widths)

    def _caption(self, text: str) -> None:
        self.s.write(
            dx.para(
                dx.run(text, dx.FONT_H1, dx.SIZE_XIAO4 + 2),
                dx.ppr(
                    keep_next=True,
                    jc="center",
                    indent_first=0,
                    spacing_before=120,
                    spacing_after=60,
                ),
            )
        )
        self.layout.paragraph(text, size=dx.SIZE_XIAO4 + 2, indent=False, before=9, keep=40)

    def sections(self, first_number: int) -> None:
        v = self.v
        total = len(v.matters)
        n_town = first_number - 1
        cur_town = cur_village = None
        cur_cat: int | None = None
        n_village = n_cat = n_matter = 0
        for done, m in enumerate(v.matters, 1):
            if self.thumbs:
                self.thumbs.ahead(done - 1)
            if m.township != cur_town:
                n_town += 1
                cur_town, cur_village, cur_cat = m.township, None, None
                n_village = 0
                self.heading(1, f"{cn_number(n_town)}、{m.township}", new_page=True)
            if m.village != cur_village:
                n_village += 1
                cur_village, cur_cat = m.village, None
                n_cat = 0
                self.heading(2, f"（{cn_number(n_village)}）{m.village}")
            if m.category_code != cur_cat:
                n_cat += 1
                cur_cat = m.category_code
                n_matter = 0
                self.heading(3, f"{n_cat}．{CATEGORIES[m.category_code]}")
            n_matter += 1
            self.matter(n_matter, m)
            if self.progress is not None:
                self.progress(done, total)

    def matter(self, number: int, m: Matter) -> None:
        root = m.root
        w = self.s.write
        w(
            dx.para(
                dx.run(f"（{number}）{_matter_title(root)}", dx.FONT_BODY, dx.SIZE_3HAO, bold=True),
                dx.ppr("Heading4", keep_next=True),
            )
        )
        self.layout.paragraph(f"（{number}）{_matter_title(root)}", keep=2 * _PageModel.PITCH)
        meta = [("记录日期", root.date_text)]
        meta.append(("记录人", self._cadre(root)))
        if root.fields.get("place"):
            meta.append(("地点", root.fields["place"]))
        if root.fields.get("people"):
            meta.append(("当事人", root.fields["people"]))
        meta.append(("办理状态", STATUSES.get(m.status_code, m.status_code)))
        self.labelled(meta)
        if not root.in_period:
            self.text(f"【前期记录】本事项首次记录于{cn_date(root.date)}，不属本期，列出供查阅。")
        self._text_and_notes(root)
        for key, label in FIELD_LABELS:
            if root.fields.get(key):
                self.labelled([(label, root.fields[key])])
        self._source(root)
        if root.in_period:
            self._images(root)
        if m.follow_ups:
            w(dx.para(dx.run("跟踪办理情况：", dx.FONT_H2), dx.ppr(keep_next=True)))
            # kept with the next heading line, which is kept with two lines of its text
            self.layout.paragraph("跟踪办理情况：", keep=3 * _PageModel.PITCH)
            for i, f in enumerate(m.follow_ups, 1):
                status = STATUSES.get(f.status_code or "", "")
                head = f"{i}. {f.date_text}"
                head += f"　{status}" if status else ""
                head += f"　记录人：{self._cadre(f)}"
                if f.in_period:
                    w(dx.para(dx.run(head, bold=True), dx.ppr(keep_next=True)))
                    self.layout.paragraph(head, keep=2 * _PageModel.PITCH)
                    self._text_and_notes(f)
                    if f.fields.get("result"):
                        self.labelled([("办理结果", f.fields["result"])])
                    self._source(f)
                    self._images(f)
                else:
                    when = "前期记录" if f.date is not None else "日期不详"
                    result = f.fields.get("result") or _clip(f.text, 60)
                    w(dx.para(dx.run(f"{head}（{when}）", bold=True), dx.ppr(keep_next=True)))
                    self.layout.paragraph(f"{head}（{when}）", keep=_PageModel.PITCH)
                    self.labelled([("办理结果", result)])
                    self._source(f)

    def _text_and_notes(self, e: _Entry) -> None:
        """The entry's text, then each 补记 as its own paragraph, marked as a later note."""
        body, notes = e.body_and_notes()
        self.text(body)
        for note in notes:
            self.s.write(
                dx.para(
                    [dx.run("【补记】", dx.FONT_H1, dx.SIZE_3HAO), dx.run(note, dx.FONT_H2)],
                    dx.ppr(),
                )
            )
            self.layout.paragraph("【补记】" + note)

    def _cadre(self, e: _Entry) -> str:
        recorder = (e.fields.get("recorder") or "").strip()
        name = e.cadre or (f"{recorder}{FROM_PAGE}" if recorder else NO_CADRE)
        post = (self._books.get(e.book_id) or {}).get("post")
        return f"{name}（{post}）" if post else name

    def _source(self, e: _Entry) -> None:
        """出处：张伟（杨树沟村）日记本第2页 · 第1条, the entry id in small print after it."""
        book = self._books.get(e.book_id) or {}
        cadre, village = e.cadre or book.get("cadre"), e.village or book.get("village")
        if book.get("title"):
            name = f"《{book['title']}》"
        elif cadre:
            name = f"{cadre}（{village}）日记本" if village else f"{cadre}日记本"
        else:
            name = f"日记本{e.book_id}"
        ref = f"{name}{_pages(e.page_start, e.page_end)} · 第{e.seq}条"
        small = f"（编号{e.entry_id}）"
        self.s.write(
            dx.para(
                [
                    dx.run("出处：", dx.FONT_H2, dx.SIZE_XIAO4 + 2),
                    dx.run(ref, dx.FONT_H2, dx.SIZE_XIAO4 + 2),
                    dx.run(small, dx.FONT_H2, dx.SIZE_XIAO4 - 3),
                ],
                dx.ppr(jc="right", indent_first=0),
            )
        )
        self.layout.paragraph("出处：" + ref + small, size=dx.SIZE_XIAO4 + 2, indent=False)

    def _images(self, e: _Entry) -> None:
        if not self.with_images or not e.page_start:
            return
        runs = []
        for page_no in range(e.page_start, (e.page_end or e.page_start) + 1):
            thumb = self.thumbs.take(e.entry_id, page_no) if self.thumbs else None
            if thumb is None:
                self.missing_images += 1
                continue
            data, cx, cy = thumb
            rel_id, pic_id = self.s.add_image(data)
            runs.append(
                dx.inline_picture(rel_id, pic_id, cx, cy, f"{e.entry_id} 第{page_no}页原件")
            )
            self.layout.block(cy / dx.EMU_PER_MM / 25.4 * 72 + 4)
            self.images += 1
        if runs:
            self.s.write(
                dx.para(runs, dx.ppr(line=240, line_rule="auto", jc="center", indent_first=0))
            )
        else:
            self.text("（原件影像缺失，请核对档案中的页面图像。）")


def _clip(text: str, n: int) -> str:
    text = text.strip().replace("\n", "")
    return text if len(text) <= n else text[: n - 1] + "……"


_LEADING_DATE = re.compile(
    r"^\s*(?:(?:\d{4}\s*[年./-]\s*)?\d{1,2}\s*[月./-]\s*\d{1,2}\s*[日号]?|同日|当日|次日|当天)"
)
_LEADING_TIME = re.compile(r"^\s*(?:上午|下午|中午|晚上|傍晚|早上)")
_LEADING_WEEKDAY = re.compile(r"^\s*[（(]?(?:星期|礼拜|周)[一二三四五六日天][)）]?")
_LEADING_WEATHER = re.compile(
    r"^\s*(?:晴转多云|多云转晴|阴转晴|晴转阴|多云|晴天|阴天|晴|阴|小雨|中雨|大雨|阵雨|雷阵雨|雨|小雪|大雪|雪)"
)
_LEADING_PUNCT = re.compile(r"^[，,、：:；;。\s]+")
#: a 事由 heading longer than this is cut at its first comma (when that leaves a phrase)
SHORT_TITLE = 20


def _strip_dateline(text: str) -> str:
    """The text without its dateline: date, time of day, weekday and weather."""
    rest = text.strip()
    dated = False
    for pattern in (_LEADING_DATE, _LEADING_TIME, _LEADING_WEEKDAY):
        m = pattern.match(rest)
        if m:
            rest, dated = rest[m.end() :], True
    if dated:  # weather words only count right after a date or weekday
        m = _LEADING_WEATHER.match(rest)
        if m:
            rest = rest[m.end() :]
    return _LEADING_PUNCT.sub("", rest)


def _matter_title(e: _Entry) -> str:
    """The matter's 事由 heading: its problem field, else the first sentence without the
    dateline (date, weekday, weather), cut to its first clause when long."""
    base = e.fields.get("problem") or e.text
    first = re.split(r"[。；;！？!?\n]", _strip_dateline(base), maxsplit=1)[0].strip()
    if len(first) > SHORT_TITLE:
        comma = re.search(r"[，,]", first)
        if comma and comma.start() >= 6:
            first = first[: comma.start()]
    return _clip(first, 30) or "（无标题）"


Thumb = tuple[bytes, int, int]  # JPEG bytes, width and height in EMU


def _thumb_source(
    archive: Archive, entry_id: str, book_id: str, page_no: int
) -> tuple[Path, tuple[float, ...] | None] | None:
    """The page image of ``book_id`` page ``page_no`` and the box around the entry's lines."""
    row = archive.db.execute(
        f"select image, original from {PAGES} where book_id = ? and page_no = ?", [book_id, page_no]
    ).fetchone()
    if row is None or not (row[0] or row[1]):
        return None
    box = archive.db.execute(
        f"select min(x0), min(y0), max(x1), max(y1) from {LINES} "
        "where entry_id = ? and page_no = ? and x0 is not null",
        [entry_id, page_no],
    ).fetchone()
    return archive.path_of(row[0] or row[1]), (tuple(box) if box and box[0] is not None else None)


def _render_thumb(path: Path, box: tuple[float, ...] | None) -> Thumb | None:
    """A JPEG of the handwriting: the page cropped to ``box`` (runs in a worker thread)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            im.load()
            img = im
            if box is not None:
                pad_x, pad_y = 0.03 * im.width, 0.02 * im.height
                x0, y0 = max(0, int(box[0] - pad_x)), max(0, int(box[1] - pad_y))
                x1, y1 = min(im.width, int(box[2] + pad_x)), min(im.height, int(box[3] + pad_y))
                if x1 - x0 > 10 and y1 - y0 > 10:
                    img = im.crop((x0, y0, x1, y1))
            img = img.convert("L")
    except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError):
        return None
    img.thumbnail((900, 1200))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=70)
    # at most 120 mm wide and 100 mm high, keeping the aspect ratio
    scale = min(120 / img.width, 100 / img.height)
    return (
        buf.getvalue(),
        int(img.width * scale * dx.EMU_PER_MM),
        int(img.height * scale * dx.EMU_PER_MM),
    )


class _Thumbnails:
    """Renders the thumbnails of the next matters in worker threads, ahead of the writer.

    Pillow releases the GIL while it decodes and encodes, so the threads use every
    core; the database is read in the writer's thread only (sqlite connections stay
    in their thread), and the look-ahead bounds how many thumbnails wait in memory.
    """

    LOOKAHEAD = 32

    def __init__(self, archive: Archive, matters: Sequence[Matter]) -> None:
        import os
        from concurrent.futures import ThreadPoolExecutor

        self.archive = archive
        self.matters = matters
        self.pool = ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1)))
        self.futures: dict[tuple[str, int], Any] = {}
        self.next = 0

    def ahead(self, index: int) -> None:
        """Queue the thumbnails of matters up to ``index + LOOKAHEAD``."""
        while self.next < len(self.matters) and self.next <= index + self.LOOKAHEAD:
            for e in self.matters[self.next].period_entries:
                for page_no in range(e.page_start or 0, (e.page_end or e.page_start or 0) + 1):
                    if page_no < 1:
                        continue
                    src = _thumb_source(self.archive, e.entry_id, e.book_id, page_no)
                    key = (e.entry_id, page_no)
                    self.futures[key] = (
                        None if src is None else self.pool.submit(_render_thumb, *src)
                    )
            self.next += 1

    def take(self, entry_id: str, page_no: int) -> Thumb | None:
        fut = self.futures.pop((entry_id, page_no), None)
        return None if fut is None else fut.result()

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


def _default_title(
    volume: Volume, townships: Sequence[str], villages: Sequence[str], cadres: Sequence[str]
) -> str:
    towns = {m.township for m in volume.matters}
    vills = {m.village for m in volume.matters}
    name = ""
    if len(towns) == 1:
        name += next(iter(towns)).strip("（）")
    if villages and len(vills) == 1:
        name += next(iter(vills))
    if len(cadres) == 1:
        name += cadres[0]
    return f"{name}民情日记汇编（{volume.period.label}）"


def _filters_text(townships, villages, cadres, categories, statuses) -> str:
    parts = []
    for label, vals in (
        ("乡镇", townships),
        ("村", villages),
        ("干部", cadres),
        ("类别", [CATEGORIES.get(c, str(c)) for c in categories]),
        ("状态", statuses),
    ):
        if vals:
            parts.append(f"{label}={'、'.join(map(str, vals))}")
    return "，".join(parts)


def compile_volume(
    archive: Archive,
    out_path: Path | str,
    *,
    date_from: dt.date,
    date_to: dt.date,
    townships: Sequence[str] = (),
    villages: Sequence[str] = (),
    cadres: Sequence[str] = (),
    categories: Sequence[int] = (),
    statuses: Sequence[str] = (),
    title: str | None = None,
    unit: str | None = None,
    period_label: str | None = None,
    compiled_on: dt.date | None = None,
    with_images: bool = False,
    progress: ProgressCallback | None = None,
    fonts: str = "gb",
) -> CompileStats:
    """Write the compiled volume of a period to ``out_path`` (.docx).

    Args:
        archive: an open archive.
        out_path: the Word file to write (replaced atomically if it exists).
        date_from, date_to: the period, both days included.
        townships, villages, cadres, categories: keep only matters whose root entry
            has one of these (empty: no filter).
        statuses: keep only matters whose status is one of these: ``open``,
            ``closed``, a status code (``resolved`` …) or its Chinese label (已解决 …).
        title: the volume title (default: e.g. 石桥镇民情日记汇编（2024年第三季度）).
        unit: the compiling unit on the cover (default: the township when there is one).
        period_label: how the period is named (default: derived, e.g. 2024年第三季度).
        compiled_on: the date of compilation on the cover (default: today).
        with_images: embed thumbnails of each entry's handwriting.
        progress: called as ``progress(done, total)`` after each matter is written.
        fonts: ``gb`` names the GB/T 9704 fonts (Word with them installed); ``linux`` names
            Debian's fonts per style (:data:`minqing.volumes._docx.LINUX_FONTS`), the GB
            fonts kept as Word's alternates, so that LibreOffice keeps title, headings and
            body apart.

    Returns:
        What was written.

    Raises:
        NothingToCompileError: no entry of the period matches the filters; no file is written.
        ValueError: an unknown status name or a period that ends before it starts.
    """
    t0 = time.perf_counter()
    out_path = Path(out_path)
    period = period_between(date_from, date_to)
    if period_label:
        period = Period(period.start, period.end, period_label)
    volume = collect_volume(
        archive,
        period=period,
        townships=townships,
        villages=villages,
        cadres=cadres,
        categories=categories,
        statuses=statuses,
    )
    if not volume.matters:
        span = archive.db.execute(
            f"select min(date), max(date), count(*) from {ENTRIES} where date is not null"
        ).fetchone()
        have = (
            f"the archive has dated entries from {span[0]} to {span[1]}"
            if span and span[2]
            else "the archive has no dated entries"
        )
        filters = _filters_text(townships, villages, cadres, categories, statuses)
        raise NothingToCompileError(
            archive.db_path,
            f"no entries between {period.start} and {period.end}"
            + (f" matching {filters}" if filters else "")
            + f"; {have}",
            "choose another period with --period or --from/--to, or loosen the filters",
        )
    title = title or _default_title(volume, townships, villages, cadres)
    towns = {m.township for m in volume.matters}
    if unit is None:
        unit = next(iter(towns)) if len(towns) == 1 and NO_TOWNSHIP not in towns else ""
    compiled_on = compiled_on or dt.date.today()

    skeleton = dx.build_skeleton(title=title, author=unit or "minqing", subject=period.label)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    stream = dx.DocxStream(skeleton, out_path)
    writer: _Writer | None = None
    try:
        writer = _Writer(stream, archive, volume, with_images=with_images, progress=progress)
        writer.cover(title, unit, compiled_on, dx.cover_section_break(skeleton))
        contents = _toc_plan(volume)
        writer.contents(contents)
        writer.overview("一")
        writer.sections(first_number=2)
        stream.close(pages=writer.heading_pages)
    except BaseException:
        stream.abort()
        raise
    finally:
        if writer is not None and writer.thumbs is not None:
            writer.thumbs.close()
    if fonts == "linux":
        dx.retarget_fonts(out_path)
    return CompileStats(
        out_path=out_path,
        title=title,
        period=period,
        entries=volume.entry_count,
        matters=len(volume.matters),
        context_entries=sum(len(m.entries) - len(m.period_entries) for m in volume.matters),
        townships=len(towns),
        villages=len({(m.township, m.village) for m in volume.matters}),
        cadres=len(volume.cadres),
        images=writer.images,
        missing_images=writer.missing_images,
        undated_entries=volume.undated_entries,
        seconds=time.perf_counter() - t0,
        contents=contents,
    )


def _toc_plan(volume: Volume) -> list[tuple[int, str, str]]:
    """The headings (level, text, bookmark) the writer will emit, in order.

    Mirrors :meth:`_Writer.overview` and :meth:`_Writer.sections`; the bookmark
    numbers follow the order in which headings are written.
    """
    heads: list[tuple[int, str]] = [(1, "一、概况")]
    heads += [
        (2, t)
        for t in (
            "（一）分类统计",
            "（二）分村统计",
            "（三）办理情况",
            "（四）干部记录情况",
            "（五）编制说明",
        )
    ]
    n_town = 1
    cur_town = cur_village = None
    cur_cat: int | None = None
    n_village = n_cat = 0
    for m in volume.matters:
        if m.township != cur_town:
            n_town += 1
            cur_town, cur_village, cur_cat, n_village = m.township, None, None, 0
            heads.append((1, f"{cn_number(n_town)}、{m.township}"))
        if m.village != cur_village:
            n_village += 1
            cur_village, cur_cat, n_cat = m.village, None, 0
            heads.append((2, f"（{cn_number(n_village)}）{m.village}"))
        if m.category_code != cur_cat:
            n_cat += 1
            cur_cat = m.category_code
            heads.append((3, f"{n_cat}．{CATEGORIES[m.category_code]}"))
    return [(lvl, text, f"_TocMq{i:05d}") for i, (lvl, text) in enumerate(heads, 1)]
