"""What the web archive shows: snippets, entry and matter pages, search-all, images,
hot-topic keywords.

The Datasette plugins in ``datasette/plugins/`` are thin adapters over this module:
every function here takes a plain :class:`sqlite3.Connection` (or an
:class:`archive.store.Archive`) and returns plain data or escaped HTML, so it can be
unit-tested without a server and run inside Datasette's ``execute_fn``.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import json
import re
import sqlite3
import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from minqing.archive.schema import ENTRIES, LINES, PAGES
from minqing.archive.search import (
    Span,
    alternate_hits,
    find_spans,
    part_positions,
    row_alternates,
    search,
)
from minqing.archive.search import (
    query_words as _query_words,
)
from minqing.archive.store import is_read_only
from minqing.classify.lunar import LUNAR_KINDS, lunar_label

#: Folder (relative to the archive folder) that holds every page image.
IMAGES_DIR = "images"
#: Folder (relative to the archive folder) where thumbnails are cached.
THUMBS_DIR = "thumbs"
THUMB_WIDTH = 240

_CJK = r"\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"


# -- query words, snippets, highlighting ----------------------------------------------------


def query_words(q: str | None) -> list[str]:
    """The words of a search query as the index matches them (NFKC, whitespace-split).

    Characters the index ignores (punctuation, FTS syntax) are dropped from each word;
    each remaining run is a word that must occur as a substring.
    """
    return _query_words(q)


def _norm(text: str | None) -> str:
    """``text`` as stored: shown as the archive holds it (only NULL becomes "")."""
    return text or ""


def _match_form(text: str) -> str:
    """A same-length, lower-cased copy of ``text`` for finding query words in it.

    Full-width letters and digits fold to ASCII one character at a time, so spans
    found in the copy are spans of the original.
    """
    out = []
    for ch in text:
        folded = unicodedata.normalize("NFKC", ch)
        out.append(folded.lower() if len(folded) == 1 else ch)
    return "".join(out)


def _hit_spans(text: str, words: Sequence[str]) -> list[tuple[int, int]]:
    """Merged (start, end) spans of every occurrence of any word (case-insensitive)."""
    low = _match_form(text)
    spans = []
    for w in words:
        wl = w.lower()
        start = low.find(wl)
        while start >= 0 and wl:
            spans.append((start, start + len(wl)))
            start = low.find(wl, start + 1)
    spans.sort()
    merged: list[tuple[int, int]] = []
    for s, e in spans:
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return merged


def _marked(text: str, spans: Sequence[tuple[int, int]], start: int, end: int) -> str:
    out, pos = [], start
    for s, e in spans:
        if e <= start or s >= end:
            continue
        s, e = max(s, start), min(e, end)
        out.append(html.escape(text[pos:s]))
        out.append("<mark>" + html.escape(text[s:e]) + "</mark>")
        pos = e
    out.append(html.escape(text[pos:end]))
    return "".join(out)


def highlight_html(text: str | None, q: str | None) -> str:
    """``text`` HTML-escaped, every occurrence of a query word wrapped in ``<mark>``."""
    t = _norm(text)
    return _marked(t, _hit_spans(t, query_words(q)), 0, len(t))


def snippet_html(text: str | None, q: str | None, width: int = 36) -> str:
    """A short, HTML-escaped excerpt of ``text`` around the first hit, hits in ``<mark>``.

    Built from the stored text (FTS5's ``snippet()`` would return spaced-out
    bigrams). Without a hit it is the start of the text. ``…`` marks a cut.
    """
    t = _norm(text)
    spans = _hit_spans(t, query_words(q))
    if not spans:
        end = min(len(t), 2 * width)
        return html.escape(t[:end]) + ("…" if end < len(t) else "")
    first = spans[0][0]
    start = max(0, first - width // 2)
    end = min(len(t), start + 2 * width)
    start = max(0, min(start, end - 2 * width))
    return (
        ("…" if start > 0 else "") + _marked(t, spans, start, end) + ("…" if end < len(t) else "")
    )


#: what a hit found only through the recogniser's alternates is called (issue 17)
MAYBE_LABEL = "可能的匹配"


def _spans_marked(text: str, spans: Sequence[Span], start: int, end: int) -> str:
    """``text[start:end]`` escaped; exact spans in ``<mark>``, spans read through alternates
    in ``<mark class="mq-maybe">`` with each alternate shown after the character read."""
    merged: list[list[Any]] = []
    for s, e, used in sorted(spans):
        if merged and s < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
            merged[-1][2].update(dict(used))
        else:
            merged.append([s, e, dict(used)])
    out, pos = [], start
    for s, e, used in merged:
        if e <= start or s >= end:
            continue
        s, e = max(s, start), min(e, end)
        out.append(html.escape(text[pos:s]))
        inner = []
        for k in range(s, e):
            ch = html.escape(text[k])
            if k in used:
                alt = html.escape(used[k])
                inner.append(
                    f'<span class="mq-alt" title="识别为“{ch}”，可能是“{alt}”">'
                    f"{ch}<sup>{alt}</sup></span>"
                )
            else:
                inner.append(ch)
        css = ' class="mq-maybe"' if used else ""
        out.append(f"<mark{css}>{''.join(inner)}</mark>")
        pos = e
    out.append(html.escape(text[pos:end]))
    return "".join(out)


def spans_snippet_html(text: str, spans: Sequence[Span], width: int = 36) -> str:
    """Like :func:`snippet_html`, around the first of ``spans`` (see :func:`_spans_marked`)."""
    if not spans:
        end = min(len(text), 2 * width)
        return html.escape(text[:end]) + ("…" if end < len(text) else "")
    first = min(s for s, _, _ in spans)
    start = max(0, first - width // 2)
    end = min(len(text), start + 2 * width)
    start = max(0, min(start, end - 2 * width))
    return (
        ("…" if start > 0 else "")
        + _spans_marked(text, spans, start, end)
        + ("…" if end < len(text) else "")
    )


def hit_lines(texts: Sequence[str | None], q: str | None) -> set[int]:
    """Indexes of the lines (in reading order) that show a query hit.

    A line counts when its text contains a query word, or when the word runs across
    the break between it and its neighbour (both lines count then).
    """
    words = [w.lower() for w in query_words(q)]
    norm = [_match_form(re.sub(r"\s+", "", _norm(t))) for t in texts]
    hits: set[int] = set()
    for i, t in enumerate(norm):
        if any(w in t for w in words):
            hits.add(i)
    for i in range(len(norm) - 1):
        a, b = norm[i], norm[i + 1]
        joined = a + b
        for w in words:
            if w in joined and w not in a and w not in b:
                pos = joined.find(w)
                while pos >= 0:
                    if pos < len(a) < pos + len(w):
                        hits.update((i, i + 1))
                    pos = joined.find(w, pos + 1)
    return hits


# -- JSON cells in the table pages -------------------------------------------------------------

#: text columns that hold a JSON list or object, per table: the table pages show them as
#: readable items instead of ``["a", "b"]`` (issue 6); exports keep the JSON
JSON_CELLS: dict[str, frozenset[str]] = {
    "entries": frozenset({"category_evidence", "date_flags", "fields", "line_ids"}),
    "links": frozenset({"evidence"}),
    "pages": frozenset({"transforms", "quality_flags"}),
}

#: ``kind:value`` evidence of follow-up links and date signals, in Chinese
EVIDENCE_KINDS = {
    "cue": "提示语",
    "date": "提到原日期",
    "person": "同一人",
    "place": "同一地点",
    "sim": "文字相似度",
    "phrase": "相同说法",
    "latest-of-matter": "接续事项",
    "relative": "相对日期",
}
EVIDENCE_WORDS = {
    "category": "同一类别",
    "cross-book": "跨日记本",
    "similar-result": "结果与原事项相近",
    "weekday_mismatch": "星期与日期不符",
    "year_repaired": "年份经修正",
    "digit_repaired": "数字经修正",
    "year_rollover": "跨年",
}
#: columns whose long lists show their first items, an ellipsis, the last one and the count
JSON_LIST_SHOWN = {"line_ids": 4}


def evidence_label(item: object) -> str:
    """One evidence or flag item in Chinese (``cue:回访`` -> ``提示语：回访``)."""
    s = str(item)
    if s in EVIDENCE_WORDS:
        return EVIDENCE_WORDS[s]
    kind, sep, rest = s.partition(":")
    if sep and kind in EVIDENCE_KINDS:
        return f"{EVIDENCE_KINDS[kind]}：{rest}"
    return s


def json_cell_html(value: str | None, column: str | None = None) -> str | None:
    """A JSON list or object stored in a text column as escaped, readable HTML.

    List items become small labels (evidence words in Chinese; the long lists of the
    columns in :data:`JSON_LIST_SHOWN` shortened, with their count); an object becomes
    ``名称：值`` pairs (entry fields by their Chinese names). An empty list or object gives an
    empty string. Returns None when ``value`` is not a JSON list or object, so the caller shows
    it unchanged.
    """
    if not isinstance(value, str) or value[:1] not in ("[", "{"):
        return None
    try:
        data = json.loads(value)
    except ValueError:
        return None
    if isinstance(data, dict):
        names = FLAG_WORDS if column == "quality_flags" else FIELD_LABELS
        pairs = [
            (html.escape(names.get(str(k), str(k))), html.escape(_plain(v)))
            for k, v in data.items()
        ]
        return "；".join(
            f'<span class="mq-field"><span class="mq-field-name">{name}</span>：{text}</span>'
            for name, text in pairs
        )
    if not isinstance(data, list):
        return None
    items = [evidence_label(x) if isinstance(x, str) else _plain(x) for x in data]
    shown = JSON_LIST_SHOWN.get(column or "")
    if shown and len(items) > shown:
        n = len(items)
        items = [*items[: shown - 1], "…", items[-1], f"共 {n} 项"]
    return "".join(f'<span class="mq-list-item">{html.escape(i)}</span>' for i in items)


def _plain(v: object) -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, float):
        return f"{v:g}"
    return json.dumps(v, ensure_ascii=False)


# -- entry and matter pages ---------------------------------------------------------------------


def _rows(conn: sqlite3.Connection, sql: str, params: Iterable[Any] = ()) -> list[dict[str, Any]]:
    cur = conn.execute(sql, list(params))
    cols = [c[0] for c in cur.description]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


def _json(value: str | None, default: Any) -> Any:
    try:
        return json.loads(value) if value else default
    except (TypeError, ValueError):
        return default


FIELD_LABELS = {
    "place": "地点",
    "people": "人员",
    "problem": "问题",
    "analysis": "分析",
    "measures": "措施",
    "result": "结果",
}


def book_label(cadre: str | None, village: str | None, book_id: str | None = None) -> str:
    """``张伟（杨树沟村）日记本``: a notebook as officials name it (the id when nothing else)."""
    if not cadre:
        return f"日记本 {book_id}" if book_id else "日记本"
    return f"{cadre}（{village}）日记本" if village else f"{cadre}日记本"


#: a page's quality flags (``ingest.quality``) as a reviewer reads them
FLAG_WORDS = {
    "blur": "模糊",
    "low_contrast": "对比度低",
    "too_dark": "太暗",
    "too_bright": "太亮",
    "low_resolution": "分辨率低",
    "skew": "歪斜",
    "cut_off": "边缘的字被切掉",
}

#: the time zone users read times in (the archive stores UTC)
CHINA_TIME = dt.timezone(dt.timedelta(hours=8), "北京时间")


def flag_words(flags: dict[str, Any] | None) -> list[str]:
    """``["模糊", "太暗"]``: a page's quality flags in words."""
    return [FLAG_WORDS.get(k, k) for k in (flags or {})]


