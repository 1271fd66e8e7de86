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
from dataclasses import dataclass, field, replace

from minqing.classify.category import classify_category
from minqing.classify.dates import (
    RELATIVE_DAYS,
    DateMatch,
    lunar_to_solar,
    normalise,
    parse_date_line,
    relative_offset,
    repair_date,
    year_from_weekdays,
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
    r"|第\s*[一二三四五六七八九十\d]{1,3}\s*[本册]"
)
#: a later note (补记): a dated line the cadre added to an old entry; never starts an entry
_LATER_NOTE_RE = re.compile(r"^(?:上午|下午|晚上|中午)?\s*(?:补记|补充|又记|再记|续记|附记|后记)")
#: list markers: (family, number) of ①, (2), 3. / 3、, 二是
_CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳"
_MARK_PAREN = re.compile(r"^\s*[（(]\s*(\d{1,2}|[一二三四五六七八九十])\s*[)）]")
#: ``3.`` before text, or before a date (``4.9月4日说的…``: item 4, not a heading 4.9)
_MARK_DOT = re.compile(
    r"^\s*(\d{1,2})\s*(?:、|[.．](?:(?!\d)|(?=\d{1,2}\s*月\s*(?:\d{1,2}\s*[日号]|[上中下]旬|底|初|份))))"
)
_MARK_SHI = re.compile(r"^\s*([一二三四五六七八九十])\s*是")
_MARK_BARE = re.compile(
    r"^\s*([1-9])(?=[\u4e00-\u9fff])(?![组号月年日户人个位天点次家亩元万千百岁队栋间口])"
)
#: a visit report's section head (一、基本情况): never starts an entry
_SECTION_RE = re.compile(r"^\s*[一二三四五六七八九十]{1,2}\s*[、.．]")


#: an introduction to several matters under one heading (今天把几件事补上：)
_INTRO_RE = re.compile(
    r"[几两三四五六七八九十多]件|[几两三四五六七八九十]个事|[几两三四五六七八九十]桩|事情?[多不]少?[，,:：]"
    r"|一并|集中记|记一下|补上|补记几|分别记|一起记|汇总一下|几个村民小组的事"
)


def _opens_list(d: _Draft, family: str) -> bool:
    """Whether a list starting now lists the heading's matters (not a matter's steps).

    ①, (1) and 一是 right under the heading list matters; ``1.`` there more often numbers
    the points of one matter, so it needs an introduction (今天记几件事：) as the others
    do after any text.
    """
    body = d.lines[d.heading_lines :]
    if not body:
        # right under a bare heading (3月5日 晴), any list lists matters; under a heading
        # that names its matter (3月5日 沃柑项目：), 1. 2. are that matter's points
        return d.heading_lines > 0 and (
            family != "dot" or (d.date_match is not None and not d.date_match.rest)
        )
    intro = _WS.sub("", "".join(normalise(ln.text) for ln in body))
    return len(body) <= 5 and d.date_match is not None and bool(_INTRO_RE.search(intro))


#: how the second item of a ``1. 2.`` list goes on with the first item's matter (its points:
#: what was done, by whom, what next) rather than naming a matter of its own
_POINT_HEAD_RE = re.compile(
    r"^(?:已|已经|当场|当即|当天|当晚|随即|随后|然后|后来|今天|今日|现在|目前|经|并|同时|另外|再|又|先"
    r"|下步|下一步|计划|准备|要求|打算|建议|提醒|通知|他|她|它|双方|两家|两户|本人|对方|这|此|该|其|我"
    r"|(?:调解|处理|原因|结果|办理|措施|进展|答复|回复|意见|下步打算)[：:])"
)
_HAN2 = re.compile(r"[\u4e00-\u9fff]{2}")
#: two-character words too common to tie two items to one matter
_COMMON2 = frozenset(
    re.findall(
        r"\S+",
        "村里 组里 乡里 镇里 今天 群众 村民 一个 两个 没有 已经 他们 我们 说是 这个 那个 问题 情况"
        " 反映 要求 现在 时候 不是 就是 还是 一下 一起 来了 去了 的事 了一 说要",
    )
)


