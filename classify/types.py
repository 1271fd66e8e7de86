"""Types produced by the classify stage: entries and follow-up links.

Input to the stage is a book's lines in reading order (:class:`BookLine`), each
already normalised by ``ocr/`` (or corrected by a reviewer).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

#: Category codes and names, from the provincial guideline, section 三(二).
CATEGORIES: dict[int, str] = {
    1: "农村经济发展",
    2: "村级组织建设",
    3: "村务民主管理",
    4: "农村矛盾纠纷",
    5: "群众关注的热点难点",
    6: "精神文明建设",
    7: "村容村貌整治",
    8: "其他",
}

#: Status codes (lifecycle recorded → in_progress → escalated → resolved | explained)
#: and the Chinese label exported in the ``status`` field.
STATUSES: dict[str, str] = {
    "recorded": "已记录",
    "in_progress": "办理中",
    "escalated": "已上报",
    "resolved": "已解决",
    "explained": "已解释",
}


#: how an entry's date was written (:attr:`Entry.date_kind`)
DATE_KINDS = (
    "gregorian", "lunar", "both", "relative", "shared_heading", "visit_header", "continuation",
    "undated",
)  # fmt: skip


@dataclass(frozen=True)
class BookLine:
    """One line of a book, as the classify stage reads it.

    Attributes:
        line_id: stable id of the line in the archive (``book/page/line``).
        page_no: 1-based page number within the book.
        line_no: 0-based position of the line on its page, in reading order.
        text: the line text (a reviewer's correction where there is one).
        box: axis-aligned ``(x0, y0, x1, y1)`` in page pixels, or None.
        page_height: height of the page image in pixels (0 when unknown).
    """

    line_id: str
    page_no: int
    line_no: int
    text: str
    box: tuple[float, float, float, float] | None = None
    page_height: int = 0

    def __post_init__(self) -> None:
        if self.page_no < 1:
            raise ValueError(f"BookLine.page_no must be >= 1, got {self.page_no}")
        if self.line_no < 0:
            raise ValueError(f"BookLine.line_no must be >= 0, got {self.line_no}")


@dataclass(frozen=True)
class Entry:
    """One single-matter entry (一事一记) of a book.

    Attributes:
        seq: 1-based position of the entry in its book.
        page_start, page_end: 1-based page numbers the entry spans.
        line_ids: the lines the entry is made of, in order.
        text: entry text (its lines joined without separators).
        date: the entry's date, or None.
        date_inferred: True when ``date`` was inferred, not read from a date line.
        category_code: 1..8 (see :data:`CATEGORIES`).
        category_score: classifier confidence in [0, 1].
        category_evidence: the words that decided the category.
        status: a key of :data:`STATUSES`.
        fields: labelled fields (place, people, problem, analysis, measures, result).
    """

    seq: int
    page_start: int
    page_end: int
    line_ids: tuple[str, ...]
    text: str
    date: dt.date | None
    date_inferred: bool
    category_code: int
    category_score: float
    category_evidence: tuple[str, ...]
    status: str
    fields: tuple[tuple[str, str], ...] = field(default=())
    #: how the entry was written: ``narrative``, ``labelled`` (时间：/地点：…) or ``form``
    layout: str = "narrative"
    #: signals about the date: ``weekday_mismatch``, ``year_repaired``, ``digit_repaired``,
    #: ``year_rollover``, ``relative:<expression>``, ``from_previous``, ``from_next``
    date_flags: tuple[str, ...] = field(default=())
    #: how the date was written (issue 18): ``gregorian``, ``lunar``, ``both`` (the two
    #: calendars in one heading), ``relative`` (次日, 当天下午 …), ``shared_heading`` (a
    #: matter under the heading of the entry before), ``visit_header`` (a 走访时间 line),
    #: ``continuation`` (a notebook's first text, continuing the cadre's previous notebook),
    #: ``undated``
    date_kind: str = "gregorian"
    #: True for a matter recorded under the heading of the entry before (①②③, 一是/二是)
    shares_heading: bool = False
    #: later notes (补记) the cadre added to this entry, as written (they are in ``text`` too)
    later_notes: tuple[str, ...] = field(default=())
    #: dates mentioned inside the body: ``(kind, ISO date)`` with kind ``deadline``,
    #: ``later_note`` or ``referenced``; never the entry's own date
    body_dates: tuple[tuple[str, str], ...] = field(default=())

    def __post_init__(self) -> None:
        if self.seq < 1:
            raise ValueError(f"Entry.seq must be >= 1, got {self.seq}")
        if not (1 <= self.page_start <= self.page_end):
            raise ValueError(
                f"Entry pages must satisfy 1 <= start <= end, got {self.page_start}..{self.page_end}"
            )
        if self.category_code not in CATEGORIES:
            raise ValueError(f"Entry.category_code must be 1..8, got {self.category_code}")
        if not (0.0 <= self.category_score <= 1.0):
            raise ValueError(f"Entry.category_score must be in [0, 1], got {self.category_score}")
        if self.status not in STATUSES:
            raise ValueError(f"Entry.status must be one of {sorted(STATUSES)}, got {self.status!r}")
        object.__setattr__(self, "line_ids", tuple(self.line_ids))
        object.__setattr__(self, "category_evidence", tuple(self.category_evidence))
        object.__setattr__(self, "fields", tuple((str(k), str(v)) for k, v in self.fields))
        object.__setattr__(self, "date_flags", tuple(self.date_flags))
        object.__setattr__(self, "later_notes", tuple(self.later_notes))
        object.__setattr__(self, "body_dates", tuple(tuple(b) for b in self.body_dates))
        if self.date_kind not in DATE_KINDS:
            raise ValueError(f"Entry.date_kind must be one of {DATE_KINDS}, got {self.date_kind!r}")
        if self.layout not in ("narrative", "labelled", "form"):
            raise ValueError(f"Entry.layout must be narrative/labelled/form, got {self.layout!r}")

    @property
    def category(self) -> str:
        """The category's Chinese name."""
        return CATEGORIES[self.category_code]


@dataclass(frozen=True)
class Link:
    """A follow-up link: entry ``child`` reports on the matter of entry ``parent``.

    Entries are referred to by ``(book_id, seq)``.
    """

    child: tuple[str, int]
    parent: tuple[str, int]
    score: float
    evidence: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.child == self.parent:
            raise ValueError(f"an entry cannot follow itself up: {self.child}")
        if not (0.0 <= self.score <= 1.0):
            raise ValueError(f"Link.score must be in [0, 1], got {self.score}")
        object.__setattr__(self, "evidence", tuple(self.evidence))


@dataclass(frozen=True)
class Matter:
    """A matter: a root entry and the entries that follow it up.

    Attributes:
        root: ``(book_id, seq)`` of the entry that first recorded the matter (matter id).
        status: the status of its latest entry (a key of :data:`STATUSES`).
        open: True while no result is recorded (status not resolved or explained).
        members: every entry of the matter, root first, in date order.
        latest: the entry whose status the matter takes.
    """

    root: tuple[str, int]
    status: str
    open: bool
    members: tuple[tuple[str, int], ...] = ()
    latest: tuple[str, int] | None = None

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(
                f"Matter.status must be one of {sorted(STATUSES)}, got {self.status!r}"
            )
        object.__setattr__(self, "members", tuple(self.members))
