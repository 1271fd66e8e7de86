"""An entry's status from its wording: a cue lexicon and a learnt classifier (issue 13).

The cue lexicon (:func:`status_cues`, :func:`cue_status`): later sentences of an entry
report later states ("已上报镇里……现已修好"), so the cue that ends last decides; without any
cue an entry is ``recorded`` (已记录). Families: resolved, explained (讲清政策, 表示理解,
不符合条件), escalated (上报, 报请, 提请, 移交, 转…, 向…申请, 纳入…计划), in progress (正在,
还差, 清了一半, 等…回复). A negation cancels a cue in its scope: a negator (没/没有/未/尚未/
还没/暂未…) before it in the same clause, with nothing between them that closes the negated
predicate (没有上报, 暂时没有报派出所, 尚未落实; not 没等回复就上报了). A last clause that only
continues an earlier state does not decide (:func:`deciding_cue`): waiting (等县里回复) after
an escalation, consent (没意见) after a result, signing (签了字) after an explanation.

Independent writers state statuses implicitly far more often than the lexicon foresees, so
the pipeline's status comes from :func:`classify_status`: a logistic regression over the
character n-grams of the entry's closing sentences (its later notes, 补记, when it has any),
of its last sentence alone, of the whole text (negated cues marked, so 没有¬上报 does not
read as 上报), and the cue
lexicon's reading (:func:`cue_features`) as features, fitted from training texts
the package ships (``classify/data/training.jsonl``) at first use, or a model ``minqing
retrain`` adapted to an archive's confirmed statuses.
"""

from __future__ import annotations

import functools
import re

from minqing.classify.dates import normalise

