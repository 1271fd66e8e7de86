"""Data for the compiled-volume tests (not collected: no tests here): a small, realistic
archive (no OCR involved).

Three villages in two townships, four cadres, follow-up chains that cross the
period's boundaries, every status, a corrected line, an undated entry, and page
images with line boxes for ``--with-images``.
"""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from minqing.archive.schema import BOOKS, ENTRIES, LINES, LINKS, PAGES, entry_id
from minqing.archive.store import Archive
from minqing.classify.types import CATEGORIES, STATUSES

FONT = Path("/usr/share/fonts/truetype/lxgw-wenkai/LXGWWenKai-Regular.ttf")

BOOKS_ROWS = [
    # book_id, title, cadre, post, township, village
    ("ZJG-2024", "张建国民情日记（2024）", "张建国", "驻村第一书记", "石桥镇", "杨树沟村"),
    ("LXY-2024", "李秀英民情日记（2024）", "李秀英", "村党支部书记", "石桥镇", "河口村"),
    ("WZM-2024", "王志明民情日记（2024）", "王志明", "包村干部", "柳林乡", "王家庄村"),
    ("ZS-2024", "赵四民情日记（2024）", "赵四", "包村干部", "柳林乡", "王家庄村"),
    ("AAA-2024", "乡镇督办记录（2024）", "周明", "镇党委副书记", "石桥镇", "杨树沟村"),
]

