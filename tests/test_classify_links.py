"""classify.links, round 2: open matters, villagers, rare phrases, inherited categories."""

from __future__ import annotations

from minqing.classify import inherit_categories, link_entries, matters, segment_book
from minqing.classify.types import BookLine


def book(rows: list[str], book_id: str = "b") -> list[BookLine]:
    """One page of lines, 50 px apart."""
    return [BookLine(f"{book_id}/1/{i}", 1, i, t, (50.0, 40.0 + 50 * i, 900.0, 80.0 + 50 * i), 1400)
            for i, t in enumerate(rows)]  # fmt: skip


def pairs(links):
    return [(lk.child, lk.parent) for lk in links]


def test_referenced_date_right_after_the_own_date_is_read():
    rows = ["2024-3-21", "村小学门前公路没有减速带，学生上学危险，已向镇政府反映。",
            "2024-4-25", "3月21日反映的学校门前交通安全问题，镇交通所已安装减速带。"]  # fmt: skip
    es = segment_book(book(rows))
    assert es[1].text.startswith("2024-4-253月21日")
    links = link_entries({"b": es}, {"b": "桃园村"})
    assert pairs(links) == [(("b", 2), ("b", 1))] and "date:3月21日" in links[0].evidence


def test_cued_follow_up_without_a_date_goes_to_the_similar_open_matter():
    rows = [
        "2024年3月4日", "村东头小河边垃圾乱堆乱放，安排保洁员清运，整治工作正在进行。",
        "2024年3月10日", "村里的路灯坏了三盏，已经修好。",
        "2024年4月7日", "查看村东头小河边的整治情况，垃圾已清理干净。",
    ]  # fmt: skip
    links = link_entries({"b": segment_book(book(rows))}, {"b": "杨树沟村"})
    assert pairs(links) == [(("b", 3), ("b", 1))]


def test_a_result_naming_the_villager_of_an_open_matter_is_its_follow_up():
    rows = [
        "2024年3月12日", "到一组了解低保户情况，村民钱凤英家生活困难，想申请低保。",
        "2024年3月20日", "开展春季植树活动，全村种树三百棵，已完成。",
        "2024年4月10日", "把钱凤英家的低保申请材料整理好，已报送乡民政所审核。",
    ]  # fmt: skip
    es = segment_book(book(rows))
    links = link_entries({"b": es}, {"b": "柳林村"})
    assert pairs(links) == [(("b", 3), ("b", 1))]
    assert "person:钱凤英" in links[0].evidence
    # months later, or when the later entry brings up a new matter, it is not a follow-up
    late = [*rows[:4], "2024年9月10日", rows[5]]
    assert link_entries({"b": segment_book(book(late))}, {"b": "柳林村"}) == []
    new = [*rows[:4], "2024年4月10日", "钱凤英反映邻居家的狗咬伤了她家的鸡，要求赔偿，已调解。"]
    assert link_entries({"b": segment_book(book(new))}, {"b": "柳林村"}) == []


def test_a_resolved_matter_is_not_reopened_by_an_uncued_result():
    rows = [
        "2024年3月12日", "村民钱凤英家生活困难，想申请低保，已报送乡民政所。",
        "2024年3月30日", "钱凤英家的低保已批下来了。",
        "2024年4月20日", "钱凤英家的房子修好了。",
    ]  # fmt: skip
    links = link_entries({"b": segment_book(book(rows))}, {"b": "柳林村"})
    assert pairs(links) == [(("b", 2), ("b", 1))]


def test_cadre_names_are_not_person_evidence():
    a = ["2024年3月19日", "残疾人郑小东双腿残疾，没有办残疾证，联系乡残联安排鉴定，正在办理。"]
    z = [
        "2024年3月26日", "听孙海平说一组郑小东办残疾证的事，今天去看了，已办结。",
        "2024年5月14日",
        "孙海平反映的二组征地补偿款已发到户，今天又去二组看了，黄国庆等五户都领到了钱。",
    ]  # fmt: skip
    s = ["2024年3月5日", "修乡道占用了二组黄国庆等五户的承包地，征地补偿款没有分配，已上报乡政府。"]
    books = {
        "a": segment_book(book(a, "a")),
        "z": segment_book(book(z, "z")),
        "s": segment_book(book(s, "s")),
    }
    villages = dict.fromkeys(books, "柳林村")
    got = dict(
        pairs(link_entries(books, villages, cadres={"a": "孙海平", "z": "周敏", "s": "孙海平"}))
    )
    assert got[("z", 1)] == ("a", 1)
    assert got[("z", 2)] == ("s", 1)


