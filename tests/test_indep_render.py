"""The independent corpus as render specs and truth (benchmarks/indep.py), and the capture
types and page features added to tools/render_notebook.py (issues 13, 18).

Reads the train and dev splits only (the test split is scored by the benchmark alone).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from PIL import Image

from benchmarks import indep

rn = indep.rn


@pytest.mark.parametrize("split", ["train", "dev"])
def test_truth_text_is_exactly_what_is_drawn(split: str) -> None:
    doc = indep.load_split(split)
    truth = indep.truth(split)
    writers = {e["entry_id"]: e for nb in doc["notebooks"] for e in nb["entries"]}
    drawn: dict[str, str] = {}
    for _nb, _st, lay in indep.layouts(split):
        for ln in lay.lines:
            if ln.entry_id:
                drawn[ln.entry_id] = drawn.get(ln.entry_id, "") + re.sub(r"\s+", "", ln.text)
    assert len(truth["entries"]) == len(writers)
    for t in truth["entries"]:
        w = writers[t["entry_id"]]
        written = (w["heading"] or "") + "".join(w["paragraphs"])
        written += "".join(n["text"] for n in w["later_notes"])
        assert t["text"] == drawn[t["entry_id"]] == re.sub(r"\s+", "", written)
        assert t["date"] == w["date"] and t["date_kind"] == w["date_kind"]
        assert 1 <= t["page_start"] <= t["page_end"]
    # cross-book follow-ups survive the renderer's same-book check
    assert any(t["cross_book"] and t["follow_up_of"] for t in truth["entries"])


def test_every_capture_type_and_several_hands_are_used() -> None:
    books = indep.truth("train")["books"] + indep.truth("dev")["books"]
    assert {b["capture"] for b in books} == set(indep.CAPTURES)
    assert len({b["font"] for b in books}) >= 3


def test_manifest_has_the_notebooks_metadata(tmp_path: Path) -> None:
    path = indep.write_manifest("dev", tmp_path / "books.csv")
    head, *rows = path.read_text(encoding="utf-8").splitlines()
    assert head == "book_id,cadre,post,township,village"
    assert len(rows) == len(indep.load_split("dev")["notebooks"])


def _tiny_book() -> dict:
    return {
        "book_id": "tiny",
        "cover": "民情日记（第二本）",
        "entries": [
            {
                "entry_id": "t-1",
                "date": "2024-03-05",
                "date_line": "3.5 晴",
                "category_code": 5,
                "status": "已解决",
                "paragraphs": [
                    "张家的水管修好了。",
                    {"text": "3月9日补记：回访，正常。", "ink": [170, 30, 30]},
                ],
            }
        ],
    }


def test_layout_puts_the_cover_alone_on_page_one() -> None:
    lay = rn.layout_book(_tiny_book(), rn.HandStyle(), rn.PageStyle())
    assert [ln.kind for ln in lay.lines if ln.page == 1] == ["cover"]
    assert lay.entries[0]["page_start"] == 2
    assert lay.entries[0]["text"] == "3.5晴张家的水管修好了。3月9日补记：回访，正常。"
    assert [ln.ink for ln in lay.lines if ln.entry_id][-1] == (170, 30, 30)


@pytest.mark.parametrize("kind", ["a5-on-a4", "phone", "phone-dim", "pdf", "phone-dark"])
def test_capture_types(tmp_path: Path, kind: str) -> None:
    pytest.importorskip("handright")
    if not Path(rn.WENKAI).exists():
        pytest.skip("fonts-lxgw-wenkai not installed")
    page = rn.PageStyle(size=(800, 1100), rule_top=250, rule_pitch=60, n_rules=13)
    hand = rn.HandStyle(font_px=36, chars_per_line=12)
    rn.render_book(_tiny_book(), tmp_path, 11, hand, page)
    target = rn.capture(tmp_path, kind, 11, "tiny")
    if kind == "pdf":
        assert target == tmp_path / "tiny.pdf" and target.read_bytes()[:5] == b"%PDF-"
        assert not list(tmp_path.glob("page-*.jpg"))
        return
    imgs = sorted(tmp_path.glob("page-*.jpg"))
    assert len(imgs) == 2
    big = Image.open(imgs[1])
    assert big.width > 800 and big.height > 1100  # the page lies on a larger scan or photo
    lines = json.loads((tmp_path / "lines.json").read_text(encoding="utf-8"))
    assert lines[1]["entry_ids"] == ["t-1"] * len(lines[1]["lines"])
