"""The OCR stage: interface contract, reading order, normalisation, ``minqing ocr``.

Real PP-OCRv6 models on generated pages (LXGW WenKai / AR PL UKai); tests that need
a CJK font skip when none is installed.
"""

from __future__ import annotations

import inspect
import json
import pickle

import numpy as np
import pytest
from click.testing import CliRunner

from minqing import ocr
from minqing.ocr import EngineUnavailableError, Line, OcrEngine, OcrError, PageText, get_engine
from minqing.ocr.normalize import fullwidth_punctuation, normalize_text, to_simplified
from minqing.ocr.order import estimate_skew, reading_order
from minqing.ocr.testing import (
    DIARY_LINES,
    FORM_ROWS,
    GAPPED_LINES,
    cer,
    find_cjk_font,
    render_form,
    render_page,
)

needs_font = pytest.mark.skipif(find_cjk_font() is None, reason="no CJK font installed")


@pytest.fixture(scope="module")
def engine(rapidocr_engine: OcrEngine) -> OcrEngine:
    return rapidocr_engine  # loaded once per test run (conftest)


@pytest.fixture(scope="module")
def clean_page() -> np.ndarray:
    if find_cjk_font() is None:
        pytest.skip("no CJK font installed")
    return render_page(DIARY_LINES[:6])


def joined(page: PageText) -> str:
    return "".join(line.text for line in page.lines)


# --- interface contract -------------------------------------------------------------


def test_registry_lists_default_engine():
    assert "rapidocr" in ocr.available_engines()
    for fn in (get_engine, ocr.engine_id):
        assert inspect.signature(fn).parameters["name"].default == "rapidocr"


def test_engine_attributes(engine):
    assert isinstance(engine, OcrEngine)
    assert engine.name == "rapidocr"
    assert isinstance(engine.version, str) and engine.version.startswith("3.10")
    assert "PP-OCRv6_rec_small" in engine.engine_id
    assert f"stage-{ocr.STAGE_VERSION}" in engine.engine_id


@needs_font
def test_recognize_contract(engine, clean_page):
    page = engine.recognize(clean_page)
    assert isinstance(page, PageText)
    assert page.engine_id == engine.engine_id
    assert (page.height, page.width) == clean_page.shape[:2]
    assert page.seconds > 0
    assert len(page.lines) == 6
    h, w = clean_page.shape[:2]
    for line in page.lines:
        assert isinstance(line, Line)
        assert 0.0 <= line.confidence <= 1.0
        x0, y0, x1, y1 = line.bbox
        assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h
    # reading order and text: the lines come back top to bottom, as written
    assert cer(joined(page), "".join(DIARY_LINES[:6])) <= 0.02
    firsts = [line.text[:4] for line in page.lines]
    assert firsts == [t[:4] for t in DIARY_LINES[:6]]


def test_engine_id_stable_and_param_sensitive(engine):
    again = get_engine("rapidocr")
    assert again.engine_id == engine.engine_id
    unpadded = get_engine("rapidocr", pad=False)
    assert unpadded.engine_id != engine.engine_id


def test_engine_rebuilds_by_name_in_another_process(engine):
    # the pipeline ships engines to worker processes by pickling: rebuilt from name + params
    clone = pickle.loads(pickle.dumps(engine))
    assert clone is not engine and clone.engine_id == engine.engine_id


def test_unknown_engine_and_parameter():
    with pytest.raises(EngineUnavailableError, match="unknown OCR engine 'tesseract'"):
        get_engine("tesseract")
    with pytest.raises(ValueError, match="unknown rapidocr engine parameter"):
        get_engine("rapidocr", colour=True)
    with pytest.raises(ValueError, match="lm must be"):
        get_engine("rapidocr", lm="trigram")


def test_bad_image_raises_ocr_error(engine):
    with pytest.raises(OcrError, match="HxWx3"):
        engine.recognize(np.zeros((20, 20), np.uint8))
    with pytest.raises(OcrError, match="image array"):
        engine.recognize(b"not an array")


