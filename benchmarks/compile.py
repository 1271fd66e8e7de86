"""Benchmark: compile a volume of N entries (issue 8 asks ≤ 60 s and bounded memory at 10,000).

Builds a synthetic archive with sqlite-utils (townships, villages, cadres, follow-up
chains, every status; no OCR), then runs ``compile_volume`` in a fresh process and
reports wall time and peak RSS, with the machine and the command.

    .venv/bin/python -m benchmarks.compile                  # 10,000 entries in the period
    .venv/bin/python -m benchmarks.compile --entries 2000 --repeat 3
    .venv/bin/python -m benchmarks.compile --with-images    # thumbnails too (1 page per entry)
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._common import command_line, machine
from minqing.archive.schema import BOOKS, ENTRIES, LINES, PAGES
from minqing.archive.store import Archive
from minqing.classify.types import CATEGORIES, STATUSES

REPO = Path(__file__).resolve().parents[1]

PHRASES = [
    "村民反映承包地边界不清，与邻居发生争执，情绪激动，要求村里出面调解。",
    "组里自来水管老化漏水，十几户人家吃水困难，希望尽快维修。",
    "低保户申请材料不全，已告知补齐户口本和收入证明，报乡民政办审核。",
    "村道年久失修，雨天泥泞，学生上学不便，群众要求硬化路面。",
    "河堤边垃圾堆放较多，夏季异味大，需要组织清运并设置收集点。",
    "要求公开村级财务开支明细，已在村务公开栏张贴并当面解释。",
    "种植大户反映农产品滞销，已联系县农业农村局对接电商平台。",
    "组织党员学习，部分党员无故缺席，需加强党员教育管理。",
    "红白喜事大操大办，组织移风易俗宣讲，党员带头签订承诺书。",
    "征地补偿费分配有争议，部分村民认为分配方案不公平。",
]


def build(root: Path, n_entries: int, *, with_images: bool, seed: int = 7) -> None:
    """A synthetic archive with ``n_entries`` dated in 2024Q3 (plus some context before)."""
    rnd = random.Random(seed)
    archive = Archive(root, create=True)
    db = archive.db
    towns = [f"{name}镇" for name in ("石桥", "柳林", "青山", "河东", "长岭")]
    villages = [(t, f"{t[:2]}{i}村") for t in towns for i in range(1, 9)]  # 40 villages
    books = []
    for i, (town, village) in enumerate(villages * 3):  # 120 cadres
        books.append(
            {
                "book_id": f"B{i:03d}",
                "title": f"干部{i:03d}民情日记（2024）",
                "cadre": f"干部{i:03d}",
                "post": "包村干部",
                "township": town,
                "village": village,
                "period": "2024",
                "source": f"scans/B{i:03d}",
            }
        )
    db[BOOKS].insert_all(books)
    image_rel = None
    if with_images:
        from PIL import Image, ImageDraw

        img = Image.new("L", (1200, 1600), 245)
        d = ImageDraw.Draw(img)
        for y in range(100, 1500, 60):
            d.line((80, y, 1100, y + rnd.randint(-3, 3)), fill=40, width=3)
        import io

        buf = io.BytesIO()
        img.save(buf, "PNG")
        image_rel, _ = archive.store_blob(buf.getvalue(), ".png")
    start = dt.date(2024, 7, 1)
    rows, pages, lines = [], [], []
    seq = {b["book_id"]: 0 for b in books}
    roots: list[dict] = []
    n_context = n_entries // 20
    total = n_entries + n_context
    for k in range(total):
        book = rnd.choice(books)
        bid = book["book_id"]
        seq[bid] += 1
        s = seq[bid]
        if k < n_context:
            date = dt.date(2024, 6, 1) + dt.timedelta(days=rnd.randrange(30))
        else:
            date = start + dt.timedelta(days=rnd.randrange(92))
        follow = roots and rnd.random() < 0.3
        parent = rnd.choice(roots) if follow else None
        if parent and parent["date"] > date.isoformat():
            parent = None
        status = rnd.choice(list(STATUSES))
        cat = parent["category_code"] if parent else rnd.randint(1, 8)
        eid = f"{bid}:{s:03d}"
        text = f"{date.year}年{date.month}月{date.day}日，" + "".join(rnd.sample(PHRASES, 3))
        row = {
            "entry_id": eid,
            "book_id": bid,
            "seq": s,
            "page_start": s,
            "page_end": s,
            "date": date.isoformat(),
            "date_inferred": 0,
            "month": date.isoformat()[:7],
            "category_code": cat,
            "category": CATEGORIES[cat],
            "category_score": 0.7,
            "category_evidence": "[]",
            "category_confirmed": 0,
            "status_code": status,
            "status": STATUSES[status],
            "status_confirmed": 0,
            "follow_up_of": parent["entry_id"] if parent else None,
            "matter_id": parent["matter_id"] if parent else eid,
            "text": text,
            "fields": json.dumps(
                {
                    "place": book["village"],
                    "problem": PHRASES[cat % 10][:16],
                    "result": "已办理" if follow else "",
                },
                ensure_ascii=False,
            ),
            "line_ids": "[]",
            "cadre": book["cadre"],
            "township": book["township"],
            "village": book["village"],
            "classifier": "bench",
        }
        rows.append(row)
        if not parent:
            roots.append(row)
        if with_images:
            pid = f"{bid}/{s}"
            pages.append(
                {
                    "page_id": pid,
                    "book_id": bid,
                    "page_no": s,
                    "image": image_rel,
                    "original": image_rel,
                    "width": 1200,
                    "height": 1600,
                }
            )
            lines.append(
                {
                    "line_id": f"{pid}/0",
                    "page_id": pid,
                    "book_id": bid,
                    "page_no": s,
                    "line_no": 0,
                    "text": text,
                    "x0": 80.0,
                    "y0": 100.0,
                    "x1": 1100.0,
                    "y1": 700.0,
                    "confidence": 0.9,
                    "entry_id": eid,
                }
            )
    db[ENTRIES].insert_all(rows, batch_size=1000)
    if pages:
        db[PAGES].insert_all(pages, batch_size=1000)
        db[LINES].insert_all(lines, batch_size=1000)
    db.conn.commit()
    archive.close()


def run_once(root: Path, out: Path, with_images: bool) -> dict:
    """Compile in a fresh interpreter; return its seconds and peak RSS."""
    code = (
        "import datetime as dt, json, resource, time\n"
        "from minqing.archive.store import Archive\n"
        "from minqing.volumes.compile import compile_volume\n"
        "t = time.perf_counter()\n"
        f"a = Archive({str(root)!r})\n"
        f"s = compile_volume(a, {str(out)!r}, date_from=dt.date(2024, 7, 1), "
        f"date_to=dt.date(2024, 9, 30), with_images={with_images})\n"
        "print(json.dumps({'seconds': time.perf_counter() - t, 'entries': s.entries, "
        "'matters': s.matters, 'images': s.images, "
        "'peak_rss_mib': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--entries", type=int, default=10_000, help="entries in the period (default 10000)"
    )
    ap.add_argument("--repeat", type=int, default=1, help="compile runs (median reported)")
    ap.add_argument("--with-images", action="store_true", help="embed a thumbnail per entry")
    ap.add_argument("--keep", type=Path, help="keep the archive and volume in this folder")
    args = ap.parse_args()

    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="mq-bench-compile-"))
    work.mkdir(parents=True, exist_ok=True)
    root = work / "archive"
    if root.exists():
        shutil.rmtree(root)
    t = time.perf_counter()
    build(root, args.entries, with_images=args.with_images)
    build_s = time.perf_counter() - t
    out = work / "volume.docx"
    runs = [run_once(root, out, args.with_images) for _ in range(args.repeat)]
    secs = [r["seconds"] for r in runs]
    rss = [r["peak_rss_mib"] for r in runs]
    print(f"machine: {machine()}")
    print(f"command: {command_line()}")
    print(f"archive built in {build_s:.1f} s; volume {out.stat().st_size / 2**20:.1f} MiB")
    print(
        f"entries in period: {runs[0]['entries']}, matters: {runs[0]['matters']}, "
        f"images: {runs[0]['images']}"
    )
    print(
        f"compile: median {statistics.median(secs):.2f} s over {len(secs)} run(s) "
        f"(min {min(secs):.2f}, max {max(secs):.2f}); "
        f"peak RSS median {statistics.median(rss):.0f} MiB"
    )
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