def _continues_item(first: str, second: str) -> bool:
    """Whether list item ``second`` (its first line) is a point of the matter of ``first``.

    ``2.已移交派出所`` / ``2.调解：…`` / ``2.钱今天交到孙二旺手上`` (a name of item 1) go on
    with item 1's matter; ``2.老村小学空了好几年`` names a matter of its own.
    """
    body = re.sub(
        r"^\s*(?:[（(]?\s*[\d一二三四五六七八九十]{1,2}\s*[.、．)）]|[①-⑳])\s*", "", second
    )
    body = _WS.sub("", normalise(body))
    if _POINT_HEAD_RE.match(body):
        return True
    head = body[:8]
    grams = {head[k : k + 2] for k in range(len(head) - 1)}
    first = _WS.sub("", normalise(first))
    return any(g in first for g in grams if _HAN2.fullmatch(g) and g not in _COMMON2)


def _item_text(d: _Draft) -> str:
    """The body text of a draft (its heading lines left out)."""
    return "".join(ln.text for ln in d.lines[d.heading_lines :])


def _under_heading(d: _Draft) -> bool:
    """Whether the draft's list opens right under its heading (no introduction before it)."""
    body = d.lines[d.heading_lines :]
    return bool(body) and list_marker(body[0].text) is not None


def _inline_list(d: _Draft, mk: tuple[str, int]) -> bool:
    """An introduced list whose first item runs on in the intro's line (今天记两件事。一是…)."""
    body = _WS.sub("", normalise(_item_text(d)))
    prev = "一二三四五六七八九十"[mk[1] - 2] + "是"
    k = body.find(prev)
    return d.date_match is not None and k > 0 and bool(_INTRO_RE.search(body[:k]))


def list_marker(text: str) -> tuple[str, int] | None:
    """``(family, number)`` when a line opens with a list marker (①, (2), 3., 二是)."""
    t = text.strip()
    if t and t[0] in _CIRCLED:
        return "circled", _CIRCLED.index(t[0]) + 1
    from minqing.classify.dates import cn_number

    for fam, rx in (("paren", _MARK_PAREN), ("dot", _MARK_DOT), ("shi", _MARK_SHI)):
        m = rx.match(t)
        if m:
            n = cn_number(m.group(1))
            if n:
                return fam, n
    m = _MARK_BARE.match(t)
    if m:  # ① whose circle OCR lost: a bare digit right before the text
        return "bare", int(m.group(1))
    return None


def _same_list(a: str, b: str) -> bool:
    return a == b or (a == "bare" and b == "circled") or (a == "circled" and b == "bare")


_WS = re.compile(r"\s+")
_SENTENCE_END = ("。", "！", "？", "!", "?", "…", "”", "）", ")", "；")


#: a date run into its entry's first sentence (三月十二日回访，… / 四月二日，…): the date
#: set off by punctuation, or followed by a visit word
_RUN_IN_HEAD_RE = re.compile(
    r"^(?:[,，、:：;；]|(?:上午|下午|晚上)?[,，]?(?:回访|走访|反馈|来访|入户|召开))"
)


def _after_time_of_day(rest: str) -> str:
    return re.sub(r"^[\s,，、:：]*(?:上午|下午|晚上|中午|早上|傍晚)?[\s,，、:：]*", "", rest)


def _slash_date(text: str, page_no: int) -> bool:
    """A ``3/20`` line that is a date heading, not the page number ``3/20`` (page 3 of 20)."""
    m = re.fullmatch(r"\s*(\d{1,2})\s*/\s*(\d{1,2})\s*", normalise(text))
    if m is None or abs(int(m.group(1)) - page_no) <= 1:
        return False
    return parse_date_line(text) is not None


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
    #: how the entry got its date: ``heading`` (its own date line), ``shared`` (a matter
    #: under the heading of the entry before), ``visit`` (a 走访时间 label)
    start: str = "heading"
    #: the list of matters under one heading: (family, last number)
    items: tuple[str, int] | None = None
    heading_lines: int = 0
    #: a ``1. 2.`` list under the heading numbers one matter's points, not several matters
    points: bool = False
    later_notes: list[str] = field(default_factory=list)


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


