"""Issue 13: one test per failure kind of the independent corpus, from our own examples
(none copied from any split): status wording families, negation, a later note, diary
citations across notebooks, look-alike entries, continued notebooks, suggested links."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from minqing.classify import classify_status, link_entries
from minqing.classify.status import closing_text, cue_status
from minqing.classify.types import Entry


@pytest.mark.parametrize(
    ("text", "status"),
    [
        # escalation variants
        (("9月3日 晴 二组周大海家的院墙被雨冲倒一截，压坏了邻居的菜地。两家各说各的理，"
         "村里调了两回没调成，今天把情况写成材料报请镇司法所调解。"), "escalated"),
        (("10月8日 阴 五保户孙老汉的房顶漏雨，屋里到处摆着盆。村里没有这笔钱，"
         "已向县住建局申请危房鉴定，等鉴定结果出来再说。"), "escalated"),
        ("11月2日 晴 三组的灌溉渠年久失修，一放水就漏。这事村里办不了，"
         "把渠道维修纳入明年镇里的小农水项目计划。",
         "escalated"),
        ("12月5日 多云 有人夜里偷剪了养殖场的电线，损失两千多元。现场拍了照，"
         "移交派出所处理。", "escalated"),
        ("3月14日 晴 村民代表对集体山林承包费的分配有意见，"
         "支委会商量后提请村民代表大会研究。", "escalated"),
        # explanation: cannot be done, explained
        (("4月9日 晴 六组王秀芝来问她家能不能评低保。查了一下，她儿子在县城有门面，"
         "按政策不符合条件。跟她把政策一条一条讲清楚了，她说理解。"), "explained"),
        # in progress
        ("5月20日 阴 村道两边的垃圾清理，今天清了一半，还差四组那一段，"
         "明天接着干。", "in_progress"),
        ("6月11日 晴 自来水入户改造开始施工了，管子已经埋到二组，正在往三组铺。", "in_progress"),
        # resolved
        ("7月2日 晴 上个月反映的路灯不亮的事，电工今天来把三盏灯都换好了，"
         "晚上试了都亮。", "resolved"),
        # recorded: heard and written down, nothing done yet
        ("8月16日 晴 走访七组，几户老人说村里的卫生室常常没人，看个小病要跑到镇上。"
         "记下来了。", "recorded"),
    ],
)  # fmt: skip
def test_status_wording_families(text, status):
    got, prob, _ = classify_status(text)
    assert got == status, (got, prob)
    assert 0.0 < prob <= 1.0


@pytest.mark.parametrize(
    ("text", "not_status"),
    [
        (("2月26日 晴 十组的饮水管冻裂了，换管子要三千多元，这事到现在还没有解决，也没有上报，"
         "先让各户到邻组挑水。"), "escalated"),
        ("3月2日 阴 去年答应给五保户的取暖补贴，镇里说尚未落实，还要等一批资金。", "resolved"),
    ],
)  # fmt: skip
def test_negated_status_is_not_the_negated_one(text, not_status):
    assert classify_status(text)[0] != not_status
    assert cue_status(text) != not_status


def test_a_later_note_decides_the_status():
    text = (
        "4月3日 晴 二组李家和张家为一条排水沟吵起来，约了下周到现场量一量。"
        "4月20日补记：两家签了协议，水沟改道，已办结，群众满意。"
    )
    assert closing_text(text).startswith("4月20日补记")
    assert classify_status(text)[0] == "resolved"


def _e(seq, date, text, status="recorded", code=5, inferred=False):
    return Entry(seq=seq, page_start=1, page_end=1, line_ids=(), text=text, date=date,
                 date_inferred=inferred, category_code=code, category_score=1.0,
                 category_evidence=(), status=status)  # fmt: skip


D = dt.date


def _books():
    """Two cadres of one township, each keeping a notebook of a different village."""
    zhao = [
        _e(1, D(2024, 3, 12), "2024年3月12日 晴 东沟桥的桥面有两块石板松动，赶集的人多，怕出事。"
           "村里先拉了警戒绳。", "in_progress", 5),
        _e(2, D(2024, 3, 20), "3月20日 晴 组织党员学习，"
           "讲了新修订的党员教育管理条例。", "resolved", 2),
    ]  # fmt: skip
    li = [
        _e(1, D(2024, 3, 15), "3月15日 晴 西岭村的养蜂户想成立合作社，"
           "问要什么手续。", "recorded", 1),
        _e(2, D(2024, 4, 2), "4月2日 阴 镇包村干部赵国强3月12日记的东沟桥的事，今天到镇交通办问了，"
           "维修资金已经批下来，下周施工。", "in_progress", 5),
    ]  # fmt: skip
    return {"zhao": zhao, "li": li}


META = {
    "villages": {"zhao": "东沟村", "li": "西岭村"},
    "cadres": {"zhao": "赵国强", "li": "李明"},
    "townships": {"zhao": "清河镇", "li": "清河镇"},
    "posts": {"zhao": "镇包村干部", "li": "村委会主任"},
}


def test_a_citation_of_another_cadres_diary_by_name_and_date_links_across_books():
    links = link_entries(_books(), META["villages"], cadres=META["cadres"],
                         townships=META["townships"], posts=META["posts"])  # fmt: skip
    got = {lk.child: lk for lk in links}
    assert got[("li", 2)].parent == ("zhao", 1)
    assert "cross-book" in got[("li", 2)].evidence
    assert any(e.startswith("diary:赵国强:3月12日") for e in got[("li", 2)].evidence)
    # without the township the other village's notebook is never a candidate
    assert ("li", 2) not in {
        lk.child for lk in link_entries(_books(), META["villages"], cadres=META["cadres"])
    }


def test_a_citation_by_surname_and_title_links_across_books():
    books = _books()
    books["li"][1] = _e(2, D(2024, 4, 2), "4月2日 阴 赵书记3月12日记的东沟桥那件事，"
                        "桥面石板已经换好，今天去看了，车能过了。", "resolved", 5)  # fmt: skip
    posts = {**META["posts"], "zhao": "村党支部书记"}
    links = link_entries(books, META["villages"], cadres=META["cadres"],
                         townships=META["townships"], posts=posts)  # fmt: skip
    assert {lk.child: lk.parent for lk in links}.get(("li", 2)) == ("zhao", 1)


def test_a_look_alike_entry_is_not_a_follow_up():
    # same village, same person, another matter: 周大海's wall, then his grandson's school fees
    es = [
        _e(1, D(2024, 5, 6), "5月6日 晴 二组周大海家的院墙被雨冲倒一截，压坏了邻居的菜地，"
           "两家吵起来了。",
           "recorded", 4),
        _e(2, D(2024, 5, 28), "5月28日 晴 二组周大海来村部，说孙子下学期上初中，"
           "想问问寄宿生生活补助怎么申请。把申请表给了他。", "in_progress", 5),
    ]  # fmt: skip
    assert link_entries({"b": es}, {"b": "东沟村"}) == []


def test_a_continued_notebook_links_to_the_unfinished_last_entry():
    first = [
        _e(1, D(2024, 6, 3), "6月3日 晴 三组修水池，村里出水泥，群众投工。", "in_progress", 5),
        _e(2, D(2024, 6, 28), "6月28日 阴 水池验收，水泥砂浆抹面还差最后一层，"
           "施工队说", "in_progress", 5),
    ]  # fmt: skip
    second = [
        _e(1, None, "等天晴了再抹，抹完养护七天就能蓄水。", "in_progress", 5, inferred=True),
        _e(2, D(2024, 7, 10), "7月10日 晴 村里开会布置防汛。", "resolved", 8),
    ]  # fmt: skip
    books = {"zhou-1": first, "zhou-2": second}
    links = link_entries(books, {"zhou-1": "东沟村", "zhou-2": "东沟村"},
                         cadres={"zhou-1": "周明", "zhou-2": "周明"})  # fmt: skip
    got = {lk.child: lk for lk in links}
    assert got[("zhou-2", 1)].parent == ("zhou-1", 2)
    assert "continuation" in got[("zhou-2", 1)].evidence


def test_suggested_links_are_kept_apart_from_links():
    sugg: list = []
    links = link_entries(_books(), META["villages"], cadres=META["cadres"],
                         townships=META["townships"], posts=META["posts"],
                         suggestions=sugg)  # fmt: skip
    linked = {lk.child for lk in links}
    assert all(s.child not in linked and s.evidence[-1] == "suggested" for s in sugg)


# -- citations of another cadre's diary, as other hands write them (issue 13, item 5) ---------
def _township(child_text: str, child_date: dt.date, own_first: str | None = None):
    """孔 keeps 北坡村's notebook, 温 the 南坪村 one, both in 松林镇; 温 cites 孔."""
    kong = [
        _e(1, D(2025, 6, 2), "6月2日 晴 北坡村到南坪村的灌溉渠被山上冲下来的石头堵了，"
           "下游两个组的秧田灌不上水。", "in_progress", 7),
        _e(2, D(2025, 6, 9), "6月9日 阴 北坡村的五保户体检，送了八个老人去卫生院。",
           "resolved", 6),
    ]  # fmt: skip
    wen = [
        _e(1, D(2025, 6, 5), own_first or "6月5日 晴 南坪村的文化广场要装两盏路灯，"
           "报了预算。", "recorded", 7),
        _e(2, child_date, child_text, "in_progress", 7),
    ]  # fmt: skip
    books = {"kong": kong, "wen": wen}
    meta = dict(
        cadres={"kong": "孔德荣", "wen": "温玉芬"},
        townships={"kong": "松林镇", "wen": "松林镇"},
        posts={"kong": "镇包村干部（镇水利站站长）", "wen": "村委会主任"},
    )
    return books, {"kong": "北坡村", "wen": "南坪村"}, meta


