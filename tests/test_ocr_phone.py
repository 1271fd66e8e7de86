"""Phone photos of a curled page (issue 14): the page quad, the light, then the text lines
straightened (``ingest.normalise``'s dewarp), read by the default engine."""

from __future__ import annotations

import numpy as np
import pytest

from minqing.ingest.normalise import dewarp_lines, normalise
from minqing.ocr import get_engine
from minqing.ocr._rapid import trim_rule_stubs
from minqing.ocr.testing import (
    DIARY_LINES,
    cer,
    find_cjk_font,
    hand_styles,
    phone_photo,
    render_page,
)

pytestmark = pytest.mark.skipif(find_cjk_font() is None, reason="no CJK font installed")

LINES = [DIARY_LINES[(3 + k) % len(DIARY_LINES)] for k in range(16)]


@pytest.fixture(scope="module")
def page():  # type: ignore[no-untyped-def]
    return render_page(LINES, messy=True, seed=31, font_size=38, ruled=True)


def test_curled_phone_photo_reads_below_two_percent(page) -> None:  # type: ignore[no-untyped-def]
    photo = phone_photo(page, curl=0.1, shadow=0.6, seed=5)
    (norm,) = normalise(photo)
    assert "dewarp" in norm.transforms
    engine = get_engine("rapidocr")
    text = "".join(line.text for line in engine.recognize(norm.image).lines).replace(" ", "")
    assert cer(text, "".join(LINES)) < 0.02


def test_flat_page_is_not_dewarped(page) -> None:  # type: ignore[no-untyped-def]
    assert dewarp_lines(page) is None
    assert "dewarp" not in normalise(page)[0].transforms


def _line_crop(text: str, rule_from: int, rule_to: int) -> np.ndarray:
    """A 60 px high line crop of ``text`` with a ruled line from x=rule_from to rule_to
    running through the lower part of the writing."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(find_cjk_font(), 40)
    w = 60 + int(font.getlength(text)) + 120
    img = Image.new("RGB", (w, 60), (246, 243, 236))
    d = ImageDraw.Draw(img)
    d.line([(rule_from, 44), (rule_to, 44)], fill=(150, 165, 190), width=2)
    d.text((60, 8), text, font=font, fill=(60, 60, 70))
    return np.asarray(img)[:, :, ::-1].copy()


def test_rule_stubs_beyond_the_writing_are_cut_off() -> None:
    text = "双方同意以原有界石为准"
    crop = _line_crop(text, 0, 10_000)
    writing = crop.shape[1] - 60 - 120  # the writing runs from x=60, 120 px of rule after it
    cut = trim_rule_stubs(crop)
    # both stubs go (to a margin of a few pixels), the writing stays whole
    assert writing <= cut.shape[1] <= writing + 40
    # no rule, or a rule that stops with the writing: nothing is cut (a written 一 stays)
    plain = _line_crop("一五月十日反馈", 10_000, 10_001)
    assert trim_rule_stubs(plain).shape == plain.shape
    inside = _line_crop(text, 62, 60 + writing - 5)
    assert trim_rule_stubs(inside).shape == inside.shape


def test_ruling_stub_of_a_pencil_page_is_not_read_as_yi() -> None:
    """A curled photo of a ruled page written in pencil (faint, slanted): the rule sticks out
    before each line and was read as a leading 一 (benchmarks.ocr --captures, phone-curl)."""
    hands = [h for h in hand_styles("".join(LINES)) if h.pen == "pencil"]
    if not hands:
        pytest.skip("no Kai font for a pencil hand")
    lines = [DIARY_LINES[(15 + k) % len(DIARY_LINES)] for k in range(16)]
    page = render_page(lines, messy=True, seed=203, font_size=38, ruled=True, hand=hands[1])
    (norm,) = normalise(phone_photo(page, curl=0.12, seed=3))
    got = [ln.text for ln in get_engine("rapidocr").recognize(norm.image).lines]
    starts = [t[0] for t in got if t]
    assert starts.count("一") == 0, got
    assert cer("".join(got).replace(" ", ""), "".join(lines)) < 0.03