def local_time(iso: str | None) -> str:
    """``2024年3月7日 18:05``: a stored UTC time (ISO) in Beijing time, as people write it."""
    if not iso:
        return ""
    try:
        t = dt.datetime.fromisoformat(iso)
    except ValueError:
        return iso
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    t = t.astimezone(CHINA_TIME)
    return f"{t.year}年{t.month}月{t.day}日 {t:%H:%M}"


def confidence_words(conf: float | None) -> str:
    """``识别把握 90%``: an engine or classifier score as a reviewer reads it."""
    return "识别把握 —" if conf is None else f"识别把握 {round(100 * conf)}%"


def scope_words(scope: dict[str, Any] | str | None, books: Sequence[dict[str, Any]] = ()) -> str:
    """A spot-check's scope in words: ``全部日记本``, ``张伟（杨树沟村）日记本``,
    ``石桥镇的日记本 · 2024年3月1日至2024年4月30日`` (notebooks by name when known)."""
    sc: dict[str, Any] = (_json(scope, {}) if isinstance(scope, str) else scope) or {}
    names = {
        b["book_id"]: book_label(b.get("cadre"), b.get("village"), b["book_id"]) for b in books
    }
    parts = []
    if sc.get("books"):
        parts.append("、".join(names.get(b, f"日记本 {b}") for b in sc["books"]))
    if sc.get("townships"):
        parts.append("、".join(sc["townships"]) + "的日记本")
    if not parts:
        parts.append("全部日记本")

    def day(d: str) -> str:
        try:
            x = dt.date.fromisoformat(d)
        except ValueError:
            return d
        return f"{x.year}年{x.month}月{x.day}日"

    a, b = sc.get("date_from"), sc.get("date_to")
    if a and b:
        parts.append(f"{day(a)}至{day(b)}")
    elif a:
        parts.append(f"{day(a)}起")
    elif b:
        parts.append(f"至{day(b)}")
    return " · ".join(parts)


