"""Benchmark: the web archive at scale (issue 6 asks for 1,000,000 entries).

Builds a synthetic archive (text recombined from realistic diary phrases; 100
townships, 2,000 villages, 20,000 cadres with skewed activity, 2 years, follow-up
chains and every status; pages and lines with a page image for a subset of books),
written with executemany in big transactions and the bigram FTS built in one pass.
Then serves it with the real ``minqing serve`` on a free port and measures over
HTTP, p50/p95 of N requests each: search for a 2-character word, a 4-character
compound and a name (searches with more hits than the plugin's ``facet_hit_limit``,
20,000, skip their facets: see ``datasette/plugins/minqing_web.py``); filter + 2 facets; an
entry page; the canned queries.

    .venv/bin/python -m benchmarks.archive --entries 50000
    .venv/bin/python -m benchmarks.archive                    # 1,000,000 (many minutes)
    .venv/bin/python -m benchmarks.archive --reuse            # measure an archive built before

Reports database size, build time, the machine and the command.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter, defaultdict
from pathlib import Path

import sqlite_utils

from benchmarks._common import command_line, machine
from minqing.archive import keywords, schema
from minqing.archive.search import bigrams
from minqing.archive.store import Archive, store_blob
from minqing.classify.types import CATEGORIES, STATUSES

REPO = Path(__file__).resolve().parents[1]

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程"
GIVEN = "桂兰秀英建国志强玉梅德福春生海燕明华永红丽娟金凤小军文斌淑珍国庆红梅卫东晓燕"
TOWN_WORDS = "石桥东关西河南山北坪柳林黄土青龙白马双河新华长岭桃园清水平安高峰金沙"
VILLAGE_SUFFIX = ["村", "村", "村", "社区"]
PLACE_WORDS = "杨树沟河湾槐树坪李家庄王家洼马鞍山柳树湾石门坎大坪上小河口"

# realistic phrases per category (guideline section 三(二)); {name} {place} get filled
PHRASES = {
    1: [
        "{name}家想发展食用菌种植，缺少技术和启动资金，希望村里帮助联系合作社。",
        "村集体经济收入少，两委商量盘活闲置校舍，办农产品加工点。",
        "{place}的茶叶今年丰收但销路不畅，群众希望通过电商平台销售。",
        "农民增收渠道单一，计划组织外出务工培训，帮助劳动力转移就业。",
    ],
    2: [
        "村两委班子开会研究发展新党员工作，{name}递交了入党申请书。",
        "党员教育管理不够经常，准备每月组织一次党员学习活动。",
        "村支部书记年龄偏大，需要培养后备干部，群众推荐{name}。",
    ],
    3: [
        "村务公开栏内容没有及时更新，群众对财务收支有疑问，要求公开明细。",
        "民主理财小组审核了上季度账目，{name}提出招待费偏高。",
        "村民自治章程修订征求意见，{place}组群众提出增加红白喜事条款。",
    ],
    4: [
        "{name}与邻居因土地承包边界发生纠纷，双方争执不下，要求村里调解。",
        "{place}组征地补偿费分配有分歧，部分村民认为分配不公。",
        "天旱用水紧张，上下游两个组因灌溉用水发生争吵，需要协调放水时间。",
        "{name}家和{name2}家因宅基地排水沟堵塞吵了起来，到现场察看后组织疏通。",
    ],
    5: [
        "{place}组自来水管老化，十几户人家饮水难，希望尽快维修更换。",
        "{name}家庭困难，丈夫病故，孩子上学，申请低保，材料已上报镇民政办。",
        "村道年久失修，雨天泥泞，行路难问题突出，群众要求硬化路面。",
        "{name}老人看病难，去县医院路远，希望村卫生室增加常用药。",
        "夜间有人偷盗耕牛，社会治安问题引起群众担忧，已报派出所。",
        "{name}住房漏雨成危房，申请危房改造，已入户核实情况属实。",
    ],
    6: [
        "村里红白喜事大操大办，互相攀比，群众负担重，准备修订村规民约，移风易俗。",
        "农家书屋图书陈旧，群众希望增加种植养殖技术书籍。",
        "组织开展文明户评选活动，{name}家被推荐为文明家庭。",
    ],
    7: [
        "{place}河边垃圾堆放较多，夏季异味大，需要组织清运并设置收集点。",
        "改厕改圈工作推进慢，部分农户有顾虑，入户宣传四通五改政策。",
        "村口乱搭乱建影响村容村貌，已通知限期拆除，美化环境。",
    ],
    8: [
        "{name}的身份证丢失，腿脚不便，联系便民服务中心上门代办。",
        "召开村民小组会议，传达镇里关于秋季防火的通知。",
    ],
}
FOLLOW_UP = ["回访{name}家，", "再次到{place}了解情况，", "跟踪落实，", "电话回访，"]
RESULTS = {
    "resolved": "问题已经解决，群众表示满意。",
    "explained": "因政策限制暂时无法解决，已向群众耐心解释，群众表示理解。",
    "escalated": "村里无法解决，已上报镇政府协调处理。",
    "in_progress": "正在协调办理中，下周再跟踪。",
    "recorded": "",
}
STATUS_WEIGHTS = {
    "recorded": 35,
    "in_progress": 15,
    "escalated": 10,
    "resolved": 30,
    "explained": 10,
}
CATEGORY_WEIGHTS = {1: 12, 2: 6, 3: 10, 4: 20, 5: 30, 6: 8, 7: 9, 8: 5}
NAME_QUERY = "孙桂兰"  # a name the generator uses for a fixed share of entries

#: entry id -> its matter (root entry) id, filled while building
matter_of: dict[str, str] = {}

START = dt.date(2023, 1, 2)
DAYS = 728  # two years


def _name(rnd: random.Random) -> str:
    return rnd.choice(SURNAMES) + "".join(rnd.sample(GIVEN, rnd.choice((1, 2))))


def build(
    root: Path,
    n_entries: int,
    *,
    n_towns: int = 100,
    n_villages: int = 2000,
    n_cadres: int = 20000,
    page_books: int = 400,
    seed: int = 6,
) -> dict:
    """Write the synthetic archive; returns build statistics."""
    t0 = time.perf_counter()
    rnd = random.Random(seed)
    a = Archive(root, create=True)
    db_path = a.db_path
    a.close()
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("PRAGMA cache_size = -400000")
    # drop the secondary indexes while loading; they are recreated (same SQL) at the end
    indexes = conn.execute(
        "select name, sql from sqlite_master where type = 'index' and sql is not null"
    ).fetchall()
    for name, _ in indexes:
        conn.execute(f"DROP INDEX {name}")
    # and the triggers that keep matters / cadre_days (issue 16): refilled in one pass at
    # the end, then recreated (same SQL), as an ingest would have left them
    triggers = conn.execute("select name, sql from sqlite_master where type = 'trigger'").fetchall()
    for name, _ in triggers:
        conn.execute(f"DROP TRIGGER {name}")
    towns = []
    for i in range(n_towns):
        towns.append(
            "".join(rnd.sample(TOWN_WORDS, 2)) + ("镇" if i % 4 else "乡") + f"{i:02d}"
            if i >= 30
            else "".join(rnd.sample(TOWN_WORDS, 2)) + "镇"
        )
    towns = list(dict.fromkeys(towns))
    villages = []
    for i in range(n_villages):
        villages.append(
            (
                towns[i % len(towns)],
                "".join(rnd.sample(PLACE_WORDS, 2)) + rnd.choice(VILLAGE_SUFFIX) + str(i),
            )
        )
    books = []
    weights = []
    for i in range(n_cadres):
        town, village = villages[i % len(villages)]
        cadre = _name(rnd) + f"{i}"
        books.append(
            {
                "book_id": f"bk{i:05d}",
                "title": f"{cadre}民情日记",
                "cadre": cadre,
                "post": rnd.choice(["村支书", "村主任", "驻村干部", "乡镇干部"]),
                "township": town,
                "village": village,
                "period": "2023–2024",
                "source": f"scans/bk{i:05d}",
                "created_at": "2025-01-01T00:00:00+00:00",
            }
        )
        weights.append(rnd.lognormvariate(0, 0.8))  # skewed: some cadres write far more
    conn.execute("BEGIN")
    conn.executemany(
        "insert into books (book_id, title, cadre, post, township, village, period, source, "
        "created_at) values (:book_id, :title, :cadre, :post, :township, :village, "
        ":period, :source, :created_at)",
        books,
    )
    # entries per book: a multinomial draw over the skewed weights (some cadres write
    # nothing at all: they show up in the missing-weeks query)
    counts = Counter(rnd.choices(range(len(books)), weights, k=n_entries))
    per_book = [counts.get(i, 0) for i in range(len(books))]
    cats = list(CATEGORY_WEIGHTS)
    cat_w = list(CATEGORY_WEIGHTS.values())
    stats = list(STATUS_WEIGHTS)
    stat_w = list(STATUS_WEIGHTS.values())
    kw_cache: dict[str, Counter] = {}
    keyword_rows: list[tuple] = []
    page_rows: list[tuple] = []
    line_rows: list[tuple] = []
    image_rel = _page_image(root)
    written = 0
    rowid = 0
    batch: list[tuple] = []
    fts: list[tuple] = []

    def flush() -> None:
        conn.executemany(
            "insert into entries (rowid, entry_id, book_id, seq, page_start, page_end, date, "
            "date_inferred, month, category_code, category, category_score, category_evidence, "
            "category_confirmed, status_code, status, status_confirmed, follow_up_of, "
            "matter_id, text, fields, line_ids, cadre, township, village, classifier) values "
            "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            batch,
        )
        conn.executemany("insert into entries_fts(rowid, bigrams) values (?, ?)", fts)
        batch.clear()
        fts.clear()

    for b_index, (book, n) in enumerate(zip(books, per_book, strict=True)):
        dates = sorted(START + dt.timedelta(days=rnd.randrange(DAYS)) for _ in range(n))
        open_matters: list[tuple[str, int, str]] = []  # (entry_id, category, name)
        kw: dict[str, Counter] = defaultdict(Counter)
        with_pages = b_index < page_books
        for seq, date in enumerate(dates, 1):
            eid = f"{book['book_id']}:{seq:03d}"
            status = rnd.choices(stats, stat_w)[0]
            name = NAME_QUERY if rnd.random() < 0.002 else _name(rnd)
            place = rnd.choice(PLACE_WORDS[:3] + PLACE_WORDS[3:6]) + rnd.choice("一二三四五") + "组"
            if open_matters and rnd.random() < 0.2:
                parent, cat, name = open_matters.pop(rnd.randrange(len(open_matters)))
                root_id = matter_of[parent]
                templates = [rnd.choice(FOLLOW_UP)]
                follow = parent
            else:
                cat = rnd.choices(cats, cat_w)[0]
                follow, root_id = None, eid
                templates = rnd.sample(PHRASES[cat], min(2, len(PHRASES[cat])))
                templates.append(rnd.choice(PHRASES[rnd.choice(cats)]))
            templates.append(RESULTS[status])
            phrases = [t.format(name=name, name2=_name(rnd), place=place) for t in templates]
            matter_of[eid] = root_id
            if status not in ("resolved", "explained"):
                open_matters.append((eid, cat, name))
            head = f"{date.year}年{date.month}月{date.day}日，"
            text = head + "".join(phrases)
            # keywords of the phrase templates (names and places are not topics), computed
            # once per template: jieba over 1M texts would dominate the build
            for t in templates:
                c = kw_cache.get(t)
                if c is None:
                    c = kw_cache[t] = keywords.keywords_of(re.sub(r"\{\w+\}", "，", t))
                kw[date.strftime("%Y-%m")].update(c)
            rowid += 1
            page_no = (seq + 2) // 3
            line_ids = []
            if with_pages:
                pid = f"{book['book_id']}/{page_no}"
                if (seq - 1) % 3 == 0:
                    page_rows.append(
                        (
                            pid,
                            book["book_id"],
                            page_no,
                            image_rel,
                            image_rel,
                            "0" * 64,
                            "0" * 64,
                            1240,
                            1754,
                            "scan.jpg",
                            page_no - 1,
                            "[]",
                            "{}",
                            0,
                            "bench",
                            0.0,
                            "bench",
                            "2025-01-01",
                        )
                    )
                top = 80 + ((seq - 1) % 3) * 540
                for ln in range(0, len(text), 18):
                    n_line = len(line_ids) + ((seq - 1) % 3) * 30
                    lid = f"{pid}/{n_line}"
                    y0 = top + len(line_ids) * 50
                    line_rows.append(
                        (
                            lid,
                            pid,
                            book["book_id"],
                            page_no,
                            n_line,
                            text[ln : ln + 18],
                            text[ln : ln + 18],
                            text[ln : ln + 18],
                            "[]",
                            90.0,
                            y0,
                            1150.0,
                            y0 + 42,
                            0.95,
                            0,
                            None,
                            eid,
                        )
                    )
                    line_ids.append(lid)
            batch.append(
                (
                    rowid,
                    eid,
                    book["book_id"],
                    seq,
                    page_no,
                    page_no,
                    date.isoformat(),
                    0,
                    date.strftime("%Y-%m"),
                    cat,
                    CATEGORIES[cat],
                    0.8,
                    "[]",
                    0,
                    status,
                    STATUSES[status],
                    0,
                    follow,
                    root_id,
                    text,
                    json.dumps({"place": book["village"]}, ensure_ascii=False),
                    json.dumps(line_ids),
                    book["cadre"],
                    book["township"],
                    book["village"],
                    "bench",
                )
            )
            fts.append((rowid, bigrams(text)))
            written += 1
            if len(batch) >= 20000:
                flush()
        for month, counts in kw.items():
            for word, c in counts.most_common(30):
                keyword_rows.append((book["book_id"], month, book["township"], word, c))
    flush()
    conn.executemany(
        "insert into keywords (book_id, month, township, word, n) values (?,?,?,?,?)", keyword_rows
    )
    conn.executemany(
        "insert into pages (page_id, book_id, page_no, image, original, sha256, "
        "original_sha256, width, height, source_file, index_in_source, transforms, "
        "quality_flags, needs_rescan, ocr_engine, ocr_seconds, ingest_version, created_at) "
        "values (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        page_rows,
    )
    conn.executemany(
        "insert into lines (line_id, page_id, book_id, page_no, line_no, text, machine_text, "
        "raw_text, box, x0, y0, x1, y1, confidence, corrected, corrected_text, entry_id) "
        "values (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        line_rows,
    )
    conn.executemany(
        "insert into lines_fts(rowid, bigrams) select rowid, ? from lines where line_id = ?",
        [(bigrams(r[5]), r[0]) for r in line_rows],
    )
    for _, sql in indexes:
        conn.execute(sql)
    t_derived = time.perf_counter()
    schema.refill_derived(sqlite_utils.Database(conn))
    schema.refill_topics(sqlite_utils.Database(conn))
    t_derived = time.perf_counter() - t_derived
    for _, sql in triggers:
        conn.execute(sql)
    conn.execute("COMMIT")
    t_rows = time.perf_counter() - t0
    conn.close()
    db = Archive(root, write=True)
    db.db.execute("ANALYZE")
    db.db.execute("INSERT INTO entries_fts(entries_fts) VALUES('optimize')")
    db.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return {
        "entries": written,
        "books": len(books),
        "pages": len(page_rows),
        "lines": len(line_rows),
        "seconds_rows": round(t_rows, 1),
        "seconds_matters_refill": round(t_derived, 1),
        "seconds_total": round(time.perf_counter() - t0, 1),
    }


def _page_image(root: Path) -> str:
    """One synthetic page image shared by every benchmark page (content-addressed)."""
    from io import BytesIO

    from PIL import Image, ImageDraw

    im = Image.new("RGB", (1240, 1754), "white")
    d = ImageDraw.Draw(im)
    for y in range(80, 1700, 50):
        d.line((80, y + 44, 1160, y + 44), fill=(180, 200, 230), width=2)
    buf = BytesIO()
    im.save(buf, "JPEG", quality=70)
    rel, _ = store_blob(root, buf.getvalue(), ".jpg")
    return rel


# -- measuring ---------------------------------------------------------------------------------


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> tuple[int, float, int]:
    t = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=120) as resp:
            body = resp.read()
            status = resp.status
    except urllib.error.HTTPError as e:
        body, status = e.read(), e.code
    return status, (time.perf_counter() - t) * 1000, len(body)


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    k = max(0, min(len(xs) - 1, round(p / 100 * (len(xs) - 1))))
    return xs[k]


def before_config(tmp: Path) -> Path:
    """A copy of datasette/ whose canned queries are the ones before issue 16
    (``benchmarks/canned_before_issue16.yaml``: over the matters view, ``entries`` and
    ``keywords``, not ``cadre_days`` and ``topics``)."""
    import shutil

    import yaml

    from minqing.paths import datasette_dir

    dest = tmp / "datasette-before"
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(datasette_dir(), dest)
    meta = yaml.safe_load((dest / "metadata.yaml").read_text(encoding="utf-8"))
    old = yaml.safe_load(
        (Path(__file__).parent / "canned_before_issue16.yaml").read_text(encoding="utf-8")
    )
    for name, q in old.items():
        meta["databases"]["archive"]["queries"][name]["sql"] = q["sql"]
    (dest / "metadata.yaml").write_text(
        yaml.safe_dump(meta, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    return dest


def matters_as_view(root: Path, on: bool) -> None:
    """Swap the maintained ``matters`` table for the view it replaced (``on``), or back."""
    conn = sqlite3.connect(root / "archive.db", isolation_level=None)
    try:
        swapped = conn.execute(
            "select 1 from sqlite_master where name = '_matters_maintained'"
        ).fetchone()
        if bool(swapped) == on:  # already so (an interrupted run left it swapped)
            return
        if on:
            conn.execute("BEGIN")
            conn.execute("ALTER TABLE matters RENAME TO _matters_maintained")
            conn.execute(schema.MATTERS_VIEW_SQL.strip())
            conn.execute("COMMIT")
        else:
            conn.execute("BEGIN")
            conn.execute("DROP VIEW IF EXISTS matters")
            conn.execute("ALTER TABLE _matters_maintained RENAME TO matters")
            conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


def measure(
    root: Path, n: int, *, only: str = "", extra_env: dict[str, str] | None = None
) -> list[dict]:
    db = sqlite3.connect(root / "archive.db")
    entry_ids = [
        r[0]
        for r in db.execute(
            "select entry_id from entries where line_ids != '[]' order by random() limit ?", [n]
        )
    ]
    town, _village = db.execute(
        "select township, village from entries where rowid = (select max(rowid)/2 from entries)"
    ).fetchone()
    db.close()
    port = _free_port()
    env = {**os.environ, **(extra_env or {})}
    proc = subprocess.Popen(
        [sys.executable, "-m", "minqing", "serve", "--archive", str(root), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(base + "/-/versions.json", timeout=5)
            break
        except OSError:
            if proc.poll() is not None:
                err = proc.stderr.read() if proc.stderr else ""
                raise SystemExit(f"server exited: {err}") from None
            time.sleep(0.3)
    enc = urllib.parse.urlencode
    cases = [
        (
            "search 2-char word 饮水 (HTML; >facet_hit_limit hits: no facets)",
            lambda i: f"/archive/entries?{enc({'_search': '饮水'})}",
        ),
        (
            "search 4-char compound 土地承包 (HTML; >limit: no facets)",
            lambda i: f"/archive/entries?{enc({'_search': '土地承包'})}",
        ),
        (
            f"search name {NAME_QUERY} (HTML)",
            lambda i: f"/archive/entries?{enc({'_search': NAME_QUERY})}",
        ),
        ("search-all /-/search 饮水", lambda i: f"/-/search?{enc({'q': '饮水'})}"),
        (
            "filter township + facets category, status (JSON; + the 6 default facets)",
            lambda i: (
                "/archive/entries.json?"
                + enc([("township", town), ("_facet", "category"), ("_facet", "status")])
            ),
        ),
        (
            "filter township + facets (HTML page, default facets)",
            lambda i: f"/archive/entries?{enc({'township': town})}",
        ),
        (
            "entry page",
            lambda i: (
                "/-/entry/"
                + urllib.parse.quote(entry_ids[i % len(entry_ids)])
                + "?"
                + enc({"q": "饮水"})
            ),
        ),
        (
            "page image",
            lambda i: (
                "/-/page-image/"
                + urllib.parse.quote(entry_ids[i % len(entry_ids)].split(":")[0] + "/1")
            ),
        ),
        (
            "canned: open matters > 90 days",
            lambda i: (
                f"/archive/open_matters.json?{enc({'天数': '90', '截至日期': '', '乡镇': town})}"
            ),
        ),
        (
            "canned: escalated matters",
            lambda i: f"/archive/escalated_matters.json?{enc({'乡镇': town})}",
        ),
        (
            "canned: cadre missing weeks (12 weeks)",
            lambda i: (
                "/archive/cadre_missing_weeks.json?"
                + enc({"起始日期": "", "截止日期": "", "最少条数": "", "乡镇": ""})
            ),
        ),
        (
            "canned: cadre weekly counts (one township, 12 weeks)",
            lambda i: (
                "/archive/cadre_weekly_counts.json?"
                + enc({"起始日期": "", "截止日期": "", "干部": "", "乡镇": town})
            ),
        ),
        (
            "canned: hot topics (latest month)",
            lambda i: f"/archive/hot_topics.json?{enc({'月份': '', '乡镇': ''})}",
        ),
        (
            "canned: hot topics per township (latest month)",
            lambda i: f"/archive/hot_topics_by_township.json?{enc({'月份': ''})}",
        ),
        (
            "canned: matters per category and village (one township)",
            lambda i: (
                "/archive/matters_by_category_village.json?"
                + enc({"乡镇": town, "起始月份": "", "截止月份": ""})
            ),
        ),
    ]
    results = []
    cases = [c for c in cases if c[0].startswith(only)]
    try:
        for label, make in cases:
            for i in range(2):  # warm-up
                _get(base + make(i))
            times, statuses = [], Counter()
            for i in range(n):
                status, ms, _ = _get(base + make(i))
                times.append(ms)
                statuses[status] += 1
            results.append(
                {
                    "case": label,
                    "p50_ms": round(statistics.median(times), 1),
                    "p95_ms": round(pct(times, 95), 1),
                    "n": n,
                    "statuses": dict(statuses),
                    "example": make(0),
                }
            )
            print(
                f"{label:58s} p50 {results[-1]['p50_ms']:8.1f} ms  p95 "
                f"{results[-1]['p95_ms']:8.1f} ms  {dict(statuses)}",
                flush=True,
            )
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--entries", type=int, default=1_000_000)
    ap.add_argument(
        "--out",
        type=Path,
        default=None,
        help="archive folder (default: a folder in the temp dir named by size)",
    )
    ap.add_argument("--reuse", action="store_true", help="measure an archive built before")
    ap.add_argument("--requests", type=int, default=30, help="requests per case")
    ap.add_argument(
        "--build-only",
        action="store_true",
        help="build the archive and stop (measure it later with --reuse on a quiet machine)",
    )
    ap.add_argument("--json", type=Path, help="also write the results here")
    ap.add_argument(
        "--no-before",
        action="store_true",
        help="skip the canned queries as they were before issue 16 (the matters view, "
        "the weekly queries over entries), measured first in the same run",
    )
    args = ap.parse_args()
    root = args.out or Path(tempfile.gettempdir()) / f"minqing-bench-{args.entries}"
    print(f"machine: {machine()}\ncommand: {command_line()}", flush=True)
    build_stats = None
    if not (args.reuse and (root / "archive.db").exists()):
        if root.exists():
            import shutil

            shutil.rmtree(root)
        build_stats = build(root, args.entries)
        print(f"build: {build_stats}", flush=True)
    size = sum(f.stat().st_size for f in root.glob("archive.db*"))
    print(f"database: {root / 'archive.db'} {size / 2**20:.0f} MiB", flush=True)
    if args.build_only:
        return
    before: list[dict] = []
    if not args.no_before:
        print("-- before (issue 16): matters as a view, canned queries as they were", flush=True)
        matters_as_view(root, True)
        try:
            before = measure(
                root,
                args.requests,
                only="canned",
                extra_env={"MINQING_DATASETTE_DIR": str(before_config(root.parent))},
            )
        finally:
            matters_as_view(root, False)
        print("-- now: maintained matters, cadre_days, topics", flush=True)
    results = measure(root, args.requests)
    if before:
        now = {r["case"]: r for r in results}
        print("\ncanned query before -> now (p50 / p95 ms):", flush=True)
        for b in before:
            a = now[b["case"]]
            print(
                f"  {b['case']:58s} {b['p50_ms']:8.1f} / {b['p95_ms']:8.1f}  ->  "
                f"{a['p50_ms']:8.1f} / {a['p95_ms']:8.1f}",
                flush=True,
            )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "machine": machine(),
                    "command": command_line(),
                    "build": build_stats,
                    "db_mib": round(size / 2**20),
                    "results": results,
                    "before": before,
                },
                ensure_ascii=False,
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