def test_a_result_sharing_a_rare_phrase_with_an_open_matter_follows_it():
    rows = [
        "2023年11月20日", "大王庄村到镇上的路泥泞难走，已向乡交通站反映，申请硬化路面。",
        "2024年1月9日", "上次反映的进村路硬化问题，乡交通站已来测量，计划开春施工，继续跟进。",
        "2024年4月16日", "进村路硬化工程已完工，水泥路通到镇上，群众出行方便了。",
    ]  # fmt: skip
    es = segment_book(book(rows), model=False)  # the lexicon alone: 硬化 → 7
    links = link_entries({"b": es}, {"b": "大王庄村"})
    assert pairs(links) == [(("b", 2), ("b", 1)), (("b", 3), ("b", 2))]
    assert "phrase:进村路硬化" in links[1].evidence
    m = matters({"b": es}, links)
    assert m[("b", 1)].members == (("b", 1), ("b", 2), ("b", 3)) and not m[("b", 1)].open
    # the follow-up's one weak word (硬化 → 7) yields to its matter's category (行路难 → 5)
    assert [e.category_code for e in es][:2] == [5, 7]
    inherited = inherit_categories({"b": es}, links)["b"]
    assert [e.category_code for e in inherited] == [5, 5, 5]
    assert inherited[1].category_evidence == ("inherited:b:001",)
    assert inherited[2] is es[2]  # already 5 by its own words


def test_a_follow_up_goes_to_the_latest_entry_of_its_matter_in_the_same_book():
    rows = [
        "2024年3月8日", "低保户周桂芝老人房屋漏雨，属于危房，已上报镇民政办申请危房改造补助。",
        "2024年4月26日", "回访周桂芝危房改造进展，镇民政办已批复补助，施工队正在维修房顶。",
        "2024年5月24日", "再次回访周桂芝，房屋已修缮完毕，不再漏雨。",
    ]  # fmt: skip
    links = link_entries({"b": segment_book(book(rows))}, {"b": "杨树沟村"})
    assert pairs(links) == [(("b", 2), ("b", 1)), (("b", 3), ("b", 2))]


def test_an_uncued_entry_naming_the_day_of_a_closed_matter_follows_it():
    # the first entry reads as done (搬到亲戚家住，已解决), yet the later one names its day
    rows = [
        "2024年6月25日", "四组后山坡脚开了一条裂缝，下面两户当天搬到亲戚家住，此事已解决。",
        "2024年7月2日", "村里的路灯坏了三盏，电工来换了灯泡，已修好。",
        "2024年7月30日", "四组后山那两户，6月25日搬走以后乡里一直在监测，两户还住在亲戚家。",
    ]  # fmt: skip
    es = segment_book(book(rows))
    assert es[0].status == "resolved"
    links = link_entries({"b": es}, {"b": "竹园村"})
    assert pairs(links) == [(("b", 3), ("b", 1))]
    assert "date:6月25日" in links[0].evidence


def test_an_uncued_result_with_some_wording_of_an_open_matter_follows_it():
    rows = [
        "2024年6月24日",
        "外村的收麦机把我们村三组西头的机耕路压坏了，压出好几道深槽，下雨就积水。找到机主，"
        "他说秋收前来填。",
        "2024年7月2日", "村里的路灯坏了三盏，电工来换了灯泡，已修好。",
        "2024年9月3日",
        "三组西头那段路的深槽，收麦机的主家到现在没来填，电话也不接了，托人帮着找，还在办。",
    ]  # fmt: skip
    es = segment_book(book(rows))
    links = link_entries({"b": es}, {"b": "竹园村"})
    assert pairs(links) == [(("b", 3), ("b", 1))]
    assert "similar-result" in links[0].evidence
    # the same place, another matter with nothing of that wording: no link
    other = [
        *rows[:4],
        "2024年9月3日",
        "三组西头有两户为宅基地的界线吵架，到村委会调解，已签了协议。",
    ]
    assert link_entries({"b": segment_book(book(other))}, {"b": "竹园村"}) == []
