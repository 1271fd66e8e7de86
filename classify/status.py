"""An entry's status from its wording: the last cue in the entry wins.

Later sentences of an entry report later states ("已上报镇里……现已修好"), so the cue
that ends last decides. Without any cue an entry is ``recorded`` (已记录).
"""

from __future__ import annotations

import re

from minqing.classify.dates import normalise

_CUES: list[tuple[str, str]] = [
    # explained: cannot be solved, explained to the villager
    ("explained", r"(?:无法|不能|难以|暂时无法|暂不能|不符合)[^。；;]{0,30}?(?:做好|做了|进行了?)?[^。；;]{0,12}?解释(?:工作)?"),
    ("explained", r"(?:已|已经)(?:向[^。，,；;]{0,12})?(?:做好|做了|进行了?)?[^。，,；;]{0,6}?(?:解释|说明|答复)(?:工作)?"),
    ("explained", r"做好(?:了)?[^。，,；;]{0,8}?解释工作"),
    ("explained", r"(?:表示|表达了?)理解"),
    # resolved
    ("resolved", r"(?:已|已经|现已|均已|全部)(?:经)?(?:得到)?(?:圆满|妥善|彻底|基本)?(?:解决|办结|落实|完成|修好|修复|修通|修缮|化解|调解成功|处理完毕|处理好|兑现|到位|发放|通水|通电|清理干净|清运|整改|恢复|结案|办好|办理完毕)"),
    ("resolved", r"(?:问题|矛盾|纠纷|事情|此事)(?:得到)?(?:圆满|妥善|彻底)?(?:解决|化解)(?:了)?"),
    ("resolved", r"(?:双方|当事人)[^。]{0,12}(?:达成|签订)[^。]{0,8}(?:协议|一致)"),
    ("resolved", r"(?:修好|修通|通上|用上|领到|拿到|发放到位|批下来|装好|建好|搬走|拆除|清走)了"),
    ("resolved", r"(?:已|已经)[^。，,；;]{0,4}?(?:批下来|发到|到账|拨付|批准|审批通过|通过审批|装上|安装|换上|更换|铺好|拆除|搬走|清走|签订)"),
    # escalated
    ("escalated", r"(?:已|已经)?上报"),
    ("escalated", r"(?:已|已经)(?:报送|报请|呈报|提交|递交)[^。，,；;]{0,8}?(?:镇|乡|县|区|市|街道|上级|部门|所|局|站|办|政府)"),
    ("escalated", r"(?:已|已经)?(?:向|给|报)(?:镇|乡|县|区|市|街道|上级|有关|相关)[^。，,；;]{0,12}?(?:反映|汇报|报告|报送|递交)"),
    ("escalated", r"(?:转交|移交|转给|转至|转到|转办|呈报)[^。；;]{0,12}?(?:部门|所|局|站|办|政府|党委|镇里|乡里|县里|法庭|委员会)?"),
    ("escalated", r"报(?:请|送)(?:镇|乡|县)"),
    ("escalated", r"(?:已|已经)?(?:到|去)(?:镇|乡|县|街道)[^。，,；;]{0,8}?(?:反映|汇报|报告)"),
    # in progress
    ("in_progress", r"(?:定于|计划于|准备于|拟于|约定于?)[^。；;]{0,10}?(?:召开|组织|开展|上门|施工|维修|调解|入户|核实|办理|处理)"),
    ("in_progress", r"安排[^。，,；;]{0,8}?(?:清运|清理|处理|维修|施工|核实|调查|调解|测量|丈量)"),
    ("in_progress", r"正在(?:进行|推进|实施|筹备|准备|协调|办理|处理|联系|落实|跟进|研究|解决|核实|调查|对接|施工|维修|修|争取|申请|办|整改|走访|调解)"),
    ("in_progress", r"(?:协调|办理|处理|施工|维修|整改|调解|审核|审批)中"),
    ("in_progress", r"(?:继续)?跟进"),
    ("in_progress", r"继续跟踪|持续跟踪|跟踪(?:落实|办理|处理)"),
    ("in_progress", r"(?:尚未|还未|仍未|还没有?|未能)(?:解决|落实|到位|完成|修好|办结|办好)"),
    ("in_progress", r"(?:已|已经)?(?:着手|安排|联系|约好|启动|开工|开始)(?:了)?(?:处理|办理|维修|施工|协调|解决|人员|施工队)"),
    ("in_progress", r"(?:已|已经)(?:安排|联系|约定|约好|着手|启动)"),
    ("in_progress", r"(?:联系|协调|对接)了?(?:镇|乡|县|村)?[^。，,；;]{0,6}?(?:站|所|局|办|部门|公司)"),
]  # fmt: skip

