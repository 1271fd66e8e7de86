"""Segmentation and dating of diaries as other hands write them (issues 13, 18).

Every example is written here for the test (fictional people and places); none comes
from the independent corpus.
"""

from __future__ import annotations

import datetime as dt

from minqing.classify import parse_date_line, segment_book
from minqing.classify.dates import ganzhi_year, lunar_to_solar
from minqing.classify.segment import continue_books, list_marker
from minqing.classify.types import BookLine

PITCH = 70


def book(*paras: str | None, page_len: int = 40, book_id: str = "b") -> list[BookLine]:
    """Lines on ruled pages; ``None`` leaves a blank ruled line (a vertical gap)."""
    out, rule, page, k = [], 0, 1, 0
    for text in paras:
        if rule >= page_len:
            page, rule, k = page + 1, 0, 0
        if text is not None:
            y1 = 200 + rule * PITCH
            box = (120.0, y1 - 44.0, 120.0 + 44 * len(text), float(y1))
            out.append(BookLine(f"{book_id}/{page}/{k}", page, k, text, box, 1700))
            k += 1
        rule += 1
    return out


def dates(entries) -> list[str | None]:
    return [e.date.isoformat() if e.date else None for e in entries]


# -- short, damaged and relative headings -----------------------------------------------------
def test_short_headings_start_entries_and_take_the_year_of_their_neighbours() -> None:
    es = segment_book(
        book(
            "2023年5月2日 星期二 晴",
            "到三队看了看新修的水渠。",
            None,
            "5.9 阴",
            "马家两兄弟为晒场吵架，调解后和好。",
            None,
            "5、16 小雨",
            "村道边的杂草清了一半。",
            None,
            "11月20号",
            "冬季防火宣传。",
        )
    )
    assert dates(es) == ["2023-05-02", "2023-05-09", "2023-05-16", "2023-11-20"]


def test_a_numbered_point_is_not_a_short_date() -> None:
    assert parse_date_line("2.老校舍出租的事还没定") is None
    assert parse_date_line("3.21 星期五") is not None


def test_a_paragraph_opening_with_a_date_stays_in_its_entry() -> None:
    es = segment_book(
        book(
            "6月3日 晴",
            "周家反映屋后的排水沟堵了。",
            "6月1日那场雨以后水就漫进了院子，我去看了。",
        ),
        year_hint=2024,
    )
    assert len(es) == 1 and es[0].date == dt.date(2024, 6, 3)


def test_relative_starts_are_dated_from_the_entry_before() -> None:
    es = segment_book(
        book(
            "2024年8月12日 晴",
            "桥头的路灯坏了三盏，打电话给电工。",
            None,
            "次日上午，电工来换了灯泡。",
            None,
            "两天后又去看了一次，都亮着。",
        )
    )
    assert dates(es) == ["2024-08-12", "2024-08-13", "2024-08-15"]
    assert [e.date_kind for e in es] == ["gregorian", "relative", "relative"]


def test_a_year_less_notebook_takes_its_year_from_the_weekdays() -> None:
    # 2022-03-07 and 2022-03-14 are Mondays
    es = segment_book(book("3.7 周一 晴", "开会。", None, "3.14 周一 阴", "回访。"))
    assert dates(es) == ["2022-03-07", "2022-03-14"]


# -- body dates are not the entry's date -----------------------------------------------------
def test_body_dates_are_fields_not_the_entry_date() -> None:
    es = segment_book(
        book(
            "2024年4月2日 星期二",
            "张老汉说3月28日交的申请还没回音，要求4月15日前给答复。",
        )
    )
    assert es[0].date == dt.date(2024, 4, 2)
    assert ("referenced", "2024-03-28") in es[0].body_dates
    assert ("deadline", "2024-04-15") in es[0].body_dates


