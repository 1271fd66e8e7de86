"""Generate the two bundled sample notebooks (8 page images) and their ground truth.

Run from the repository root, as a module::

    .venv/bin/python -m samples.make_samples                # render images + truth
    .venv/bin/python -m samples.make_samples --truth-only   # truth/lines layout check only

Needs the dev extra (``handright``) and Debian's fonts-lxgw-wenkai and fonts-arphic-ukai;
the committed images need neither.  The renderer is ``tools/render_notebook.py``; this file
holds only the content (``BOOKS``), the two hands and the seeds, so the drawn text and the
truth come from the same structure.  Output is deterministic.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tools import render_notebook as rn

HERE = Path(__file__).resolve().parent

# ---------------------------------------------------------------------------------------------
# content: one matter per entry (一事一记); follow-ups name the date of the matter they report on
# ---------------------------------------------------------------------------------------------
ZHANGWEI = {
    "book_id": "shiqiao-zhangwei",
    "meta": {"cadre": "张伟", "township": "石桥镇", "village": "杨树沟村"},
    "entries": [
        {
            "entry_id": "zw-01",
            "date": "2024-03-05",
            "date_format": "ymd_week",
            "weather": "晴",
            "category_code": 5,
            "status": "已上报",
            "follow_up_of": None,
            "paragraphs": [
                (
                    "杨树沟村三组村民王秀英反映，组里的自来水管去年冬天冻裂，十几户人家只能到一里外的"
                    "老井挑水，老人孩子饮水很困难。"
                ),
                "管道老化，村里无力更换，已上报镇政府申请安全饮水工程资金。",
            ],
        },
        {
            "entry_id": "zw-02",
            "date": "2024-03-12",
            "date_format": "md",
            "category_code": 4,
            "status": "已解释",
            "follow_up_of": None,
            "paragraphs": [
                "村民李大山和刘长贵为承包地地界吵架，李家说刘家多种了半垄地。",
                (
                    "调出二轮土地承包合同和村里的台账，会同组长到地里重新丈量，地界清楚，是李家记错"
                    "了。已向李大山做好解释工作，两家当场和好。"
                ),
            ],
        },
        {
            "entry_id": "zw-03",
            "date": "2024-03-19",
            "date_format": "dot",
            "category_code": 1,
            "status": "办理中",
            "follow_up_of": None,
            "paragraphs": [
                (
                    "到村合作社了解春耕准备。合作社今年想扩种五十亩大棚蔬菜，增加集体经济收入，但缺"
                    "少启动资金，部分农户也担心销路。"
                ),
                "建议先与镇上超市签订收购协议，再帮助申请贴息贷款，正在协调。",
            ],
        },
        {
            "entry_id": "zw-04",
            "date": "2024-03-26",
            "date_format": "dash",
            "category_code": 7,
            "status": "办理中",
            "follow_up_of": None,
            "paragraphs": [
                "村东头垃圾堆放点长期没人清理，污水横流，气味很大，群众意见多。",
                (
                    "召集村干部商量，安排保洁员每周二、周五清运，在路口新设三个垃圾箱，发动党员带头"
                    "清理房前屋后，整治工作正在进行。"
                ),
            ],
        },
        {
            "entry_id": "zw-05",
            "date": "2024-04-02",
            "date_format": "ymd_week",
            "weather": "阴",
            "category_code": 3,
            "status": "办理中",
            "follow_up_of": None,
            "paragraphs": [
                "村民代表反映村务公开栏已经三个月没有更新，去年修路的账目群众看不明白。",
                (
                    "与村会计一起整理财务收支明细，按项目重新张贴公开，定于下周召开民主理财小组会议"
                    "逐笔核对。"
                ),
            ],
        },
        {
            "entry_id": "zw-06",
            "date": "2024-04-09",
            "date_format": "md",
            "category_code": 5,
            "status": "已解决",
            "follow_up_of": "zw-01",
            "paragraphs": [
                (
                    "回访杨树沟村三组，3月5日反映的饮水问题已解决。镇里安排资金更换了主管道，十四户"
                    "村民家中都通上了自来水。王秀英说现在吃水方便多了。"
                ),
            ],
        },
        {
            "entry_id": "zw-07",
            "date": "2024-04-16",
            "date_format": "dot",
            "category_code": 2,
            "status": "已记录",
            "follow_up_of": None,
            "paragraphs": [
                (
                    "参加村党支部组织生活会，讨论发展新党员工作。今年有两名入党积极分子，返乡青年赵"
                    "晓军在合作社带头干得好，群众评价高。"
                ),
                "下一步建议支部将他列为发展对象，安排老党员一对一培养考察。",
            ],
        },
        {
            "entry_id": "zw-08",
            "date": "2024-04-23",
            "date_format": "dash",
            "category_code": 1,
            "status": "已上报",
            "follow_up_of": "zw-03",
            "paragraphs": [
                (
                    "回访合作社，3月19日记录的大棚扩种一事有了进展。合作社已与镇上超市签订蔬菜收购"
                    "协议，贴息贷款申请材料已上报县农业农村局审批。"
                ),
            ],
        },
        {
            "entry_id": "zw-09",
            "date": "2024-04-30",
            "date_format": "ymd_week",
            "weather": "晴",
            "category_code": 7,
            "status": "已解决",
            "follow_up_of": "zw-04",
            "paragraphs": [
                (
                    "回访村东头，3月26日记录的垃圾堆放点已清理干净，新设的垃圾箱按时清运，整治已经"
                    "完成，群众很满意。"
                ),
            ],
        },
    ],
}

LIMING = {
    "book_id": "shiqiao-liming",
    "meta": {"cadre": "李明", "township": "石桥镇", "village": "河湾村"},
    "entries": [
        {
            "entry_id": "lm-01",
            "date": "2024-03-07",
            "date_format": "ymd_week",
            "weather": "多云",
            "category_code": 6,
            "status": "已记录",
            "follow_up_of": None,
            "paragraphs": [
                (
                    "河湾村有几户人家办红白喜事互相攀比，酒席一摆就是几十桌，礼金越送越多，群众负担"
                    "很重。"
                ),
                "准备和村红白理事会商量修订村规民约，提倡喜事新办、丧事简办，推动移风易俗。",
            ],
        },
        {
            "entry_id": "lm-02",
            "date": "2024-03-14",
            "date_format": "md",
            "category_code": 4,
            "status": "已解决",
            "follow_up_of": None,
            "paragraphs": [
                "五组张家和陈家因为排水沟堵塞，雨水流进陈家院子，两家吵了起来。",
                "到现场察看后，组织两家各出一半工钱疏通水沟，矛盾已经化解，双方都表示满意。",
            ],
        },
        {
            "entry_id": "lm-03",
            "date": "2024-03-21",
            "date_format": "dot",
            "weather": "晴",
            "category_code": 5,
            "status": "已上报",
            "follow_up_of": None,
            "paragraphs": [
                "村民孙桂兰的丈夫去年病故，两个孩子还在上学，家庭十分困难，想申请低保。",
                "入户核实情况属实，已帮她填写申请表，材料已上报镇民政办审核。",
            ],
        },
        {
            "entry_id": "lm-04",
            "date": "2024-03-21",
            "date_format": "same_day",
            "date_suffix": "下午",
            "category_code": 8,
            "status": "办理中",
            "follow_up_of": None,
            "paragraphs": [
                (
                    "村民周老汉的身份证丢了，腿脚不便，去不了县城补办。已联系镇便民服务中心，约好下"
                    "周派人上门采集信息，帮他代办。"
                ),
            ],
        },
        {
            "entry_id": "lm-05",
            "date": "2024-04-11",
            "date_format": "md",
            "category_code": 5,
            "status": "已解决",
            "follow_up_of": "lm-03",
            "paragraphs": [
                (
                    "回访孙桂兰家，3月21日申请的低保已经批下来了，第一个月的补助已发到卡上。又帮两个"
                    "孩子申请了教育资助。"
                ),
            ],
        },
    ],
}

# Two cadres, two hands: different font, ink, size, line length and jitter.
HANDS = {
    "shiqiao-zhangwei": rn.HandStyle(
        font_path=rn.WENKAI,
        font_px=48,
        chars_per_line=16,
        ink=(28, 38, 92),
        char_gap=0.10,
        size_sigma=0.06,
        spacing_sigma=0.07,
        baseline_sigma=0.05,
        stroke_xy_sigma=0.035,
        stroke_theta_sigma=0.09,
        line_slope_sigma_deg=0.4,
    ),
    "shiqiao-liming": rn.HandStyle(
        font_path=rn.UKAI,
        font_index=0,
        font_px=52,
        chars_per_line=15,
        ink=(30, 30, 32),
        char_gap=0.04,
        ink_opacity=0.95,
        size_sigma=0.07,
        spacing_sigma=0.09,
        baseline_sigma=0.05,
        stroke_xy_sigma=0.04,
        stroke_theta_sigma=0.10,
        line_slope_sigma_deg=0.6,
    ),
}
PAGES = {
    "shiqiao-zhangwei": rn.PageStyle(
        n_rules=14, rule_pitch=92, rule_top=280, tilts=(0.0, 1.2, -0.7, 0.0, -1.4)
    ),
    "shiqiao-liming": rn.PageStyle(
        n_rules=14,
        rule_pitch=92,
        rule_top=280,
        paper=(245, 240, 226),
        rule_color=(160, 175, 200),
        tilts=(0.9, 0.0, -1.1),
    ),
}
SEEDS = {"shiqiao-zhangwei": 20240305, "shiqiao-liming": 20240307}
BOOKS = [ZHANGWEI, LIMING]
EXPECTED_PAGES = {"shiqiao-zhangwei": 5, "shiqiao-liming": 3}


def build_layouts() -> list[rn.BookLayout]:
    """Lay out both books (no drawing, no fonts) and check the sample constraints."""
    lays = [rn.layout_book(b, HANDS[b["book_id"]], PAGES[b["book_id"]]) for b in BOOKS]
    check(lays)
    return lays


def truth() -> dict:
    """The combined truth document for both books, as written to ``samples/truth.json``."""
    lays = build_layouts()
    return rn.truth_document(
        [lay.book_record() for lay in lays], [e for lay in lays for e in lay.entries]
    )


def check(lays: list[rn.BookLayout]) -> None:
    """Raise ValueError when the samples break a property the project relies on."""
    entries = [e for lay in lays for e in lay.entries]
    by_id = {e["entry_id"]: e for e in entries}
    problems = []
    for lay in lays:
        if lay.n_pages != EXPECTED_PAGES[lay.book_id]:
            problems.append(
                f"{lay.book_id}: {lay.n_pages} pages, want {EXPECTED_PAGES[lay.book_id]}"
            )
        long = [ln.text for ln in lay.lines if len(ln.text.replace(" ", "")) > 18]
        if long:
            problems.append(f"{lay.book_id}: lines over 18 chars: {long}")
    if not 10 <= len(entries) <= 14:
        problems.append(f"{len(entries)} entries, want 10..14")
    if len({e["category_code"] for e in entries}) < 6:
        problems.append("fewer than 6 categories")
    n_water = sum("饮水" in e["text"] for e in entries)
    n_land = sum("土地承包" in e["text"] for e in entries)
    if n_water != 2:
        problems.append(f"饮水 in {n_water} entries, want exactly 2")
    if not 1 <= n_land <= 3:
        problems.append(f"土地承包 in {n_land} entries, want 1..3")
    fus = [e for e in entries if e["follow_up_of"]]
    if len(fus) < 2 or not any(e["page_start"] > by_id[e["follow_up_of"]]["page_end"] for e in fus):
        problems.append("need >= 2 follow-ups, one on a later page than its parent")
    if not any(e["page_end"] > e["page_start"] for e in entries):
        problems.append("no entry continues across a page break")
    if problems:
        raise ValueError("sample spec: " + "; ".join(problems))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--truth-only", action="store_true", help="write truth files, no images")
    args = ap.parse_args(argv)
    lays = build_layouts()
    for lay in lays:
        print(
            f"{lay.book_id}: {lay.n_pages} pages, {len(lay.entries)} entries, "
            f"{len(lay.lines)} lines",
            file=sys.stderr,
        )
    all_entries = []
    for spec, lay in zip(BOOKS, lays, strict=True):
        out = HERE / spec["book_id"]
        if args.truth_only:
            out.mkdir(exist_ok=True)
            rn.write_json(out / "truth.json", rn.truth_document([lay.book_record()], lay.entries))
            all_entries += lay.entries
        else:
            bid = spec["book_id"]
            all_entries += rn.render_book(spec, out, SEEDS[bid], HANDS[bid], PAGES[bid])
    rn.write_json(
        HERE / "truth.json", rn.truth_document([lay.book_record() for lay in lays], all_entries)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
