"""A Gregorian day written the way a lunar-calendar heading names it (``农历腊月廿三``).

Entries dated by the lunar calendar are stored under their Gregorian day (``date``) with
``date_kind`` ``lunar`` or ``both``; pages and volumes show the lunar day beside it, as the
cadre wrote it. The conversion is ``lunardate``'s (a maintained library, the one the dates
module parses with), the naming the customary one: 正月 … 十月, 冬月, 腊月; 初一 … 初十,
十一 … 十九, 二十, 廿一 … 廿九, 三十; a leap month as 闰六月.
"""

from __future__ import annotations

import datetime as dt

_DIGITS = "〇一二三四五六七八九十"
_MONTHS = {1: "正月", 11: "冬月", 12: "腊月"}

#: ``date_kind`` values whose entries were dated by the lunar calendar
LUNAR_KINDS = frozenset({"lunar", "both"})


def _day(n: int) -> str:
    if n <= 10:
        return "初" + _DIGITS[n]
    if n < 20:
        return "十" + _DIGITS[n - 10]
    if n == 20:
        return "二十"
    if n < 30:
        return "廿" + _DIGITS[n - 20]
    return "三十"


def lunar_label(day: dt.date) -> str:
    """``农历腊月廿三`` for 2025-01-22; ``农历闰六月二十`` in a leap month."""
    from lunardate import LunarDate

    ld = LunarDate.from_solar_date(day.year, day.month, day.day)
    month = _MONTHS.get(ld.month) or _DIGITS[ld.month] + "月"
    return f"农历{'闰' if ld.is_leap_month else ''}{month}{_day(ld.day)}"