# book, seq, page_start, page_end, date, category, status, parent (book, seq) or None, text, fields
ENTRY_ROWS = [
    (
        "ZJG-2024",
        1,
        1,
        1,
        "2024-06-12",
        5,
        "escalated",
        None,
        (
            "2024年6月12日，到杨树沟村三组走访，村民刘大娘反映组里自来水管冬天冻裂后一直没修，"
            "十几户人家靠挑水吃，饮水困难。初步分析管网老化，需镇水利站统一改造，已上报镇里。"
        ),
        {
            "place": "杨树沟村三组",
            "people": "刘大娘",
            "problem": "自来水管冻裂未修，饮水困难",
            "analysis": "管网老化，村里无力单独维修",
            "measures": "上报镇水利站统一改造",
        },
    ),
    (
        "ZJG-2024",
        2,
        2,
        2,
        "2024-07-03",
        4,
        "recorded",
        None,
        (
            "2024年7月3日，杨树沟村二组村民陈有福和邻居王老五因承包地边界发生争执，"
            "双方各执一词，情绪激动。经查看土地承包合同，边界记载不清，需要丈量确认。"
        ),
        {
            "place": "杨树沟村二组",
            "people": "陈有福、王老五",
            "problem": "承包地边界纠纷",
            "analysis": "承包合同边界记载不清",
            "measures": "请镇经管站丈量，召集双方调解",
        },
    ),
    (
        "ZJG-2024",
        3,
        2,
        3,
        "2024-07-10",
        5,
        "escalated",
        ("ZJG-2024", 1),
        "2024年7月10日，回访刘大娘饮水问题，镇水利站已来人查看，改造方案报县水务局审批。",
        {"result": "已报县水务局审批"},
    ),
    (
        "ZJG-2024",
        5,
        4,
        4,
        "2024-08-15",
        4,
        "resolved",
        ("ZJG-2024", 2),
        "2024年8月15日，陈有福和王老五边界纠纷经镇经管站丈量确认，双方在调解协议上签字，纠纷化解。",
        {"result": "丈量确认边界，双方签订调解协议"},
    ),
    (
        "ZJG-2024",
        6,
        5,
        5,
        "2024-10-08",
        5,
        "resolved",
        ("ZJG-2024", 1),
        "2024年10月8日，三组新自来水管铺设完成，刘大娘家已通水，群众满意。",
        {"result": "新管网通水"},
    ),
    (
        "ZJG-2024",
        7,
        5,
        5,
        "2024-09-23",
        6,
        "resolved",
        None,
        "2024年9月23日，组织杨树沟村移风易俗宣讲，党员带头签订红白喜事简办承诺书。",
        {"place": "杨树沟村村委会", "problem": "红白喜事大操大办", "result": "签订简办承诺书"},
    ),
    # a follow-up written in the township's supervision book (sorts before ZJG by book id)
    (
        "AAA-2024",
        1,
        1,
        1,
        "2024-07-20",
        4,
        "in_progress",
        ("ZJG-2024", 2),
        "2024年7月20日，镇综治办督办杨树沟村二组边界纠纷，约定8月中旬由经管站上门丈量。",
        {"result": "约定经管站上门丈量"},
    ),
    (
        "LXY-2024",
        1,
        1,
        1,
        "2024-08-05",
        7,
        "recorded",
        None,
        "2024年8月5日，河口村河堤边垃圾堆放较多，夏季异味大，群众意见较大，需要清运并设置垃圾收集点。",
        {"place": "河口村河堤", "problem": "河堤垃圾堆放", "measures": "组织清运，设置收集点"},
    ),
    (
        "LXY-2024",
        2,
        2,
        2,
        "2024-09-02",
        3,
        "explained",
        None,
        "2024年9月2日，村民孙某要求公开上半年村级财务开支明细，已在村务公开栏张贴，并当面解释招待费支出。",
        {"people": "孙某", "problem": "要求公开村级财务", "result": "已公开并解释"},
    ),
    (
        "LXY-2024",
        3,
        3,
        3,
        "2024-09-20",
        3,
        "explained",
        ("LXY-2024", 2),
        "2024年9月20日，回访孙某，对村务公开情况表示理解，不再有意见。",
        {"result": "群众表示理解"},
    ),
    (
        "LXY-2024",
        4,
        3,
        3,
        None,
        8,
        "recorded",
        None,
        "河口村老年活动室屋顶漏雨，需要修缮。",
        {"problem": "活动室漏雨"},
    ),
    (
        "WZM-2024",
        1,
        1,
        1,
        "2024-07-15",
        1,
        "in_progress",
        None,
        "2024年7月15日，王家庄村种植大户反映今年葡萄滞销，已联系县农业农村局对接电商平台。",
        {"place": "王家庄村", "problem": "葡萄滞销", "measures": "对接电商平台"},
    ),
    (
        "WZM-2024",
        2,
        2,
        2,
        "2024-09-29",
        5,
        "recorded",
        None,
        "2024年9月29日，五保户周老汉申请低保，材料不全，已告知补齐户口本和收入证明。",
        {"people": "周老汉", "problem": "申请低保材料不全"},
    ),
    (
        "WZM-2024",
        3,
        2,
        2,
        "2024-10-05",
        5,
        "in_progress",
        ("WZM-2024", 2),
        "2024年10月5日，周老汉低保材料已补齐，报乡民政办审核。",
        {"result": "报乡民政办审核"},
    ),
    (
        "ZS-2024",
        1,
        1,
        1,
        "2024-05-06",
        2,
        "resolved",
        None,
        "2024年5月6日，王家庄村召开党员大会，发展预备党员一名。",
        {"result": "发展预备党员一名"},
    ),
    (
        "ZS-2024",
        2,
        1,
        1,
        "2024-11-11",
        2,
        "recorded",
        None,
        "2024年11月11日，王家庄村组织党员学习，部分党员无故缺席。",
        {"problem": "党员缺席学习"},
    ),
]

#: The text a reviewer corrected (the machine read 王老五 as 王老无).
CORRECTED = ("ZJG-2024", 2)


def eid(book: str, seq: int) -> str:
    return entry_id(book, seq)