def _gap_lines(lines: Sequence[BookLine], i: int, height: float) -> float:
    """White space above line ``i`` of a page, in line heights (0 at the top of a page)."""
    if i == 0 or height <= 0:
        return 0.0
    a, b = lines[i - 1].box, lines[i].box
    if a is None or b is None:
        return 0.0
    return (b[1] - a[3]) / height


def _pages(lines: Sequence[BookLine]) -> list[list[BookLine]]:
    pages: dict[int, list[BookLine]] = {}
    for ln in sorted(lines, key=lambda x: (x.page_no, x.line_no)):
        pages.setdefault(ln.page_no, []).append(ln)
    return [pages[p] for p in sorted(pages)]


def _is_cover(page: list[BookLine]) -> bool:
    texts = [normalise(ln.text) for ln in page]
    if (
        len(texts) <= 4
        and any(re.search(r"民情日[记記]", t) for t in texts)
        and all(len(_WS.sub("", t)) <= 24 for t in texts)
    ):
        return True  # a title page: 民情日记 / the village / the cadre
    if any(parse_date_line(t) for t in texts if not _COVER_RE.search(t)):
        return False
    if len(texts) <= 3 and all(
        len(_WS.sub("", t)) <= 16 and not re.search(r"[。，,；;！？!?：:、]", t) for t in texts
    ):
        return True  # a cover naming only the unit and the cadre (大湾镇民情服务中心 唐丽)
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
    lb = [lab_ln.box for lab_ln, _, _ in labels if lab_ln.box is not None]
    have_boxes = len(lb) == len(labels)
    for ln in others:
        best = None
        if have_boxes and ln.box is not None:
            cy = (ln.box[1] + ln.box[3]) / 2
            tol = 0.25 * (ln.box[3] - ln.box[1])
            # the label band holding the line: the lowest labels whose top is above it;
            # of several labels side by side in that band (时间|…|地点|…), the nearest
            # one to the line's left
            above = [i for i, box in enumerate(lb) if box[1] <= cy + tol]
            if above:
                top = max(lb[i][1] for i in above)
                band = [i for i in above if lb[i][1] >= top - 2 * tol]
                left = [i for i in band if lb[i][0] <= ln.box[0]]
                best = (
                    max(left, key=lambda i: lb[i][0]) if left else min(band, key=lambda i: lb[i][0])
                )
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
    boundary="default",
    trace: list | None = None,
    span: tuple[dt.date, dt.date] | None = None,
) -> list[Entry]:
    """Split a book's lines (reading order across pages) into single-matter entries.

    Args:
        lines: every line of the book; sorted here by ``(page_no, line_no)``.
        year_hint: the year for dates written without one, until a dated entry gives
            a year (e.g. the year on the notebook's cover or in the manifest).
        model: an optional trained category model (:func:`train_category_model`),
            combined with the lexicon (None: the shipped one; False: the lexicon alone).
        status_model: an optional status model (``minqing retrain``); None: the shipped one.
        boundary: the learnt boundary model (:mod:`classify.boundary`): ``"default"``
            (the shipped one), a :class:`BoundaryModel`, or None (rules only).
        trace: when a list, ``(line_id, features, started)`` of every line is appended
            (to train the boundary model).
        span: the notebook's period ``(first, last day)`` (:func:`period_span` of the
            manifest's period, or :func:`neighbour_spans`), for dates written without a
            year before any entry gives one: a lunar ``腊月廿三`` takes the year that puts it
            in the span. The cover's period (``2024年10月—2025年3月``) is read when not given.

    Returns:
        The entries, ``seq`` from 1, each with its date (read, repaired or inferred),
        category, status and labelled fields.
    """
    from minqing.classify.boundary import THRESHOLD, default_boundary_model, line_features

    bmodel = default_boundary_model() if boundary == "default" else boundary
    drafts: list[_Draft] = []
    cur: _Draft | None = None
    started = False
    habit = [0, 0]  # lists under a heading read so far as [several matters, one matter's points]
    for page in _pages(lines):
        content = [
            ln for ln in page
            if ln.text.strip() and (not is_header(ln.text) or _slash_date(ln.text, ln.page_no))
        ]  # fmt: skip
        if not content:
            continue
        if not started and _is_cover(content):
            # the cover's date range (民情日记（第二本）2024年7月—) gives the year
            cover_year = re.search(
                r"((?:19|20)\d\d)\s*年", "".join(normalise(ln.text) for ln in content)
            )
            if cover_year and year_hint is None:
                year_hint = int(cover_year.group(1))
            if span is None:
                span = period_span("".join(normalise(ln.text) for ln in content))
            continue
        height = _line_height(content)
        lens = [len(_WS.sub("", ln.text)) for ln in content]
        median_len = statistics.median(lens) if lens else 0.0
        left = min((ln.box[0] for ln in content if ln.box is not None), default=0.0)
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
            real_gap = gap and i > 0
            start = False
            shared = False
            note = False
            if m is not None and _LATER_NOTE_RE.match(_after_time_of_day(m.rest)):
                m, note = None, True  # 4月20日补记：… belongs to the entry it notes
            if (
                m is not None and cur is not None and cur.date_match is not None
                and cur.date_match.heading_only and cur.heading_lines == len(cur.lines)
                and not real_gap and (m.heading_only or (lab is not None and lab[0] == "time"))
            ):  # fmt: skip
                m = None  # 中秋。/ 时间：7月6日下午 right under the date heading: part of it
            elif m is not None and not ended and not real_gap and text.endswith("。"):
                m = None  # "…会定在\n11月5日晚上。": a sentence wrapped onto a date
            if m is not None:
                short_head = (
                    i == 0 and ended and lens[i] < 0.75 * median_len
                    and not re.search(r"[。，,；;！？]", m.rest)
                )  # fmt: skip
                if (
                    m.year is None
                    and m.rest
                    and not m.heading_only
                    and not (real_gap or cur is None or short_head)
                    and not (ended and _RUN_IN_HEAD_RE.match(m.rest))
                ):
                    m = None  # "…详见\n3月5日上午的记录" / a paragraph opening with a date
                elif m.year is not None and not m.heading_only and not ended and not real_gap:
                    m = None
                else:
                    start = True
            if not start and lab is not None and cur is not None:
                key = lab[0]
                seen = [ORDER[k] for k in cur.labels_seen]
                only_heading = cur.heading_lines == len(cur.lines)
                if key == "time":
                    # 时间：上午 right under a date heading belongs to it
                    start = not only_heading and not (
                        parse_date_line(lab[1]) is None and cur.date_match is not None
                        and "time" not in cur.labels_seen
                    )  # fmt: skip
                elif seen and ORDER[key] <= max(seen) and key in cur.labels_seen:
                    start = True
            if not start and lab is not None and lab[0] == "time" and cur is None:
                start = True
            mk = list_marker(ln.text) if m is None and lab is None and not note else None
            if not start and mk is not None and cur is not None:
                if cur.items is None and mk[1] == 1 and _opens_list(cur, mk[0]):
                    cur.items = (mk[0], 1)  # the heading's matters are listed: ①②③
                elif (
                    cur.items is not None and _same_list(mk[0], cur.items[0])
                    and mk[1] == cur.items[1] + 1 and ended
                ):  # fmt: skip
                    if (
                        mk[1] == 2 and cur.items[0] in ("dot", "bare") and cur.start != "shared"
                        and _under_heading(cur)
                        and (_continues_item(_item_text(cur), ln.text) or habit[1] > habit[0])
                    ):  # fmt: skip
                        # 2.已移交…: item 1's points; with no cue either way, the writer's
                        # habit so far in this book decides
                        cur.items, cur.points = None, True
                        habit[1] += 1
                    else:
                        start = shared = True
                        if mk[1] == 2 and cur.items[0] in ("dot", "bare"):
                            habit[0] += 1
                elif (
                    cur.items is None and not cur.points and mk[0] == "shi" and mk[1] >= 2
                    and ended and _inline_list(cur, mk)
                ):  # fmt: skip
                    start = shared = True  # 今天记两件事。一是…… / 二是……
            if (
                not start and not note and m is None and lab is None and real_gap and ended
                and cur is not None and cur.date_match is not None and cur.start != "visit"
                and not _SECTION_RE.match(text) and relative_offset(text) is None
            ):  # fmt: skip
                start = shared = True  # a blank line between matters under one heading
            rel = None
            if not start and m is None and not note:
                rel = relative_offset(text)
                strong = rel is not None and rel[0] not in ("今天", "今日", "上周", "下周")
                if (
                    rel is not None
                    and cur is not None
                    and ended
                    and (real_gap or (i == 0 and strong) or height == 0)
                ) or (rel is not None and cur is None):
                    start = True
            if bmodel is not None or trace is not None:
                x = line_features(
                    rule_start=start,
                    date_heading=m is not None and m.heading_only,
                    date_with_text=m is not None and not m.heading_only,
                    relative=rel is not None or relative_offset(text) is not None,
                    marker=mk is not None,
                    time_label=lab is not None and lab[0] == "time",
                    later_note=note,
                    gap_lines=_gap_lines(content, i, height),
                    page_top=i == 0,
                    prev_ended=ended,
                    prev_len=len(_WS.sub("", prev_text)),
                    length=lens[i],
                    median_len=median_len,
                    indent_lines=((ln.box[0] - left) / height) if ln.box and height else 0.0,
                    text=_WS.sub("", text),
                    no_entry=cur is None,
                )
                if (
                    bmodel is not None and not start and cur is not None and not note
                    and m is None and mk is None and lab is None and not x[3]  # no rule spoke
                    and bmodel.probability(x) >= THRESHOLD
                ):  # fmt: skip
                    start = True  # a heading the rules could not read (OCR damage)
                if trace is not None:
                    trace.append((ln.line_id, x, start or cur is None))
            if start or cur is None:
                items = cur.items if (shared and cur is not None) else None
                if shared and mk is not None and cur is not None and cur.items is not None:
                    items = (mk[0], mk[1])
                kind = "shared" if shared else "heading"
                if m is not None and lab is not None and lab[0] == "time" and "走访" in text[:4]:
                    kind = "visit"  # 走访时间：… heads a visit report
                cur = _Draft(date_match=m, relative=rel, start=kind, items=items)

                drafts.append(cur)
                started = True
            cur.lines.append(ln)
            if m is not None and len(cur.lines) == 1:
                cur.heading_lines = 1
                first = list_marker(_original(ln.text, m.rest)) if m.rest else None
                if first is not None and first[1] == 1 and first[0] != "bare":
                    cur.items = (first[0], 1)  # 5月12日 晴 ①杉木村…: opens on the heading
            if note:
                cur.later_notes.append(ln.text.strip())
            if lab is not None:
                key, value = lab
                if cur.layout == "narrative":
                    cur.layout = "labelled"
                cur.labels_seen.append(key)
                if key == "time":
                    cur.time_value = value
                    if cur.date_match is None:
                        cur.date_match = parse_date_line(value)
                        if cur.date_match is not None:
                            cur.start = "visit"
                else:
                    cur.fields.setdefault(key, []).append(_original(ln.text, value))
            elif cur.labels_seen and cur.labels_seen[-1] != "time":
                cur.fields.setdefault(cur.labels_seen[-1], []).append(ln.text.strip())
    if year_hint is None and not any(d.date_match and d.date_match.year for d in drafts):
        # no year written anywhere: the weekdays beside the dates say which year
        year_hint = year_from_weekdays([d.date_match for d in drafts if d.date_match])
    return _finish(drafts, year_hint, model, status_model, span)