def entry_label(row: dict[str, Any]) -> str:
    """``张伟（杨树沟村）日记本 第2页 · 第1条``: an entry by names, not by its pinyin id."""
    label = book_label(row.get("cadre"), row.get("village"), row.get("book_id"))
    if row.get("page_start") is not None:
        label += f" 第{row['page_start']}页"
    if row.get("seq") is not None:
        label += f" · 第{row['seq']}条"
    return label


def _chain(conn: sqlite3.Connection, matter_id: str) -> list[dict[str, Any]]:
    rows = _rows(
        conn,
        f"select entry_id, book_id, seq, date, date_kind, category, status, status_code, "
        f"follow_up_of, cadre, village, page_start, page_end, text from {ENTRIES} "
        "where matter_id = ? "
        "order by coalesce(date, '0000-00-00'), entry_id",
        [matter_id],
    )
    for r in rows:
        r["label"] = entry_label(r)
    return rows


def entry_view(
    conn: sqlite3.Connection, entry_id: str, q: str | None = None, *, exact: bool = False
) -> dict | None:
    """Everything the entry page shows, or None when there is no such entry.

    Keys: ``entry`` (the row), ``fields`` (list of (label, value)), ``evidence``,
    ``text_html`` (hits marked), ``chain`` (the matter's entries in date order, each
    with ``current``), ``matter`` (the matters-view row), ``pages`` (each page of
    the entry with its image path, size and lines: ``in_entry`` and ``hit`` flags,
    ``maybe`` when the line holds a word only its alternates spell, and ``marks``: the
    character boxes of the hits, ``alt`` for a character read otherwise), ``maybe``
    (the text holds a query word only through alternates: a possible match).
    """
    rows = _rows(conn, f"select * from {ENTRIES} where entry_id = ?", [entry_id])
    if not rows:
        return None
    e = rows[0]
    fields = _json(e.get("fields"), {})
    line_ids = set(_json(e.get("line_ids"), []))
    chain = _chain(conn, e.get("matter_id") or entry_id)
    for c in chain:
        c["current"] = c["entry_id"] == entry_id
        c["snippet"] = snippet_html(c["text"], None, 30)
    matter = _rows(conn, "select * from matters where matter_id = ?", [e.get("matter_id")])
    words = query_words(q)
    text = _norm(e.get("text"))
    alts = {} if exact else row_alternates(ENTRIES, e.get("alternates"))
    spans = find_spans(text, alts, words) if words else []
    exact_spans = [sp for sp in spans if not sp[2]]
    maybe = any(sp[2] for sp in spans) and not all(
        any(
            _match_form("".join(ch for ch in text[s:t] if not ch.isspace())) == w.lower()
            for s, t, _ in exact_spans
        )
        for w in words
    )
    # each character of the entry text -> (line, index in line), for the image marks
    entry_lines = (
        _rows(
            conn,
            f"select line_id, text from {LINES} where line_id in ({','.join('?' * len(line_ids))})",
            list(line_ids),
        )
        if line_ids
        else []
    )
    order = {lid: n for n, lid in enumerate(_json(e.get("line_ids"), []))}
    entry_lines.sort(key=lambda r: order.get(r["line_id"], 0))
    where = part_positions([r["text"] or "" for r in entry_lines], text)
    marks: dict[str, dict[int, str | None]] = {}
    for s, t, used in spans:
        used_at = dict(used)
        for k in range(s, t):
            if k in where:
                p, i = where[k]
                marks.setdefault(entry_lines[p]["line_id"], {})[i] = used_at.get(k)
    pages = []
    first, last = e.get("page_start"), e.get("page_end") or e.get("page_start")
    if first is not None:
        for pg in _rows(
            conn,
            f"select page_id, page_no, image, width, height, needs_rescan, quality_flags "
            f"from {PAGES} where book_id = ? and page_no between ? and ? order by page_no",
            [e["book_id"], first, last],
        ):
            lines = _rows(
                conn,
                f"select line_id, line_no, text, x0, y0, x1, y1, confidence, corrected "
                f"from {LINES} where page_id = ? order by line_no",
                [pg["page_id"]],
            )
            in_entry = [ln["line_id"] in line_ids for ln in lines]
            # hits only count inside the entry's own lines
            own = [i for i, flag in enumerate(in_entry) if flag]
            hits = {own[i] for i in hit_lines([lines[i]["text"] for i in own], q)} if q else set()
            for i, ln in enumerate(lines):
                ln["in_entry"] = in_entry[i]
                ln["has_box"] = None not in (ln["x0"], ln["y0"], ln["x1"], ln["y1"])
                line_marks = marks.get(ln["line_id"], {})
                ln["hit"] = i in hits or bool(line_marks)
                ln["maybe"] = any(v is not None for v in line_marks.values())
                ln["marks"] = _char_boxes(ln, line_marks) if ln["has_box"] else []
            pg["lines"] = lines
            pg["hits"] = sum(1 for ln in lines if ln["hit"])
            pages.append(pg)
    e["label"] = entry_label(e)
    e["book_label"] = book_label(e.get("cadre"), e.get("village"), e.get("book_id"))
    e["lunar"] = lunar_of(e.get("date"), e.get("date_kind"))
    return {
        "entry": e,
        "later_notes": [str(n) for n in _json(e.get("later_notes"), []) if n],
        "fields": [(FIELD_LABELS.get(k, k), v) for k, v in fields.items() if v],
        "evidence": _json(e.get("category_evidence"), []),
        "text_html": _spans_marked(text, spans, 0, len(text)) if words else html.escape(text),
        "maybe": maybe,
        "maybe_label": MAYBE_LABEL,
        "exact": exact,
        "chain": chain,
        "matter": matter[0] if matter else None,
        "pages": pages,
        "q": q or "",
    }


