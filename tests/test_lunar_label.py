"""The lunar day pages and volumes print beside a lunar-dated entry's Gregorian day."""

import datetime as dt

import pytest

from minqing.classify.lunar import lunar_label


@pytest.mark.parametrize(
    ("day", "label"),
    [
        (dt.date(2024, 2, 10), "农历正月初一"),  # the Spring Festival of 2024
        (dt.date(2025, 1, 22), "农历腊月廿三"),  # 小年 (north), 2025
        (dt.date(2025, 1, 28), "农历腊月廿九"),  # 除夕 of a 29-day 腊月
        (dt.date(2024, 9, 17), "农历八月十五"),  # 中秋
        (dt.date(2023, 12, 20), "农历冬月初八"),
        (dt.date(2025, 8, 13), "农历闰六月二十"),  # 2025 has a leap sixth month
        (dt.date(2024, 2, 9), "农历腊月三十"),  # 除夕 of a 30-day 腊月
        (dt.date(2024, 11, 15), "农历十月十五"),
    ],
)
def test_lunar_label(day: dt.date, label: str) -> None:
    assert lunar_label(day) == label
