"""Issue 18, trait 6: 稿纸 grid paper and a running hand in tools/render_notebook.py, and the
OCR stage's grid ruling removal (``derule``, :func:`minqing.ocr.forms.remove_grid`)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from benchmarks import indep
from minqing.ocr.forms import find_cells, is_character_grid, remove_grid, ruling_masks

rn = indep.rn

GRID_LINES = ["村里的路灯坏了三盏，", "晚上出行不便，群众", "希望尽快修好。"]


def _fonts() -> None:
    pytest.importorskip("handright")
    if not Path(rn.WENKAI).exists():
        pytest.skip("fonts-lxgw-wenkai not installed")


def _ink(rgb: np.ndarray) -> np.ndarray:
    """The blue-black ink of these pages (not the green ruling)."""
    rgb = rgb.astype(int)
    return (rgb.sum(axis=2) < 330) & (rgb[..., 2] > rgb[..., 1] + 25)


def _grid_page() -> rn.PageStyle:
    return rn.PageStyle(
        size=(800, 560),
        header="",
        footer="",
        rule_top=150,
        rule_pitch=72,
        n_rules=5,
        text_left=40,
        grid=True,
        grid_cell=60,
        tilts=(0.0,),
        noise_sigma=0,
        blur=0,
        shading=0,
        image_format="png",
    )


def _grid_book() -> dict:
    return {
        "book_id": "grid",
        "entries": [
            {
                "entry_id": "g-1",
                "date": "2024-05-06",
                "date_line": "5月6日 晴",
                "category_code": 5,
                "status": "已记录",
                "lines": GRID_LINES,
            }
        ],
    }


@pytest.fixture(scope="module")
def grid_page(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    _fonts()
    out = tmp_path_factory.mktemp("grid")
    page = _grid_page()
    hand = rn.HandStyle(font_px=44, chars_per_line=9, ink=(20, 30, 90), ink_opacity=1.0)
    rn.render_book(_grid_book(), out, 5, hand, page)
    rec = json.loads((out / "lines.json").read_text(encoding="utf-8"))[0]
    rgb = np.asarray(Image.open(out / rec["image"]).convert("RGB")).astype(int)
    return page, rec, rgb


def test_grid_paper_puts_each_character_inside_its_cell(grid_page) -> None:  # type: ignore[no-untyped-def]
    page, rec, rgb = grid_page
    assert rec["lines"] == ["5月6日 晴", *GRID_LINES]
    cell, cols = page.cell, page.grid_cols
    ink = _ink(rgb)
    grid = (np.abs(rgb - np.array(page.grid_color)).sum(axis=2) < 60) & ~ink
    xs = [page.text_left + c * cell for c in range(cols + 1)]
    for k, line in enumerate(rec["lines"]):
        yb = page.rule_top + k * page.rule_pitch
        yt = yb - cell
        # the ruling is drawn: each row's cell edges are in the grid colour
        for x in xs:
            assert grid[yt + 2 : yb - 2, x - 1 : x + 2].any(axis=1).mean() > 0.9
        assert grid[yb - 1 : yb + 2, xs[0] : xs[-1]].any(axis=0).mean() > 0.9
        # ... and no ink crosses it: every character stays inside its own square
        row_ink = ink[yt - 2 : yb + 3, :]
        assert not row_ink[:3].any() and not row_ink[-3:].any(), f"row {k} ink on a rule"
        for x in xs:
            assert not row_ink[:, x - 1 : x + 2].any(), f"row {k} ink on the rule at x={x}"
        # one character per cell: the cells that hold ink are those of the text's characters
        inked = [c for c in range(cols) if row_ink[:, xs[c] + 3 : xs[c + 1] - 3].any()]
        assert inked == [c for c, ch in enumerate(line) if not ch.isspace()]
    # ink between rows (in the band between two rows of cells) would cut lines: none
    for k in range(len(rec["lines"]) - 1):
        yb = page.rule_top + k * page.rule_pitch
        assert not ink[yb + 3 : yb + page.rule_pitch - cell - 3, :].any()


def test_grid_layout_refuses_lines_wider_than_the_grid() -> None:
    with pytest.raises(ValueError, match="cells"):
        rn.layout_book(_grid_book(), rn.HandStyle(font_px=44, chars_per_line=12), _grid_page())


def test_grid_ruling_removal_keeps_the_characters(grid_page, rapidocr_engine) -> None:  # type: ignore[no-untyped-def]
    from minqing.ocr import get_engine
    from minqing.ocr.testing import cer

    _, rec, rgb = grid_page
    bgr = np.ascontiguousarray(rgb[..., ::-1].astype(np.uint8))
    cells = find_cells(bgr)
    assert is_character_grid(cells)
    clean = remove_grid(bgr, cells)
    # the ruling is gone: no long rule is left, no cell is found
    horiz = ruling_masks(clean)[0]
    assert find_cells(clean) == []
    assert horiz.sum() < 0.02 * ruling_masks(bgr)[0].sum()
    # the ink is kept: as many dark ink pixels, and the page reads as written
    ink_before, ink_after = _ink(rgb), _ink(clean[..., ::-1])
    assert (ink_before & ink_after).sum() >= 0.98 * ink_before.sum()
    ref = "".join(rec["lines"]).replace(" ", "")
    for engine in (get_engine("rapidocr", derule=True), rapidocr_engine):
        got = "".join(line.text for line in engine.recognize(bgr).lines).replace(" ", "")
        assert cer(got, ref) <= 0.05, (engine.params, got)


def test_derule_leaves_forms_and_the_engine_id_alone() -> None:
    from minqing.ocr import engine_id
    from minqing.ocr.testing import find_cjk_font, render_grid_form

    if find_cjk_font() is None:
        pytest.skip("no CJK font")
    img, _ = render_grid_form(seed=101)
    cells = find_cells(img)
    assert cells and not is_character_grid(cells)  # a form's cells are not 稿纸 squares
    assert "derule" not in engine_id("rapidocr")  # the default id (and OCR cache) unchanged
    assert "derule=True" in engine_id("rapidocr", derule=True)


def test_running_hand_is_deterministic_by_seed() -> None:
    _fonts()
    hand = rn.HandStyle(font_px=40, running=0.8)
    text = "三组刘桂兰来家里找我，说她家"
    a = np.asarray(rn.render_line(text, hand, 7))
    assert np.array_equal(a, np.asarray(rn.render_line(text, hand, 7)))
    assert not np.array_equal(a, np.asarray(rn.render_line(text, hand, 8)))
    regular = np.asarray(rn.render_line(text, rn.HandStyle(font_px=40), 7))
    assert a.shape != regular.shape or not np.array_equal(a, regular)
    # a running hand packs its characters closer than the regular hand
    assert a.shape[1] < regular.shape[1]
    with pytest.raises(ValueError, match="running"):
        rn.HandStyle(running=1.5)


def test_running_hand_slants_to_the_right() -> None:
    """The ink's centre of mass moves right from the bottom of a line to its top."""
    _fonts()
    text = "村里的路灯坏了三盏"
    shifts = []
    for running in (0.0, 1.0):
        hand = rn.HandStyle(font_px=48, running=running, line_slope_sigma_deg=0)
        total = 0.0
        for ch in text:
            a = np.asarray(rn._char_images(ch, hand, 3)[0], np.float64)
            ys = np.nonzero(a.sum(axis=1))[0]
            mid = (ys[0] + ys[-1]) // 2
            xs = np.arange(a.shape[1])
            top, bottom = a[ys[0] : mid], a[mid : ys[-1] + 1]
            total += (top.sum(axis=0) @ xs) / top.sum() - (bottom.sum(axis=0) @ xs) / bottom.sum()
        shifts.append(total / len(text))
    assert shifts[1] > shifts[0] + 1.5, shifts