def raw_cell_html(table: str | None, column: str, value: Any) -> str | None:
    """How a cell of the raw pages / lines tables reads to a person, or None (as stored):
    file names and fingerprints short (the whole value on hover), a line's polygon as its
    corner points, confidences as percentages, pixel positions whole."""
    if table == "pages" and column in ("image", "original") and isinstance(value, str):
        name = value.rsplit("/", 1)[-1]
        kind = name.rsplit(".", 1)[-1].upper() if "." in name else "文件"
        short = f'<span class="mq-id">{html.escape(name[:10])}…</span>'
        return f'<span title="{html.escape(value)}">{kind} · {short}</span>'
    if table == "pages" and column in ("sha256", "original_sha256") and isinstance(value, str):
        return f'<span class="mq-id" title="{html.escape(value)}">{html.escape(value[:12])}…</span>'
    if table == "pages" and column == "source_file" and isinstance(value, str):
        name = value.replace("\\", "/").rsplit("/", 1)[-1]
        return f'<span title="{html.escape(value)}">{html.escape(name)}</span>'
    if table == "lines" and column == "box" and isinstance(value, str):
        try:
            points = json.loads(value)
            corners = " ".join(f"({round(x)},{round(y)})" for x, y in points)
        except (ValueError, TypeError):
            return None
        return f'<span class="mq-id">{html.escape(corners)}</span>'
    if (
        table in ("lines", "pages")
        and column in ("x0", "y0", "x1", "y1")
        and isinstance(value, (int, float))
    ):
        return str(round(value))
    if table == "lines" and column == "alternates" and isinstance(value, str):
        try:
            items = [(int(i), str(chars)) for i, _p, chars, *_ in json.loads(value)]
        except (ValueError, TypeError):
            return None
        words = "；".join(f"第{i + 1}字或为{'、'.join(chars)}" for i, chars in items)
        return f'<span title="{html.escape(value)}">{html.escape(words)}</span>'
    if table == "lines" and column == "confidence" and isinstance(value, (int, float)):
        return f"{round(100 * value)}%"
    if table == "pages" and column == "ocr_seconds" and isinstance(value, (int, float)):
        return f"{value:.1f}"
    return None