# -- several matters under one heading --------------------------------------------------------
def test_circled_matters_under_one_heading_are_entries_sharing_its_date() -> None:
    es = segment_book(
        book(
            "2025年3月10日 晴",
            "今天记三件事：",
            "①二组的自来水停了两天，已找人抢修。",
            "②王大娘的养老金卡丢了，陪她去补办。",
            "③村部门前的宣传栏换了新内容。",
        )
    )
    assert len(es) == 3
    assert dates(es) == ["2025-03-10"] * 3
    assert [e.shares_heading for e in es] == [False, True, True]
    assert es[1].date_kind == "shared_heading"


def test_yi_shi_er_shi_and_parenthesised_numbers_list_matters() -> None:
    es = segment_book(
        book(
            "2025年6月2日",
            "一是河边的垃圾清了一车。",
            "二是党员学习定在每月五号。",
            None,
            "2025年6月9日",
            "（1）桥面裂缝已报乡里。",
            "（2）低保复核三户。",
        )
    )
    assert [e.text[:2] for e in es] == ["20", "二是", "20", "（2"]
    assert dates(es) == ["2025-06-02", "2025-06-02", "2025-06-09", "2025-06-09"]


def test_numbered_points_of_one_matter_stay_one_entry() -> None:
    es = segment_book(
        book(
            "2025年7月1日 阴",
            "五组反映水压低。",
            "1.查了水池，进水口被树叶堵了。",
            "2.清了进水口，水压恢复。",
        )
    )
    assert len(es) == 1


def test_a_blank_line_between_matters_under_one_heading_splits_them() -> None:
    es = segment_book(
        book(
            "2025年9月3日 多云",
            "刘家的狗咬了人，已调解赔了药费。",
            None,
            "村小操场的围墙倒了一段，报乡教办。",
        )
    )
    assert len(es) == 2 and dates(es) == ["2025-09-03", "2025-09-03"]


def test_list_markers() -> None:
    assert list_marker("③村道") == ("circled", 3)
    assert list_marker("（2）渠水") == ("paren", 2)
    assert list_marker("三是预备党员") == ("shi", 3)
    assert list_marker("4. 鱼塘") == ("dot", 4)
    assert list_marker("四月份") is None


# -- visit report ------------------------------------------------------------------------------
def test_a_visit_report_is_one_entry_dated_by_its_visit_time() -> None:
    lines = book(
        "走访时间：2024年10月8日下午", "走访地点：东岭村三组", "走访对象：陈秋生一家",
        "记录人：何兰", "一、基本情况", "陈家四口人，两位老人常年吃药。",
        "二、反映的问题", "房顶漏雨，申请危房改造。", "三、初步意见", "先上报乡里核实。",
        "四、下步打算", "下月回访。",
        page_len=8,
    )  # fmt: skip
    es = segment_book(lines)
    assert len(es) == 1
    assert es[0].date == dt.date(2024, 10, 8) and es[0].date_kind == "visit_header"
    assert es[0].page_end == 2


def test_a_time_label_under_a_heading_does_not_start_an_entry() -> None:
    es = segment_book(
        book("2024-5-6 周一 晴", "时间：上午九点", "地点：村委会", "事由：调解山林纠纷。")
    )
    assert len(es) == 1


# -- later notes ---------------------------------------------------------------------------
def test_a_later_note_belongs_to_its_entry_and_keeps_its_date() -> None:
    es = segment_book(
        book(
            "2023年3月1日 晴",
            "吴家申请低保，材料已报乡民政办。",
            "4月20日补记：已批下来，群众满意。",
            None,
            "2023年3月8日 阴",
            "春耕物资到村。",
        )
    )
    assert len(es) == 2
    assert es[0].date == dt.date(2023, 3, 1)
    assert "补记" in es[0].text and es[0].later_notes
    assert ("later_note", "2023-04-20") in es[0].body_dates