#: completed-action wording with no fixed cue word (issue 5: 已经砌好, 已全部入群,
#: 已送到家, 账目已公开, 搭好了, 已完工, 张榜表彰). These count only when the clause does
#: not announce a plan or a wish (准备搭好, 要求修好, 计划年底完工).
_NOT_DONE_AFTER_YI = (
    r"(?!上报|报送|报请|呈报|联系|安排|申请|约|着手|启动|开始|准备|计划|协调|提交|递交|反映|向|给|报|经|把|将|在|"
    r"派|请|交|转|列入|纳入|登记|受理|立案|拟|要|答应|同意|承诺)"
)
_COMPLETION: list[tuple[str, str]] = [
    # 已 + (adverb) + verb + result complement: 已经砌好, 已修完, 已备齐, 已全部清理干净
    (
        "resolved",
        r"(?:已经|现已|均已|都已|也已|已)"
        + _NOT_DONE_AFTER_YI
        + r"(?:全部|都|顺利|按时|按期|基本|重新|及时)?[\u4e00-\u9fff]{1,3}?(?:好|完|齐|妥|完毕|干净|到位|到家|到户|到账|到手)",
    ),
    # 已 + verb + 到 with a getting/sending verb: 已经顺利买到票, 已送到家, 已领到钱
    (
        "resolved",
        r"(?:已经|现已|均已|都已|已)(?:全部|都|顺利|按时|及时)?(?:买|送|领|拿|收|找|办|借|搬|运|发|用|喝|吃|住|接|追|要)到",
    ),
    # 已 + a verb that is its own result: 已完工, 账目已公开, 已全部入群, 已建成
    (
        "resolved",
        (
            r"(?:已经|现已|均已|都已|也已|已)(?:全部|都|顺利|按时|按期|基本|正式)?"
            r"(?:完工|竣工|公开|公示|公布|张贴|入群|入户|建成|建立|成立|开通|接通|通过|落户|上岗|签约|交付|投入使用|投用"
            r"|验收|退还|赔偿|归还|补发|补办|办下来|批复|领取|搬回|入住|改好|换好|种上|解除|收回|追回|送回|撤销|免除|减免|纠正|停止|消除|排除|填平|疏通|加固|硬化)"
        ),
    ),
    # 已在公开栏张贴, 已在村部公示
    ("resolved", r"(?:已经|已)在[^。，,；;]{1,8}?(?:张贴|公示|公开|公布)"),
    # verb + 好/完/齐 + 了: 搭好了, 修完了, 材料备齐了 (not 说好了/约好了: an agreement)
    (
        "resolved",
        r"(?<![说讲谈约定商量太真就更很最还没未])(?:[\u4e00-\u9fff](?<![说讲谈约定商量太真就更很最还没未]))(?:好|完|齐|妥)了",
    ),
    # a completed public act: 张榜表彰, 评出十二户
    ("resolved", r"张榜表彰|通报表扬|予以表彰|表彰了|受到表彰|评出了?[一二三四五六七八九十两\d]"),
]
_PLANNED = re.compile(
    r"准备|计划|打算|拟|将要|将|争取|希望|想|要求|需要|建议|定于|等到|等|如果|若|一旦|能否|是否|尽快|力争|预计"
)
_CLAUSE_START = re.compile(r"[。，,；;！？!?]")

_COMPILED = [(status, re.compile(p), False) for status, p in _CUES] + [
    (status, re.compile(p), True) for status, p in _COMPLETION
]


def _planned(t: str, start: int) -> bool:
    """Whether the clause before ``start`` announces a plan or a wish (准备搭好…)."""
    head = t[:start]
    cut_at = max((m.end() for m in _CLAUSE_START.finditer(head)), default=0)
    return bool(_PLANNED.search(head[cut_at:]))


#: cues that are part of a longer, different cue (未解决 is not 解决; 上报 inside 未上报)
_NEGATED = re.compile(r"(?:未|没|没有|不)$")
#: a completion cue that holds its own negation (已经修不好, 还没修好了)
_NEGATED_INSIDE = re.compile(r"[未没不]")


def status_cues(text: str) -> list[tuple[int, int, str, str]]:
    """All status cues in ``text`` as ``(start, end, status, cue text)``, in text order."""
    t = normalise(text)
    found: list[tuple[int, int, str, str]] = []
    for status, pat, completion in _COMPILED:
        for m in pat.finditer(t):
            if m.end() == m.start():
                continue
            if status != "in_progress" and _NEGATED.search(t[max(0, m.start() - 2) : m.start()]):
                continue
            if completion and (_planned(t, m.start()) or _NEGATED_INSIDE.search(m.group(0))):
                continue
            found.append((m.start(), m.end(), status, m.group(0)))
    found.sort(key=lambda f: (f[0], -(f[1] - f[0])))
    return found


def detect_status(text: str) -> str:
    """The entry's status key (see :data:`classify.types.STATUSES`): the last cue wins.

    >>> detect_status("已上报镇水利站。4月2日水管已修好。")
    'resolved'
    """
    cues = status_cues(text)
    if not cues:
        return "recorded"
    # the cue that ends last; among cues ending together the one that starts first (longest)
    best = max(cues, key=lambda f: (f[1], -f[0]))
    return best[2]