def lunar_of(date: str | None, date_kind: str | None) -> str | None:
    """``农历腊月廿三`` for an entry dated by the lunar calendar, else None."""
    if not date or date_kind not in LUNAR_KINDS:
        return None
    try:
        return lunar_label(dt.date.fromisoformat(date))
    except ValueError:
        return None


def _char_boxes(ln: dict[str, Any], marks: dict[int, str | None]) -> list[dict[str, Any]]:
    """Boxes of the marked characters of a line: its box cut into equal character cells
    (handwriting has no character boxes; a line's characters share its width)."""
    text = ln["text"] or ""
    if not marks or not text:
        return []
    w = (ln["x1"] - ln["x0"]) / len(text)
    out = []
    for i in sorted(marks):
        out.append(
            {
                "x": round(ln["x0"] + i * w, 1),
                "y": ln["y0"],
                "w": round(w, 1),
                "h": ln["y1"] - ln["y0"],
                "alt": marks[i],
                "char": text[i],
            }
        )
    return out


def matter_view(conn: sqlite3.Connection, matter_id: str) -> dict | None:
    """The matters-view row and its chain of entries (date order), or None."""
    matter = _rows(conn, "select * from matters where matter_id = ?", [matter_id])
    if not matter:
        return None
    chain = _chain(conn, matter_id)
    for c in chain:
        c["text_html"] = html.escape(c["text"] or "")
        c["page_ids"] = [
            r["page_id"]
            for r in _rows(
                conn,
                f"select page_id from {PAGES} where book_id = ? and page_no between ? and ? "
                "order by page_no",
                [c["book_id"], c["page_start"], c.get("page_end") or c["page_start"]],
            )
        ]
        c["lunar"] = lunar_of(c.get("date"), c.get("date_kind"))
    return {"matter": matter[0], "chain": chain, "handling": handling_time(matter[0])}


