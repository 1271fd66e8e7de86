"""classify/: dates, status cues, categories, segmentation, links, matters (issue 5)."""

from __future__ import annotations

import datetime as dt

import pytest

from minqing.classify import (
    CLASSIFIER_VERSION,
    classify_category,
    detect_status,
    link_entries,
    matters,
    parse_date_line,
    segment_book,
)
from minqing.classify.dates import repair_date
from minqing.classify.types import BookLine, Entry


def book(pages: list[list[str]], book_id: str = "b", with_boxes: bool = True) -> list[BookLine]:
    """BookLines for pages of texts, one line per row (40 px rows, 10 px leading)."""
    out = []
    for p, texts in enumerate(pages, 1):
        y = 40.0
        for i, t in enumerate(texts):
            if t == "":  # a blank gap
                y += 100
                continue
            box = (50.0, y, 900.0, y + 40.0) if with_boxes else None
            out.append(BookLine(f"{book_id}/{p}/{i}", p, i, t, box, 1400 if with_boxes else 0))
            y += 50
    return out


# --- dates -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("2024年3月5日", (2024, 3, 5)),
        ("2024年3月5日 星期二 晴", (2024, 3, 5)),
        ("3月5日", (None, 3, 5)),
        ("3月5日 周二 多云转阴", (None, 3, 5)),
        ("2024.3.5", (2024, 3, 5)),
        ("2024-3-5 星期二", (2024, 3, 5)),
        ("2024/3/5", (2024, 3, 5)),
        ("2024/03/05 雨", (2024, 3, 5)),
        ("二〇二四年三月五日", (2024, 3, 5)),
        ("二〇二四年十二月二十五日 星期三", (2024, 12, 25)),
        ("二零二四年三月十五日", (2024, 3, 15)),
        ("2024年三月五日", (2024, 3, 5)),
        ("２０２４年３月５日", (2024, 3, 5)),  # full-width digits
        ("时间：2024年3月5日上午", (2024, 3, 5)),
        ("走访时间：3月5日", (None, 3, 5)),
        ("2024年3月5号", (2024, 3, 5)),
    ],
)
def test_date_formats(line, expected):
    m = parse_date_line(line)
    assert m is not None, line
    assert (m.year, m.month, m.day) == expected


def test_weekday_and_weather_are_read():
    m = parse_date_line("2024年3月5日 星期二 晴转多云")
    assert m.weekday == 1 and m.weather == "晴转多云" and m.weekday_ok is True
    bad = parse_date_line("2024年3月5日 星期五")
    assert bad.weekday_ok is False  # a signal, not an error


@pytest.mark.parametrize(
    "line",
    [
        "3月5日记录的张大爷吃水问题已经解决。",
        "3月5日反映的问题，今天去看了。",
        "今天到杨树沟村走访。",
        "13组的路坏了",
        "民情日记",
        "",
    ],
)
def test_not_a_date_line(line):
    assert parse_date_line(line) is None


def test_year_less_date_takes_previous_year_and_rolls_over_new_year():
    m = parse_date_line("1月3日")
    d, flags = repair_date(m, dt.date(2023, 12, 28), None)
    assert d == dt.date(2024, 1, 3) and "year_rollover" in flags
    d, _ = repair_date(m, None, 2022)
    assert d == dt.date(2022, 1, 3)


def test_lost_separator_is_read_in_date_order():
    # OCR read "2024/2/6" as "2024/216": 2/16 or 2/6 (slash read as 1); the order decides
    m = parse_date_line("2024/216村民朱某某要求")
    assert m is not None and set(m.alternatives) == {(2, 16), (2, 6)}
    d, _ = repair_date(m, dt.date(2024, 1, 23), None)
    assert d == dt.date(2024, 2, 6)


def test_misread_year_is_repaired_from_order():
    m = parse_date_line("2021年3月9日")  # OCR read 2024 as 2021
    d, flags = repair_date(m, dt.date(2024, 3, 5), None)
    assert d == dt.date(2024, 3, 9) and "year_repaired" in flags