# -- a notebook continued in the next one ---------------------------------------------------
def test_a_continued_notebook_follows_up_the_unfinished_entry() -> None:
    first = segment_book(
        book("2024年6月28日 晴", "吴家的承包地界桩被人挪了，双方都说", book_id="one")
    )
    second = segment_book(
        book("民情日记（第二本）", page_len=1, book_id="two")
        + [
            BookLine(ln.line_id.replace("two/1", "two/2"), 2, ln.line_no, ln.text, ln.box, 1700)
            for ln in book(
                "是自己的地，约好下周到现场量。", None, "2024年7月5日", "量地。", book_id="two"
            )
        ]
    )
    assert second[0].date_kind == "continuation"
    books, pairs = continue_books({"one": first, "two": second}, {"one": "吴明", "two": "吴明"})
    assert pairs == [(("two", 1), ("one", 1))]
    assert books["two"][0].date == dt.date(2024, 6, 28)
    assert books["two"][0].category_code == first[0].category_code


# -- lunar dates -------------------------------------------------------------------------------
def test_lunar_headings_are_converted_with_the_year_of_the_notebook() -> None:
    es = segment_book(
        book(
            "2024年10月2日 晴",
            "秋收。",
            None,
            "农历九月初三 阴",
            "重阳前走访老人。",
            None,
            "腊月廿三 小年 雪",
            "给五保户送年货。",
            None,
            "除夕 晴",
            "值班。",
            None,
            "正月十五 元宵",
            "村里闹花灯。",
        )
    )
    assert dates(es) == ["2024-10-02", "2024-10-05", "2025-01-22", "2025-01-28", "2025-02-12"]
    assert [e.date_kind for e in es] == ["gregorian", "lunar", "lunar", "lunar", "lunar"]


def test_leap_month_and_both_calendars() -> None:
    m = parse_date_line("闰六月初二 晴 热")
    assert m is not None and m.calendar == "lunar" and m.leap
    assert lunar_to_solar(6, 2, True, dt.date(2025, 7, 20), None) == dt.date(2025, 7, 26)
    m = parse_date_line("8月30日（农历七月廿七）晴")
    assert m is not None and m.calendar == "both" and m.lunar == (7, 27, False)
    m = parse_date_line("中秋（农历八月十五）多云")
    assert m is not None and (m.month, m.day, m.calendar) == (8, 15, "lunar")


def test_a_lunar_body_phrase_is_not_a_heading() -> None:
    assert parse_date_line("三月十五我们去了县里") is None


def test_ganzhi_year() -> None:
    assert ganzhi_year("甲辰", 2026) == 2024
    assert ganzhi_year("癸卯", 2026) == 2023
    es = segment_book(book("甲辰年八月十五 中秋 晴", "赏月。"))
    assert es[0].date == dt.date(2024, 9, 17)


# -- the archive keeps how the date was written ----------------------------------------------
def test_export_carries_date_kind_shared_heading_later_notes_and_body_dates(tmp_path) -> None:
    from minqing.archive import records
    from minqing.archive.export import iter_entries
    from minqing.archive.store import Archive

    es = segment_book(
        book(
            "腊月廿三 小年 晴",
            "今天记两件事：",
            "①给五保户送了年货。",
            "②周家申请危房改造，要求1月30日前报乡里。",
            "2月5日补记：乡里已受理。",
        ),
        year_hint=2024,
    )
    with Archive(tmp_path / "a", create=True) as archive:
        records.upsert_book(archive, "b", "b")
        records.write_entries(archive, "b", es, "test")
        rows = list(iter_entries(archive))
    assert [r["date_kind"] for r in rows] == ["lunar", "shared_heading"]
    assert [r["shares_heading"] for r in rows] == [False, True]
    assert rows[0]["date"] == rows[1]["date"] == "2025-01-22"
    assert rows[1]["later_notes"] == ["2月5日补记：乡里已受理。"]
    assert {"kind": "deadline", "date": "2025-01-30"} in rows[1]["body_dates"]


# -- a heading damaged by OCR: the learnt boundary model ------------------------------------
def test_a_damaged_heading_still_starts_an_entry_with_the_boundary_model() -> None:
    from minqing.classify.boundary import default_boundary_model

    assert default_boundary_model() is not None  # shipped in classify/data/boundary.json
    lines = book(
        "2024年9月2日 星期一 晴",
        "三组的水泵坏了，已请人来修。",
        # the next heading, at the top of the next page, as a weak OCR pass read it
        "2口24年9丨口 星口三 阴",
        "王家的低保材料交到乡里。",
        page_len=2,
    )
    assert len(segment_book(lines, boundary=None)) == 1  # the rules alone merge the two
    es = segment_book(lines)
    assert len(es) == 2
    assert es[1].text.startswith("2口24年")


