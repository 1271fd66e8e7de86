"""Numbered lists under one heading: several matters or one matter's points (issues 13, 18).

Every example is written here for the test (fictional people and places); none comes
from the independent corpus.
"""

from __future__ import annotations

from minqing.classify import segment_book
from minqing.classify.segment import list_marker
from minqing.classify.types import BookLine
from tests.test_classify_entries import book, dates


def test_points_of_one_matter_numbered_under_a_bare_heading_stay_one_entry() -> None:
    es = segment_book(
        book(
            "2024年4月8日 晴",
            "1.石坝村五组杜老三家的羊夜里丢了两只，圈门被人撬开。",
            "2.已报镇派出所，民警下午来看了现场。",
            "3.提醒五组各户晚上把圈门锁好。",
            "4月15日 阴",
            "1.石坝村两户为宅基地边界吵架，一方砌墙占了半尺。",
            "2.调解：墙退回原址，双方签了调解书。",
        )
    )
    assert dates(es) == ["2024-04-08", "2024-04-15"]
    assert not any(e.shares_heading for e in es)
    assert es[0].text.endswith("锁好。")


def test_a_second_point_that_names_the_first_items_person_continues_it() -> None:
    es = segment_book(
        book(
            "2024年6月3日",
            "1.去年丢羊的案子破了，偷羊的是外乡人，判赔杜老三一千八。",
            "2.钱今天交到杜老三手上。",
        )
    )
    assert len(es) == 1


def test_numbered_matters_under_a_bare_heading_are_separate_entries() -> None:
    es = segment_book(
        book(
            "2024年5月20日 晴",
            "1.镇农技站来人测土，石坝村报了三组那片两百亩。",
            "2.老粮站空了好几年，有人想租去做木材加工。",
            "3.五组路灯坏了四盏，晚上接孩子的家长看不清路。",
        )
    )
    assert len(es) == 3
    assert dates(es) == ["2024-05-20"] * 3
    assert [e.shares_heading for e in es] == [False, True, True]


def test_a_writer_who_numbers_points_keeps_doing_so_when_an_item_gives_no_cue() -> None:
    es = segment_book(
        book(
            "2024年3月2日",
            "1.石坝村两户为水渠放水吵起来了。",
            "2.已叫两个组长到渠边定了轮流放水。",
            "3月9日",
            "1.3月2日那件事，镇水利站来看了渠。",
            "2.组里开了会，定了按田亩分水。",
        )
    )
    assert len(es) == 2


def test_second_item_after_an_inline_first_one_starts_a_matter() -> None:
    es = segment_book(
        book(
            "5月6日 晴",
            "今天记两件事。一是村规民约在代表会上通过了，已贴到各组。",
            "二是村部门前的路灯坏了三盏，跳舞的大姐们说坏了一个礼拜。",
        )
    )
    assert len(es) == 2
    assert es[1].shares_heading


def test_a_list_number_before_a_month_is_an_item_not_a_date() -> None:
    assert list_marker("3、7月中旬那场暴雨冲了两亩水田") == ("dot", 3)
    assert list_marker("2.4月上旬种下的苗死了一半") == ("dot", 2)


def test_a_date_line_under_its_heading_or_wrapped_mid_sentence_starts_nothing() -> None:
    es = segment_book(
        book(
            "2024年9月17日 晴",
            "时间：9月17日下午",
            "地点：石坝村村部",
            "村里开会定了敬老宴的日子，会定在",
            "9月20日晚上。",
            "八月十五 晴",
            "中秋。",
            "村小操场办晚会，来了两百多人。",
        )
    )
    assert dates(es) == ["2024-09-17", "2024-09-17"]
    assert es[1].text.startswith("八月十五")


def _paged(pages: list[list[str]]) -> list[BookLine]:
    out = []
    for p, texts in enumerate(pages, 1):
        for k, text in enumerate(texts):
            y1 = 200 + k * 70
            box = (120.0, y1 - 44.0, 120.0 + 44 * len(text), float(y1))
            out.append(BookLine(f"b/{p}/{k}", p, k, text, box, 1700))
    return out


def test_a_cover_with_only_the_unit_and_a_slash_date_at_a_page_top() -> None:
    es = segment_book(
        _paged(
            [
                ["石坝镇便民服务中心 杜春"],
                ["2024年10月3日 晴", "石坝村五组路面塌了一段，报镇交通站。", "已拉了警示带。"],
                ["10/21", "交通站来人把路面修好了，群众满意。"],
                [
                    "11月2日 村两委会",
                    "①三组最近有两户晚上被偷了鸡，",
                    "还有一户的电瓶被拔走了，报了派出所。",
                    "②镇里说明年有村级光伏项目，两委",
                    "一致同意申报，把村部屋顶报上去。",
                ],
            ]
        )
    )
    assert dates(es) == ["2024-10-03", "2024-10-21", "2024-11-02", "2024-11-02"]
    assert es[3].shares_heading