_PERIOD_RE = re.compile(
    r"(?P<y1>(?:19|20)\d\d)\s*(?:[年./\-]\s*)?(?:(?P<m1>1[0-2]|0?[1-9])\s*月?)?"
    r"(?:\s*(?:[-—–~至到]+|起)\s*(?:(?P<y2>(?:19|20)\d\d)\s*[年./\-]\s*)?"
    r"(?P<m2>1[0-2]|0?[1-9])?\s*月?)?"
)


def period_span(text: str | None) -> tuple[dt.date, dt.date] | None:
    """The period a notebook's cover or manifest names, as ``(first, last day)``.

    ``2024年10月—2025年3月`` → 2024-10-01 … 2025-03-31; ``2024年7月—12月`` → 2024-07-01 …
    2024-12-31; ``2024年7月—`` → a year from 2024-07-01; ``2024年`` / ``2024`` → that year.
    """
    m = _PERIOD_RE.search(normalise(text or ""))
    if m is None:
        return None
    y1 = int(m.group("y1"))
    m1 = int(m.group("m1")) if m.group("m1") else None
    start = dt.date(y1, m1 or 1, 1)
    if m.group("m2"):
        m2 = int(m.group("m2"))
        y2 = int(m.group("y2")) if m.group("y2") else (y1 if m1 is None or m2 >= m1 else y1 + 1)
    elif m.group("y2"):
        y2, m2 = int(m.group("y2")), 12
    elif m1 is None:
        y2, m2 = y1, 12
    else:
        return start, start + dt.timedelta(days=365)
    first_of_next = dt.date(y2 + (m2 == 12), m2 % 12 + 1, 1)
    end = first_of_next - dt.timedelta(days=1)
    return (start, end) if end >= start else (start, start + dt.timedelta(days=365))