def _page_image(text: str) -> bytes:
    img = Image.new("RGB", (900, 1200), (250, 247, 238))
    draw = ImageDraw.Draw(img)
    font = ImageFont.truetype(str(FONT), 34) if FONT.exists() else ImageFont.load_default()
    y = 80
    for i in range(0, len(text), 22):
        draw.text((60, y), text[i : i + 22], fill=(30, 30, 60), font=font)
        y += 56
    import io

    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def build_archive(root: Path, *, images: bool = True) -> Archive:
    """Create the archive at ``root`` and return it open."""
    archive = Archive(root, create=True)
    db = archive.db
    db[BOOKS].insert_all(
        [
            {
                "book_id": b,
                "title": t,
                "cadre": c,
                "post": p,
                "township": tw,
                "village": v,
                "period": "2024",
                "source": f"scans/{b}",
            }
            for b, t, c, p, tw, v in BOOKS_ROWS
        ]
    )
    book_meta = {b: (c, tw, v) for b, _t, c, _p, tw, v in BOOKS_ROWS}
    rows, links, pages, lines = [], [], {}, []
    parent_of = {(r[0], r[1]): r[7] for r in ENTRY_ROWS}

    def root_of(key: tuple[str, int]) -> tuple[str, int]:
        while parent_of.get(key):
            key = parent_of[key]  # type: ignore[assignment]
        return key

    for book, seq, p0, p1, date, cat, status, parent, text, fields in ENTRY_ROWS:
        cadre, township, village = book_meta[book]
        this = eid(book, seq)
        rows.append(
            {
                "entry_id": this,
                "book_id": book,
                "seq": seq,
                "page_start": p0,
                "page_end": p1,
                "date": date,
                "date_inferred": 0,
                "month": date[:7] if date else None,
                "category_code": cat,
                "category": CATEGORIES[cat],
                "category_score": 0.8,
                "category_evidence": "[]",
                "category_confirmed": 0,
                "status_code": status,
                "status": STATUSES[status],
                "status_confirmed": 0,
                "follow_up_of": eid(*parent) if parent else None,
                "matter_id": eid(*root_of((book, seq))),
                "text": text,
                "fields": json.dumps(fields, ensure_ascii=False),
                "line_ids": "[]",
                "cadre": cadre,
                "township": township,
                "village": village,
                "classifier": "test",
            }
        )
        if parent:
            links.append(
                {
                    "child": this,
                    "parent": eid(*parent),
                    "score": 0.9,
                    "evidence": "[]",
                    "confirmed": 1,
                }
            )
        for page_no in range(p0, p1 + 1):
            pages.setdefault((book, page_no), []).append(this)
    db[ENTRIES].insert_all(rows)
    db[LINKS].insert_all(links)
    texts = {eid(r[0], r[1]): r[8] for r in ENTRY_ROWS}
    for (book, page_no), entries in sorted(pages.items()):
        page_text = "".join(texts[e] for e in entries)
        if images:
            rel, digest = archive.store_blob(_page_image(page_text), ".png")
        else:
            rel, digest = f"images/missing/{book}-{page_no}.png", "0" * 64
        pid = f"{book}/{page_no}"
        db[PAGES].insert(
            {
                "page_id": pid,
                "book_id": book,
                "page_no": page_no,
                "image": rel,
                "original": rel,
                "sha256": digest,
                "width": 900,
                "height": 1200,
                "needs_rescan": 0,
            }
        )
        for i, e in enumerate(entries):
            text = texts[e]
            corrected = e == eid(*CORRECTED)
            lines.append(
                {
                    "line_id": f"{pid}/{i}",
                    "page_id": pid,
                    "book_id": book,
                    "page_no": page_no,
                    "line_no": i,
                    "text": text,
                    "machine_text": text.replace("王老五", "王老无") if corrected else text,
                    "raw_text": text,
                    "box": "[]",
                    "x0": 60.0,
                    "y0": 80.0 + 300 * i,
                    "x1": 840.0,
                    "y1": 80.0 + 300 * i + 280,
                    "confidence": 0.9,
                    "corrected": int(corrected),
                    "corrected_text": text if corrected else None,
                    "entry_id": e,
                }
            )
    db[LINES].insert_all(lines)
    db.conn.commit()
    return archive
