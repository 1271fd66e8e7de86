"""CTC re-decoding with the character LM, line-crop padding and per-character confidences."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from minqing.ocr._ctc import beam_decode, greedy_decode, is_uncertain, substitute_decode
from minqing.ocr._lm import CharBigramLM
from minqing.ocr._rapid import _expand, is_line_crop, pad_for_detection
from minqing.ocr.testing import cer, find_cjk_font, render_page
from tests._helpers import thread_kw


@pytest.fixture(scope="module")
def lm() -> CharBigramLM:
    return CharBigramLM.load()


CHARS = ["<blank>", "时", "候", "侯", "我", "1", "一", "梦"]


def probs_for(steps: list[dict[int, float]]) -> np.ndarray:
    """A (T, C) matrix: each step's given probabilities, the rest on blank."""
    p = np.zeros((len(steps), len(CHARS)), np.float32)
    for t, d in enumerate(steps):
        for c, v in d.items():
            p[t, c] = v
        p[t, 0] = 1.0 - sum(d.values())
    return p


def test_lm_knows_common_pairs(lm):
    assert lm.logp("时", "候") > lm.logp("时", "侯") + 2
    assert lm.logp("一", "梦") > lm.logp("一", "楚")
    assert lm.logp("", "的") > lm.logp("", "祇")
    assert lm.mean_cost > 3


@pytest.mark.parametrize("decoder", ["beam", "substitute"])
def test_lm_decoding_picks_the_word_the_model_hesitates_over(lm, decoder):
    # the model slightly prefers 侯 (a common misreading of 候 after 时)
    p = probs_for([{1: 0.98}, {}, {3: 0.55, 2: 0.43}, {}])
    assert greedy_decode(p, CHARS).text == "时侯"
    assert is_uncertain(p)
    if decoder == "beam":
        d = beam_decode(p, CHARS, lm, alpha=0.3, beta=0.3 * lm.mean_cost)
    else:
        d = substitute_decode(p, CHARS, lm, alpha=0.3)
    assert d.text == "时候"
    assert len(d.char_confidences) == 2
    assert d.char_confidences[1] == pytest.approx(0.43, abs=1e-6)
    assert d.steps == (0, 2)


def _rare_first():
    chars = ["<blank>", "祇", "辱", "于"]
    p = np.zeros((6, 4), np.float32)
    p[:, 0] = 1.0
    p[1] = [0.02, 0.98, 0, 0]
    p[3] = [0.3, 0, 0.7, 0]
    p[5] = [0.01, 0, 0, 0.99]
    return p, chars


def test_substitution_decoding_never_drops_a_character(lm):
    # rare characters the model reads with fair confidence stay, whatever the LM thinks
    p, chars = _rare_first()
    assert substitute_decode(p, chars, lm, alpha=1.0).text == "祇辱于"


def test_beam_search_may_drop_rare_characters(lm):
    # why the default decoder is "substitute": the beam search trades a 0.7 reading of
    # a rare character for the blank when the LM dislikes it
    p, chars = _rare_first()
    assert beam_decode(p, chars, lm, alpha=0.3, beta=0.3 * lm.mean_cost).text == "祇于"
    assert beam_decode(p, chars, lm, alpha=0.0).text == "祇辱于"


def test_confident_output_skips_the_beam_search():
    p = probs_for([{4: 0.99}, {}, {7: 0.995}])
    assert not is_uncertain(p)
    d = greedy_decode(p, CHARS)
    assert d.text == "我梦"
    assert d.steps == (0, 2)
    assert d.confidence == pytest.approx((0.99 + 0.995) / 2)


def test_repeated_character_needs_a_blank_between(lm):
    # 梦 梦 (two steps, no blank) is one character; 梦 _ 梦 is two
    one = probs_for([{7: 0.9}, {7: 0.9}])
    two = probs_for([{7: 0.9}, {}, {7: 0.9}])
    assert beam_decode(one, CHARS, lm, alpha=0.0).text == "梦"
    assert beam_decode(two, CHARS, lm, alpha=0.0).text == "梦梦"


def test_line_crop_padding_rule():
    line = np.full((60, 700, 3), 240, np.uint8)
    page = np.full((1200, 900, 3), 240, np.uint8)
    assert is_line_crop(line) and not is_line_crop(page)
    padded, off = pad_for_detection(line)
    assert off == 120 and padded.shape == (60 + 240, 700 + 240, 3)
    assert (padded[0, 0] == 240).all()
    assert pad_for_detection(page)[1] == 18