def _finish(
    drafts: list[_Draft],
    year_hint: int | None,
    model,
    status_model=None,
    span: tuple[dt.date, dt.date] | None = None,
) -> list[Entry]:
    dates: list[dt.date | None] = []
    inferred: list[bool] = []
    flags: list[tuple[str, ...]] = []
    kinds: list[str] = []
    prev: dt.date | None = None
    last_lunar_month = 0
    for d in drafts:  # 初八 under 正月初三: the month of the lunar date before
        m = d.date_match
        if m is not None and m.calendar == "lunar" and m.month == 0 and last_lunar_month:
            d.date_match = replace(m, month=last_lunar_month)
        elif m is not None and m.calendar == "lunar" and m.month:
            last_lunar_month = m.month
        elif m is not None and m.calendar == "both" and m.lunar:
            last_lunar_month = m.lunar[0]
    for k, d in enumerate(drafts):
        if d.date_match is not None:
            date, fl = repair_date(d.date_match, prev, year_hint, span)
            dates.append(date)
            inferred.append(False)
            flags.append(fl)
            kinds.append("visit_header" if d.start == "visit" else d.date_match.calendar)
            if date is not None:
                prev = date
        elif d.start == "shared":
            dates.append(prev)
            inferred.append(False)
            flags.append(("shared_heading",))
            kinds.append("shared_heading")
        elif d.relative is not None and prev is not None:
            date = prev + dt.timedelta(days=d.relative[1])
            dates.append(date)
            inferred.append(True)
            flags.append((f"relative:{d.relative[0]}",))
            kinds.append("relative")
            prev = date
        else:
            dates.append(prev)
            inferred.append(prev is not None)
            flags.append(("from_previous",) if prev is not None else ())
            kinds.append("undated" if k else "continuation")
    # entries before the first dated one: a year-less or lunar date takes its year from the
    # next dated entry; an undated one takes the next date
    nxt: dt.date | None = None
    for i in range(len(drafts) - 1, -1, -1):
        m = drafts[i].date_match
        if dates[i] is None and nxt is not None and m is not None:
            if m.calendar == "lunar":
                dates[i] = lunar_to_solar(m.month, m.day, m.leap, None, None, following=nxt)
            else:
                for y in (nxt.year, nxt.year - 1):
                    c = m.resolve(y)
                    if c is not None and c <= nxt:
                        dates[i] = c
                        break
            flags[i] = (*flags[i], "year_from_next")
        if dates[i] is None and nxt is not None:
            dates[i] = nxt
            inferred[i] = True
            flags[i] = ("from_next",)
        if dates[i] is not None:
            nxt = dates[i]
    # a matter under a shared heading, or a relative start, dated only now (its heading got
    # its year from the next entry): the heading's day, not the next entry's
    for i in range(1, len(drafts)):
        before, rel = dates[i - 1], drafts[i].relative
        if flags[i] != ("from_next",) or before is None:
            continue
        if drafts[i].start == "shared":
            dates[i], inferred[i], flags[i] = before, False, ("shared_heading",)
        elif rel is not None:
            dates[i] = before + dt.timedelta(days=rel[1])
            flags[i] = (f"relative:{rel[0]}",)
    entries: list[Entry] = []
    for i, d in enumerate(drafts):
        # the project's convention: lines joined with no separator, whitespace removed
        text = _WS.sub("", "".join(ln.text for ln in d.lines))
        code, score, evidence = classify_category(text, model=model)
        fields = tuple(
            (k, _WS.sub("", "".join(d.fields[k])))
            for k in FIELD_KEYS
            if "".join(d.fields.get(k, []))
        )
        heading = "".join(ln.text for ln in d.lines[: d.heading_lines])
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
                date_kind=kinds[i],
                shares_heading=d.start == "shared",
                later_notes=tuple(_WS.sub("", n) for n in d.later_notes),
                body_dates=body_dates(text[len(_WS.sub("", heading)) :], dates[i]),
            )
        )
    return entries


