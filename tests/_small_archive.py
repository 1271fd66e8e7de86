"""A small synthetic archive written directly with sqlite-utils, no OCR: 3 cadres, 4 weeks
(not collected: no tests here). Used by the web, table and search-scale tests."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from minqing.archive import keywords
from minqing.archive.records import now
from minqing.archive.search import bigrams
from minqing.archive.store import Archive

BOOKS = [
    # book, cadre, township, village
    ("b-zhang", "张伟", "石桥镇", "河湾村"),
    ("b-li", "李明", "石桥镇", "杨树沟村"),
    ("b-wang", "王芳", "东关镇", "东关村"),
]
# (book, seq, date, category code, status, follow_up_of, text)
ENTRIES = [
    ("b-zhang", 1, "2024-03-04", 5, "recorded", None, "河湾村村民反映饮水难，自来水管老化。"),
    ("b-zhang", 2, "2024-03-13", 4, "in_progress", None, "两户因宅基地边界发生纠纷，已调解。"),
    (
        "b-zhang",
        3,
        "2024-03-20",
        5,
        "resolved",
        ("b-zhang", 1),
        "回访：自来水管已更换，饮水难解决。",
    ),
    ("b-zhang", 4, "2024-03-27", 7, "recorded", None, "村道垃圾堆放，准备组织清理。"),
    ("b-li", 1, "2024-03-05", 4, "escalated", None, "杨树沟村土地承包纠纷，已上报镇政府。"),
    ("b-li", 2, "2024-03-12", 5, "recorded", None, "低保户住房漏雨，申请危房改造。"),
    ("b-li", 3, "2024-03-28", 5, "explained", ("b-li", 2), "危房改造名额已满，已向村民解释。"),
    ("b-wang", 1, "2024-03-06", 1, "recorded", None, "合作社帮助农民增收，种植土地承包地。"),
]
CATEGORY_NAMES = {1: "农村经济发展", 4: "农村矛盾纠纷", 5: "群众关注的热点难点", 7: "村容村貌整治"}
STATUS_NAMES = {
    "recorded": "已记录",
    "in_progress": "办理中",
    "escalated": "已上报",
    "resolved": "已解决",
    "explained": "已解释",
}
WEEK_START, WEEK_END = dt.date(2024, 3, 4), dt.date(2024, 3, 31)  # ISO weeks 10–13


def build_small_archive(root: Path) -> Path:
    """An archive written directly with sqlite-utils (no OCR): 3 cadres, 4 weeks."""
    a = Archive(root, create=True)
    db = a.db
    with db.conn:
        for book, cadre, town, village in BOOKS:
            db["books"].insert(
                {
                    "book_id": book,
                    "cadre": cadre,
                    "township": town,
                    "village": village,
                    "source": book,
                    "created_at": now(),
                }
            )
        meta = {b[0]: b for b in BOOKS}
        rows = []
        for book, seq, date, code, status, parent, text in ENTRIES:
            eid = f"{book}:{seq:03d}"
            rows.append(
                {
                    "entry_id": eid,
                    "book_id": book,
                    "seq": seq,
                    "page_start": 1,
                    "page_end": 1,
                    "date": date,
                    "date_inferred": 0,
                    "month": date[:7],
                    "category_code": code,
                    "category": CATEGORY_NAMES[code],
                    "category_score": 1.0,
                    "category_evidence": "[]",
                    "category_confirmed": 0,
                    "status_code": status,
                    "status": STATUS_NAMES[status],
                    "status_confirmed": 0,
                    "follow_up_of": f"{parent[0]}:{parent[1]:03d}" if parent else None,
                    "matter_id": f"{parent[0]}:{parent[1]:03d}" if parent else eid,
                    "text": text,
                    "fields": "{}",
                    "line_ids": "[]",
                    "cadre": meta[book][1],
                    "township": meta[book][2],
                    "village": meta[book][3],
                    "classifier": "test",
                }
            )
        db["entries"].insert_all(rows)
        for r in db.query("select rowid, text from entries"):
            db.execute(
                "insert into entries_fts(rowid, bigrams) values (?, ?)",
                [r["rowid"], bigrams(r["text"])],
            )
        keywords.refresh_keywords(a, [b[0] for b in BOOKS])
    a.close()
    return root
