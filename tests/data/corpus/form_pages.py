"""Pre-printed form notebooks (one 民情日记 form per page), built on ``tools/render_notebook.py``.

The shared renderer draws ruled notebooks; this adds the other layout cadres use: a printed
table whose left column holds the labels (走访时间, 走访地点, 走访对象, 反映问题, 原因分析,
解决措施, 办理结果) and whose right column holds the handwriting. The handwriting reuses
the renderer's hands (``render_line``), paper and page header, so the images look alike.

Truth text of a form entry is what a reader sees in reading order: each printed label
followed by the handwriting in its box (empty boxes contribute only their label), with the
page header and number left out, whitespace removed. ``lines.json`` has the same shape as
the renderer's, with printed labels listed as lines too (``kinds`` tells which is which).
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFilter

from tools import render_notebook as rn

FORM_LABELS = ("走访时间", "走访地点", "走访对象", "反映问题", "原因分析", "解决措施", "办理结果")
MIN_ROWS = {
    "走访时间": 1,
    "走访地点": 1,
    "走访对象": 1,
    "反映问题": 3,
    "原因分析": 2,
    "解决措施": 2,
    "办理结果": 2,
}


def form_lines(entry: dict[str, Any], chars: int) -> list[tuple[str, list[str]]]:
    """``(label, handwritten lines)`` per printed label of a form entry."""
    out = []
    for label in FORM_LABELS:
        value = entry["date_line"] if label == "走访时间" else entry["fields"].get(label, "")
        out.append((label, rn.wrap_text(value, chars) if value else []))
    return out


def form_truth_text(entry: dict[str, Any], chars: int) -> str:
    """The entry's truth text: labels and their handwriting in reading order."""
    return "".join(label + "".join(lines) for label, lines in form_lines(entry, chars))


def render_form_book(
    book_id: str,
    meta: dict[str, Any],
    entries: list[dict[str, Any]],
    out_dir: Path,
    seed: int,
    hand: rn.HandStyle,
    page: rn.PageStyle,
) -> list[dict[str, Any]]:
    """Draw one form per entry (``page-NN.jpg``), write lines.json and truth.json; return truth."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob("page-*.jpg"):
        old.unlink()
    w, h = page.size
    pitch = int(hand.font_px * 1.45)
    x_label, x_text, x_right = 50, 230, w - 40
    chars = max(4, int((x_right - x_text - 30) / (hand.font_px * (1 + hand.char_gap))))
    truth, pages_json = [], []
    for p, entry in enumerate(entries, 1):
        rng = random.Random(seed * 101 + p)
        img = rn._paper(
            rn.PageStyle(size=page.size, n_rules=0, margin_x=-10, shading=page.shading), rng
        )
        d = ImageDraw.Draw(img)
        f = rn._print_font(40)
        tw = d.textlength(page.header, font=f)
        d.text(((w - tw) / 2, 70), page.header, font=f, fill=page.header_color)
        lab_font = rn._print_font(30)
        alpha = Image.new("L", (w, h), 0)
        y = 170
        texts, boxes, kinds = [], [], []
        for label, lines in form_lines(entry, chars):
            rows = max(MIN_ROWS[label], len(lines))
            row_h = rows * pitch + 24
            d.rectangle([x_label - 10, y, x_right, y + row_h], outline=(120, 60, 60), width=2)
            d.line([(x_text - 10, y), (x_text - 10, y + row_h)], fill=(120, 60, 60), width=2)
            ly = y + 14 + (pitch - 30) // 2
            d.text((x_label, ly), label, font=lab_font, fill=(60, 30, 30))
            lw = d.textlength(label, font=lab_font)
            texts.append(label)
            boxes.append([x_label, ly, int(x_label + lw), ly + 32])
            kinds.append("printed")
            for k, text in enumerate(lines):
                lseed = seed * 1009 + p * 53 + len(texts) * 7
                strip = rn.render_line(text, hand, lseed)
                x0 = x_text + int(random.Random(lseed).gauss(0, 3))
                y0 = y + 12 + k * pitch
                bb = strip.getbbox() or (0, 0, strip.width, strip.height)
                region = alpha.crop((x0, y0, x0 + strip.width, y0 + strip.height))
                alpha.paste(Image.composite(strip, region, strip), (x0, y0))
                texts.append(text)
                boxes.append([x0 + bb[0], y0 + bb[1], x0 + bb[2], y0 + bb[3]])
                kinds.append("hand")
            y += row_h
        if y > h - 60:
            raise ValueError(f"{entry['entry_id']}: form content does not fit the page")
        import numpy as np

        a = np.asarray(alpha, np.float32)[..., None] / 255.0 * hand.ink_opacity
        arr = np.asarray(img, np.float32) * (1 - a) + np.array(hand.ink, np.float32) * a
        img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")
        fnum = rn._print_font(26)
        d = ImageDraw.Draw(img)
        num = str(p)
        d.text(((w - d.textlength(num, font=fnum)) / 2, h - 50), num, font=fnum, fill=(90, 90, 90))
        if page.blur:
            img = img.filter(ImageFilter.GaussianBlur(page.blur))
        name = f"page-{p:02d}.jpg"
        img.save(out_dir / name, "JPEG", quality=page.jpeg_quality, optimize=True, subsampling=2)
        pages_json.append(
            {
                "page": p,
                "image": name,
                "size": [w, h],
                "tilt_deg": 0.0,
                "header": page.header,
                "footer": num,
                "lines": texts,
                "entry_ids": [entry["entry_id"]] * len(texts),
                "boxes": boxes,
                "kinds": kinds,
            }
        )
        truth.append(
            {
                "entry_id": entry["entry_id"],
                "book_id": book_id,
                "date": entry["date"],
                "date_inferred": False,
                "category_code": entry["category_code"],
                "follow_up_of": entry.get("follow_up_of"),
                "status": entry["status"],
                "text": form_truth_text(entry, chars).replace(" ", ""),
                "page_start": p,
                "page_end": p,
            }
        )
    rn.write_json(out_dir / "lines.json", pages_json)
    rn.write_json(
        out_dir / "truth.json",
        rn.truth_document([{"book_id": book_id, **meta, "pages": len(entries)}], truth),
    )
    return truth