def test_the_boundary_model_does_not_split_running_text() -> None:
    es = segment_book(
        book(
            "2024年9月2日 星期一 晴",
            "三组的水泵坏了，已请人来修，",
            "修好以后试了两回水，",
            "都正常。",
        )
    )
    assert len(es) == 1


def test_a_first_marker_whose_circle_ocr_lost_still_opens_the_list() -> None:
    es = segment_book(
        book(
            "2025年4月8日 星期二 晴",
            "1村部屋顶漏雨，已请人补好。",  # ① read as 1
            "②三组的路灯亮了。",
            "3组的水渠还没修。",  # a group number, not a marker
        )
    )
    assert len(es) == 2 and es[1].text.startswith("②三组")
    assert es[1].text.endswith("还没修。")


def test_more_lunar_forms() -> None:
    m = parse_date_line("腊月二十三 晴")
    assert m is not None and (m.month, m.day, m.calendar) == (12, 23, "lunar")
    m = parse_date_line("二〇二四年农历十月初一")
    assert m is not None and (m.year, m.month, m.day, m.calendar) == (2024, 10, 1, "lunar")
    m = parse_date_line("农历8月15日 晴")
    assert m is not None and (m.month, m.day, m.calendar) == (8, 15, "lunar")
    assert parse_date_line("8月15 晴") is None  # no 日, no 农历: not a heading
    m = parse_date_line("腊八节（1月18号）晴")
    assert m is not None and (m.month, m.day, m.calendar) == (1, 18, "both")
    assert parse_date_line("初八那天我们去了") is None


def test_a_lunar_day_without_its_month_and_a_holiday_heading() -> None:
    es = segment_book(
        book(
            "正月初三 晴",
            "拜年走访五保户。",
            None,
            "初八 阴",
            "村两委开年第一次会。",
            None,
            "2025年9月20日",
            "秋收。",
            None,
            "国庆节 晴",
            "值班。",
        )
    )
    assert dates(es) == ["2025-01-31", "2025-02-05", "2025-09-20", "2025-10-01"]


def test_a_lunar_notebook_without_a_year_takes_it_from_its_weekdays() -> None:
    # lunar 2024-09-03 is 2024-10-05 and 2024-09-10 is 2024-10-12, both Saturdays; no other
    # year of the last twelve puts them on a Saturday
    from minqing.classify.dates import year_from_weekdays

    heads = [parse_date_line("九月初三 星期六 晴"), parse_date_line("九月初十 周六 阴")]
    assert year_from_weekdays(heads, latest=2026) == 2024
    es = segment_book(book("九月初三 星期六 晴", "修路。", None, "九月初十 周六 阴", "回访。"))
    assert all(e.date is not None and e.date.weekday() == 5 for e in es)  # the latest such year
    assert (es[1].date - es[0].date).days == 7


def test_a_yearless_lunar_notebook_takes_its_year_from_the_cadres_other_notebook() -> None:
    from minqing.classify.segment import neighbour_years

    lunar_only = book("腊月十八 晴", "送年货。", None, "正月初六 阴", "开年会。", book_id="two")
    dated = segment_book(book("2024年11月4日 星期一 晴", "秋收。", book_id="one"))
    second = segment_book(lunar_only)
    assert all(e.date is None for e in second)
    years = neighbour_years({"one": dated, "two": second}, {"one": "何明", "two": "何明"})
    assert years == {"two": 2024}
    again = segment_book(lunar_only, year_hint=years["two"])
    assert dates(again) == ["2025-01-17", "2025-02-03"]


def test_the_cover_gives_the_year() -> None:
    lines = book("民情日记（第二本）2024年7月—12月", page_len=1) + [
        BookLine(f"b/2/{ln.line_no}", 2, ln.line_no, ln.text, ln.box, 1700)
        for ln in book("农历七月十五 阴", "祭扫安全。")
    ]
    assert dates(segment_book(lines)) == ["2024-08-18"]