def handling_time(matter: dict[str, Any], today: dt.date | None = None) -> str | None:
    """How long the matter took (办结用时 5 天) or has been open (已 12 天未办结), or None
    without a first date."""
    try:
        first = dt.date.fromisoformat(matter.get("first_date") or "")
    except ValueError:
        return None
    if not matter.get("open"):
        try:
            last = dt.date.fromisoformat(matter.get("latest_date") or "")
        except ValueError:
            return None
        days = (last - first).days
        return "当天办结" if days <= 0 else f"办结用时 {days} 天"
    days = ((today or dt.date.today()) - first).days
    return f"自首次记录起已 {max(days, 0)} 天，尚未办结"


# -- search-all ----------------------------------------------------------------------------------


def search_all(
    conn: sqlite3.Connection,
    q: str | None,
    limit: int = 20,
    *,
    exact: bool = False,
) -> dict[str, Any]:
    """Search entries and lines at once with the bigram index.

    Returns ``entries`` / ``lines`` (the first ``limit`` hits: exact hits first, newest
    first, then, unless ``exact``, the hits only the recogniser's alternates explain,
    each with ``maybe`` and ``snippet``), ``entry_count`` / ``line_count`` (all exact
    hits) and ``entry_maybe_count`` / ``line_maybe_count`` (all alternate-only hits).
    """
    out: dict[str, Any] = {
        "q": q or "",
        "exact": exact,
        "maybe_label": MAYBE_LABEL,
        "entries": [],
        "lines": [],
        "entry_count": 0,
        "line_count": 0,
        "entry_maybe_count": 0,
        "line_maybe_count": 0,
    }
    if not query_words(q):
        return out
    for table, key, hits_key, columns, order_by in (
        (
            ENTRIES,
            "entry",
            "entries",
            "t.entry_id, t.date, t.township, t.village, t.cadre, t.category, t.status",
            "t.date desc, t.entry_id",
        ),
        (
            LINES,
            "line",
            "lines",
            "t.line_id, t.page_id, t.book_id, t.page_no, t.entry_id, t.confidence",
            "t.book_id, t.page_no, t.line_no",
        ),
    ):
        res = search(
            conn, q, table=table, columns=columns, order_by=order_by, exact=exact, limit=limit
        )
        out[f"{key}_count"], out[f"{key}_maybe_count"] = res.exact_count, res.alternate_count
        out[hits_key] = [
            {**h.row, "maybe": h.alternate, "snippet": spans_snippet_html(h.text, h.spans)}
            for h in res.hits
        ]
    return out


