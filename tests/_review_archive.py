"""A small review archive written through the real archive + classify stages, no OCR (not
collected: no tests here). Used by the review, corrections, spot-check and review-web tests."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from minqing.archive import records
from minqing.archive.store import Archive
from minqing.ocr.types import Line, PageText

LINE_H = 40
BOOK_A = [
    [
        ("2024年3月5日", 0.99),
        ("杨树沟村村民王秀英反映组里饮水井", 0.95),
        ("水量不足，夏天经常断水。", 0.62),
        ("3月12日", 0.99),
        ("村民李大山和刘长贵为承包地地界吵架。", 0.93),
        ("已调解，双方签订协议。", 0.97),
    ],
    [
        ("3月19日", 0.99),
        ("村委会门前道路坑洼，雨天难行。", 0.81),
        ("建议纳入村容村貌整治计划。", 0.9),
        ("4月2日回访王秀英，饮水井已修好了。", 0.97),
    ],
]


def page_image(n_lines: int, width: int = 800) -> bytes:
    img = np.full((60 + n_lines * (LINE_H + 10), width, 3), 245, np.uint8)
    ok, png = cv2.imencode(".png", img)
    assert ok
    return png.tobytes()


def build_archive(
    root: Path, books: dict[str, list[list[tuple[str, float]]]], village: str = "杨树沟村"
) -> Archive:
    """An archive written through the real archive + classify stages (no OCR):
    pages with blank images, lines with the given texts and confidences."""
    from minqing import classify
    from minqing.pipeline import _link

    archive = Archive(root, create=True)
    for book_id, pages in books.items():
        records.upsert_book(
            archive, book_id, f"/scans/{book_id}", {"village": village, "cadre": "张伟"}
        )
        with archive.db.conn:
            for page_no, lines in enumerate(pages, start=1):
                data = page_image(len(lines)) + book_id.encode() + bytes([page_no])
                rel, sha = archive.store_blob(data, ".png")
                pt_lines = []
                for i, (text, conf) in enumerate(lines):
                    y0 = 30 + i * (LINE_H + 10)
                    x1 = 40 + 30 * max(len(text), 1)
                    pt_lines.append(
                        Line(
                            text=text,
                            box=((40, y0), (x1, y0), (x1, y0 + LINE_H), (40, y0 + LINE_H)),
                            confidence=conf,
                        )
                    )
                records.write_page(
                    archive,
                    records.PageRecord(
                        book_id=book_id,
                        page_no=page_no,
                        image=rel,
                        original=rel,
                        sha256=sha,
                        original_sha256=sha,
                        width=800,
                        height=60 + len(lines) * (LINE_H + 10),
                        source_file=f"/scans/{book_id}/p{page_no}.png",
                        index_in_source=0,
                        transforms=(),
                        flags=(("blur", 0.5),) if page_no == 2 else (),
                        page_text=PageText(
                            lines=tuple(pt_lines), engine_id="test", width=800, height=600
                        ),
                        needs_rescan=page_no == 2,
                    ),
                )
            entries = classify.segment_book(records.book_lines(archive, book_id))
            records.write_entries(archive, book_id, entries, classify.CLASSIFIER_VERSION)
    _link(archive, list(books))
    return archive
