"""Corrections outrank the machine forever: a re-ingest with another OCR engine setting
(so every page is OCR'd again) and re-classification keeps every correction."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import pytest

from minqing import pipeline
from minqing.archive.store import Archive
from minqing.ocr.testing import DIARY_LINES, find_cjk_font, render_page
from minqing.review import corrections

pytestmark = pytest.mark.skipif(find_cjk_font() is None, reason="no CJK font to render a test page")


@pytest.fixture(scope="module")
def scans(tmp_path_factory: pytest.TempPathFactory) -> Path:
    book = tmp_path_factory.mktemp("scans") / "yangshugou-zhang"
    book.mkdir()
    cv2.imwrite(str(book / "page-01.png"), render_page(DIARY_LINES[:7], seed=1))
    cv2.imwrite(str(book / "page-02.png"), render_page(DIARY_LINES[7:], seed=2))
    return book


def test_corrections_survive_reocr_and_reclassification(scans: Path, tmp_path: Path) -> None:
    arc = Archive(tmp_path / "arc", create=True)
    try:
        pipeline.run_ingest([scans], arc, engine_name="rapidocr", workers=1)
        engine_1 = {r["ocr_engine"] for r in arc.db.query("select ocr_engine from pages")}
        lines = list(arc.db.query("select * from lines where page_no = 1 order by line_no"))
        assert len(lines) >= 5
        # a reviewer corrects two lines, a category, a status and a date
        fixed = {
            lines[1]["line_id"]: "张大爷反映自家饮水井水量不足，夏天常断水。",
            lines[3]["line_id"]: "措施：联系乡水利站勘察饮水项目。",
        }
        for lid, text in fixed.items():
            corrections.correct_line(arc, lid, text, who="rev")
        # and confirms one as it stands (issue 15: a checked line counts as checked for good)
        checked = lines[4]
        assert corrections.check_line(arc, checked["line_id"], checked["text"], who="rev") == (
            "checked"
        )
        eid = lines[1]["entry_id"]
        corrections.set_category(arc, eid, 2, who="rev")
        corrections.set_status(arc, eid, "escalated", who="rev")
        corrections.set_date(arc, eid, "2024-03-06", who="rev")
        n_corrections = arc.db["corrections"].count
        # re-run: a different engine setting (re-OCR of every page) and re-classification
        # (the pipeline itself re-applies reviewers' decisions: nothing is called by hand)
        pipeline.run_ingest(
            [scans], arc, engine_name="rapidocr", engine_params={"pad": False}, workers=1
        )
        engine_2 = {r["ocr_engine"] for r in arc.db.query("select ocr_engine from pages")}
        assert engine_1 != engine_2 and all("pad=False" in e for e in engine_2)
        texts = {r["text"] for r in arc.db.query("select text from lines where corrected = 1")}
        assert set(fixed.values()) <= texts
        assert checked["text"] in texts  # carried like a correction, though never changed
        row = next(arc.db.query("select * from entries where text like ?", ["%夏天常断水%"]))
        assert (row["category_code"], row["category_confirmed"]) == (2, 1)
        assert (row["status_code"], row["status_confirmed"]) == ("escalated", 1)
        assert (row["date"], row["date_confirmed"]) == ("2024-03-06", 1)
        hits = [
            r["entry_id"]
            for r in arc.db.query(
                "select entry_id from entries "
                "where rowid in (select rowid from entries_fts where entries_fts match ?)",
                ['"夏天 天常 常断"'],
            )
        ]
        assert hits == [row["entry_id"]]
        assert arc.db["corrections"].count == n_corrections  # the audit trail is untouched
        from minqing.archive.export import iter_entries

        exported = next(e for e in iter_entries(arc) if e["entry_id"] == row["entry_id"])
        assert exported["category_code"] == 2 and "夏天常断水" in exported["text"]
        assert json.loads(row["line_ids"])
    finally:
        arc.close()
