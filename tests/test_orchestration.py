"""The pipeline orchestrates (issue 11): engine choice by value, typed page records, one
carry rule, no SQL above the archive, no import cycle in ocr/, no edits of the import path."""

from __future__ import annotations

import ast
import pickle
import re
import subprocess
from pathlib import Path

import pytest

from minqing import ocr, paths
from minqing.archive import records
from minqing.ocr.types import Line, PageText
from minqing.pipeline import TEXT_LAYER_ENGINE, PageResult

ROOT = Path(__file__).resolve().parents[1]


# -- EngineSpec ------------------------------------------------------------------------------


def test_engine_spec_id_is_the_engine_id_the_ocr_cache_is_keyed_on():
    assert ocr.EngineSpec().id() == ocr.engine_id("rapidocr")
    spec = ocr.EngineSpec("rapidocr", {"pad": False, "lm": False})
    assert spec.id() == ocr.engine_id("rapidocr", lm=False, pad=False)
    assert spec.id() != ocr.EngineSpec("rapidocr").id()
    # the id string itself (so the caches of archives built before stay valid)
    assert re.fullmatch(
        r"rapidocr-[\d.]+/PP-OCRv6_det_small:\d+/PP-OCRv6_rec_small:\d+/onnxruntime-[\d.]+"
        # issue 14 added forms= and tta= (and stage 4), then rule_stubs= and tta on:
        # deliberate cache bumps
        r"/stage-\d+/det_max_side=1120,forms=True,lm=False,lm_alpha=0\.5,pad=False,rescue=True"
        r",rule_stubs=True,tta=True",
        spec.id(),
    )


def test_engine_spec_is_a_value_that_travels_to_workers():
    a = ocr.EngineSpec("rapidocr", {"pad": False, "lm": "beam"})
    b = ocr.EngineSpec("rapidocr", {"lm": "beam", "pad": False})
    assert a == b and hash(a) == hash(b)
    assert pickle.loads(pickle.dumps(a)) == a
    assert a.options() == {"lm": "beam", "pad": False}
    with pytest.raises(ValueError, match="unknown rapidocr engine parameter"):
        ocr.EngineSpec("rapidocr", {"colour": True}).id()
    with pytest.raises(ocr.UnknownEngineError):
        ocr.EngineSpec("tesseract").id()


def test_engine_spec_builds_its_engine_with_the_threads_asked():
    spec = ocr.EngineSpec("rapidocr", {"lm": False})
    engine = spec.build(threads=1)
    assert engine.engine_id == spec.id()
    assert engine.threads == 1
    clone = pickle.loads(pickle.dumps(engine))
    assert (clone.engine_id, clone.threads) == (spec.id(), 1)