_CUES: list[tuple[str, str]] = [
    # explained: cannot be solved, explained to the villager
    ("explained", r"(?:无法|不能|难以|暂时无法|暂不能|不符合)[^。；;]{0,30}?(?:做好|做了|"
                  r"进行了?)?[^。；;]{0,12}?解释(?:工作)?"),
    ("explained", r"(?:已|已经)(?:向[^。，,；;]{0,12})?(?:做好|做了|"
                  r"进行了?)?[^。，,；;]{0,6}?(?:解释|说明|答复)(?:工作)?"),
    ("explained", r"做好(?:了)?[^。，,；;]{0,8}?解释工作"),
    ("explained", r"(?:表示|表达了?)理解"),
    ("explained", r"(?:讲清(?!明)|讲明|讲透|说清|说明白|讲明白|讲了讲|解释了|"
                  r"宣讲)[^。；;]{0,12}?(?:政策|规定|条件|原因|情况|道理|标准)?"),
    ("explained", r"(?:不符合|够不上|达不到|不够|不在)[^。，,；;]{0,10}?(?:条件|政策|标准|范围|"
                  r"规定)"),
    ("explained", r"(?:想通了|没有?意见了|不再(?:提|闹|追究|坚持))"),
    # the villager accepts the answer: 说理解, 可以理解, 他也明白, 没意见, 那就算了, 就不申请了
    ("explained", r"(?:说|也|都|可以|能够?)理解|(?:他|她|也|都|他们)(?:明白|懂)(?:了|的)?"),
    ("explained", r"(?<![还有])没有?(?:什么)?意见"),
    # the policy told: 把政策讲了, 政策也讲了, 讲了政策
    ("explained", r"政策[^。，,；;]{0,4}?(?:讲|说|解释|念)(?:了|清|明|透)|"
                  r"(?:讲|说|解释)了[^。，,；;]{0,4}?政策"),
    ("explained", r"(?:那就|就|也就)(?:算了|不(?:申请|要|争|闹|办|弄|提)了)"),
    # resolved
    ("resolved", r"(?:已|已经|现已|均已|全部)(?:经)?(?:得到)?(?:圆满|妥善|彻底|基本)?(?:解决|办结|"
                 r"落实|完成|修好|修复|修通|修缮|化解|调解成功|处理完毕|处理好|兑现|到位|发放|通水|"
                 r"通电|清理干净|清运|整改|恢复|结案|办好|办理完毕)"),
    ("resolved", r"(?:问题|矛盾|纠纷|事情|此事)(?:得到)?(?:圆满|妥善|彻底)?(?:解决|化解)(?:了)?"),
    ("resolved", r"(?:双方|当事人)[^。]{0,12}(?:达成|签订)[^。]{0,8}(?:协议|一致)"),
    ("resolved", r"(?:解决|办结|落实|办妥|放款|到账|完工|竣工)了|(?:表示|很|非常|都)满意|放心了|"
                 r"没事了|点了头|签了字|(?<![不没])认了"),
    ("resolved", r"(?:修好|修通|通上|用上|领到|拿到|发放到位|批下来|装好|建好|搬走|拆除|清走)了"),
    # the matter is closed: 了结, 这件事算是了了, 总算落了地
    ("resolved", r"了结|(?:算是|总算|终于|就此)[^。，,；;]{0,4}?"
                 r"(?:了了|落了?地|办成|有了?着落|结了)"),
    ("resolved", r"(?:已|已经)[^。，,；;]{0,4}?(?:批下来|发到|到账|放款|拨付|批准|审批通过|"
                 r"通过审批|装上|安装|换上|更换|铺好|拆除|搬走|清走|签订)"),
    # escalated
    ("escalated", r"(?:已|已经)?上报"),
    ("escalated", r"(?:已|已经)(?:报送|报请|呈报|提交|递交)[^。，,；;]{0,8}?(?:镇|乡|县|区|市|街道|"
                  r"上级|部门|所|局|站|办|政府)"),
    ("escalated", r"(?:已|已经)?(?:向|给|报)(?:镇|乡|县|区|市|街道|上级|有关|"
                  r"相关)[^。，,；;]{0,12}?(?:反映|汇报|报告|报送|递交)"),
    ("escalated", r"(?<![流周运好扭旋])(?:转交|移交|转给|转至|转到|转办|呈报|交由|转请|转报)"
                  r"[^。；;]{0,12}?(?:部门|所|局|站|办|政府|党委|镇里|乡里|县里|法庭|委员会)?"),
    ("escalated", r"报(?:请|送)(?:镇|乡|县)"),
    ("escalated", r"报请|提请|呈请"),
    # 报乡党委, 报到乡水利站, 报给镇里, 已报红岩派出所 (not 报名/报销/报到 for duty)
    ("escalated", r"(?<![汇情举预警通电公日简海回电申])报(?:到|给|至|"
                  r"上)?了?[\u4e00-\u9fff]{0,5}?(?:镇|乡|县|区|市|街道|上级|派出所|党委|政府|所|局|"
                  r"站)(?:里|上)?"),
    ("escalated", r"(?:已|已经)?(?:到|去)(?:镇|乡|县|街道)[^。，,；;]{0,8}?(?:反映|汇报|报告)"),
    # 转县人社局, 转镇司法所调解
    ("escalated", r"(?<![好扭周运旋流])转(?:镇|乡|县|区|市|街道)[^。，,；;]{0,10}"),
    # 向县民政局申请核实, 向镇里申请资金
    ("escalated", r"向(?:镇|乡|县|区|市|街道|上级)[^。，,；;]{0,20}?(?:申请|请示|报告|反映)"),
    # materials handed in to an office above: 材料已交镇组织办, 送到了镇民政办, 报上去
    ("escalated", r"(?:交|递|递交|报送|送交|呈送)(?:到|给|至)?了?(?:镇|乡|县|区|市|街道)"
                  r"[\u4e00-\u9fff]{0,8}?(?:办|所|局|站|委|中心|政府)"),
    ("escalated", r"送(?:到|给|至)了?(?:镇|乡|县|区|市|街道)[\u4e00-\u9fff]{0,8}?"
                  r"(?:办|所|局|站|委)"),
    ("escalated", r"(?:报|交|递)了?上去|提交[^。，,；;]{0,10}?申请"),
    # 纳入危房改造计划, 列进初步名单
    ("escalated", r"(?:纳入|列入|列进|报进|排进|排入)[^。，,；;]{0,20}?(?:计划|项目|名单|范围|工程|"
                  r"规划|清单|盘子|议程|台账)"),
    ("escalated", r"提交[^。，,；;]{0,10}?(?:会议|大会|研究|审议|讨论)"),
    # 请他向镇里反映
    ("escalated", r"请[^。，,；;]{0,8}?向(?:镇|乡|县|上级)[^。，,；;]{0,6}?(?:反映|汇报|报告)"),
    ("escalated", r"打了?110|报了?警"),
    # recorded: written down, nothing done yet (先记下, 记一笔, 记在这里)
    ("recorded", r"先记(?:下|着|在|一笔)|记(?:一笔|下来|在这里|在本子上)|记录在案"),
    # a proposal that nothing has acted on yet: 建议纳入…计划, 提议下次会上议
    ("recorded", r"^(?:建议|提议)|(?<=[。，,；;])(?:建议|提议)"),
    # in progress
    ("in_progress", r"(?:定于|计划于|准备于|拟于|约定于?)[^。；;]{0,10}?(?:召开|组织|开展|上门|"
                    r"施工|维修|调解|入户|核实|办理|处理)"),
    ("in_progress", r"安排[^。，,；;]{0,8}?(?:清运|清理|处理|维修|施工|核实|调查|调解|测量|丈量)"),
    ("in_progress", r"正在(?:进行|推进|实施|筹备|准备|协调|办理|处理|联系|落实|跟进|研究|解决|核实|"
                    r"调查|对接|施工|维修|修|争取|申请|办|整改|走访|调解|安装|安排|清|铺|挖|换|装|找)"),
    ("in_progress", r"(?:协调|办理|处理|施工|维修|整改|调解|审核|审批)中"),
    ("in_progress", r"(?:继续)?跟进"),
    ("in_progress", r"继续跟踪|持续跟踪|跟踪(?:落实|办理|处理)"),
    ("in_progress", r"(?:尚未|还未|仍未|还没有?|未能)(?:解决|落实|到位|完成|修好|办结|办好)"),
    ("in_progress", r"(?:已|已经)?(?:着手|安排|联系|约好|启动|开工|开始)(?:了)?(?:处理|办理|维修|"
                    r"施工|协调|解决|人员|施工队)"),
    ("in_progress", r"(?:已|已经)(?:安排|联系|约定|约好|着手|启动)"),
    # 已跟镇环卫所联系, 已经和施工队对接
    ("in_progress", r"(?:已|已经)(?:跟|和|与|同)[^。，,；;]{1,10}?(?:联系|对接|沟通|约好)"),
    # waiting for an answer: 过几天回话, 还没回话
    ("in_progress", r"(?:过[^。，,；;]{0,3}天|还没有?|尚未|仍未)[^。，,；;]{0,4}?"
                    r"(?:回话|回复|答复|回音|消息|批下来)"),
    ("in_progress", r"(?:联系|协调|对接)了?(?:镇|乡|县|村)?[^。，,；;]{0,6}?(?:站|所|局|办|部门|"
                    r"公司)"),
    # 等县里回复, 等批复, 等他们通知
    ("in_progress", r"等[^。，,；;]{0,12}?(?:回复|回话|答复|批复|通知|消息|结果|审批|下达|送来|"
                    r"到位)"),
    ("in_progress", r"(?:还差|还剩|还有)[^。，,；;]{0,8}?(?:没|未|要|户|家|处|段|米|项)"),
    ("in_progress", r"(?:清|修|做|干|弄|挖|砌|铺|收|发|签|搬|拆|办|装)了(?:一半|大半|一部分)"),
    ("in_progress", r"(?:已经|已)?开始(?:施工|动工|修|清|办|拆|挖|铺|砌|整改|入户|登记|摸底)"),
    ("in_progress", r"还在(?:做|办|协调|谈|等|跑|联系|修|弄|走)"),
    # still to do: 日子还没定, 等会计把账做完, 还得再找, 先让村里把人劝回来
    ("in_progress", r"还没有?(?:定|排)|等[^。，,；;]{1,10}?(?:做完|办完|弄好|做好|办好|定下来)|"
                    r"还(?:得|要|需要?)再|先(?:让|叫|请|安排)[^。，,；;]{1,12}"),
    # the next step has a day: 明天上门, 下周再去一趟, 过两天报, 两周后再来一次
    ("in_progress", r"(?:明天|明早|后天|下周|下星期|下个?月|过两天|过几天|这周|本周|月底|回头|"
                    r"[一两二三四五六七八九十几]+(?:天|周|个?星期|个?月)(?:以|之)?后)"
                    r"[^。，,；;]{0,6}?(?:去|来|报|上门|开会|办|送|找|看|施工|动工|复查|回访)"),
    ("in_progress", r"答应[^。，,；;]{0,12}?(?:派|来|去|办|修|送|帮|再|付|给|还|结清)"),
    ("in_progress", r"(?:没|未)(?:谈拢|定下来|落实|到位|签)"),
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
        + r"(?:全部|都|顺利|按时|按期|基本|重新|及时)?[\u4e00-\u9fff]{1,3}?"
        r"(?:好|完|齐|妥|完毕|干净|到位|到家|到户|到账|到手)",
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


#: escalation wordings that a plan or a wish may announce (建议纳入, 准备提请, 打算向县里申请)
_PLANNED_ESCALATION = re.compile(r"纳入|列入|列进|报进|排进|排入|向|提请|报请|提交|转|请")

#: cues that are part of a longer, different cue (未解决 is not 解决; 上报 inside 未上报)
_NEGATED = re.compile(r"(?:未|没|没有|不)$")
#: a completion cue that holds its own negation (已经修不好, 还没修好了)
_NEGATED_INSIDE = re.compile(r"[未没不]")
#: the scope of a negation: a negator (没/没有/未/尚未/还没/暂未/并未…) before a cue in the
#: same clause, with at most a few characters between them that do not close the negated
#: predicate (了/的/就/才/再/又 do: 没等回复就上报了 is an escalation)
_NEGATION_SCOPE = re.compile(
    r"(?:没有|没|未能|未|尚未|还没有?|还未|暂未|并未|仍未|从未|从没|不曾|别)"
    r"[^。，,；;:：！？!?了的就才再又而但却后]{0,4}$"
)
#: waiting on an answer or a result: after an escalation, the matter is still escalated
#: (纳入县里计划，等县里下达; 已向县民政局申请核实，等县里回复; 报乡党委了，还没批下来)
_WAITING = re.compile(
    r"^(?:等|还没|尚未|仍未|还未|还差|未能|过[^。]{0,3}天)|(?:回复|回话|答复|批复|审批|下达|结果|"
    r"消息|通知|到位)$"
)

#: a villager's consent (没意见) after a result is satisfaction with it, not an explanation
_CONSENT = re.compile(r"没有?(?:什么)?意见")
#: a villager's consent by signing or nodding after an explanation accepts the explanation
_SIGNED = re.compile(r"签了字|点了头|没事了|认了")
#: cues that continue the state an earlier cue set: (pattern, the status they defer to)
_DEFERS = {
    "in_progress": (_WAITING, "escalated"),
    "explained": (_CONSENT, "resolved"),
    "resolved": (_SIGNED, "explained"),
}

#: negation scope applies to these families (an explanation is often worded with a
#: negation of its own: 不能办，已做好解释; an in-progress cue may hold one inside it,
#: 还没修好, which is not a negation before it)
_SCOPED = ("resolved", "escalated", "in_progress")


#: a result that a negation denies, with no cue of its own: 至今没有装好, 还没修通, 没办完
_NEGATED_RESULT = re.compile(
    r"(?:没有|没|未|尚未|还没有?|仍未)([\u4e00-\u9fff]{1,2}?(?:好|完|齐|妥|到位|通|成))"
)


def _negated(t: str, start: int, status: str) -> bool:
    """Whether the cue at ``start`` lies in the scope of a negation before it."""
    if status != "in_progress" and _NEGATED.search(t[max(0, start - 2) : start]):
        return True
    if status in _SCOPED:
        head = t[max(0, start - 10) : start]
        return bool(_NEGATION_SCOPE.search(head))
    return False


@functools.lru_cache(maxsize=2048)
def _scan(text: str) -> tuple[tuple, tuple]:
    """``(cues, negated cues)`` of ``text``, each ``(start, end, status, cue text)`` (cached:
    the model's features and the evidence read the same texts several times)."""
    t = normalise(text)
    found: list[tuple[int, int, str, str]] = []
    negated: list[tuple[int, int, str, str]] = []
    for status, pat, completion in _COMPILED:
        for m in pat.finditer(t):
            if m.end() == m.start():
                continue
            cue = (m.start(), m.end(), status, m.group(0))
            if _negated(t, m.start(), status):
                negated.append(cue)
                continue
            if completion and _NEGATED_INSIDE.search(m.group(0)):
                negated.append(cue)
                continue
            if completion and _planned(t, m.start()):
                continue
            if (
                status == "escalated"
                and _PLANNED_ESCALATION.match(m.group(0))
                and _planned(t, m.start())
            ):
                continue  # 建议纳入…计划, 准备报请…: a plan to escalate is not an escalation
            found.append(cue)
    for m in _NEGATED_RESULT.finditer(t):
        negated.append((m.start(1), m.end(1), "resolved", m.group(1)))
    found.sort(key=lambda f: (f[0], -(f[1] - f[0])))
    negated.sort(key=lambda f: (f[0], -(f[1] - f[0])))
    return tuple(found), tuple(negated)


def status_cues(text: str) -> list[tuple[int, int, str, str]]:
    """All status cues in ``text`` as ``(start, end, status, cue text)``, in text order;
    cues in the scope of a negation (没有上报, 尚未落实) are left out."""
    return list(_scan(text)[0])


def negated_cues(text: str) -> list[tuple[int, int, str, str]]:
    """The cues of ``text`` that a negation before them cancels (没有上报 → 上报)."""
    return list(_scan(text)[1])


def deciding_cue(text: str) -> tuple[int, int, str, str] | None:
    """The cue that decides the cue lexicon's reading, or None without any cue.

    Later clauses report later states, so the cue that ends last decides (among cues
    ending together the one that starts first, the longest), with two exceptions where the
    last clause continues an earlier state rather than setting one: waiting for an answer
    or a result (等县里回复, 还没批下来) after an escalation leaves the matter escalated (the
    answer awaited is the upper level's), consent (没意见) after a result leaves it
    resolved, and signing or nodding (签了字, 点了头) after an explanation leaves it explained.
    """
    cues = status_cues(text)
    if not cues:
        return None
    cues = sorted(cues, key=lambda f: (f[1], -f[0]))
    best = cues[-1]
    defer = _DEFERS.get(best[2])
    if defer and defer[0].search(best[3]):
        pattern, to = defer
        decisive = [c for c in cues[:-1] if not (c[2] == best[2] and pattern.search(c[3]))]
        if decisive and decisive[-1][2] == to:
            return decisive[-1]
    return best


def cue_status(text: str) -> str:
    """The cue lexicon's reading alone: the deciding cue's status (:func:`deciding_cue`),
    ``recorded`` without any cue.

    >>> cue_status("已上报镇水利站。4月2日水管已修好。")
    'resolved'
    >>> cue_status("已报县民政局，等县里批复。")
    'escalated'
    """
    best = deciding_cue(text)
    return "recorded" if best is None else best[2]


# --- the learnt classifier (issue 13) -------------------------------------------------

#: statuses in a fixed order (feature columns, probabilities)
_ORDER = ("recorded", "in_progress", "escalated", "resolved", "explained")
_SENTENCE = re.compile(r"[^。！？!?；;]+[。！？!?；;]?")
#: a later note (补记) the cadre added to an old entry: its words decide the status
_LATER_NOTE = re.compile(
    r"(?:\d{1,2}月\d{1,2}[日号]|[一二三四五六七八九十]{1,3}月[一二三四五六七八九十廿初]{1,3}[日号]?)?[^。，,；;]{0,4}补记"
)
#: the closing sentences the status is read from
CLOSING_SENTENCES = 3
#: characters from the end within which a cue counts as closing the entry
CLOSING_CHARS = 60


def closing_text(text: str, sentences: int = CLOSING_SENTENCES) -> str:
    """The part of ``text`` that says how the matter stands: its later notes (补记) when it
    has any, else its last ``sentences`` sentences."""
    t = normalise(text)
    notes = list(_LATER_NOTE.finditer(t))
    if notes:
        return t[notes[0].start() :]
    parts = [x for x in _SENTENCE.findall(t) if x.strip()]
    return "".join(parts[-sentences:])


def cue_features(texts) -> object:
    """The cue lexicon's reading of each text as model features (a sparse matrix).

    Per status: whether the deciding cue (:func:`deciding_cue`) has it, whether the
    deciding cue of the closing part alone has it, how many cues of it (capped), whether
    one lies in the closing part, whether a negated one does (没有上报, 尚未落实); plus
    whether any cue closes the entry, how far from the end the deciding cue ends, and
    whether a later note (补记) closes the entry without a cue of its own (such a note
    mostly reports an outcome; a note with a cue is read by its cue, not by being a note).
    """
    import numpy as np
    from scipy.sparse import csr_matrix

    rows = []
    for text in texts:
        t = normalise(text)
        cues, negated = _scan(t)
        close = closing_text(t)
        cstart = len(t) - len(close)
        best = deciding_cue(t)
        last = "recorded" if best is None else best[2]
        close_best = deciding_cue(close)
        close_last = None if close_best is None else close_best[2]
        v = [1.0 if last == s else 0.0 for s in _ORDER]
        v += [1.0 if close_last == s else 0.0 for s in _ORDER]
        for s in _ORDER:
            v.append(min(3, sum(1 for c in cues if c[2] == s)) / 3)
            v.append(1.0 if any(c[2] == s and c[1] > cstart for c in cues) else 0.0)
            v.append(1.0 if any(c[2] == s and c[1] > cstart for c in negated) else 0.0)
        v.append(1.0 if close_best is not None else 0.0)
        v.append(1.0 - min(1.0, (len(t) - best[1]) / 200) if best is not None else 0.0)
        v.append(1.0 if _NEGATION.search(close) else 0.0)
        # a later note with no status word of its own mostly reports an outcome
        v.append(1.0 if close_best is None and _LATER_NOTE.search(t) else 0.0)
        rows.append(v)
    return csr_matrix(np.array(rows, dtype=float))


_NEGATION = re.compile(
    r"(?:还没有?|尚未|仍未|没有|未能|未)(?:上报|报|解决|落实|到位|办|修|签|批|答复|回复)"
)
#: marks a negated cue in the text the n-grams are read from (没有上报 → 没有¬上报)
NEGATED_MARK = "¬"


#: a negator, marked wherever it stands (没有装好 → 没有¬装好)
_NEGATOR = re.compile(r"(?:没有|没|尚未|还未|仍未|未能|未)(?![意事人¬])")


def mark_negations(text: str) -> str:
    """``text`` normalised, with :data:`NEGATED_MARK` before every negated cue and after
    every negator, so that the character n-grams of 没有上报 or 没有装好 differ from those
    of 上报 or 装好."""
    t = normalise(text)
    starts = {c[0] for c in negated_cues(t)} | {m.end() for m in _NEGATOR.finditer(t)}
    for i in sorted(starts, reverse=True):
        t = t[:i] + NEGATED_MARK + t[i:]
    return t


#: digits say nothing about a status (dates, sums); 补记 headings only that a note follows
_NOT_WORDS = re.compile(r"\d+")


def _model_text(t: str) -> str:
    return _NOT_WORDS.sub("0", _LATER_NOTE.sub("。", t))


def _closing_all(texts, sentences: int = CLOSING_SENTENCES):
    return [_model_text(closing_text(mark_negations(t), sentences)) for t in texts]


def _normalise_all(texts):
    return [_model_text(mark_negations(t)) for t in texts]


#: the layout of the model's features (:func:`cue_features`, negation marks); a saved
#: status model of another layout is refused on load (retrain it). 1: up to classify-1.1.
STATUS_FEATURES = 2

#: how much the whole text, the cue lexicon and the last sentence alone count beside the
#: closing sentences. Chosen by cross-validation grouped by writer (``python -m
#: benchmarks.classify_cv --status``): a lighter cue lexicon and the last sentence as
#: features of its own held better on hands the model had not seen than the cue lexicon
#: at 2.0 without it (accuracy 0.789 -> 0.806, dev 0.910 -> 0.936). A cue weight of 0.25
#: scored 0.818 but let the model overrule an explicit 先记下/记一笔 (recorded).
WHOLE_WEIGHT = 0.25
CUE_WEIGHT = 0.5
LAST_WEIGHT = 3.0


def status_pipeline(
    *,
    C: float = 10.0,
    cue_weight: float = CUE_WEIGHT,
    whole_weight: float = WHOLE_WEIGHT,
    sentences: int = CLOSING_SENTENCES,
    class_weight: str | None = "balanced",
    last_weight: float = LAST_WEIGHT,
):
    """A fresh, unfitted scikit-learn pipeline: closing-sentence, last-sentence and
    whole-text character n-gram TF-IDF and the cue lexicon's features into a logistic
    regression. The keywords (the shipped values by default) are for trying recipes
    (``benchmarks/classify_cv.py``)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import FeatureUnion, Pipeline
    from sklearn.preprocessing import FunctionTransformer

    closing = Pipeline(
        [
            ("pick", FunctionTransformer(_closing_all, kw_args={"sentences": sentences})),
            ("tfidf", TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True)),
        ]
    )
    whole = Pipeline(
        [
            ("pick", FunctionTransformer(_normalise_all)),
            ("tfidf", TfidfVectorizer(analyzer="char", ngram_range=(2, 3), sublinear_tf=True)),
        ]
    )
    parts = [("closing", closing), ("whole", whole), ("cues", FunctionTransformer(cue_features))]
    weights = {"closing": 1.0, "whole": whole_weight, "cues": cue_weight}
    if last_weight:
        # the last sentence alone: where the matter stands at the very end
        last = Pipeline(
            [
                ("pick", FunctionTransformer(_closing_all, kw_args={"sentences": 1})),
                ("tfidf", TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True)),
            ]
        )
        parts.append(("last", last))
        weights["last"] = last_weight
    union = FeatureUnion(parts, transformer_weights=weights)
    return Pipeline(
        [
            ("features", union),
            ("clf", LogisticRegression(C=C, max_iter=3000, class_weight=class_weight)),
        ]
    )


def _denied(t: str) -> set[str]:
    """The statuses a negation in the closing part denies (没有上报, 还没修好, 尚未落实)
    and no later cue of the same status restores: the model may not choose them."""
    cues, negated = _scan(t)
    cstart = len(t) - len(closing_text(t))
    out = set()
    for n in negated:
        if n[0] >= cstart and not any(c[2] == n[2] and c[0] > n[0] for c in cues):
            out.add(n[2])
    return out


def classify_status(text: str, model=None) -> tuple[str, float, tuple[str, ...]]:
    """``(status key, probability, evidence)`` for an entry's text.

    ``model``: a :class:`~classify.model.StatusModel` (``minqing retrain`` adapts one to a
    county's confirmed statuses); without one, the model fitted from the training texts
    the package ships (:func:`~classify.model.default_status_model`). A status that a
    negation in the closing part denies (没有上报, 至今没有装好) is never chosen, whatever
    the model's probability for it (the probability returned is still the model's). The
    evidence is the
    cue lexicon's cues of the chosen status: the deciding cue (:func:`deciding_cue`) first
    when it has that status, then the others, closing ones first.
    """
    from minqing.classify.model import default_status_model

    m = model if model is not None else default_status_model()
    probs = m.predict_proba(text)
    t = normalise(text)
    denied = _denied(t)
    status = max(probs, key=lambda s: (s not in denied, probs[s], -_ORDER.index(s)))
    cues = [c for c in status_cues(t) if c[2] == status]
    cues.sort(key=lambda c: -c[1])
    best = deciding_cue(t)
    if best is not None and best[2] == status:
        cues.insert(0, best)  # the cue that decided comes first
    evidence = tuple(dict.fromkeys(c[3] for c in cues))[:3]
    return status, round(float(probs[status]), 4), evidence


def detect_status(text: str) -> str:
    """The cue lexicon's reading of ``text`` (see :func:`cue_status`); the pipeline uses
    the learnt :func:`classify_status`, which takes this reading as features.

    >>> detect_status("已上报镇水利站。4月2日水管已修好。")
    'resolved'
    """
    return cue_status(text)
