"""The optional ``paddleocr`` backend (``pip install 'minqing[paddle]'``).

Without the package: the engine is registered and says how to install it; its
model folders (built from the rapidocr wheel's ONNX files) are still tested.
With it: the same interface contract as the default backend, on real models and
generated pages, and a run with no network at all.
"""

from __future__ import annotations

import os
import pickle
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import yaml

from minqing import ocr
from minqing.ocr import EngineUnavailableError, Line, PageText, get_engine
from minqing.ocr._paddle import DET_NAME, REC_NAME, is_installed, model_dirs
from minqing.ocr._rapid import model_files
from minqing.ocr.testing import DIARY_LINES, GAPPED_LINES, cer, find_cjk_font, render_page

needs_paddle = pytest.mark.skipif(
    not is_installed(), reason="paddleocr not installed (pip install 'minqing[paddle]')"
)
needs_font = pytest.mark.skipif(find_cjk_font() is None, reason="no CJK font installed")


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """A fresh MINQING_CACHE for this module (the model folders are built in it)."""
    path = tmp_path_factory.mktemp("minqing-cache")
    before = os.environ.get("MINQING_CACHE")
    os.environ["MINQING_CACHE"] = str(path)
    yield path
    if before is None:
        os.environ.pop("MINQING_CACHE", None)
    else:
        os.environ["MINQING_CACHE"] = before


@pytest.fixture(scope="module")
def engine(cache):
    import cv2

    threads = cv2.getNumThreads()
    yield get_engine("paddleocr", threads=1)
    cv2.setNumThreads(threads)  # process-wide: give later tests their threads back


# --- always: registration, messages, model folders -------------------------------------


def test_registered():
    assert "paddleocr" in ocr.available_engines()


@pytest.mark.skipif(is_installed(), reason="paddleocr is installed")
def test_missing_package_says_how_to_install():
    for build in (lambda: get_engine("paddleocr"), lambda: ocr.engine_id("paddleocr")):
        with pytest.raises(EngineUnavailableError, match=r"pip install 'minqing\[paddle\]'") as e:
            build()
        assert "--engine rapidocr" in str(e.value)


def test_unknown_parameter():
    for build in (get_engine, ocr.engine_id):
        with pytest.raises(ValueError, match=r"unknown paddleocr engine parameter\(s\) \['lm'\]"):
            build("paddleocr", lm="beam")


def test_model_folders_hold_what_paddlex_reads(cache):
    det, rec = model_dirs(model_files())
    assert det.parent.parent.parent == cache / "paddle-models"
    for folder, name, onnx in (
        (det, DET_NAME, model_files()[0]),
        (rec, REC_NAME, model_files()[1]),
    ):
        assert (folder / "inference.onnx").read_bytes()[:4096] == onnx.read_bytes()[:4096]
        meta = yaml.safe_load((folder / "inference.yml").read_text(encoding="utf-8"))
        assert meta["Global"]["model_name"] == name
        assert meta["PreProcess"]["transform_ops"][0] == {
            "DecodeImage": {"channel_first": False, "img_mode": "BGR"}
        }
    chars = yaml.safe_load((rec / "inference.yml").read_text(encoding="utf-8"))["PostProcess"][
        "character_dict"
    ]
    # the dictionary embedded in the ONNX file, as the default backend reads it
    assert len(chars) == 18708
    assert {"饮", "水", "难", "〇"} <= set(chars)
    # no half-built folder left behind; a second call reuses the folders
    leftovers = [p.name for p in det.parent.parent.iterdir() if p.name.startswith(".build-")]
    assert leftovers == []
    mtime = (rec / "inference.yml").stat().st_mtime_ns
    assert model_dirs(model_files()) == (det, rec)
    assert (rec / "inference.yml").stat().st_mtime_ns == mtime


def test_model_folders_rebuilt_after_damage(cache):
    det, rec = model_dirs(model_files())
    shutil.rmtree(det.parent)
    assert model_dirs(model_files()) == (det, rec)
    assert (rec / "inference.yml").is_file() and (det / "inference.onnx").is_file()