def maybe_entries(
    conn: sqlite3.Connection, q: str | None, limit: int = 50
) -> tuple[list[dict], int]:
    """The first ``limit`` entries (newest first) that hold the query words only through
    the recogniser's alternates, each with its ``snippet``, and how many there are: what
    the entries table page lists after its exact hits."""
    found, count = alternate_hits(
        conn,
        q,
        table=ENTRIES,
        columns="t.entry_id, t.date, t.township, t.village, t.cadre, t.category, t.status, "
        "t.status_code, t.book_id, t.page_start, t.page_end",
        order_by="t.date desc, t.entry_id",
        limit=limit,
    )
    hits = [{**h.row, "maybe": True, "snippet": spans_snippet_html(h.text, h.spans)} for h in found]
    return hits, count


# -- page images -----------------------------------------------------------------------------------


def image_file(archive_root: Path | str, rel: str | None) -> Path | None:
    """The page image at ``rel`` inside the archive's images folder, or None.

    Refuses anything that resolves outside ``<archive>/images`` (``..``, absolute
    paths, symlinks pointing elsewhere) and anything that is not a file.
    """
    if not rel:
        return None
    root = (Path(archive_root) / IMAGES_DIR).resolve()
    try:
        path = (Path(archive_root) / rel).resolve()
    except (OSError, RuntimeError):
        return None
    if not path.is_relative_to(root) or not path.is_file():
        return None
    return path


def page_image_rel(conn: sqlite3.Connection, page_id: str) -> str | None:
    """The stored image path of a page, or None."""
    row = conn.execute(f"select image from {PAGES} where page_id = ?", [page_id]).fetchone()
    return row[0] if row else None


