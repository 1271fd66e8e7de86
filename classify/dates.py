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
    re.compile(_LABEL + _YEAR + _S + "年" + _S + _MONTH + _S + "月" + _S + _DAY + _S + "[日号]?"),
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
#: a short heading ``3.5`` / ``11.20`` (no year): only on a line that holds nothing else but
#: weekday, weather, time of day or a festival; OCR may read the dot as 、 。 , ·
_SHORT_RE = re.compile(
    r"(?P<month>1[0-2]|0?[1-9])\s*[.．。、·,，/]\s*(?P<day>3[01]|[12]\d|0?[1-9])(?![\d.])\s*[日号]?"
)
_LUNAR_MONTH = (
    r"(?P<leap>闰)?\s*(?P<lmonth>正|冬|腊|十[一二]|[一二三四五六七八九十]|1[0-2]|[1-9])\s*月"
)
_LUNAR_DAY = (
    r"(?P<lday>初\s*[一二三四五六七八九十]|二十\s*[一二三四五六七八九]?|廿\s*[一二三四五六七八九]?"
    r"|三十|卅|十\s*[一二三四五六七八九]?|(?<=月)\s*\d{1,2}(?!\d))"
)
_GANZHI = r"(?P<gz>[甲乙丙丁戊己庚辛壬癸][子丑寅卯辰巳午未申酉戌亥])\s*年\s*"
_LUNAR_YEAR = r"(?P<lyear>\d{4}|[〇零○一二三四五六七八九]{4})\s*年\s*"
_LUNAR_RE = re.compile(
    r"(?:"
    + _GANZHI
    + r"|"
    + _LUNAR_YEAR
    + r")?(?P<nl>农历|阴历)?\s*"
    + _LUNAR_MONTH
    + r"\s*"
    + _LUNAR_DAY
    + r"(?P<ri>\s*[日号])?(?![日号])"
)
#: festivals of the lunar calendar: (lunar month, day); 除夕 is the last day of month 12
FESTIVALS: dict[str, tuple[int, int]] = {
    "春节": (1, 1), "大年初一": (1, 1), "元宵": (1, 15), "元宵节": (1, 15), "龙抬头": (2, 2),
    "端午": (5, 5), "端午节": (5, 5), "七夕": (7, 7), "中元": (7, 15), "中元节": (7, 15),
    "中秋": (8, 15), "中秋节": (8, 15), "重阳": (9, 9), "重阳节": (9, 9), "腊八": (12, 8),
    "腊八节": (12, 8), "小年": (12, 23), "除夕": (12, 30), "大年三十": (12, 30),
    "二月二": (2, 2), "七月半": (7, 15), "寒衣节": (10, 1), "破五": (1, 5),
}  # fmt: skip
_FESTIVAL_RE = re.compile(
    r"(?:农历)?(?P<fest>" + "|".join(sorted(map(re.escape, FESTIVALS), key=len, reverse=True)) + ")"
    r"(?![一二三四五六七八九十廿])"  # 二月二十三 is a date, not 二月二
)
_LUNAR_MONTHS = {"正": 1, "冬": 11, "腊": 12}

_WEEKDAY_RE = re.compile(r"[\s,，、。.（(]*(?:星期|礼拜|周)\s*(?P<wd>[一二三四五六日天七])[）)]?")
_WEATHER_RE = re.compile(
    r"[\s,，、。.（(]*(?:天气\s*[:：]?\s*)?"
    r"(?P<weather>(?:晴|阴|多云|小雨|中雨|大雨|暴雨|阵雨|雷阵雨|雨夹雪|小雪|中雪|大雪|雨|雪|雾|大风|霜|冰雹)"
    r"(?:\s*(?:转|间|有)\s*(?:晴|阴|多云|小雨|中雨|大雨|暴雨|阵雨|雷阵雨|小雪|大雪|雨|雪|雾))?"
    r"(?:天)?)[）)]?"
)
_TIME_OF_DAY_RE = re.compile(r"[\s,，、]*(?P<tod>上午|下午|中午|晚上|早上|傍晚|凌晨|夜里|晚)")
#: what else a heading line may hold: weekday, weather, time of day, festival, temperature
_HEADING_TOKEN_RE = re.compile(
    r"(?:[\s,，、。.（()）:：\-—~]|星期.|礼拜.|周.|上午|下午|中午|晚上|早上|傍晚|凌晨|夜里|晚|晴|阴|多云|"
    r"[小中大暴阵雷]?雨|雨夹雪|[小中大]?雪|雾|霜|大风|风|转|间|有|天|热|冷|凉|闷|热得很|很热|很冷|"
    r"农历|阴历|节|冰雹|[正冬腊闰初廿卅〇一二三四五六七八九十]|月|"
    + "|".join(sorted(map(re.escape, FESTIVALS), key=len, reverse=True))
    + r"|清明|立[春夏秋冬]|冬至|夏至|\d{1,2}\s*[°度℃]|[0-9一二三四五六七八九十]+[点时]|号|日)"
)


