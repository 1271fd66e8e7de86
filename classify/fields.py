"""Labelled fields: the labels cadres write (时间：/地点：/走访对象：…) and printed forms.

A label maps to one of the field keys of :attr:`classify.types.Entry.fields`
(``place, people, problem, analysis, measures, result``) or to ``time`` (the entry's
date, which is not kept as a field).
"""

from __future__ import annotations

import re

from minqing.classify.dates import normalise

FIELD_KEYS = ("place", "people", "problem", "analysis", "measures", "result")

#: label text -> field key ("time" for the date); longest labels are tried first
LABELS: dict[str, str] = {
    "时间": "time",
    "日期": "time",
    "走访时间": "time",
    "记录时间": "time",
    "来访时间": "time",
    "回访时间": "time",
    "地点": "place",
    "走访地点": "place",
    "地址": "place",
    "走访对象": "people",
    "走访户": "people",
    "对象": "people",
    "反映人": "people",
    "来访人": "people",
    "当事人": "people",
    "来访群众": "people",
    "反映问题": "problem",
    "问题": "problem",
    "主要问题": "problem",
    "反映内容": "problem",
    "民情内容": "problem",
    "群众诉求": "problem",
    "诉求": "problem",
    "原因分析": "analysis",
    "情况分析": "analysis",
    "分析": "analysis",
    "解决措施": "measures",
    "措施": "measures",
    "处理意见": "measures",
    "解决办法": "measures",
    "办理意见": "measures",
    "建议措施": "measures",
    "办理结果": "result",
    "处理结果": "result",
    "结果": "result",
    "办理情况": "result",
    "反馈情况": "result",
    "回访情况": "result",
    "反馈结果": "result",
}

#: the order fields normally come in; a label that goes back in this order starts a new record
ORDER = {
    "time": 0,
    "place": 1,
    "people": 2,
    "problem": 3,
    "analysis": 4,
    "measures": 5,
    "result": 6,
}

_LABEL_ALT = "|".join(sorted((re.escape(k) for k in LABELS), key=len, reverse=True))
#: a handwritten label: the label, then a colon, then the value
_LABELLED_RE = re.compile(r"^\s*(?P<label>" + _LABEL_ALT + r")\s*[:：]\s*(?P<value>.*)$")
#: a printed form label: the label alone (maybe with a colon), or followed by a space
_PRINTED_RE = re.compile(r"^\s*(?P<label>" + _LABEL_ALT + r")\s*(?:[:：]\s*|\s+|$)(?P<value>.*)$")


def label_of(text: str, *, printed: bool = False) -> tuple[str, str] | None:
    """``(field key, value)`` when ``text`` starts with a field label, else None.

    ``printed`` also accepts a label without a colon (a form's printed label, whose
    value is handwritten elsewhere in the box).
    """
    t = normalise(text)
    m = (_PRINTED_RE if printed else _LABELLED_RE).match(t)
    if not m:
        return None
    return LABELS[m.group("label")], m.group("value").strip()


def is_form_page(texts: list[str]) -> bool:
    """Whether a page's lines look like a pre-printed form (≥3 distinct bare labels)."""
    keys = set()
    for t in texts:
        lab = label_of(t, printed=True)
        if lab is not None and not _LABELLED_RE.match(normalise(t)):
            keys.add(lab[0])
        elif lab is not None and lab[1] == "":
            keys.add(lab[0])
    return len(keys) >= 3