def _imports(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return out


def test_ocr_backends_do_not_import_the_registry():
    """engine.py (the registry) imports the backends; they import only ocr/base.py."""
    for backend in ("base.py", "_rapid.py", "_paddle.py", "_lm.py", "_ctc.py"):
        imported = _imports(ROOT / "ocr" / backend)
        assert not {"minqing.ocr", "minqing.ocr.engine"} & imported, backend
    assert {"minqing.ocr._rapid", "minqing.ocr._paddle"} <= _imports(ROOT / "ocr" / "engine.py")


# -- one place for the model files and the cache ------------------------------------------


def test_ingest_and_ocr_find_the_model_files_in_one_place():
    from minqing.ingest import normalise
    from minqing.ocr import _rapid

    models = paths.rapidocr_models_dir()
    assert models is not None
    assert [p.parent for p in _rapid.model_files()] == [models, models]
    assert (models / normalise.CLS_MODEL).is_file()
    assert normalise._cls_session() is not None
    for module in ("ingest/normalise.py", "ocr/_rapid.py"):
        assert 'find_spec("rapidocr")' not in (ROOT / module).read_text(encoding="utf-8")


def test_every_cache_honours_MINQING_CACHE(monkeypatch, tmp_path):
    from minqing.ocr import _lm

    monkeypatch.setenv("MINQING_CACHE", str(tmp_path / "c"))
    assert paths.cache_dir() == tmp_path / "c"
    assert _lm._cache_file(_lm._dict_path()).parent == tmp_path / "c"
    monkeypatch.delenv("MINQING_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert paths.cache_dir() == tmp_path / "x" / "minqing"


# -- typed page records ---------------------------------------------------------------------


def _page_text(engine_id: str = "e1") -> PageText:
    box = ((10, 10), (90, 10), (90, 30), (10, 30))
    return PageText(lines=(Line("走访", box, 0.9),), engine_id=engine_id, width=100, height=50)


def test_page_result_is_one_picklable_record():
    p = PageResult(
        index_in_source=0,
        image="images/ab/x.png",
        original="images/cd/y.jpg",
        sha256="x",
        original_sha256="y",
        width=100,
        height=50,
        transforms=["deskew:1.5"],
        flags={"blur": 12},
        page_text=_page_text(),
    )
    assert p.transforms == ("deskew:1.5",) and p.flags == (("blur", 12.0),)
    assert pickle.loads(pickle.dumps(p)) == p
    rec = p.record("book", 3, "scans/p1.jpg", _page_text())
    assert (rec.book_id, rec.page_no, rec.source_file, rec.flags) == (
        "book",
        3,
        "scans/p1.jpg",
        (("blur", 12.0),),
    )
    with pytest.raises(ValueError, match="text_layer"):
        PageResult(0, "i", "o", "x", "y", 1, 1, (), (), page_text=_page_text(TEXT_LAYER_ENGINE))


# -- one carry rule -------------------------------------------------------------------------


def test_one_rule_carries_corrections_across_a_reocr():
    box = (0, 0, 100, 20)
    assert records.box_iou(box, box) == 1.0
    assert records.box_iou(box, (200, 0, 300, 20)) == 0.0
    # the best overlap wins; a candidate without a box never does
    cands = [("a", (0, 30, 100, 50)), ("b", None), ("c", (10, 0, 100, 20)), ("d", (0, 0, 60, 20))]
    assert records.carry_target(box, cands) == "c"
    # below the threshold nothing is carried
    just_below = (0, 0, 100 * records.CARRY_IOU - 1, 20)
    just_above = (0, 0, 100 * records.CARRY_IOU + 1, 20)
    assert records.carry_target(box, [("x", just_below)]) is None
    assert records.carry_target(box, [("x", just_above)]) == "x"
    # the first of equally good candidates
    assert records.carry_target(box, [("p", box), ("q", box)]) == "p"


def test_the_carry_rule_is_written_once():
    pkg_dirs = ["archive", "review", "minqing", "datasette/web", "classify", "volumes"]
    defs = []
    for d in pkg_dirs:
        for f in (ROOT / d).rglob("*.py"):
            for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
                if isinstance(node, ast.FunctionDef) and re.search(r"(^|_)iou($|_)", node.name):
                    defs.append(f"{f.relative_to(ROOT)}:{node.name}")
    assert defs == ["archive/records.py:box_iou"]


# -- house rules ----------------------------------------------------------------------------


def test_no_sql_above_the_archive():
    """minqing/ (CLI and pipeline) asks archive functions; it runs no SQL of its own."""
    pattern = re.compile(r"\.execute\(|\.query\(|\bdb\[|\bconn\.")
    hits = [
        f"{f.relative_to(ROOT)}:{n}: {line.strip()}"
        for f in sorted((ROOT / "minqing").glob("*.py"))
        for n, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert hits == []


def test_nothing_edits_the_import_path():
    """Benchmarks and generators run as modules (``python -m benchmarks.ocr``) instead."""
    needle = "sys." + "path"  # spelt apart so that this file is no hit
    # the project's own files: those git tracks or would track (build output is ignored)
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    files = [ROOT / f for f in listed if (ROOT / f).is_file()]
    assert len(files) > 100
    hits = [str(f.relative_to(ROOT)) for f in files if needle in f.read_text(encoding="utf-8")]
    assert hits == []
