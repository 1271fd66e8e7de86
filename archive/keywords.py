"""Hot-topic keywords: the words each entry is about, kept in the ``keywords`` table."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from typing import Any

from minqing.archive.schema import ENTRIES, KEYWORDS
from minqing.archive.store import Archive

_CJK = r"\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"

# -- hot topics ------------------------------------------------------------------------------------

#: Words that carry no topic (diary boilerplate, time words, generic verbs).
STOPWORDS = frozenset(
    [
        "我们",
        "他们",
        "她们",
        "自己",
        "什么",
        "这个",
        "那个",
        "这些",
        "那些",
        "一个",
        "没有",
        "已经",
        "还是",
        "但是",
        "因为",
        "所以",
        "如果",
        "可以",
        "表示",
        "进行",
        "情况",
        "问题",
        "反映",
        "村民",
        "群众",
        "今天",
        "昨天",
        "明天",
        "上午",
        "下午",
        "晚上",
        "同日",
        "星期",
        "时候",
        "现在",
        "目前",
        "一下",
        "一些",
        "一起",
        "大家",
        "就是",
        "不是",
        "还有",
        "需要",
        "通过",
        "对于",
        "关于",
        "他家",
        "她家",
        "家里",
        "两家",
        "时间",
        "这次",
        "之后",
        "以后",
        "以前",
        "当天",
        "今年",
        "去年",
        "明年",
        "本月",
        "上月",
        "下月",
        "多云",
        "小雨",
        "大雨",
        "天气",
        "记录",
        "准备",
        "工作",
        "同志",
        "主要",
    ]
)


#: jieba part-of-speech flags of topic words: nouns, organisations, other proper
#: nouns, verbal nouns, idioms and fixed phrases (not names of people or places).
TOPIC_FLAGS = frozenset({"n", "nt", "nz", "vn", "l", "i", "an"})


def keywords_of(text: str | None, top: int = 12) -> Counter:
    """The topic words of one text (jieba with the project lexicon), counted.

    Keeps nouns and noun-like words (:data:`TOPIC_FLAGS`) of two or more CJK
    characters that are not stop words; at most ``top`` distinct words (the most
    frequent, ties by first occurrence).
    """
    from minqing.classify.lexicon import pos_cut

    counts: Counter = Counter()
    for w, flag in pos_cut(text or ""):
        if (
            flag in TOPIC_FLAGS
            and len(w) >= 2
            and re.fullmatch(rf"[{_CJK}]+", w)
            and w not in STOPWORDS
        ):
            counts[w] += 1
    return Counter(dict(counts.most_common(top)))


def keyword_rows(
    entries: Iterable[dict[str, Any]], top_per_group: int = 30, extract=keywords_of
) -> list[dict[str, Any]]:
    """``keywords`` rows for entries (dicts with book_id, month, township, text).

    One row per (book, month, word) with the word's count; the ``top_per_group``
    most frequent words of each (book, month) are kept.
    """
    groups: dict[tuple[str, str], tuple[str | None, Counter]] = {}
    for e in entries:
        if not e.get("month"):
            continue
        key = (e["book_id"], e["month"])
        township, counts = groups.setdefault(key, (e.get("township"), Counter()))
        counts.update(extract(e.get("text")))
    rows = []
    for (book_id, month), (township, counts) in groups.items():
        for word, n in counts.most_common(top_per_group):
            rows.append(
                {"book_id": book_id, "month": month, "township": township, "word": word, "n": n}
            )
    return rows


def refresh_keywords(archive: Archive, book_ids: Iterable[str]) -> int:
    """Recompute the hot-topic ``keywords`` rows of ``book_ids``; returns rows written.

    Call it after a book's entries are written (the pipeline, after
    ``records.write_entries``), inside or outside the book's transaction.
    """
    db = archive.db
    total = 0
    for book_id in book_ids:
        db.execute(f"delete from {KEYWORDS} where book_id = ?", [book_id])
        entries = db.query(
            f"select book_id, month, township, text from {ENTRIES} where book_id = ?", [book_id]
        )
        rows = keyword_rows(entries)
        if rows:
            db.table(KEYWORDS).insert_all(rows, pk=("book_id", "month", "word"), replace=True)
        total += len(rows)
    return total