def neighbour_years(books: dict[str, list[Entry]], cadres: dict[str, str | None]) -> dict[str, int]:
    """A year for each book left with undated entries, from the same cadre's other books.

    A notebook dated only by the lunar calendar, with no year written, no weekday and no
    cover, takes its year from the cadre's neighbouring notebook: the last year of the one
    it continues (it opens mid-entry), else the first year of the nearest other one.
    Returns book id → year, to segment that book again with ``year_hint``.
    """
    out = {}
    for bid, es in books.items():
        if not es or all(e.date is not None for e in es) or not cadres.get(bid):
            continue
        others = [
            sorted(e.date for e in books[b] if e.date)
            for b in books
            if b != bid and cadres.get(b) == cadres[bid] and any(e.date for e in books[b])
        ]
        if not others:
            continue
        if es[0].date_kind == "continuation":
            out[bid] = max(o[-1] for o in others).year
        else:
            out[bid] = min(o[0] for o in others).year
    return out


def neighbour_spans(
    books: dict[str, list[Entry]],
    cadres: dict[str, str | None],
    townships: dict[str, str | None] | None = None,
    villages: dict[str, str | None] | None = None,
) -> dict[str, tuple[dt.date, dt.date]]:
    """A period for each book left with entries that have a date line but no date.

    A notebook dated only by the lunar calendar (or by ``3.5`` headings), with no year
    written, no weekday and no cover, takes its period from its neighbours, nearest first:

    * the same cadre's notebook it continues (it opens mid-entry): from that book's last
      day, a year on;
    * the same cadre's other notebooks: their span;
    * the notebooks of its village, then of its township, then all the books given: their
      span (a cadre writes in the same months as the colleagues of the township).

    Returns book id → ``(first, last day)``, to segment that book again with ``span``.
    """
    spans = {
        b: (min(d), max(d)) for b, es in books.items() if (d := [e.date for e in es if e.date])
    }
    out = {}
    for bid, es in books.items():
        if not es or not any(e.date is None and e.date_kind in LINE_KINDS for e in es):
            continue
        groups = []
        cadre = cadres.get(bid)
        if cadre:
            same = [b for b in spans if b != bid and cadres.get(b) == cadre]
            if same and es[0].date_kind == "continuation":
                last = max(spans[b][1] for b in same)
                out[bid] = (last, last + dt.timedelta(days=365))
                continue
            groups.append(same)
        for where in (villages or {}, townships or {}):
            if where.get(bid):
                groups.append([b for b in spans if b != bid and where.get(b) == where[bid]])
        groups.append([b for b in spans if b != bid])
        for g in groups:
            if g:
                out[bid] = (min(spans[b][0] for b in g), max(spans[b][1] for b in g))
                break
    return out