def _parent(books, villages, meta, child=("wen", 2)):
    return {lk.child: lk.parent for lk in link_entries(books, villages, **meta)}.get(child)


def test_a_citation_with_the_date_before_the_name_links_across_books() -> None:
    books, villages, meta = _township(
        "6月20日 晴 6月2日镇里孔站长来看过的渠道，今天组织群众把石头清完了，水通了。",
        D(2025, 6, 20),
    )
    assert _parent(books, villages, meta) == ("kong", 1)


def test_a_citation_with_only_the_day_takes_the_month_of_the_entry() -> None:
    books, villages, meta = _township(
        "6月18日 阴 2号孔德荣记下的堵渠，我们组织了十几个劳力去掏，掏了一半。",
        D(2025, 6, 18),
    )
    assert _parent(books, villages, meta) == ("kong", 1)


def test_a_citation_with_a_month_and_no_suffix() -> None:
    books, villages, meta = _township(
        "7月15日 晴 孔站长六月到我们这边看了渠，之后乡里拨了清淤的钱，已经用完了。",
        D(2025, 7, 15),
    )
    assert _parent(books, villages, meta) == ("kong", 1)


def test_a_citation_by_a_festival_links_to_that_days_entry() -> None:
    # 端午 2025 was 5月31日 (lunar 五月初五)
    books, villages, meta = _township(
        "6月25日 晴 孔德荣站长端午那天记的事：北坡村几户想在坡上种花椒，问村里能不能出苗子。"
        "今天把苗子的事报到镇农业站了。",
        D(2025, 6, 25),
    )
    books["kong"].append(_e(3, D(2025, 5, 31), "5月31日 端午 北坡村几户想在坡上种花椒，"
                            "苗子钱不够。", "recorded", 1))  # fmt: skip
    assert _parent(books, villages, meta) == ("kong", 3)