def test_weekday_contradiction_repairs_a_misread_day_digit():
    # 2024-03-12 is a Tuesday; OCR read "12" as "2" (before the previous entry)
    m = parse_date_line("2024年3月2日 星期二")
    d, flags = repair_date(m, dt.date(2024, 3, 8), None)
    assert "weekday_mismatch" in flags
    assert d == dt.date(2024, 3, 12) and "digit_repaired" in flags


# --- status ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("张大爷反映家里吃水难。", "recorded"),
        ("村里正在协调施工队。", "in_progress"),
        ("此事镇里协调中。", "in_progress"),
        ("我们会继续跟进。", "in_progress"),
        ("已安排人员处理。", "in_progress"),
        ("已上报镇政府。", "escalated"),
        ("已向镇里反映。", "escalated"),
        ("此事已转交县交通局处理。", "escalated"),
        ("问题已解决。", "resolved"),
        ("该事项已办结。", "resolved"),
        ("补助资金已落实。", "resolved"),
        ("维修工作已完成。", "resolved"),
        ("路灯已修好。", "resolved"),
        ("不符合政策，无法解决，已做好解释工作。", "explained"),
        ("已向群众解释，他表示理解。", "explained"),
        # the last cue wins: later sentences report later states
        ("已上报镇水利站。4月2日水管已修好。", "resolved"),
        ("原以为已解决，后来又坏了，已上报镇里。", "escalated"),
        ("问题尚未解决，继续跟踪。", "in_progress"),
        ("他家正在建房，挡了邻居的光。", "recorded"),
    ],
)
def test_status_cues(text, status):
    assert detect_status(text) == status


# --- categories ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("村民王某想扩大大棚蔬菜种植，但缺少资金，希望办理小额贷款，增收致富。", 1),
        ("村两委班子不团结，支部书记和主任意见不一，影响党员大会召开。", 2),
        ("村民反映村务公开栏半年没有更新，财务账目不透明，要求民主理财。", 3),
        ("李某与邻居因宅基地地界发生争吵，要求村里调解纠纷。", 4),
        ("五保户张大爷反映家中吃水难，自来水管冻裂一个月。", 5),
        ("村里红白喜事大操大办，彩礼越来越高，需要移风易俗。", 6),
        ("三组路边垃圾乱堆乱放，污水横流，需要整治环境卫生。", 7),
        ("今天天气很好，走了几户人家，聊了聊家常。", 8),
    ],
)
def test_category_per_category(text, code):
    got, score, evidence = classify_category(text)
    assert got == code, (text, got, evidence)
    assert 0.0 <= score <= 1.0
    if code != 8:
        assert evidence and all(w in text for w in evidence)


# --- segmentation ----------------------------------------------------------------------------

NARRATIVE = [
    [
        "民情日记",
        "2024年3月5日 星期二 晴",
        "今天到杨树沟村三组走访，张大爷反映家里",
        "吃水难，自来水管冻裂，已经一个多月没有水。",
        "我当即联系了镇水利站。",
        "3月7日 阴",
        "村民李桂兰反映邻居王某某在她家承包地地界上",
        "1",
    ],
    [
        "民情日记",
        "种树，双方发生争吵。经调解，双方达成协议。",
        "",
        "当天下午，到五组查看垃圾池，垃圾乱堆乱放，",
        "已安排保洁员清理。",
        "2024.3.20 星期三",
        "回访3月5日记录的张大爷吃水难问题，水管已",
        "修好，张大爷很满意。",
        "2",
    ],
]


def test_segment_narrative_book_across_pages():
    entries = segment_book(book(NARRATIVE), year_hint=2024)
    assert [e.date for e in entries] == [
        dt.date(2024, 3, 5),
        dt.date(2024, 3, 7),
        dt.date(2024, 3, 7),
        dt.date(2024, 3, 20),
    ]
    assert [e.date_inferred for e in entries] == [False, False, True, False]
    e2 = entries[1]
    assert (e2.page_start, e2.page_end) == (1, 2)
    # text joins lines without separator or whitespace, keeps the date line, drops headers and
    # page numbers
    assert e2.text == (
        "3月7日阴村民李桂兰反映邻居王某某在她家承包地地界上种树，"
        "双方发生争吵。经调解，双方达成协议。"
    )
    assert entries[0].text.startswith("2024年3月5日星期二晴今天")
    assert all("民情日记" not in e.text for e in entries)
    assert [e.category_code for e in entries] == [5, 4, 7, 5]
    assert [e.status for e in entries] == ["in_progress", "resolved", "in_progress", "resolved"]
    assert len(entries[0].line_ids) == 4 and entries[0].line_ids[0] == "b/1/1"