def thumbnail_bytes(archive_root: Path | str, image: Path, width: int = THUMB_WIDTH) -> bytes:
    """A JPEG thumbnail of ``image``, cached under ``<archive>/thumbs`` when writable."""
    from PIL import Image

    dest = Path(archive_root) / THUMBS_DIR / f"{image.stem}-{width}.jpg"
    try:
        if dest.is_file() and dest.stat().st_mtime >= image.stat().st_mtime:
            return dest.read_bytes()
    except OSError:
        pass
    with Image.open(image) as im:
        im = im.convert("RGB")
        im.thumbnail((width, width * 4))
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=80)
    data = buf.getvalue()
    if is_read_only(archive_root):  # a read-only archive gets thumbnails, just not cached
        return data
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(dest.name + f".tmp{id(buf)}")
        tmp.write_bytes(data)
        tmp.replace(dest)
    except OSError:
        pass
    return data


# -- error pages ---------------------------------------------------------------------------------

ERROR_TITLES = {
    400: "请求有误",
    403: "无权访问",
    404: "找不到这个页面",
    405: "不支持这种操作",
    429: "请稍后再试",
    500: "服务器出错",
    503: "档案暂时只读",
}
#: Datasette's English error messages → (status, Chinese message); ``{0}`` is the rest
_KNOWN_ERRORS: tuple[tuple[re.Pattern[str], int | None, str], ...] = (
    (re.compile(r"^Database not found:?\s*(.*)$"), 404, "没有这个数据库{0}。"),
    (re.compile(r"^Table not found:?\s*(.*)$"), 404, "没有这个数据表{0}。"),
    (re.compile(r"^Record not found:?\s*(.*)$"), 404, "没有这一条记录{0}。"),
    (re.compile(r"^Row not found:?\s*(.*)$"), 404, "没有这一条记录{0}。"),
    (re.compile(r"^Cannot sort table by (.*)$"), 400, "不能按{0}排序：没有这一列。"),
    (
        re.compile(r"^Cannot use _sort and _sort_desc at the same time$"),
        400,
        "不能同时按升序和降序排序。",
    ),
    (
        re.compile(r"^view-(instance|database|table|query)\b.*$"),
        403,
        "您的账号不能查看这里的内容。",
    ),
    (re.compile(r"^Forbidden$"), 403, "您的账号不能查看这里的内容。"),
    (re.compile(r"^Not [Ff]ound$"), 404, "没有这个页面。"),
    (re.compile(r"^Invalid SQL.*$"), 400, "查询语句有误。"),
    (re.compile(r"^(no such (column|table)|near .*syntax error).*$"), 400, "查询语句有误。"),
    (re.compile(r"^SQL query took too long.*$"), 400, "查询用时过长，已停止。请缩小范围再试。"),
)
_HAS_HAN = re.compile(r"[\u4e00-\u9fff]")


def error_view(status: int, message: str | None) -> dict[str, Any]:
    """What an error page shows: ``status`` (Datasette's 500 for a bad sort is a 400),
    ``title`` and ``message`` in Chinese, ``detail`` (the original text when it was not
    Chinese, shown folded for whoever reports the problem)."""
    text = str(message or "").strip()
    zh, detail = None, None
    for pattern, new_status, template in _KNOWN_ERRORS:
        m = pattern.match(text)
        if m:
            rest = m.group(1) if m.groups() and m.group(1) else ""
            zh = template.format(f"“{rest}”" if rest else "")
            status = new_status or status
            break
    if zh is None:
        if _HAS_HAN.search(text):
            zh = text
        else:
            zh = {
                403: "您的账号不能查看这里的内容。",
                404: "没有这个页面。",
            }.get(status, "处理请求时出了问题。")
            detail = text or None
    elif not _HAS_HAN.search(text):
        detail = text or None
    return {
        "status": status,
        "title": ERROR_TITLES.get(status, f"出错了（{status}）"),
        "message": zh,
        "detail": detail,
    }


async def render_error(datasette: Any, request: Any, status: int, message: str | None) -> Any:
    """An HTML error page in Chinese through the ``error.html`` template (a Response)."""
    from datasette.utils.asgi import Response

    view = error_view(status, message)
    body = await datasette.render_template(
        "error.html", {"error": view["message"], **view}, request=request
    )
    return Response.html(body, status=view["status"])