def _heading_only(rest: str) -> bool:
    """Whether what follows a date holds only heading words (a stray character or two of
    OCR noise, or 清明前, allowed on a short line)."""
    left = _HEADING_TOKEN_RE.sub("", rest)
    sentence = re.search(r"[。，,；;！？]", rest)
    return not left or (len(rest) <= 10 and len(left) <= 2 and not sentence)


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
    #: ``gregorian``, ``lunar`` (month/day are lunar; ``leap`` for a 闰 month) or ``both``
    #: (a Gregorian date and a lunar one written together; month/day are the Gregorian)
    calendar: str = "gregorian"
    leap: bool = False
    #: the lunar (month, day, leap) written beside a Gregorian date (``both``)
    lunar: tuple[int, int, bool] | None = None
    #: a heading line holds nothing but the date, weekday, weather, time of day, festival
    heading_only: bool = True

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
    reference inside running text (``3月5日记录的…``) is not a date line. Lunar dates
    (``农历九月初三``, ``闰六月初二``, ``腊月廿三``, festivals such as ``中秋``, ``除夕``)
    come back with ``calendar="lunar"``; a Gregorian and a lunar date written together
    (``7月11日（农历六月初六）``) with ``calendar="both"``. A short ``3.5`` heading counts only
    on a line that holds nothing else but weekday, weather and the like.

    >>> m = parse_date_line("2024年3月5日 星期二 晴")
    >>> (m.year, m.month, m.day, m.weekday, m.weather)
    (2024, 3, 5, 1, '晴')
    """
    line = normalise(text).strip()
    line = line.lstrip(" \t·•*-—#")
    m = _parse(line)
    if m is None:
        fixed = ocr_repair(line)
        if fixed != line:
            m = _parse(fixed)
            if m is not None and not m.heading_only:
                m = None  # a repaired date counts only on a heading line
    return m


#: OCR confusions seen on handwritten date headings (the repaired reading is tried only
#: when the line as read holds no date)
_OCR_FIXES = (
    (re.compile(r"(?<=\d)\s*[曰目口白]"), "日"),
    (re.compile(r"(?<=\d)\s*[用丹舟]"), "月"),
    (re.compile(r"(?<=\d{4})\s*[午牛]"), "年"),
    (re.compile(r"(?<=[\d年月])[lI|](?=[\d月日号])|(?<=\d)[lI|]|[lI|](?=\d)"), "1"),
    (re.compile(r"(?<=\d)[Oo〇](?=\d|[月日号])"), "0"),
    (re.compile(r"星[朝其斯]|是期|皇期|里期"), "星期"),
    (re.compile(r"(?<=\d)\s*[,，;；:：]\s*(?=\d{1,2}(?:\D|$))"), "."),
)


def ocr_repair(line: str) -> str:
    """The head of a line with common OCR confusions in dates undone (12曰 → 12日)."""
    head, tail = line[:16], line[16:]
    for rx, rep in _OCR_FIXES:
        head = rx.sub(rep, head)
    return head + tail


def _parse(line: str) -> DateMatch | None:
    m = _gregorian(line, 0)
    if m is not None:
        lunar = _lunar_at(m.rest, 0, anywhere=True)
        if lunar is not None:
            return _with(m, calendar="both", lunar=lunar[:3])
        return m
    short = _SHORT_RE.match(line)
    if short:
        m = _tail(line, None, int(short.group("month")), int(short.group("day")), short.end(), ())
        if m is not None and m.heading_only and not _LABEL_ONLY_RE.match(line):
            lunar = _lunar_at(m.rest, 0, anywhere=True)
            return _with(m, calendar="both", lunar=lunar[:3]) if lunar else m
    lunar = _lunar_at(line, 0, anywhere=False)
    if lunar is not None:
        lmonth, lday, leap, end = lunar
        # a Gregorian date written after the lunar one (八月十五中秋 2025年10月6日)
        after = re.search(r"\d{4}\s*年|\d{1,2}\s*月\s*\d{1,2}\s*[日号]", line[end:])
        if after:
            g = _gregorian(line, end + after.start())
            if g is not None:
                return _with(g, calendar="both", lunar=(lmonth, lday, leap))
        m = _tail(line, None, lmonth, lday, end, ())
        if m is not None and (m.heading_only or "农历" in line[:end] or "闰" in line[:end]):
            return _with(m, calendar="lunar", leap=leap, year=_lunar_year(line))
    # a lunar day without its month (初八): the month of the entry before
    md = re.match(r"(?:农历|阴历)?\s*初\s*([一二三四五六七八九十])", line)
    if md:
        m = _tail(line, None, 1, cn_number(md.group(1)) or 1, md.end(), ())
        if m is not None and m.heading_only:
            return _with(m, calendar="lunar", month=0)
    # Gregorian holidays written as the heading (元旦, 国庆节)
    gf = _HOLIDAY_RE.match(line)
    if gf:
        month, day = HOLIDAYS[gf.group("hol")]
        m = _tail(line, None, month, day, gf.end(), ())
        if m is not None and m.heading_only:
            return m
    return None


#: Gregorian holidays a heading may name instead of the date
HOLIDAYS: dict[str, tuple[int, int]] = {
    "元旦": (1, 1), "国庆节": (10, 1), "国庆": (10, 1), "劳动节": (5, 1), "五一劳动节": (5, 1),
}  # fmt: skip
_HOLIDAY_RE = re.compile(
    r"(?P<hol>" + "|".join(sorted(map(re.escape, HOLIDAYS), key=len, reverse=True)) + ")"
)


def _lunar_year(line: str) -> int | None:
    """The (lunar) year written before a lunar date: 癸卯年 or 2024年 / 二〇二四年."""
    gz = re.match(r"\s*" + _GANZHI, line)
    if gz:
        return ganzhi_year(gz.group("gz"))
    ly = re.match(r"\s*" + _LUNAR_YEAR, line)
    if ly:
        y = _year_value(ly.group("lyear"))
        return y if y is not None and 1949 <= y <= 2100 else None
    return None


_LABEL_ONLY_RE = re.compile(r"^\d{1,2}\s*[.、]\s*\d{1,2}\s*[.、]")  # "1.2." list numbering


def _with(m: DateMatch, **kw: object) -> DateMatch:
    from dataclasses import replace

    return replace(m, **kw)  # type: ignore[arg-type]


def _lunar_at(line: str, pos: int, *, anywhere: bool) -> tuple[int, int, bool, int] | None:
    """``(lunar month, day, leap, end)`` of a lunar date or festival at ``pos`` (or anywhere
    in a heading's rest, in brackets after a Gregorian date)."""
    search = (lambda rx: rx.search(line, pos)) if anywhere else (lambda rx: rx.match(line, pos))
    lm = search(_LUNAR_RE)
    fm = search(_FESTIVAL_RE)
    if lm is not None and (
        fm is None or lm.start() <= fm.start() or "农历" in line[fm.end() : lm.start() + 2]
    ):
        month = _LUNAR_MONTHS.get(lm.group("lmonth")) or cn_number(lm.group("lmonth"))
        day = _lunar_day(lm.group("lday"))
        arabic = lm.group("lmonth").isdigit() or lm.group("lday").strip().isdigit()
        # 日 after a day in Chinese numerals is lunar only where the month or the day says
        # so (正月十六日, 农历九月二十八日, 冬月初八日): 三月十五日 is a Gregorian date
        ri_ok = (
            not lm.group("ri") or arabic or bool(lm.group("nl") or lm.group("leap"))
            or lm.group("lmonth") in _LUNAR_MONTHS or lm.group("lday").lstrip()[:1] in "初廿卅"
        )  # fmt: skip
        if (
            month and day and 1 <= month <= 12 and 1 <= day <= 30 and ri_ok
            and (lm.group("nl") or not arabic)
        ):  # fmt: skip
            return month, day, bool(lm.group("leap")), lm.end()
    if fm is not None:
        month, day = FESTIVALS[fm.group("fest")]
        # a lunar date in brackets after the festival (中秋（农历八月十五）) is more precise
        inner = _LUNAR_RE.search(line, fm.end(), fm.end() + 12)
        if inner is not None and not inner.group("nl") and inner.group("lmonth").isdigit():
            inner = None  # 腊八节（1月18号）: the Gregorian day in brackets
        if inner is not None:
            mo = _LUNAR_MONTHS.get(inner.group("lmonth")) or cn_number(inner.group("lmonth"))
            dd = _lunar_day(inner.group("lday"))
            if mo and dd:
                close = re.match(r"\s*[)）]", line[inner.end() :])
                return (
                    mo,
                    dd,
                    bool(inner.group("leap")),
                    inner.end() + (close.end() if close else 0),
                )
        return month, day, False, fm.end()
    return None


def ganzhi_year(gz: str, latest: int | None = None) -> int | None:
    """The latest year up to ``latest`` (default: this year) named by a 干支 pair (癸卯 → 2023)."""
    stems, branches = "甲乙丙丁戊己庚辛壬癸", "子丑寅卯辰巳午未申酉戌亥"
    if len(gz) != 2 or gz[0] not in stems or gz[1] not in branches:
        return None
    latest = latest or dt.date.today().year
    for y in range(latest, latest - 60, -1):
        if (y - 4) % 10 == stems.index(gz[0]) and (y - 4) % 12 == branches.index(gz[1]):
            return y
    return None


def year_from_weekdays(matches: list[DateMatch], latest: int | None = None) -> int | None:
    """The year in which the weekdays written beside year-less dates fall right.

    Cadres often write ``6.12 周一`` with no year; the most recent year (up to ``latest``,
    default this year, at most 12 years back) that agrees with most of them is taken.
    When only lunar dates carry weekdays, the lunar year that fits them.
    """
    latest = latest or dt.date.today().year
    votes: dict[int, int] = {}
    for m in matches:
        if m.year is not None or m.weekday is None or m.calendar == "lunar":
            continue
        for y in range(latest, latest - 12, -1):
            d = _safe_date(y, m.month, m.day)
            if d is not None and d.weekday() == m.weekday:
                votes[y] = votes.get(y, 0) + 1
    if not votes:  # only lunar dates carry weekdays (九月初三 周四): the lunar year
        from lunardate import LunarDate

        for m in matches:
            if m.year is not None or m.weekday is None or m.calendar != "lunar" or not m.month:
                continue
            for y in range(latest, latest - 12, -1):
                try:
                    d = LunarDate(y, m.month, m.day, m.leap).to_solar_date()
                except ValueError:
                    continue
                if d.weekday() == m.weekday:
                    votes[y] = votes.get(y, 0) + 1
    if not votes:
        return None
    best = max(votes.values())
    return max(y for y, v in votes.items() if v == best) if best >= 1 else None


def _lunar_day(s: str) -> int | None:
    s = re.sub(r"\s+", "", s)
    if s.startswith("初"):
        return cn_number(s[1:])
    if s == "廿":
        return 20
    return cn_number(s)


def _gregorian(line: str, pos: int) -> DateMatch | None:
    for pat in _PATTERNS:
        m = pat.match(line, pos)
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
        if pos == 0 and not m.group(0).strip().endswith(("日", "号")) and pat is _PATTERNS[2]:
            continue
        out = _tail(line, year, month, day, m.end(), alternatives)
        if out is not None:
            return out
    return None


def _tail(
    line: str, year: int | None, month: int, day: int, end: int, alternatives
) -> DateMatch | None:
    """Weekday, weather and time of day after a date ending at ``end``; None when what
    follows makes the date a reference inside running text."""
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
    heading_only = _heading_only(rest)
    return DateMatch(
        year, month, day, weekday, weather, end, rest.strip(), alternatives,
        heading_only=heading_only,
    )  # fmt: skip


def lunar_to_solar(
    month: int, day: int, leap: bool, previous: dt.date | None, default_year: int | None,
    following: dt.date | None = None, span: tuple[dt.date, dt.date] | None = None,
) -> dt.date | None:  # fmt: skip
    """The Gregorian day of a lunar date written without a year (``lunardate`` converts).

    The year is the one that puts the day nearest after ``previous`` (entries are written
    in date order), else nearest before ``following``, else nearest to (the earliest
    inside) ``span``, the notebook's period as its cover, the manifest or the neighbouring
    notebooks give it, else in the lunar year ``default_year``.
    """
    from lunardate import LunarDate

    if previous is None and following is None and span is not None:
        return _lunar_in_span(month, day, leap, span)
    if month == 0:  # the month was not written: the lunar month of the entry before
        ref_day = previous or following
        if ref_day is None:
            return None
        for shift in (0, 30) if previous else (0, -30):
            ld = LunarDate.from_solar_date(*(ref_day + dt.timedelta(days=shift)).timetuple()[:3])
            try:
                c = LunarDate(ld.year, ld.month, day, ld.isLeapMonth).to_solar_date()
            except ValueError:
                continue
            if previous is None or c >= previous - dt.timedelta(days=3):
                return c
        return None
    ref = previous or following
    years = (
        [ref.year - 1, ref.year, ref.year + 1] if ref else ([default_year] if default_year else [])
    )
    cands = []
    for y in years:
        for d in [day, day - 1] if day >= 29 else [day]:  # 除夕: month 12 may have 29 days
            try:
                cands.append(LunarDate(y, month, d, leap).to_solar_date())
                break
            except ValueError:
                if leap:  # no such leap month that year: the plain month
                    try:
                        cands.append(LunarDate(y, month, d, False).to_solar_date())
                        break
                    except ValueError:
                        continue
    if not cands:
        return None
    if previous is not None:
        after = [c for c in cands if c >= previous - dt.timedelta(days=3)]
        return min(after) if after else max(cands)
    if following is not None:
        before = [c for c in cands if c <= following + dt.timedelta(days=3)]
        return max(before) if before else min(cands)
    if default_year is not None:
        return cands[0]  # the lunar year default_year
    return None


def _lunar_in_span(
    month: int, day: int, leap: bool, span: tuple[dt.date, dt.date]
) -> dt.date | None:
    """The Gregorian day of a year-less lunar date nearest to ``span`` (the earliest one
    inside it when several are)."""
    from lunardate import LunarDate

    if month == 0:
        return None
    cands = []
    for y in range(span[0].year - 2, span[1].year + 2):
        for leap_, d in ((leap, day), (False, day), (leap, day - 1), (False, day - 1)):
            if d < 1 or (d == day - 1 and day < 29):
                continue
            try:
                cands.append(LunarDate(y, month, d, leap_).to_solar_date())
                break
            except ValueError:
                continue
    if not cands:
        return None
    return min(cands, key=lambda c: (_distance(c, span), c))


def _distance(d: dt.date, span: tuple[dt.date, dt.date]) -> int:
    """Days from ``d`` to the span (0 inside)."""
    if d < span[0]:
        return (span[0] - d).days
    if d > span[1]:
        return (d - span[1]).days
    return 0


def in_span(month: int, day: int, span: tuple[dt.date, dt.date]) -> dt.date | None:
    """The Gregorian ``month``/``day`` of a year-less date nearest to ``span`` (the earliest
    inside it when several are)."""
    cands = [
        c for y in range(span[0].year - 1, span[1].year + 2) if (c := _safe_date(y, month, day))
    ]
    return min(cands, key=lambda c: (_distance(c, span), c)) if cands else None


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
    ("隔日", 1),
    ("第三天", 2),
    ("两天后", 2),
    ("两日后", 2),
    ("过了两天", 2),
    ("三天后", 3),
    ("三日后", 3),
    ("过了三天", 3),
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
    match: DateMatch,
    previous: dt.date | None,
    default_year: int | None,
    span: tuple[dt.date, dt.date] | None = None,
) -> tuple[dt.date | None, tuple[str, ...]]:
    """Resolve ``match`` to a date, repairing an OCR-misread year or digit.

    ``previous`` is the date of the entry before (entries are written in date order);
    ``span`` the notebook's period (cover, manifest or neighbouring notebooks), used for a
    date written without a year when there is no entry before.
    Returns the date and the signals that were noticed (``weekday_mismatch``,
    ``year_repaired``, ``digit_repaired``, ``year_rollover``, ``year_from_span``).
    """
    flags: list[str] = []
    if match.calendar == "lunar":
        if match.year is not None:  # a 干支 year: the lunar year
            return lunar_to_solar(match.month, match.day, match.leap, None, match.year), ("lunar",)
        if previous is None and span is not None:
            d = lunar_to_solar(match.month, match.day, match.leap, None, None, span=span)
            return d, ("lunar", "year_from_span")
        d = lunar_to_solar(match.month, match.day, match.leap, previous, default_year)
        return d, ("lunar",)
    if match.year is None and previous is None and span is not None:
        d = in_span(match.month, match.day, span)
        if d is not None:
            return d, ("year_from_span",)
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
            if (
                c is not None
                and c.weekday() == match.weekday
                and (previous is None or c >= previous)
            ):
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