def test_a_date_run_into_the_first_sentence_starts_an_entry_but_not_a_narrative_date() -> None:
    es = segment_book(
        book(
            "2024年3月5日 晴",
            "走访张大爷家，饮水井水量不足。",
            "三月十二日回访，水利站已派人测量。",  # run in, set off by a visit word
            "四月二日，村委会门前道路坑洼。",  # run in, set off by a comma
            "4月6日乡里来人看了路面。",  # a narrative date: stays in the entry
        )
    )
    assert [e.date.isoformat() for e in es] == ["2024-03-05", "2024-03-12", "2024-04-02"]
    assert es[-1].text.endswith("看了路面。")


# -- lunar notebooks without a written year (issue 18, item 1) --------------------------------
def test_lunar_days_written_with_ri_keep_their_day() -> None:
    m = parse_date_line("正月十六日 阴转晴")
    assert m is not None and (m.month, m.day, m.calendar) == (1, 16, "lunar")
    m = parse_date_line("农历冬月二十日")
    assert m is not None and (m.month, m.day, m.calendar) == (11, 20, "lunar")
    m = parse_date_line("农历闰六月十二日 热")
    assert m is not None and (m.month, m.day, m.leap) == (6, 12, True)
    m = parse_date_line("四月十三日 晴")  # a Gregorian date in Chinese numerals stays one
    assert m is not None and (m.month, m.day, m.calendar) == (4, 13, "gregorian")


def test_the_period_of_a_cover_or_manifest() -> None:
    from minqing.classify.segment import period_span

    assert period_span("民情日记 2024年11月—2025年2月") == (
        dt.date(2024, 11, 1),
        dt.date(2025, 2, 28),
    )
    assert period_span("2025.3-2025.8") == (dt.date(2025, 3, 1), dt.date(2025, 8, 31))
    assert period_span("2023年") == (dt.date(2023, 1, 1), dt.date(2023, 12, 31))
    assert period_span("第三本") is None


def test_a_lunar_only_notebook_takes_its_period_from_the_townships_other_notebooks() -> None:
    from minqing.classify.segment import neighbour_spans

    lunar_only = book(
        "冬月二十 阴", "帮五组修了水窖的盖板。", None,
        "腊月初八 雪", "给敬老院送腊八粥和棉被。", None,
        "腊月廿九 除夕", "村部值班，检查烟花爆竹。", None,
        "正月十六日 晴", "召开开年村民小组长会。",
        book_id="lunar",
    )  # fmt: skip
    first = segment_book(lunar_only)
    assert all(e.date is None for e in first)  # no year anywhere in the book
    other = segment_book(
        book("2024年12月2日 晴", "秋冬季防火检查。", None, "1月20日", "发放临时救助。", book_id="g")
    )
    books = {"lunar": first, "g": other}
    cadres = {"lunar": "岑秀梅", "g": "龙国庆"}  # another cadre: only the township is shared
    assert neighbour_spans(books, cadres) == {"lunar": (dt.date(2024, 12, 2), dt.date(2025, 1, 20))}
    spans = neighbour_spans(books, cadres, townships={"lunar": "白沙镇", "g": "白沙镇"})
    again = segment_book(lunar_only, span=spans["lunar"])
    # the year rolls at the lunar new year: 腊月 of lunar 2024, then 正月 of lunar 2025
    assert dates(again) == ["2024-12-20", "2025-01-07", "2025-01-28", "2025-02-13"]
    assert [e.date_kind for e in again] == ["lunar"] * 4


def test_a_lunar_leap_month_in_the_notebooks_period() -> None:
    es = segment_book(
        book("闰六月初十 晴 热", "三组抗旱送水。", None, "七月初二", "回访送水的几户。"),
        span=(dt.date(2025, 6, 1), dt.date(2025, 12, 31)),
    )
    assert dates(es) == ["2025-08-03", "2025-08-24"]