#: date kinds of entries that have a date line of their own
LINE_KINDS = ("gregorian", "lunar", "both", "visit_header")


def continue_books(
    books: dict[str, list[Entry]], cadres: dict[str, str | None]
) -> tuple[dict[str, list[Entry]], list[tuple[tuple[str, int], tuple[str, int]]]]:
    """Join a notebook that opens mid-entry to the same cadre's previous notebook.

    A book whose first entry has no date line of its own (``date_kind`` ``continuation``)
    continues the latest earlier book of the same cadre (books ordered by their dates): the
    entry takes the unfinished entry's date and category. Returns the books (changed
    entries replaced) and the ``(child, parent)`` follow-up pairs, ``(book_id, seq)`` each.
    """
    span = {b: (min(d), max(d)) for b, es in books.items() if (d := [e.date for e in es if e.date])}
    out = dict(books)
    pairs = []
    for bid, es in books.items():
        if not es or es[0].date_kind != "continuation" or not cadres.get(bid) or bid not in span:
            continue
        before = [
            b for b in books
            if b != bid and cadres.get(b) == cadres[bid] and b in span and books[b]
            and span[b][1] <= span[bid][0]
        ]  # fmt: skip
        if not before:
            continue
        prev_book = max(before, key=lambda b: span[b][1])
        last = books[prev_book][-1]
        first = replace(
            es[0], date=last.date, date_inferred=True, category_code=last.category_code,
            category_score=last.category_score, category_evidence=last.category_evidence,
            date_flags=("continuation",),
        )  # fmt: skip
        rest, prev = [], first.date
        for k, e in enumerate(es[1:]):
            if e.date_kind not in ("relative", "shared_heading", "undated") or prev is None:
                rest.extend(es[1 + k :])
                break
            days = next(
                (dict(RELATIVE_DAYS).get(f.split(":", 1)[1], 0) for f in e.date_flags
                 if f.startswith("relative:")),
                0,
            )  # fmt: skip
            prev = prev + dt.timedelta(days=days)
            rest.append(replace(e, date=prev))  # dated from the continued entry, not the next
        out[bid] = [first, *rest]
        pairs.append(((bid, first.seq), (prev_book, last.seq)))
    return out, pairs


