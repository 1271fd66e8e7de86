"""Read the sample pages back with the real OCR engine and report per-page CER.

    .venv/bin/python samples/check_ocr.py [BOOK_DIR/page-01.jpg ...]

Without arguments every sample page is read.  CER = Levenshtein distance / truth length,
on NFKC text with all whitespace removed, truth = printed header + body lines + page number
(``lines.json``) in reading order; OCR lines are re-sorted by skew-corrected line first (the
engines sort by raw y, which scrambles the order on a tilted page; the "engine order" figure
shows the unsorted result).  "after t2s" additionally maps traditional forms to simplified
(OpenCC t2s), as ``ocr/`` does.
"""

from __future__ import annotations

import json
import math
import re
import statistics
import sys
import time
import unicodedata
from pathlib import Path

HERE = Path(__file__).resolve().parent


def norm(s: str) -> str:
    """NFKC with all whitespace removed."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", s))


def levenshtein(a: str, b: str) -> int:
    """Edit distance (insertions, deletions, substitutions all cost 1)."""
    from rapidfuzz.distance import Levenshtein

    return Levenshtein.distance(a, b)


def cer(truth: str, hyp: str) -> float:
    """Character error rate of ``hyp`` against ``truth`` after :func:`norm`."""
    t, h = norm(truth), norm(hyp)
    return levenshtein(t, h) / max(len(t), 1)


def page_truth(page_image: Path) -> str:
    """Header + body lines + footer of one sample page, from its ``lines.json``."""
    pages = json.loads((page_image.parent / "lines.json").read_text(encoding="utf-8"))
    rec = next(p for p in pages if p["image"] == page_image.name)
    parts = [rec.get("header") or "", *rec["lines"], rec.get("footer") or ""]
    return "".join(parts)


def reading_order(boxes, texts) -> list[str]:
    """Order OCR boxes by skew-corrected line, then left to right."""
    if not texts:
        return []
    angles, items = [], []
    for box in boxes:
        (x0, y0), (x1, y1) = box[0], box[1]
        if x1 - x0 > 80:
            angles.append(math.atan2(y1 - y0, x1 - x0))
    ang = statistics.median(angles) if angles else 0.0
    heights = []
    for box, text in zip(boxes, texts, strict=True):
        cx = sum(p[0] for p in box) / 4
        cy = sum(p[1] for p in box) / 4
        ry = -cx * math.sin(ang) + cy * math.cos(ang)
        rx = cx * math.cos(ang) + cy * math.sin(ang)
        heights.append(abs(box[3][1] - box[0][1]))
        items.append((ry, rx, text))
    tol = 0.5 * statistics.median(heights)
    items.sort()
    lines, cur, cur_y = [], [], None
    for ry, rx, text in items:
        if cur_y is not None and ry - cur_y > tol:
            lines.append(cur)
            cur = []
        cur.append((rx, text))
        cur_y = ry if len(cur) == 1 else cur_y
    lines.append(cur)
    return ["".join(t for _, t in sorted(line)) for line in lines]


def make_engine():
    """The OCR engine the project uses by default (rapidocr, PP-OCRv6 small, no cls)."""
    from rapidocr import RapidOCR

    return RapidOCR(params={"Global.use_cls": False})


def ocr_page(engine, path: Path, engine_order: bool = False) -> str:
    """OCR one page image and return its text in reading order (lines joined).

    With ``engine_order`` the boxes are kept in the order the engine returned them.
    """
    res = engine(str(path))
    if res.txts is None:
        return ""
    if engine_order:
        return "".join(res.txts)
    return "".join(reading_order([list(map(list, b)) for b in res.boxes], list(res.txts)))


def main(argv: list[str]) -> int:
    paths = [Path(a) for a in argv] or sorted(HERE.glob("*/page-*.jpg")) + sorted(
        HERE.glob("*/page-*.png")
    )
    engine = make_engine()
    try:
        import opencc

        t2s = opencc.OpenCC("t2s").convert
    except ImportError:  # pragma: no cover
        t2s = None
    times, cers = [], []
    for p in paths:
        t0 = time.perf_counter()
        hyp = ocr_page(engine, p)
        times.append(time.perf_counter() - t0)
        truth = page_truth(p)
        c = cer(truth, hyp)
        cers.append(c)
        c2 = cer(truth, t2s(hyp)) if t2s else c
        c0 = cer(truth, ocr_page(engine, p, engine_order=True))
        print(
            f"{p.parent.name}/{p.name}: CER {c:.2%}, after t2s {c2:.2%}, "
            f"engine order {c0:.2%}  "
            f"({len(norm(truth))} chars, {times[-1]:.2f} s)"
        )
        if c2 > 0:
            print("   truth:", norm(truth))
            print("   ocr:  ", norm(hyp))
    if cers:
        print(
            f"median CER {statistics.median(cers):.2%}, max {max(cers):.2%}, "
            f"median {statistics.median(times):.2f} s/page"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