def test_the_first_lunar_date_of_a_cover_period_is_taken_inside_it() -> None:
    lines = book("民情日记 2024年11月—2025年2月", page_len=1) + [
        BookLine(f"b/2/{ln.line_no}", 2, ln.line_no, ln.text, ln.box, 1700)
        for ln in book("腊月初八 晴", "腊八走访孤寡老人。")
    ]
    assert dates(segment_book(lines)) == ["2025-01-07"]  # not 2024-01-18, lunar 2023


# -- several matters under one heading (issue 18, item 2) -------------------------------------
def test_a_numbered_list_right_under_a_bare_heading_lists_matters() -> None:
    es = segment_book(
        book(
            "3.9 阴",
            "1.乡林业站来量退耕还林的地块，跑了一上午。",
            "2.卢家媳妇来问产假期间的低保还发不发。",
            None,
            "2025年3月14日 晴",
            "卢家的事问了乡民政办，照发。",
        )
    )
    assert [e.text[:4] for e in es] == ["3.9阴", "2.卢家", "2025"]
    # the shared matter takes its heading's day, though the heading took its year from
    # the entry after it
    assert dates(es) == ["2025-03-09", "2025-03-09", "2025-03-14"]
    assert es[1].shares_heading and es[1].date_kind == "shared_heading"


def test_a_numbered_list_under_a_heading_that_names_its_matter_stays_one_entry() -> None:
    es = segment_book(
        book(
            "2025年5月6日 晴",
            "茶叶加工厂的事：",
            "1.厂房选在老粮站，面积够。",
            "2.设备等县农业农村局的补助下来再买。",
            "3.先把土地手续办好。",
        )
    )
    assert len(es) == 1


def test_a_list_that_opens_on_the_heading_line() -> None:
    es = segment_book(
        book(
            "2025年6月2日 晴 ①五组的变压器又跳闸，供电所下午来修好了。",
            "②包家院坝的路灯线被风刮断，已报村电工。",
            "③雷家两兄弟分家，请了组长去说和。",
        )
    )
    assert len(es) == 3 and all(e.date == dt.date(2025, 6, 2) for e in es)
    assert [e.shares_heading for e in es] == [False, True, True]


def test_an_introduction_in_other_words_opens_the_list() -> None:
    es = segment_book(
        book(
            "7月20日 多云",
            "今天事情不少，分开记：",
            "一是敬老院的空调坏了两台。",
            "二是村小的围墙要补。",
        ),
        year_hint=2025,
    )
    assert len(es) == 2 and es[1].text.startswith("二是")


def test_a_visit_report_keeps_its_sections_and_points() -> None:
    es = segment_book(
        book(
            "走访时间：2025年4月9日上午",
            "走访地点：竹林村三组",
            "走访对象：饶德福（独居老人）",
            "记录人：伍建兵",
            "一、基本情况",
            "老人七十九岁，独居，儿子在外地。",
            None,
            "二、反映的问题",
            "1.屋后挡墙开裂。",
            "2.吃药的钱不够。",
            None,
            "三、下步打算",
            "一是请乡里来看挡墙。二是问医保能不能多报一点。",
        )
    )
    assert len(es) == 1 and es[0].date == dt.date(2025, 4, 9)


def test_festival_headings_by_name() -> None:
    m = parse_date_line("二月二 龙抬头 阴")
    assert m is not None and (m.month, m.day, m.calendar) == (2, 2, "lunar")
    m = parse_date_line("七月半 小雨")
    assert m is not None and (m.month, m.day, m.calendar) == (7, 15, "lunar")
    m = parse_date_line("二月二十六 晴")  # a date, not 二月二
    assert m is not None and (m.month, m.day) == (2, 26)


def test_a_list_item_that_opens_with_a_date_is_the_next_matter() -> None:
    es = segment_book(
        book(
            "2025年10月8日 晴",
            "今天把几件事记一下：",
            "1.敬老院的热水器修好了。",
            "2.9月12日说的护村队排班表，已经贴到村部门口了。",
        )
    )
    assert len(es) == 2 and es[1].text.startswith("2.9月12日说的")
    assert es[1].date == dt.date(2025, 10, 8)
