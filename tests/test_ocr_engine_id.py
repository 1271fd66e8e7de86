"""``ocr.engine_id`` (the id without loading models) and ``get_engine(threads=N)``.

Real engines: the cheap id must equal what a loaded engine reports, and a
single-threaded engine must still read a generated page.
"""

from __future__ import annotations

import pickle
import subprocess
import sys
import textwrap

import pytest

from minqing import ocr
from minqing.ocr import get_engine
from minqing.ocr.testing import DIARY_LINES, cer, find_cjk_font, render_page

PARAMS = [
    {},
    {"pad": False, "lm": False},
    {"lm": "beam", "lm_alpha": 0.3, "rescue": False},
    {"lm": True},  # spelled differently, same engine as the default
]


@pytest.fixture(scope="module")
def single_thread_engine():
    import cv2

    before = cv2.getNumThreads()
    yield get_engine("rapidocr", threads=1)
    cv2.setNumThreads(before)  # process-wide: give later tests their threads back


@pytest.mark.parametrize("params", PARAMS, ids=lambda p: ",".join(map(str, p.items())) or "default")
def test_engine_id_equals_the_loaded_engines(params):
    assert ocr.engine_id("rapidocr", **params) == get_engine("rapidocr", **params).engine_id


def test_engine_id_distinguishes_parameters():
    ids = {ocr.engine_id("rapidocr", **p) for p in PARAMS}
    assert len(ids) == 3  # {"lm": True} is the default engine
    assert ocr.engine_id() == ocr.engine_id("rapidocr")


def test_engine_id_loads_no_model():
    # a fresh interpreter: the id needs neither rapidocr's pipeline nor an ONNX session
    code = textwrap.dedent(
        """
        import sys
        import onnxruntime

        def refuse(*a, **k):
            raise AssertionError("engine_id created an ONNX Runtime session")

        onnxruntime.InferenceSession = refuse
        from minqing import ocr

        print(ocr.engine_id("rapidocr"))
        print(ocr.engine_id("rapidocr", lm=False, threads=1))
        loaded = sorted(m for m in ("rapidocr.main", "cv2", "jieba") if m in sys.modules)
        print(",".join(loaded) or "-")
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    default_id, no_lm_id, loaded = proc.stdout.splitlines()
    assert default_id == ocr.engine_id("rapidocr")
    assert no_lm_id == ocr.engine_id("rapidocr", lm=False)
    assert loaded == "-"


def test_engine_id_rejects_what_get_engine_rejects():
    with pytest.raises(ValueError, match="unknown rapidocr engine parameter"):
        ocr.engine_id("rapidocr", colour=True)
    with pytest.raises(ValueError, match="lm must be"):
        ocr.engine_id("rapidocr", lm="trigram")
    with pytest.raises(ocr.EngineUnavailableError, match="unknown OCR engine 'tesseract'"):
        ocr.engine_id("tesseract")
    with pytest.raises(ValueError, match="threads must be a positive integer"):
        ocr.engine_id("rapidocr", threads=0)


def test_threads_are_not_part_of_the_engine_id(single_thread_engine):
    assert single_thread_engine.threads == 1
    assert "threads" not in single_thread_engine.engine_id
    assert single_thread_engine.engine_id == ocr.engine_id("rapidocr")
    assert ocr.engine_id("rapidocr", threads=1) == ocr.engine_id("rapidocr")


def test_threads_reach_both_onnx_sessions(single_thread_engine):
    import cv2

    det = single_thread_engine._ocr.text_det.session.session.get_session_options()
    rec = single_thread_engine._rec.session.session.get_session_options()
    assert (det.intra_op_num_threads, rec.intra_op_num_threads) == (1, 1)
    assert cv2.getNumThreads() == 1


def test_single_thread_engine_reads_a_page(single_thread_engine):
    if find_cjk_font() is None:
        pytest.skip("no CJK font installed")
    page = single_thread_engine.recognize(render_page(DIARY_LINES[:3]))
    assert len(page.lines) == 3
    assert cer("".join(line.text for line in page.lines), "".join(DIARY_LINES[:3])) <= 0.02
    assert page.engine_id == ocr.engine_id("rapidocr")


def test_threads_survive_pickling(single_thread_engine):
    clone = pickle.loads(pickle.dumps(single_thread_engine))
    assert clone.threads == 1
    assert clone.engine_id == single_thread_engine.engine_id


@pytest.mark.parametrize("bad", [0, -2, 1.5, "2", True])
def test_bad_thread_counts_are_refused(bad):
    with pytest.raises(ValueError, match="threads must be a positive integer"):
        get_engine("rapidocr", threads=bad)
