"""Form notebooks (issue 14): ruled cells found from the page, vertical labels read as labels.

The form is drawn by :func:`minqing.ocr.testing.render_grid_form` with a seed used nowhere
else, so its layout (column widths, row heights, fonts, colours) is one the code was never
shown; the reader must find the grid itself.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from minqing.classify.segment import segment_book
from minqing.classify.types import BookLine
from minqing.ocr import get_engine
from minqing.ocr.forms import cells_hold_text, find_cells
from minqing.ocr.testing import (
    FORM_ROWS,
    GRID_FORM_VALUES,
    cer,
    degrade,
    find_cjk_font,
    render_form,
    render_grid_form,
    render_page,
)

pytestmark = pytest.mark.skipif(find_cjk_font() is None, reason="no CJK font installed")

SEED = 14  # a layout used only here
VERTICAL = ("反映问题", "原因分析", "处理意见")


@pytest.fixture(scope="module")
def form() -> tuple[np.ndarray, dict]:
    return render_grid_form(seed=SEED)


@pytest.fixture(scope="module")
def page(form):  # type: ignore[no-untyped-def]
    return get_engine("rapidocr").recognize(form[0])


def test_cells_are_found_from_the_page(form) -> None:  # type: ignore[no-untyped-def]
    image = form[0]
    cells = find_cells(image)
    # 2 rows of 4 cells (时间|v|地点|v, 记录人|v|日期|v), 走访对象|v, 3 vertical rows of 2
    assert len(cells) == 4 + 4 + 2 + 2 * len(VERTICAL)
    narrow = [c for c in cells if c.h >= 1.8 * c.w]
    assert len(narrow) == len(VERTICAL)


def test_ruled_notebook_page_is_not_a_table() -> None:
    assert find_cells(render_page(ruled=True)) == []


def test_vertical_labels_are_one_line_each_never_interleaved(form, page) -> None:  # type: ignore[no-untyped-def]
    texts = [ln.text.replace(" ", "") for ln in page.lines]
    for label in VERTICAL:
        assert texts.count(label) == 1, texts
        # the label comes right before the handwriting of its cell
        i = texts.index(label)
        assert (
            texts[i + 1] == form[1]["fields"][label][: len(texts[i + 1])]
            or cer(texts[i + 1], form[1]["fields"][label][: len(texts[i + 1])]) < 0.2
        )
    single = {ch for label in VERTICAL for ch in label}
    assert not [t for t in texts if len(t) == 1 and t in single], texts
    hyp = "".join(t for t in texts if t != "民情日记")
    assert cer(hyp, form[1]["text"]) < 0.03


def test_form_fields_and_recorder_come_from_the_cells(form, page) -> None:  # type: ignore[no-untyped-def]
    truth = form[1]["fields"]
    lines = [
        BookLine(f"b/1/{i}", 1, i, ln.text, ln.bbox, page.height) for i, ln in enumerate(page.lines)
    ]
    (entry,) = segment_book(lines, year_hint=2024)
    assert entry.layout == "form"
    fields = dict(entry.fields)
    assert set(fields) == {"place", "people", "problem", "analysis", "measures", "recorder"}
    for key, label in (
        ("place", "地点"),
        ("people", "走访对象"),
        ("problem", "反映问题"),
        ("analysis", "原因分析"),
        ("measures", "处理意见"),
    ):
        assert cer(fields[key], truth[label]) < 0.1, (key, fields[key])
    assert fields["recorder"] == truth["记录人"]
    assert entry.date is not None and (entry.date.month, entry.date.day) == (3, 5)


def test_partly_found_grid_falls_back_to_the_page_order() -> None:
    """A degraded form whose value cells go unfound (only the label column is closed):
    the text beside the found cells sends it back to the plain reading order, which reads
    it row by row (benchmarks/ocr.py gen-form: 62.7% CER before this check)."""
    image = degrade(render_form(FORM_ROWS, angle=-2), dpi_scale=0.6, warp=0.02, noise=5, seed=3)
    engine = get_engine("rapidocr")
    page = engine.recognize(image)
    cells = find_cells(image)
    assert cells and not cells_hold_text(cells, [np.asarray(ln.box) for ln in page.lines])
    expected = "".join(c for row in FORM_ROWS for c in row)
    assert cer("".join(ln.text for ln in page.lines), expected) < 0.05


def test_recorder_cell_is_the_cadre_of_the_compiled_volume(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Issue 14 acceptance, end to end: a form page (a layout and a hand never used
    elsewhere) ingested with no cadre in the manifest; the compiled volume names the cadre
    from the page's 记录人 cell, marked as read from the page, not "（未注明）"."""
    import cv2
    import docx

    from minqing import pipeline
    from minqing.archive.store import Archive
    from minqing.ocr.testing import hand_styles
    from minqing.volumes import compile as compile_mod
    from minqing.volumes.compile import compile_volume

    hands = hand_styles("".join(v for vals in GRID_FORM_VALUES.values() for v in vals))
    image, truth = render_grid_form(seed=41, hand=hands[5 % len(hands)] if hands else None)
    book = tmp_path / "scans" / "form-book"
    book.mkdir(parents=True)
    cv2.imwrite(str(book / "page-01.jpg"), image, [cv2.IMWRITE_JPEG_QUALITY, 90])
    arc = Archive(tmp_path / "arc", create=True)
    try:
        pipeline.run_ingest([book], arc, workers=1, manifest={"form-book": {"period": "2024年"}})
        (row,) = arc.db.query("select cadre, fields from entries")
        assert not row["cadre"]  # nobody named the cadre: only the page does
        compile_volume(
            arc,
            tmp_path / "v.docx",
            date_from=dt.date(2024, 1, 1),
            date_to=dt.date(2024, 12, 31),
        )
    finally:
        arc.close()
    body = "\n".join(p.text for p in docx.Document(str(tmp_path / "v.docx")).paragraphs)
    assert f"{truth['fields']['记录人']}{compile_mod.FROM_PAGE}" in body
    assert compile_mod.NO_CADRE not in body
