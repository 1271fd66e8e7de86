"""The bundled sample notebooks: committed images, ground truth, and that OCR reads them."""

from __future__ import annotations

import collections
import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from tests._helpers import need_shared

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
BOOKS = {"shiqiao-zhangwei": 5, "shiqiao-liming": 3}
STATUSES = {"已记录", "办理中", "已上报", "已解决", "已解释"}
SCORER_CANDIDATES = [
    ROOT.parent / "shared" / "tools" / "score_export.py",
    Path("/work/shared/tools/score_export.py"),
]


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod  # dataclasses resolve string annotations through sys.modules
    spec.loader.exec_module(mod)
    return mod


def _json(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


def _nows(s: str) -> str:
    return re.sub(r"\s+", "", s)


@pytest.fixture(scope="module")
def truth():
    return _json(SAMPLES / "truth.json")


def test_page_images_are_committed_with_expected_count_size_and_format():
    for book, n_pages in BOOKS.items():
        pages = sorted((SAMPLES / book).glob("page-*.jpg"))
        assert [p.name for p in pages] == [f"page-{i:02d}.jpg" for i in range(1, n_pages + 1)]
        for p in pages:
            assert p.read_bytes()[:3] == b"\xff\xd8\xff", f"{p} is not a JPEG"
            with Image.open(p) as im:
                assert im.size == (1200, 1700)
                assert im.mode == "RGB"
    total = sum(f.stat().st_size for f in SAMPLES.rglob("*") if f.is_file())
    assert total < 4.5 * 2**20, f"samples/ is {total / 2**20:.1f} MiB"


def test_images_are_paper_with_ink_not_blank():
    with Image.open(SAMPLES / "shiqiao-liming" / "page-01.jpg") as im:
        grey = im.convert("L")
        hist = grey.histogram()
    dark = sum(hist[:100]) / sum(hist)
    paper = sum(hist[200:]) / sum(hist)
    assert 0.01 < dark < 0.2  # handwriting strokes
    assert paper > 0.7  # mostly cream paper


def test_lines_json_covers_every_page_and_boxes_lie_inside_it():
    for book, n_pages in BOOKS.items():
        pages = _json(SAMPLES / book / "lines.json")
        assert [p["page"] for p in pages] == list(range(1, n_pages + 1))
        for p in pages:
            assert (SAMPLES / book / p["image"]).is_file()
            assert p["header"] == "民情日记" and p["footer"] == str(p["page"])
            assert len(p["lines"]) == len(p["boxes"]) == len(p["entry_ids"]) > 0
            assert abs(p["tilt_deg"]) <= 1.5
            w, h = p["size"]
            for x0, y0, x1, y1 in p["boxes"]:
                assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h
            for line in p["lines"]:
                assert len(_nows(line)) <= 18, line


def test_truth_text_is_exactly_the_drawn_body_lines(truth):
    """Entry texts, in order, are the drawn lines (headers and page numbers excluded)."""
    for book in BOOKS:
        pages = _json(SAMPLES / book / "lines.json")
        by_entry = collections.defaultdict(list)
        entry_pages = collections.defaultdict(set)
        for p in pages:
            for line, eid in zip(p["lines"], p["entry_ids"], strict=True):
                by_entry[eid].append(line)
                entry_pages[eid].add(p["page"])
        entries = [e for e in truth["entries"] if e["book_id"] == book]
        assert [e["entry_id"] for e in entries] == list(by_entry)
        for e in entries:
            assert e["text"] == _nows("".join(by_entry[e["entry_id"]]))
            assert "民情日记" not in e["text"]
            assert (e["page_start"], e["page_end"]) == (
                min(entry_pages[e["entry_id"]]),
                max(entry_pages[e["entry_id"]]),
            )
        per_book = _json(SAMPLES / book / "truth.json")
        assert per_book["entries"] == entries
        assert [b["book_id"] for b in per_book["books"]] == [book]


def test_truth_has_the_properties_the_project_relies_on(truth):
    entries = truth["entries"]
    by_id = {e["entry_id"]: e for e in entries}
    assert {b["book_id"] for b in truth["books"]} == set(BOOKS)
    assert 10 <= len(entries) <= 14
    assert len({e["category_code"] for e in entries}) >= 6
    assert all(e["status"] in STATUSES for e in entries)
    assert sum("饮水" in e["text"] for e in entries) == 2
    assert 1 <= sum("土地承包" in e["text"] for e in entries) <= 3
    follow_ups = [e for e in entries if e["follow_up_of"]]
    assert len(follow_ups) >= 2
    assert all(by_id[f["follow_up_of"]]["book_id"] == f["book_id"] for f in follow_ups)
    assert any(f["page_start"] > by_id[f["follow_up_of"]]["page_end"] for f in follow_ups)
    assert any(e["page_end"] > e["page_start"] for e in entries)
    for e in entries:
        assert re.fullmatch(r"\d{4}-\d\d-\d\d", e["date"])
        assert isinstance(e["date_inferred"], bool)
        assert e["text"] == _nows(e["text"])


def test_committed_truth_is_what_the_generator_spec_produces(truth):
    """Truth and images come from one spec: regenerating the truth reproduces the file."""
    make_samples = _load("make_samples_under_test", SAMPLES / "make_samples.py")
    assert make_samples.truth() == truth


def _scorer() -> Path:
    # skipped on a machine without ../shared; a failure under CI=true
    return need_shared(*SCORER_CANDIDATES)


def test_score_export_selftest_passes_on_the_combined_truth():
    scorer = _scorer()
    res = subprocess.run(
        [sys.executable, str(scorer), str(SAMPLES / "truth.json"), "--selftest"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    assert "SELFTEST PASS" in res.stdout


@pytest.mark.parametrize("book", sorted(BOOKS))
def test_per_book_truth_scores_perfectly_against_itself(book, tmp_path):
    # (--selftest also demands that random perturbations hurt every metric, which a 5-entry
    # book cannot guarantee; the truth-as-export round trip is the validity check here)
    scorer = _scorer()
    truth_path = SAMPLES / book / "truth.json"
    export = tmp_path / "export.jsonl"
    metrics = tmp_path / "m.json"
    for args in (["--truth-export", str(export)], [str(export), "--json", str(metrics)]):
        res = subprocess.run(
            [sys.executable, str(scorer), str(truth_path), *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert res.returncode == 0, res.stderr[-2000:]
    m = _json(metrics)
    assert (
        m["seg_f1"],
        m["cer_book"],
        m["cat_acc"],
        m["date_acc"],
        m["status_acc"],
        m["page_acc"],
    ) == (1.0, 0.0, 1.0, 1.0, 1.0, 1.0)
    assert not m["issues"]


@pytest.mark.slow
def test_real_ocr_reads_a_tilted_sample_page():
    pytest.importorskip("rapidocr")
    from rapidocr import RapidOCR

    check = _load("check_ocr_under_test", SAMPLES / "check_ocr.py")
    page = SAMPLES / "shiqiao-zhangwei" / "page-02.jpg"
    rec = next(p for p in _json(page.parent / "lines.json") if p["image"] == page.name)
    assert rec["tilt_deg"] != 0
    engine = RapidOCR(params={"Global.use_cls": False})
    res = engine(str(page))
    assert res.txts, "OCR found no text"
    hyp = "".join(check.reading_order([list(map(list, b)) for b in res.boxes], list(res.txts)))
    truth = check.page_truth(page)
    t, h = check.norm(truth), check.norm(hyp)
    cer = check.levenshtein(t, h) / len(t)
    assert cer < 0.10, f"CER {cer:.1%}\ntruth {t}\nocr   {h}"


def test_renderer_draws_a_labelled_entry_and_its_truth(tmp_path):
    """tools/render_notebook.py on a tiny spec: files, truth text, and ink inside the boxes."""
    pytest.importorskip("handright")
    rn = _load("render_notebook_under_test", ROOT / "tools" / "render_notebook.py")
    if not Path(rn.WENKAI).is_file():
        pytest.skip("fonts-lxgw-wenkai not installed")
    spec = {
        "book_id": "test-book",
        "entries": [
            {
                "entry_id": "t-1",
                "date": "2024-05-06",
                "date_format": "ymd_week",
                "category_code": 5,
                "status": "已记录",
                "indent": False,
                "paragraphs": ["地点：河湾村五组", "反映问题：村里的路灯坏了三盏，晚上出行不便。"],
                "fields": {"地点": "河湾村五组"},
            },
            {
                "entry_id": "t-2",
                "date": "2024-05-06",
                "date_format": "same_day",
                "category_code": 8,
                "status": "办理中",
                "follow_up_of": "t-1",
                "paragraphs": ["联系电工，明天上门维修。"],
            },
        ],
    }
    hand = rn.HandStyle(chars_per_line=12)
    page = rn.PageStyle(
        size=(900, 700),
        header_y=40,
        header_rule_y=100,
        rule_top=200,
        rule_pitch=80,
        n_rules=5,
        tilts=(1.0,),
    )
    entries = rn.render_book(spec, tmp_path, 7, hand, page)
    assert [p.name for p in sorted(tmp_path.glob("page-*"))] == ["page-01.jpg", "page-02.jpg"]
    assert (
        entries[0]["text"]
        == "2024年5月6日星期一地点：河湾村五组反映问题：村里的路灯坏了三盏，晚上出行不便。"
    )
    assert entries[0]["fields"] == {"地点": "河湾村五组"}
    assert entries[1]["text"] == "同日联系电工，明天上门维修。"
    assert entries[1]["date_inferred"] is True and entries[1]["follow_up_of"] == "t-1"
    assert (entries[1]["page_start"], entries[1]["page_end"]) == (2, 2)
    pages = _json(tmp_path / "lines.json")
    assert pages[0]["lines"][:2] == ["2024年5月6日 星期一", "地点：河湾村五组"]
    assert _json(tmp_path / "truth.json")["entries"] == entries
    with Image.open(tmp_path / "page-01.jpg") as im:
        grey = im.convert("L")
    for x0, y0, x1, y1 in pages[0]["boxes"]:
        ink = min(grey.crop((x0, y0, x1, y1)).getdata())
        assert ink < 100, "no dark stroke inside a line box"


def test_renderer_writes_two_page_spreads_with_boxes_on_the_right_half(tmp_path):
    pytest.importorskip("handright")
    rn = _load("render_notebook_under_test", ROOT / "tools" / "render_notebook.py")
    if not Path(rn.UKAI).is_file():
        pytest.skip("fonts-arphic-ukai not installed")
    spec = {
        "book_id": "spread-book",
        "entries": [
            {
                "entry_id": f"s-{i}",
                "date": f"2024-06-0{i}",
                "date_format": "md",
                "category_code": 8,
                "status": "已记录",
                "paragraphs": ["村民来问医保缴费的事，已当面讲清楚。"],
            }
            for i in range(1, 4)
        ],
    }
    hand = rn.HandStyle(font_path=rn.UKAI, font_px=36, chars_per_line=12)
    page = rn.PageStyle(
        size=(760, 600),
        header_y=30,
        header_rule_y=90,
        rule_top=190,
        rule_pitch=70,
        n_rules=5,
        spread=True,
        tilts=(0.8, 0.0),
    )
    with pytest.raises(ValueError, match="lower chars_per_line"):
        rn.layout_book(spec, rn.HandStyle(font_px=60, chars_per_line=12), page)
    entries = rn.render_book(spec, tmp_path, 11, hand, page)
    assert [e["page_start"] for e in entries] == [1, 2, 3]
    assert [p.name for p in sorted(tmp_path.glob("scan-*"))] == ["scan-01.jpg", "scan-02.jpg"]
    assert not list(tmp_path.glob("page-*"))
    recs = _json(tmp_path / "lines.json")
    assert [(r["page"], r["image"], r["side"]) for r in recs] == [
        (1, "scan-01.jpg", "left"),
        (2, "scan-01.jpg", "right"),
        (3, "scan-02.jpg", "left"),
    ]
    with Image.open(tmp_path / "scan-01.jpg") as im:
        assert im.size == (2 * 760 + page.gutter_px, 600)
        grey = im.convert("L")
    for x0, y0, x1, y1 in recs[1]["boxes"]:
        assert x0 > 760
        assert min(grey.crop((x0, y0, x1, y1)).getdata()) < 100