def test_unwritable_cache_names_the_folder(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv("MINQING_CACHE", str(blocker))
    with pytest.raises(EngineUnavailableError, match="set MINQING_CACHE to a writable folder") as e:
        model_dirs(model_files())
    assert str(blocker) in str(e.value)


# --- with paddleocr: the engine contract ----------------------------------------------------


@needs_paddle
def test_engine_attributes(engine):
    assert engine.name == "paddleocr"
    assert engine.version.startswith("3.7")
    assert engine.threads == 1
    assert "PP-OCRv6_rec_small" in engine.engine_id and "paddlex-3.7" in engine.engine_id
    # the cheap id is the loaded engine's, threads or not
    assert ocr.engine_id("paddleocr") == engine.engine_id
    assert ocr.engine_id("paddleocr", threads=2) == engine.engine_id
    assert ocr.engine_id("paddleocr", pad=False) != engine.engine_id
    assert engine.engine_id != ocr.engine_id("rapidocr")


@needs_paddle
@needs_font
def test_recognize_contract(engine):
    image = render_page(DIARY_LINES[:6])
    page = engine.recognize(image)
    assert isinstance(page, PageText)
    assert page.engine_id == engine.engine_id
    assert (page.height, page.width) == image.shape[:2]
    assert len(page.lines) == 6
    h, w = image.shape[:2]
    for line in page.lines:
        assert isinstance(line, Line)
        assert 0.5 <= line.confidence <= 1.0
        x0, y0, x1, y1 = line.bbox
        assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h
    assert [line.text[:4] for line in page.lines] == [t[:4] for t in DIARY_LINES[:6]]
    assert cer("".join(line.text for line in page.lines), "".join(DIARY_LINES[:6])) <= 0.02


@needs_paddle
@needs_font
def test_same_text_as_the_default_backend(engine):
    image = render_page(DIARY_LINES[6:12])
    ours = engine.recognize(image)
    default = get_engine("rapidocr", lm=False, rescue=False).recognize(image)
    assert [line.text for line in ours.lines] == [line.text for line in default.lines]


@needs_paddle
@needs_font
@pytest.mark.parametrize("angle", [-4, 3.5])
def test_tilted_page_reads_in_order(engine, angle):
    page = engine.recognize(render_page(GAPPED_LINES, angle=angle))
    expected = [seg for line in GAPPED_LINES for seg in line.split("\t")]
    assert [line.text for line in page.lines] == expected


@needs_paddle
def test_blank_page_has_no_lines(engine):
    assert engine.recognize(np.full((400, 300, 3), 250, np.uint8)).lines == ()


@needs_paddle
def test_rebuilds_by_name_with_its_threads(engine):
    clone = pickle.loads(pickle.dumps(engine))
    assert clone is not engine
    assert (clone.engine_id, clone.threads) == (engine.engine_id, 1)


@needs_paddle
@needs_font
def test_runs_with_no_network_from_an_empty_cache(tmp_path):
    # a new network namespace has no interface but loopback: any download attempt fails
    if subprocess.run(["unshare", "-rn", "true"], check=False, capture_output=True).returncode:
        pytest.skip("cannot create a network namespace here (unshare -rn)")
    code = textwrap.dedent(
        """
        from minqing import ocr
        from minqing.ocr.testing import DIARY_LINES, render_page

        page = ocr.get_engine("paddleocr").recognize(render_page(DIARY_LINES[:3]))
        print("\\n".join(line.text for line in page.lines))
        """
    )
    env = {**os.environ, "HOME": str(tmp_path / "home"), "MINQING_CACHE": str(tmp_path / "c")}
    env.pop("PADDLE_PDX_CACHE_HOME", None)
    env.pop("PADDLE_PDX_DISABLE_MODEL_SOURCE_CHECK", None)
    proc = subprocess.run(
        ["unshare", "-rn", sys.executable, "-c", code],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    assert cer(proc.stdout.replace("\n", ""), "".join(DIARY_LINES[:3])) <= 0.02
    assert proc.stderr == ""  # a library stage prints nothing
    assert (tmp_path / "c" / "paddle-models").is_dir()
