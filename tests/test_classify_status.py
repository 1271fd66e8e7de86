"""classify.status: completed-action wording without a fixed cue word (issue 5, round 2)."""

from __future__ import annotations

import pytest

from minqing.classify import detect_status
from minqing.classify.status import status_cues


@pytest.mark.parametrize(
    ("text", "cue"),
    [
        # 已 + verb + result complement (好/完/齐/妥/完毕/干净/到位 …)
        ("回访两家，新院墙已经砌好，两家见面也打招呼了。", "已经砌好"),
        ("村部的屋顶漏水，现已补好。", "现已补好"),
        ("低保申请的材料已备齐。", "已备齐"),
        ("河道里的建筑垃圾已全部清理干净。", "已全部清理干净"),
        ("春耕用的化肥已经分完。", "已经分完"),
        # 已 + getting/sending verb + 到
        ("帮他开了证明，他已经顺利买到票。", "已经顺利买到"),
        ("联系快递员后已送到家。", "已送到"),
        # 已 + a verb that is its own result
        ("进村路硬化工程已完工。", "已完工"),
        ("卖树收入的账目已公开，代表们没有意见。", "已公开"),
        ("九名流动党员已全部入群。", "已全部入群"),
        ("新的村级活动室已建成。", "已建成"),
        ("收支明细已在公开栏张贴。", "已在公开栏张贴"),
        # verb + 好/完/齐 + 了, with no 已
        ("大雪压塌的牛棚，帮他找人重新搭好了。", "搭好了"),
        ("两户的界桩都埋好了。", "埋好了"),
        # a completed public act
        ("全村评出五星级文明户十二户，在村部张榜表彰。", "张榜表彰"),
    ],
)
def test_completed_action_wording_is_resolved(text, cue):
    assert detect_status(text) == "resolved", status_cues(text)
    assert any(cue in c[3] or c[3] in cue for c in status_cues(text)), status_cues(text)


@pytest.mark.parametrize(
    ("text", "status"),
    [
        # negated or impossible: not resolved
        ("问题未解决。", "recorded"),
        ("水管还没修好。", "in_progress"),
        ("按政策无法解决。", "recorded"),
        ("这堵墙已经修不好了。", "recorded"),
        ("路灯至今没有装好。", "recorded"),
        # a plan or a wish is not a result
        ("准备帮他把牛棚搭好。", "recorded"),
        ("村民要求尽快修好。", "recorded"),
        ("计划年底前完工。", "recorded"),
        ("两家说好了下周再谈。", "recorded"),
        # 已 + a step on the way is in progress or escalated, not resolved
        ("已上报镇水利站。", "escalated"),
        ("已报送乡民政所审核。", "escalated"),
        ("已经到镇里反映了。", "escalated"),
        ("已联系镇水利站。", "in_progress"),
        ("已安排人员处理。", "in_progress"),
        ("乡交通站已来测量，计划开春施工，我们继续跟进。", "in_progress"),
        # the last cue still wins
        ("牛棚已经搭好，后来又被雪压塌了，已上报乡里。", "escalated"),
        ("已上报乡里，乡里派人来修，现已修好。", "resolved"),
    ],
)
def test_not_resolved(text, status):
    assert detect_status(text) == status, status_cues(text)