def test_a_cited_entry_outranks_a_similar_one_of_the_own_notebook() -> None:
    books, villages, meta = _township(
        "6月21日 阴 孔站长6月2日记的渠道的事，下游两个组的秧田今天灌上水了。",
        D(2025, 6, 21),
        own_first="6月5日 晴 南坪村下游两个组的秧田缺水，渠道要清。",
    )
    assert _parent(books, villages, meta) == ("kong", 1)


def test_a_village_of_the_same_name_in_another_township_is_no_candidate() -> None:
    a = [_e(1, D(2025, 3, 3), "3月3日 晴 石桥村三组的饮水管被冻裂，十多户停水。", "in_progress")]
    b = [_e(1, D(2025, 3, 20), "3月20日 晴 回访三组饮水管冻裂的事，管子已经换好，水通了。",
            "resolved")]  # fmt: skip
    books = {"a": a, "b": b}
    villages = {"a": "石桥村", "b": "石桥村"}
    same = link_entries(books, villages, townships={"a": "河口乡", "b": "河口乡"})
    assert [(lk.child, lk.parent) for lk in same] == [(("b", 1), ("a", 1))]
    other = link_entries(books, villages, townships={"a": "河口乡", "b": "青山镇"})
    assert other == []


def test_a_visit_reports_section_heads_are_no_follow_up_cues() -> None:
    from minqing.classify.links import follow_up_cues

    report = (
        "走访时间：2025年4月9日上午走访地点：竹林村三组走访对象：饶德福记录人：伍建兵"
        "一、基本情况老人七十九岁，独居。二、反映的问题屋后挡墙开裂。三、现场察看情况裂缝两指宽。"
    )
    assert follow_up_cues(report) == []
    assert follow_up_cues("4月30日 晴 回访饶德福，挡墙已经砌好。") == ["回访"]