def test_cover_page_is_left_out():
    pages = [["民情日记", "姓名：王建国", "单位：青山镇杨树沟村", "职务：村支书"], *NARRATIVE]
    entries = segment_book(book(pages), year_hint=2024)
    assert len(entries) == 4 and entries[0].page_start == 2
    assert all("姓名" not in e.text for e in entries)


# --- links and matters -----------------------------------------------------------------------


def test_follow_up_link_has_date_person_and_similarity_evidence():
    entries = segment_book(book(NARRATIVE), year_hint=2024)
    links = link_entries({"b": entries}, {"b": "杨树沟村"})
    assert [(lk.child, lk.parent) for lk in links] == [(("b", 4), ("b", 1))]
    ev = links[0].evidence
    assert (
        "date:3月5日" in ev and "person:张大爷" in ev and any(e.startswith("cue:回访") for e in ev)
    )
    assert 0.0 < links[0].score <= 1.0
    m = matters({"b": entries}, links)
    assert m[("b", 4)].root == ("b", 1) and m[("b", 1)].status == "resolved"
    assert not m[("b", 1)].open and m[("b", 3)].open


def test_cross_book_link_only_within_a_village():
    a = segment_book(book([NARRATIVE[0]], "a"), year_hint=2024)
    b = segment_book(
        book(
            [["2024年3月25日", "到杨树沟村回访张大爷吃水难的问题，自来水管已修好，通水了。"]], "c"
        ),
        year_hint=2024,
    )
    links = link_entries({"a": a, "c": b}, {"a": "杨树沟村", "c": "杨树沟村"})
    assert [(lk.child, lk.parent) for lk in links] == [(("c", 1), ("a", 1))]
    assert "cross-book" in links[0].evidence
    assert link_entries({"a": a, "c": b}, {"a": "杨树沟村", "c": "桃园村"}) == []


def test_version_is_a_string():
    assert isinstance(CLASSIFIER_VERSION, str) and CLASSIFIER_VERSION
    assert isinstance(Entry, type)


# --- the labelled corpus (per-line ground truth, OCR bypassed) --------------------------------

CORPUS = __import__("pathlib").Path(__file__).parent / "data" / "corpus"


def corpus_lines(book_id: str) -> list[BookLine]:
    import json

    out = []
    for pg in json.loads((CORPUS / book_id / "lines.json").read_text(encoding="utf-8")):
        for i, (t, box) in enumerate(zip(pg["lines"], pg["boxes"], strict=True)):
            out.append(
                BookLine(f"{book_id}/{pg['page']}/{i}", pg["page"], i, t, tuple(box), pg["size"][1])
            )
    return out


@pytest.mark.parametrize("book_id", ["qingshan-liuxm", "hexi-sunhp", "hexi-zhoum"])
def test_corpus_layouts_segment_with_fields_and_dates(book_id):
    import json

    truth = json.loads((CORPUS / "truth.json").read_text(encoding="utf-8"))
    want = [e for e in truth["entries"] if e["book_id"] == book_id]
    got = segment_book(corpus_lines(book_id))
    assert [e.text for e in got] == [e["text"] for e in want]
    assert [e.date.isoformat() for e in got] == [e["date"] for e in want]
    assert [e.date_inferred for e in got] == [e["date_inferred"] for e in want]
    for g, w in zip(got, want, strict=True):
        if w.get("fields"):
            assert dict(g.fields) == w["fields"], w["entry_id"]
            assert g.layout in ("labelled", "form")