_BODY_DATE_RE = re.compile(
    r"(?:(?P<y>\d{4})\s*年\s*)?(?P<m>1[0-2]|0?[1-9])\s*月\s*(?P<d>3[01]|[12]\d|0?[1-9])\s*[日号]"
    r"(?P<after>.{0,4})"
)


def body_dates(body: str, own: dt.date | None) -> tuple[tuple[str, str], ...]:
    """Dates mentioned in an entry's body (not its heading): ``(kind, ISO)`` pairs.

    ``deadline`` when followed by 前/之前/以前/截止, ``later_note`` for a 补记's own date,
    else ``referenced``; the year is the entry's (the one nearest the entry's date).
    """
    out = []
    for m in _BODY_DATE_RE.finditer(normalise(body)):
        year = int(m.group("y")) if m.group("y") else (own.year if own else None)
        if year is None:
            continue
        try:
            d = dt.date(year, int(m.group("m")), int(m.group("d")))
        except ValueError:
            continue
        if not m.group("y") and own is not None and (d - own).days > 200:
            d = d.replace(year=year - 1) if not (d.month == 2 and d.day == 29) else d
        after = m.group("after")
        kind = (
            "later_note" if after.startswith(("补记", "补充"))
            else "deadline" if after.startswith(("前", "之前", "以前", "截止", "完成"))
            else "referenced"
        )  # fmt: skip
        out.append((kind, d.isoformat()))
    return tuple(dict.fromkeys(out))