def test_engine_crash_becomes_ocr_error(engine, monkeypatch):
    def boom(*a, **k):
        raise RuntimeError("onnxruntime exploded")

    monkeypatch.setattr(engine, "_ocr", boom)
    with pytest.raises(OcrError, match="onnxruntime exploded") as info:
        engine.recognize(np.full((64, 64, 3), 255, np.uint8))
    assert "/" not in str(info.value)  # names no path: the pipeline adds the file


def test_blank_page_has_no_lines(engine):
    page = engine.recognize(np.full((400, 300, 3), 250, np.uint8))
    assert page.lines == ()


# --- reading order ------------------------------------------------------------------


def _rot(box, deg, cx=600, cy=400):
    t = np.radians(deg)
    r = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    return (np.asarray(box, float) - [cx, cy]) @ r.T + [cx, cy]


def test_reading_order_on_tilted_boxes():
    # two lines of three boxes each, tilted by 5 degrees: sorting by top-left y (what
    # the engines do) interleaves the lines; skew-corrected lines do not
    boxes = []
    for row in range(2):
        for col in range(3):
            x, y = 100 + col * 350, 300 + row * 60
            boxes.append(_rot([[x, y], [x + 300, y], [x + 300, y + 40], [x, y + 40]], 5))
    assert abs(estimate_skew(boxes) - 5) < 0.5
    shuffled = [boxes[i] for i in (5, 0, 3, 1, 4, 2)]
    order = reading_order(shuffled)
    assert [(5, 0, 3, 1, 4, 2)[i] for i in order] == [0, 1, 2, 3, 4, 5]
    naive = sorted(range(6), key=lambda i: boxes[i][0][1])
    assert naive != [0, 1, 2, 3, 4, 5]


def test_reading_order_keeps_stacked_boxes_apart():
    a = [[100, 100], [400, 100], [400, 140], [100, 140]]
    b = [[120, 125], [380, 125], [380, 165], [120, 165]]  # overlaps a vertically by 15 px
    assert reading_order([b, a]) == [1, 0]
    assert reading_order([]) == []


@needs_font
@pytest.mark.parametrize("angle", [-4, 3.5, 5])
def test_tilted_page_reads_in_order(engine, angle):
    # header-like lines with a wide gap: two boxes per line. At +3.5 degrees the
    # engine's own order (top-left y, 10 px tolerance) reads each right half first.
    page = engine.recognize(render_page(GAPPED_LINES, angle=angle))
    expected = [seg for line in GAPPED_LINES for seg in line.split("\t")]
    assert [line.text for line in page.lines] == expected


@needs_font
def test_form_page_reads_row_by_row(engine):
    page = engine.recognize(render_form(FORM_ROWS, angle=1.5))
    expected = [cell for row in FORM_ROWS for cell in row]
    assert [line.text for line in page.lines] == expected


# --- normalisation ------------------------------------------------------------------


def test_traditional_forms_fold_to_simplified():
    assert to_simplified("走訪張大爺家，蘭戶國邊蓋訂") == "走访张大爷家，兰户国边盖订"
    assert to_simplified("乾隆著作") == "乾隆著作"  # t2s leaves these alone
    assert to_simplified("abc") == "abc"


def test_ascii_punctuation_between_chinese_becomes_full_width():
    assert fullwidth_punctuation("措施:联系水利站,争取项目.") == "措施：联系水利站，争取项目。"
    assert fullwidth_punctuation("问题(饮水)解决了吗?好!") == "问题（饮水）解决了吗？好！"
    assert fullwidth_punctuation("水量3.5吨,共8户") == "水量3.5吨，共8户"
    assert fullwidth_punctuation("see a,b: ok.") == "see a,b: ok."


def test_circle_between_chinese_numerals_becomes_zero():
    # issue 14: a handwritten 〇 is often read as a white circle or a letter O
    assert normalize_text("二○二四年三月五日") == "二〇二四年三月五日"
    assert normalize_text("二OO五年，一◯五户") == "二〇〇五年，一〇五户"
    # elsewhere a circle stays: a bullet, letters, a circle after a numeral only
    assert normalize_text("○反映问题") == "○反映问题"
    assert normalize_text("三○") == "三○"
    assert normalize_text("OK，共二O") == "OK，共二O"


