"""An inspector's search of the entries table in a real browser (issue 6): the compact result
table with the hits' highlighted snippets above the fold, Chinese facet headings and no
list of column descriptions in the way (Debian's chromium through Playwright)."""

from __future__ import annotations

import sqlite3
import urllib.parse
from pathlib import Path

import pytest

from tests._helpers import launch_chromium, needs_chromium

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
VIEWPORT = {"width": 1400, "height": 1000}
WORD = "饮水"

pytestmark = [
    pytest.mark.browser,
    needs_chromium,
]


def entries_containing(archive: Path, word: str) -> set[str]:
    with sqlite3.connect(archive / "archive.db") as conn:
        rows = conn.execute("select entry_id from entries where instr(text, ?) > 0", [word])
        return {r[0] for r in rows}


def test_search_shows_compact_hits_with_marked_snippets_above_the_fold(
    served_archive: str, sample_archive: Path
) -> None:
    expected = entries_containing(sample_archive, WORD)
    assert expected  # the sample notebooks mention the word
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            page.goto(f"{served_archive}/archive/entries")
            # search through the page's own search box, as a person would
            page.fill("input#_search", WORD)
            page.locator("form.filters input[type=submit]").click()
            page.wait_for_load_state("networkidle")
            assert urllib.parse.parse_qs(urllib.parse.urlsplit(page.url).query)["_search"] == [WORD]
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "search-page.png"))

            # no list of 27 column descriptions above the results
            assert page.locator("dl.column-descriptions").count() == 0
            # the compact table: these headers, in this order, and not the raw columns
            headers = [
                h.replace("▲", "").replace("▼", "").strip()
                for h in page.locator("table.mq-compact thead th").all_inner_texts()
            ]
            assert headers == [
                "条目",
                "日期",
                "乡镇",
                "村",
                "干部",
                "类别",
                "状态",
                "正文摘要",
                "页",
            ]
            assert page.locator("th.col-category_evidence, th.col-line_ids").count() == 0
            # every hit is listed once, linked to its entry page with the query
            links = page.locator("table.mq-compact td.col-entry_id a.mq-entry-link")
            shown = set(links.all_inner_texts())
            assert shown == expected
            for i in range(links.count()):
                href = links.nth(i).get_attribute("href") or ""
                assert href.startswith("/-/entry/") and "q=" + urllib.parse.quote(WORD) in href
            # each snippet marks the word, and the first hit is visible without scrolling
            snippets = page.locator("table.mq-compact td.col-text")
            assert snippets.count() == len(expected)
            for i in range(snippets.count()):
                assert WORD in snippets.nth(i).locator("mark").all_inner_texts()
            first_mark = snippets.first.locator("mark").first.bounding_box()
            assert first_mark is not None
            assert (
                first_mark["y"] >= 0
                and first_mark["y"] + first_mark["height"] <= VIEWPORT["height"]
            )
            # the book is named by its id, never "None"
            pages = page.locator("table.mq-compact td.col-pages").all_inner_texts()
            assert all("None" not in t and "第" in t for t in pages)

            # facet headings in Chinese, not the column names
            headings = [
                t.split()[0]
                for t in page.locator(".facet-info .facet-info-name strong").all_inner_texts()
            ]
            assert {"办理状态", "村", "乡镇", "类别", "月份", "记录干部"} <= set(headings)
            assert not {"status", "village", "township", "category", "month", "cadre"} & set(
                headings
            )
            # the filter's column menu offers Chinese names for the real columns
            option = page.locator("select[name=_filter_column] option[value=status]")
            assert option.inner_text().strip() == "办理状态"

            # every field stays reachable: the full table on request, exports unchanged
            page.get_by_text("显示全部字段").click()
            page.wait_for_load_state("networkidle")
            assert page.locator("table.mq-compact").count() == 0
            assert page.locator("th.col-category_evidence").count() == 1
            # JSON lists are shown as items, not as ["a", "b"]
            evidence = page.locator("td.col-category_evidence").all_inner_texts()
            assert evidence and not any('["' in t for t in evidence)
        finally:
            browser.close()
