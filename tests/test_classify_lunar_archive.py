"""Issue 18: a lunar-only notebook ingested beside a dated one gets its days from it, through
the pipeline's real archive (no OCR: lines written as a reviewer's archive test does)."""

from __future__ import annotations

import datetime as dt

from minqing.archive import records
from tests._review_archive import build_archive


def test_a_lunar_only_notebook_is_dated_from_its_neighbours_in_the_archive(tmp_path) -> None:
    from minqing.pipeline import _year_from_neighbours

    books = {
        "kept": [[("2024年12月5日 晴", 0.99), ("修整三组的机耕道。", 0.99),
                  ("1月16日 阴", 0.99), ("机耕道验收。", 0.99)]],
        "lunar": [[("腊月初九 阴", 0.99), ("给孤寡老人送棉衣。", 0.99),
                   ("正月初六 晴", 0.99), ("开年第一次村民小组长会。", 0.99)]],
    }  # fmt: skip
    archive = build_archive(tmp_path / "a", books)
    try:
        # two cadres of one township: only the township's months can date the lunar book
        archive.db["books"].update("kept", {"cadre": "龙国庆", "township": "白沙镇"})
        archive.db["books"].update("lunar", {"cadre": "岑秀梅", "township": "白沙镇"})
        assert [e.date for e in records.book_entries(archive, "lunar")] == [None, None]
        _year_from_neighbours(archive, ["kept", "lunar"], None)
        got = [(e.date, e.date_kind) for e in records.book_entries(archive, "lunar")]
        # lunar 2024-12-09 and 2025-01-06, inside the other notebook's months
        assert got == [(dt.date(2025, 1, 8), "lunar"), (dt.date(2025, 2, 3), "lunar")]
    finally:
        archive.close()
