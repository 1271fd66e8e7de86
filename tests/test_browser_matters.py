"""The matters table as an inspector sees it (issue 15 item 8): Chinese column labels, the
status in words, 未办结/已办结 instead of 1/0, dates and village names on one line, each
matter linking to its follow-up chain; in a real headless chromium against ``minqing serve``
on the OCR'd sample notebooks. Screenshots go to ``test-artifacts/matters/``."""

from __future__ import annotations

import re
import shutil
import urllib.parse
from pathlib import Path

import pytest

from minqing.archive.store import Archive
from minqing.classify.types import STATUSES
from tests.conftest import REPO, launch_chromium, needs_chromium, serve

ARTIFACTS = REPO / "test-artifacts" / "matters"
HEADERS = [
    "事项",
    "首次记录",
    "最近记录",
    "乡镇",
    "村",
    "干部",
    "类别",
    "当前状态",
    "办结情况",
    "记录条数",
    "摘要",
]
#: how many lines of text each cell takes (distinct tops of its text's line boxes)
LINES_OF = """els => els.map(td => {
  const r = document.createRange(); r.selectNodeContents(td);
  return new Set(Array.from(r.getClientRects()).map(x => Math.round(x.top))).size;
})"""

pytestmark = [pytest.mark.browser, needs_chromium]


@pytest.fixture(scope="module")
def site(sample_archive: Path, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("matters") / "archive"
    shutil.copytree(sample_archive, root)
    with serve(root) as base:
        yield base, root


@pytest.fixture()
def page(site):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = launch_chromium(p)
        # narrow enough that long cells would wrap
        yield b.new_context(viewport={"width": 1100, "height": 900}).new_page()
        b.close()


def shot(pg, name: str) -> None:  # type: ignore[no-untyped-def]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(ARTIFACTS / name), full_page=True)


def test_matters_table_reads_in_chinese_on_one_line(site, page) -> None:
    base, root = site
    with Archive(root) as a:
        matters = {r["matter_id"]: r for r in a.db.query("select * from matters")}
    assert any(m["open"] for m in matters.values()) and not all(m["open"] for m in matters.values())
    page.goto(base + "/archive/matters")
    heads = [
        re.sub(r"[\s▼▲]", "", t) for t in page.locator("table.mq-matters th").all_inner_texts()
    ]
    assert heads == HEADERS
    table = page.inner_text("table.mq-matters")
    for code in STATUSES:  # recorded, in_progress, ... never shown
        assert not re.search(rf"(?<![A-Za-z_]){code}(?![A-Za-z_])", table), code
    rows = page.locator("table.mq-matters tbody tr")
    assert rows.count() == len(matters)
    for i in range(rows.count()):
        row = rows.nth(i)
        mid = row.locator("td.col-matter_id a").inner_text()
        m = matters[mid]
        cells = row.locator("td")
        assert cells.nth(1).inner_text() == (m["first_date"] or "无日期")
        assert cells.nth(7).inner_text() == m["status"]  # 已解决, 办理中, ...
        state = cells.nth(8).inner_text()
        assert state.startswith("未办结" if m["open"] else "已办结")
        assert ("曾上报" in state) == bool(m["escalated"])
        assert cells.nth(9).inner_text() == f"{m['entries']} 条"
    # dates, places, cadres and states each on one line
    for css in ("col-date", "col-township", "col-village", "col-cadre", "col-status", "col-open"):
        counts = page.eval_on_selector_all(f"table.mq-matters td.{css}", LINES_OF)
        assert counts and set(counts) == {1}, (css, counts)
    # the facet of a yes/no column in words
    facet = page.inner_text("#facet-open")
    assert "是" in facet and "否" in facet and not re.search(r"^\s*[01]\s", facet, re.M)
    shot(page, "matters.png")

    # a matter opens its follow-up chain
    first = page.locator("table.mq-matters td.col-matter_id a").first
    mid = first.inner_text()
    with page.expect_navigation() as nav:
        first.click()
    assert nav.value.status == 200
    assert urllib.parse.unquote(page.url).endswith("/-/matter/" + mid)
    assert page.inner_text("h1").startswith("事项：")


def test_every_field_view_keeps_yes_no_in_words_and_dates_on_one_line(site, page) -> None:
    base, _ = site
    page.goto(base + "/archive/matters?_mq_cols=all")
    assert page.locator("table.mq-matters").count() == 0  # the full table
    opens = page.locator("table.rows-and-columns td.col-open").all_inner_texts()
    assert opens and set(opens) <= {"是", "否"} and len(set(opens)) == 2
    for css in ("col-first_date", "col-latest_date", "col-village", "col-township"):
        counts = page.eval_on_selector_all(f"table.rows-and-columns td.{css}", LINES_OF)
        assert counts and set(counts) == {1}, (css, counts)
    shot(page, "matters-all-fields.png")