def test_normalize_keeps_raw_text_in_line():
    raw = "張大爺反映,水井乾了"
    line = Line(
        text=normalize_text(raw),
        box=((0, 0), (10, 0), (10, 5), (0, 5)),
        confidence=0.9,
        raw_text=raw,
    )
    assert line.text == "张大爷反映，水井干了"
    assert line.raw_text == raw


# --- minqing ocr --------------------------------------------------------------------


@pytest.fixture(scope="module")
def page_png(tmp_path_factory):
    if find_cjk_font() is None:
        pytest.skip("no CJK font installed")
    import cv2

    path = tmp_path_factory.mktemp("img") / "page.png"
    cv2.imwrite(str(path), render_page(DIARY_LINES[:3]))
    return path


def _cli():
    # ``minqing ocr`` through click; a bare group so that this test does not depend on
    # every other command module importing (minqing.cli registers them all)
    import click

    from minqing.cmd_ocr import command

    group = click.Group("minqing")
    group.add_command(command)
    return group


def test_cli_prints_lines_with_confidence(page_png):
    result = CliRunner().invoke(_cli(), ["ocr", str(page_png)])
    assert result.exit_code == 0, result.output
    out = result.stdout.splitlines()
    assert out[0] == f"== {page_png} (3 lines)"
    confs = [float(line.split("  ", 1)[0]) for line in out[1:]]
    texts = [line.split("  ", 1)[1] for line in out[1:]]
    assert all(0 <= c <= 1 for c in confs)
    assert cer("".join(texts), "".join(DIARY_LINES[:3])) <= 0.02


def test_cli_json(page_png):
    result = CliRunner().invoke(_cli(), ["ocr", "--json", str(page_png), str(page_png)])
    assert result.exit_code == 0, result.output
    objs = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(objs) == 2
    first = objs[0]
    assert first["image"] == str(page_png)
    assert len(first["lines"]) == 3
    assert set(first["lines"][0]) == {"text", "raw_text", "confidence", "box"}
    assert len(first["lines"][0]["box"]) == 4


def test_cli_corrupt_file_fails_alone(page_png, tmp_path):
    bad = tmp_path / "torn.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg")
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    result = CliRunner().invoke(_cli(), ["ocr", str(bad), str(page_png), str(empty)])
    assert result.exit_code == 3
    assert result.stderr.splitlines() == [
        f"Error: {bad}: not a readable image (rescan it, or export it as PNG, JPEG or TIFF)",
        f"Error: {empty}: the file is empty (rescan or re-copy it)",
    ]
    assert f"== {page_png} (3 lines)" in result.stdout


def test_cli_reads_each_page_of_a_pdf(page_png, tmp_path):
    """A scanned PDF is read page by page (named FILE#N), not refused as "not an image"."""
    from PIL import Image

    with Image.open(page_png) as im:
        first = im.convert("RGB")
        second = first.copy()
        pdf = tmp_path / "notebook.pdf"
        first.save(pdf, save_all=True, append_images=[second], resolution=200)
    result = CliRunner().invoke(_cli(), ["ocr", str(pdf)])
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    assert f"== {pdf}#1 (3 lines)" in result.stdout
    assert f"== {pdf}#2 (3 lines)" in result.stdout
    pages = result.stdout.split(f"== {pdf}#2")
    # both pages carry the same handwriting: the same lines were read from each
    assert DIARY_LINES[0][:4] in pages[0] and DIARY_LINES[0][:4] in pages[1]


def test_cli_unknown_engine(page_png):
    result = CliRunner().invoke(_cli(), ["ocr", "--engine", "nope", str(page_png)])
    assert result.exit_code == 5
    assert result.stderr.startswith("Error: unknown OCR engine 'nope'")


def test_cli_help_has_example():
    result = CliRunner().invoke(_cli(), ["ocr", "--help"])
    assert result.exit_code == 0
    assert "minqing ocr --json" in result.stdout