def test_expand_grows_box_inside_image():
    box = np.array([[100, 100], [300, 100], [300, 140], [100, 140]], np.float32)
    big = _expand(box, (1000, 1000, 3))
    assert big[0].tolist() == [90, 90] and big[2].tolist() == [310, 150]
    edge = _expand(np.array([[0, 0], [50, 0], [50, 20], [0, 20]], np.float32), (30, 60, 3))
    assert edge.min() >= 0 and edge[:, 0].max() <= 59 and edge[:, 1].max() <= 29


@pytest.mark.skipif(find_cjk_font() is None, reason="no CJK font installed")
def test_tight_line_crop_reads_with_boxes_in_crop_coordinates(rapidocr_engine):
    # (the padding's accuracy gain shows on real line photos, see benchmarks/ocr.py;
    # rendered crops are read with or without it)
    text = "村民李桂兰反映低保评定不公开"
    page = render_page([text], font_size=40)
    ys, xs = np.nonzero(page.min(axis=2) < 128)
    crop = np.ascontiguousarray(page[ys.min() - 2 : ys.max() + 3, xs.min() - 2 : xs.max() + 3])
    ours = rapidocr_engine.recognize(crop)
    assert cer("".join(line.text for line in ours.lines), text) <= 0.1
    assert all(len(line.char_confidences) == len(line.text) for line in ours.lines)
    assert all(0 <= c <= 1 for line in ours.lines for c in line.char_confidences)
    h, w = crop.shape[:2]
    for line in ours.lines:
        x0, y0, x1, y1 = line.bbox
        assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h
        assert x1 - x0 > 0.8 * w  # the whole line, not the padding


def test_det_max_side_is_checked():
    from minqing import ocr

    for bad in (0, 16, True, "960", 960.0):
        with pytest.raises(ValueError, match="det_max_side"):
            ocr.engine_id("rapidocr", det_max_side=bad)
    assert ocr.engine_id("rapidocr", det_max_side=960) != ocr.engine_id(
        "rapidocr", det_max_side=None
    )


@pytest.mark.skipif(find_cjk_font() is None, reason="no CJK font installed")
def test_downscaled_detection_reads_full_resolution_page():
    # detection on a 640 px copy of a 1240 px page: same lines, boxes in page coordinates
    from minqing import ocr

    text = ["村民李桂兰反映低保评定不公开", "二组道路年久失修雨天积水", "已转交民政办下周回访"]
    page = render_page(text, font_size=40)
    full = ocr.get_engine("rapidocr", det_max_side=None, **thread_kw()).recognize(page)
    small = ocr.get_engine("rapidocr", det_max_side=640, **thread_kw()).recognize(page)
    assert [line.text for line in small.lines] == [line.text for line in full.lines]
    assert cer("".join(line.text for line in small.lines), "".join(text)) <= 0.05
    for a, b in zip(small.lines, full.lines, strict=True):
        assert np.abs(np.subtract(a.bbox, b.bbox)).max() <= 12  # px on the full page


@pytest.mark.skipif(find_cjk_font() is None, reason="no CJK font installed")
def test_line_crops_ignore_det_max_side():
    # a tight line crop keeps rapidocr's upscaling resize: a 64 px limit would find nothing
    from minqing import ocr

    text = "村民李桂兰反映低保评定不公开"
    page = render_page([text], font_size=40)
    ys, xs = np.nonzero(page.min(axis=2) < 128)
    crop = np.ascontiguousarray(page[ys.min() - 2 : ys.max() + 3, xs.min() - 2 : xs.max() + 3])
    got = ocr.get_engine("rapidocr", det_max_side=64, **thread_kw()).recognize(crop)
    assert cer("".join(line.text for line in got.lines), text) <= 0.1


def test_tta_leaves_the_sample_pages_as_they_were() -> None:
    """Issue 14: test-time crop variants are on by default; a variant that changes only
    punctuation is not taken (without that rule, the 。 ending a line of shiqiao-liming
    page 1 was read as °)."""
    import cv2

    from minqing.ocr import get_engine
    from minqing.ocr._rapid import _letters

    assert _letters("措施：联系水利站。") == _letters("措施:联系水利站°") == "措施联系水利站"
    page = Path(__file__).resolve().parents[1] / "samples" / "shiqiao-liming" / "page-01.jpg"
    img = cv2.imread(str(page))
    if img is None:
        pytest.skip("sample page not found")
    with_tta = [ln.text for ln in get_engine("rapidocr", tta=True).recognize(img).lines]
    without = [ln.text for ln in get_engine("rapidocr", tta=False).recognize(img).lines]
    assert with_tta == without
    assert not any("°" in t for t in with_tta)
