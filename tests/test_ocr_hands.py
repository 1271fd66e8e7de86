"""Issue 14, item 4: generated pages in more than one hand (``ocr.testing.hand_styles``):
every Kai font Debian packages that is installed, pens (ball-pen, pencil, ink), stroke weight
and slant; absent fonts are skipped, never downloaded."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from minqing.ocr import get_engine
from minqing.ocr.testing import (
    DIARY_LINES,
    HAND_FONTS,
    PENS,
    cer,
    find_cjk_font,
    font_covers,
    hand_styles,
    pen_mask,
    render_grid_form,
    render_page,
)

pytestmark = pytest.mark.skipif(find_cjk_font() is None, reason="no CJK font installed")

TEXT = "".join(DIARY_LINES)


def _ink(img: np.ndarray) -> np.ndarray:
    return img.min(axis=2) < 200


def test_hands_come_from_installed_fonts_only() -> None:
    hands = hand_styles()
    installed = {(p, i) for p, i, _ in HAND_FONTS if Path(p).is_file()}
    assert {(h.font, h.index) for h in hands} == installed
    assert {h.pen for h in hands} <= set(PENS)
    # a font that cannot write the text (cwTeXKai is traditional Chinese) is left out of it
    for h in hand_styles(TEXT):
        assert font_covers(h.font, TEXT, h.index)
    cw = "/usr/share/fonts/truetype/cwtex/cwkai.ttf"
    if Path(cw).is_file():
        assert not font_covers(cw, "问题饮水")
        assert all(h.font != cw for h in hand_styles(TEXT))


def test_pens_change_the_ink() -> None:
    from PIL import Image, ImageDraw

    mask = Image.new("L", (200, 80), 0)
    ImageDraw.Draw(mask).line([(100, 5), (100, 75)], fill=255, width=3)
    heavy = np.asarray(pen_mask(mask, 2, 0.0, 0.0, 0))
    assert (heavy > 127).sum() > 2 * (np.asarray(mask) > 127).sum()
    slanted = np.asarray(pen_mask(mask, 0, 15.0, 0.0, 0))
    top, bottom = slanted[8] > 127, slanted[72] > 127
    assert np.flatnonzero(top).mean() > np.flatnonzero(bottom).mean() + 10  # leans right
    grainy = np.asarray(pen_mask(mask, 0, 0.0, 0.6, 0)).astype(float)
    assert grainy.sum() < 0.8 * np.asarray(mask).astype(float).sum()


def test_a_hand_draws_its_own_font_and_pen() -> None:
    lines = list(DIARY_LINES[:3])
    default = render_page(lines, seed=3)
    hands = hand_styles(TEXT)
    pencil = next(h for h in hands if h.pen == "pencil")
    ball = next(h for h in hands if h.pen == "ball-pen")
    a, b = render_page(lines, seed=3, hand=pencil), render_page(lines, seed=3, hand=ball)
    assert not np.array_equal(a, default)
    # pencil grey is lighter than ball-pen blue; ball-pen ink is blue
    dark_a = np.percentile(a.min(axis=2)[_ink(a) | (a.min(axis=2) < 235)], 5)
    dark_b = np.percentile(b.min(axis=2)[_ink(b)], 5)
    assert dark_a > dark_b + 30
    inked = b[_ink(b)].astype(int)
    assert (inked[:, 0] - inked[:, 2]).mean() > 40  # BGR: more blue than red


def test_pages_in_other_hands_read_by_the_default_engine() -> None:
    """One page in each of three hands of different fonts: the default stage reads each
    (real OCR), so the hands are legible handwriting, not noise."""
    hands = hand_styles(TEXT)
    fonts: dict[str, object] = {}
    for h in hands:
        if h.pen != "pencil":
            fonts.setdefault(h.name, h)
    picked = list(fonts.values())[:3]
    if len(picked) < 2:
        pytest.skip("fewer than two Kai fonts installed")
    engine = get_engine("rapidocr")
    lines = list(DIARY_LINES[4:9])
    for k, hand in enumerate(picked):
        img = render_page(lines, messy=True, seed=60 + k, hand=hand, ruled=True)
        text = "".join(ln.text for ln in engine.recognize(img).lines).replace(" ", "")
        assert cer(text, "".join(lines)) < 0.04, (hand, text)


def test_form_in_another_hand_keeps_its_truth() -> None:
    hands = hand_styles(TEXT)
    img, truth = render_grid_form(seed=3, hand=hands[-1])
    img0, truth0 = render_grid_form(seed=3)
    assert truth == truth0 and img.shape == img0.shape and not np.array_equal(img, img0)


def test_notebook_renderer_draws_a_mixed_hand() -> None:
    """tools/render_notebook.py takes a hand's font, pen, weight, slant and grain; a hand
    without them (all 0) draws exactly what it drew before."""
    pytest.importorskip("handright")
    from tools import render_notebook as rn

    text = "二〇二四年三月五日 走访杨树沟村"
    hands = [h for h in hand_styles(text) if h.weight or h.slant]
    if not hands:
        pytest.skip("no Kai font installed")
    base = rn.HandStyle(font_path=hands[0].font, font_index=hands[0].index, font_px=40)
    mixed = rn.HandStyle(**{**base.__dict__, **hands[0].render_notebook_args()})
    plain = np.asarray(rn.render_line(text, base, 7))
    again = np.asarray(
        rn.render_line(text, rn.HandStyle(**{**base.__dict__, "weight": 0, "slant": 0.0}), 7)
    )
    assert np.array_equal(plain, again)
    drawn = np.asarray(rn.render_line(text, mixed, 7))
    assert drawn.shape[0] == plain.shape[0] and not np.array_equal(drawn, plain)
    if hands[0].weight:
        assert (drawn > 127).sum() > (plain > 127).sum()
