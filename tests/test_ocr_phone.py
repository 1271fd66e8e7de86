"""Phone photos of a curled page (issue 14): the page quad, the light, then the text lines
straightened (``ingest.normalise``'s dewarp), read by the default engine."""

from __future__ import annotations

import pytest

from minqing.ingest.normalise import dewarp_lines, normalise
from minqing.ocr import get_engine
from minqing.ocr.testing import DIARY_LINES, cer, find_cjk_font, phone_photo, render_page

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