def test_a_referenced_day_followed_by_that_matter_is_a_cue() -> None:
    from minqing.classify.links import follow_up_cues

    assert follow_up_cues("5月6日 晴 接着4月12日那件事，茶园的路今天修通了。")


def test_a_link_with_nothing_of_the_wording_in_common_is_only_suggested() -> None:
    es = [
        _e(1, D(2025, 4, 1), "4月1日 晴 五组村民周春生想建一个揉茶车间，缺两万块钱，"
           "问合作社能不能借。", "recorded", 1),
        _e(2, D(2025, 4, 20), "4月20日 阴 上次周春生来过以后，今天镇上开了安全生产会，"
           "讲了防火防汛，要求各村排查隐患。", "in_progress", 8),
        _e(3, D(2025, 4, 28), "4月28日 晴 回访周春生，揉茶车间的钱合作社借给他了，"
           "五组的揉茶车间下月开工。", "resolved", 1),
    ]  # fmt: skip
    sugg: list = []
    links = link_entries({"b": es}, {"b": "上游村"}, suggestions=sugg)
    # the result shares the matter's words: a link; the safety meeting only the name
    assert [(lk.child, lk.parent) for lk in links] == [(("b", 3), ("b", 1))]
    assert [(s.child, s.parent) for s in sugg] == [(("b", 2), ("b", 1))]
    assert s_ev(sugg[0]) >= {"thin-wording", "suggested"}
    assert 0 < sugg[0].score < 1


def s_ev(link) -> set[str]:
    return set(link.evidence)


def test_a_relative_start_about_the_same_place_follows_the_entry_before() -> None:
    es = [
        _e(1, D(2025, 5, 7), "5月7日 晴 龙眼湾组的提灌站抽不上水，两个组的玉米等着浇。",
           "in_progress", 1),
        _e(2, D(2025, 5, 8), "第二天一早又去了龙眼湾组，电工换了水泵的接触器，抽上水了。",
           "resolved", 1),
        _e(3, D(2025, 5, 8), "同日再记一件，龙眼湾组有两户想养蜂，来问技术培训。", "recorded", 1),
    ]  # fmt: skip
    es = [replace(e, date_kind="relative") if e.seq > 1 else e for e in es]
    links = link_entries({"b": es}, {"b": "上游村"})
    got = {lk.child: lk for lk in links}
    assert got[("b", 2)].parent == ("b", 1) and "relative-start" in got[("b", 2)].evidence
    assert ("b", 3) not in got  # says itself it is another matter


def test_an_entry_is_never_linked_to_the_continuation_of_its_own_notebook() -> None:
    first = [
        _e(1, D(2025, 8, 4), "8月4日 晴 饶家想在自家承包地上建养鸡棚，问要不要办手续，"
           "村里说要先报乡里备案，", "in_progress", 1),
    ]  # fmt: skip
    second = [
        replace(_e(1, None, "乡里备案以后，饶家的养鸡棚手续就齐了。", "in_progress", 1,
                   inferred=True), date_kind="continuation"),
        _e(2, D(2025, 9, 1), "9月1日 晴 开学前检查村小的校舍。", "resolved", 6),
    ]  # fmt: skip
    books = {"rao-1": first, "rao-2": second}
    from minqing.classify.segment import continue_books

    carried, pairs = continue_books(books, {"rao-1": "伍红", "rao-2": "伍红"})
    links = link_entries(carried, {"rao-1": "上游村", "rao-2": "上游村"},
                         cadres={"rao-1": "伍红", "rao-2": "伍红"})  # fmt: skip
    assert {lk.child: lk.parent for lk in links} == {("rao-2", 1): ("rao-1", 1)}
    assert pairs == [(("rao-2", 1), ("rao-1", 1))]
