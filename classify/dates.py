"""Reading the dates cadres write at the head of an entry.

Forms handled (issue 5): ``2024年3月5日``, ``3月5日``, ``2024.3.5``, ``2024-3-5``,
``2024/3/5``, ``二〇二四年三月五日`` (and mixes such as ``2024年三月五日``), each with or
without ``星期X``/``周X``/``礼拜X``, weather (``晴``, ``多云转阴`` ...) and a time of day.
A year-less date takes a default year supplied by the caller.

Dates in OCR output are often a digit off. A weekday that contradicts the date is
recorded as a signal (:attr:`DateMatch.weekday_ok`), never an error; the segmenter
uses it, together with the order of entries, to repair a misread digit.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

_CN_DIGIT = {
    "〇": 0, "零": 0, "○": 0, "O": 0, "o": 0, "Ｏ": 0, "0": 0,
    "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5,
    "六": 6, "七": 7, "八": 8, "九": 9,
}  # fmt: skip
_WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "七": 6}

_CN_NUM = r"[〇零○一二两三四五六七八九十廿卅]"
_YEAR = r"(?P<year>\d{4}|[〇零○Oo一二三四五六七八九]{4})"
_MONTH = r"(?P<month>\d{1,2}|" + _CN_NUM + r"{1,3})"
_DAY = r"(?P<day>\d{1,2}|" + _CN_NUM + r"{1,3})"
_S = r"\s*"

_LABEL = r"(?:(?:走访|记录|填写|来访|回访|登记)?(?:时间|日期)\s*[:：]?\s*)?"

#: year-month-day written with 年月日, or with separators . - /
_PATTERNS = [
    re.compile(
        _LABEL + _YEAR + _S + "年" + _S + _MONTH + _S + "月" + _S + _DAY + _S + "[日号]?"
    ),
    re.compile(
        _LABEL
        + r"(?P<year>\d{4})"
        + _S
        + r"(?P<sep>[./\-])"
        + _S
        + r"(?P<month>\d{1,2})"
        + _S
        + r"(?P=sep)"
        + _S
        + r"(?P<day>\d{1,2})(?!\d)"
        + _S
        + "[日号]?"
    ),
    re.compile(_LABEL + _MONTH + _S + "月" + _S + _DAY + _S + "[日号]"),
    # OCR lost the second separator (2024/2/6 read as 2024/216): month and day run together
    re.compile(_LABEL + r"(?P<year>\d{4})" + _S + r"[./\-]" + _S + r"(?P<md>\d{3,4})(?!\d)"),
]

_WEEKDAY_RE = re.compile(r"[\s,，、。.（(]*(?:星期|礼拜|周)\s*(?P<wd>[一二三四五六日天七])[）)]?")
_WEATHER_RE = re.compile(
    r"[\s,，、。.（(]*(?:天气\s*[:：]?\s*)?"
    r"(?P<weather>(?:晴|阴|多云|小雨|中雨|大雨|暴雨|阵雨|雷阵雨|雨夹雪|小雪|中雪|大雪|雨|雪|雾|大风|霜)"
    r"(?:\s*(?:转|间|有)\s*(?:晴|阴|多云|小雨|中雨|大雨|暴雨|阵雨|雷阵雨|小雪|大雪|雨|雪|雾))?"
    r"(?:天)?)[）)]?"
)
_TIME_OF_DAY_RE = re.compile(r"[\s,，、]*(?P<tod>上午|下午|中午|晚上|早上|傍晚|凌晨|夜里|晚)")

#: a date followed by these is a reference inside running text, not an entry head
_CONTINUATION_RE = re.compile(
    r"^(?:记录|记的|记下|反映|的|所|以来|至|到|前|后|那|这|走访时|回访时|提出|来访|曾|已|之前|以前|以后|起)"
)


@dataclass(frozen=True)
class DateMatch:
    """A date found at the head of a line.

    Attributes:
        year, month, day: as written; ``year`` is None when the writer left it out.
        weekday: 0 (Monday) .. 6 (Sunday) when a weekday was written, else None.
        weather: the weather words written after the date, or "".
        end: index in the (NFKC-normalised) line where the date, weekday and weather end.
        rest: what follows on the line after them.
    """

    year: int | None
    month: int
    day: int
    weekday: int | None
    weather: str
    end: int
    rest: str
    #: other readings of a garbled date ((month, day) pairs), the first one is used
    alternatives: tuple[tuple[int, int], ...] = ()

    def resolve(self, default_year: int | None) -> dt.date | None:
        """The date, taking ``default_year`` when none was written; None if impossible."""
        year = self.year if self.year is not None else default_year
        if year is None:
            return None
        try:
            return dt.date(year, self.month, self.day)
        except ValueError:
            return None

    @property
    def weekday_ok(self) -> bool | None:
        """Whether the written weekday agrees with the date (None when unknown)."""
        if self.weekday is None or self.year is None:
            return None
        d = self.resolve(None)
        return None if d is None else d.weekday() == self.weekday


def cn_number(s: str) -> int | None:
    """Value of a small number written in Arabic or Chinese numerals (1..99)."""
    s = s.strip()
    if not s:
        return None
    if s.isdigit():
        return int(s)
    s = s.replace("廿", "二十").replace("卅", "三十")
    if "十" in s:
        head, _, tail = s.partition("十")
        tens = 1 if head == "" else _CN_DIGIT.get(head)
        ones = 0 if tail == "" else _CN_DIGIT.get(tail)
        if tens is None or ones is None or len(head) > 1 or len(tail) > 1:
            return None
        return tens * 10 + ones
    if len(s) == 1 and s in _CN_DIGIT:
        return _CN_DIGIT[s]
    return None


def _year_value(s: str) -> int | None:
    if s.isdigit():
        return int(s)
    digits = [_CN_DIGIT.get(c) for c in s]
    if any(d is None for d in digits):
        return None
    return int("".join(str(d) for d in digits))


def normalise(text: str) -> str:
    """NFKC-normalise a line (full-width digits and punctuation to ASCII forms)."""
    return unicodedata.normalize("NFKC", text)


def parse_date_line(text: str) -> DateMatch | None:
    """Read a date written at the head of ``text``; None when the line does not start with one.

    The date may be preceded by a label (``时间：``) and followed by a weekday, weather
    and a time of day. A date that is immediately followed by words that make it a
    reference inside running text (``3月5日记录的…``) is not a date line.

    >>> m = parse_date_line("2024年3月5日 星期二 晴")
    >>> (m.year, m.month, m.day, m.weekday, m.weather)
    (2024, 3, 5, 1, '晴')
    """
    line = normalise(text).strip()
    line = line.lstrip(" \t·•*-—#")
    for pat in _PATTERNS:
        m = pat.match(line)
        if not m:
            continue
        year = _year_value(m.group("year")) if "year" in m.groupdict() and m.group("year") else None
        alternatives: tuple[tuple[int, int], ...] = ()
        month: int | None
        day: int | None
        if "md" in m.groupdict():
            alternatives = _run_together(m.group("md"))
            if not alternatives:
                continue
            month, day = alternatives[0]
        else:
            month = cn_number(m.group("month"))
            day = cn_number(m.group("day"))
        if month is None or day is None or not (1 <= month <= 12) or not (1 <= day <= 31):
            continue
        if year is not None and not (1949 <= year <= 2100):
            # A misread year still marks a date line; the segmenter repairs the year.
            year = None if not (1000 <= year <= 2999) else year
        end = m.end()
        weekday = None
        weather = ""
        for _ in range(3):  # weekday, weather, time of day in any order
            w = _WEEKDAY_RE.match(line, end)
            if w and weekday is None:
                weekday = _WEEKDAYS[w.group("wd")]
                end = w.end()
                continue
            w = _WEATHER_RE.match(line, end)
            if w and not weather:
                weather = w.group("weather")
                end = w.end()
                continue
            break
        rest = line[end:]
        tod = _TIME_OF_DAY_RE.match(rest)
        after_tod = rest[tod.end() :] if tod else rest
        if _CONTINUATION_RE.match(after_tod.lstrip(" ,，、:：")) and weekday is None and not weather:
            return None
        return DateMatch(year, month, day, weekday, weather, end, rest.strip(), alternatives)
    return None


#: relative expressions that date an entry from its predecessor, in days
RELATIVE_DAYS: list[tuple[str, int]] = [
    ("当天", 0),
    ("当日", 0),
    ("同日", 0),
    ("同一天", 0),
    ("当晚", 0),
    ("今天", 0),
    ("今日", 0),
    ("第二天", 1),
    ("次日", 1),
    ("翌日", 1),
    ("隔天", 1),
    ("第三天", 2),
    ("两天后", 2),
    ("三天后", 3),
    ("上周", -7),
    ("一周后", 7),
    ("下周", 7),
]
_RELATIVE_RE = re.compile(
    r"^[\s\"“]*(?P<expr>" + "|".join(re.escape(e) for e, _ in RELATIVE_DAYS) + r")"
)


def relative_offset(text: str) -> tuple[str, int] | None:
    """``(expression, days)`` when ``text`` starts with a relative date (当天下午, 次日 ...)."""
    m = _RELATIVE_RE.match(normalise(text))
    if not m:
        return None
    expr = m.group("expr")
    return expr, dict(RELATIVE_DAYS)[expr]


def repair_date(
    match: DateMatch, previous: dt.date | None, default_year: int | None
) -> tuple[dt.date | None, tuple[str, ...]]:
    """Resolve ``match`` to a date, repairing an OCR-misread year or digit.

    ``previous`` is the date of the entry before (entries are written in date order).
    Returns the date and the signals that were noticed (``weekday_mismatch``,
    ``year_repaired``, ``digit_repaired``, ``year_rollover``).
    """
    flags: list[str] = []
    if len(match.alternatives) > 1 and match.year is not None:
        # a garbled date: the reading nearest after the previous entry
        cands = [c for md in match.alternatives if (c := _safe_date(match.year, *md)) is not None]
        after = [c for c in cands if previous is None or c >= previous]
        if after:
            return min(after), ("digits_run_together",)
    year = match.year
    if year is None:
        year = previous.year if previous is not None else default_year
        d = _safe_date(year, match.month, match.day) if year is not None else None
        if d is not None and previous is not None and (previous - d).days > 180:
            # written without a year across New Year: 12月28日 … 1月3日
            d2 = _safe_date(d.year + 1, match.month, match.day)
            if d2 is not None:
                d = d2
                flags.append("year_rollover")
        return d, tuple(flags)
    d = _safe_date(year, match.month, match.day)
    if previous is not None and (d is None or not (-45 <= (d - previous).days <= 400)):
        # the year looks misread (2021 for 2024): keep month/day, take the year in order
        for y in (previous.year, previous.year + 1):
            cand = _safe_date(y, match.month, match.day)
            if cand is not None and 0 <= (cand - previous).days <= 400:
                d = cand
                flags.append("year_repaired")
                break
    elif d is None and default_year is not None and year != default_year:
        d = _safe_date(default_year, match.month, match.day)
        if d is not None:
            flags.append("year_repaired")
    if match.weekday is not None and d is not None and d.weekday() != match.weekday:
        flags.append("weekday_mismatch")
        # one misread digit in the day: prefer a date that agrees with the weekday
        # and keeps the entries in order
        cands = []
        for day in _one_digit_variants(match.day):
            c = _safe_date(d.year, d.month, day)
            if c is not None and c.weekday() == match.weekday and (previous is None or c >= previous):
                cands.append(c)
        if cands and previous is not None and d < previous:
            d = min(cands)  # the nearest date after the previous entry
            flags.append("digit_repaired")
    return d, tuple(flags)


def _safe_date(y: int, m: int, d: int) -> dt.date | None:
    try:
        return dt.date(y, m, d)
    except ValueError:
        return None


def _one_digit_variants(n: int) -> list[int]:
    s = str(n)
    out = set()
    for i in range(len(s) + 1):
        for c in "0123456789":
            for v in (s[:i] + c + s[i + 1 :], s[:i] + c + s[i:]):  # misread or lost digit
                if v != s and not v.startswith("0"):
                    out.add(int(v))
    if len(s) == 2:
        out.update(int(c) for c in s if c != "0")  # a spurious digit
    return sorted(v for v in out if 1 <= v <= 31)


def _run_together(md: str) -> tuple[tuple[int, int], ...]:
    """Readings of month+day digits whose separator was lost or read as a ``1``."""
    out = []
    for i in range(1, len(md)):
        mo, da = int(md[:i]), md[i:]
        if da and not da.startswith("0") and 1 <= mo <= 12 and 1 <= int(da) <= 31:
            out.append((mo, int(da)))
        # the separator misread as the digit 1: 2/6 -> "216"
        if da.startswith("1") and len(da) > 1 and 1 <= mo <= 12 and 1 <= int(da[1:]) <= 31:
            out.append((mo, int(da[1:])))
    return tuple(dict.fromkeys(out))
