"""Spot-check entirely in the browser (issue 15 item 1 and its acceptance): a reviewer draws a
sample from the list page, transcribes it blind beside the line crops and reads the report,
in a real headless chromium against ``minqing serve`` on the OCR'd sample notebooks.
Screenshots go to ``test-artifacts/spotcheck/``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from minqing.archive.store import Archive
from minqing.review import spotcheck
from minqing.web import presentation
from tests._helpers import served_reviewer_copy
from tests.conftest import REPO, launch_chromium, needs_chromium

ARTIFACTS = REPO / "test-artifacts" / "spotcheck"
LOCAL_TIME = re.compile(r"^\d{4}年\d{1,2}月\d{1,2}日 \d{2}:\d{2}$")

pytestmark = [pytest.mark.browser, needs_chromium]


@pytest.fixture(scope="module")
def site(sample_archive: Path, tmp_path_factory: pytest.TempPathFactory):
    with served_reviewer_copy(sample_archive, tmp_path_factory.mktemp("spotcheck")) as served:
        yield served


@pytest.fixture()
def page(site):
    from playwright.sync_api import sync_playwright

    base, _ = site
    with sync_playwright() as p:
        b = launch_chromium(p)
        pg = b.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        # the first save of a server waits for the classifier models to be fitted: tens of
        # seconds on a busy test machine
        pg.set_default_timeout(120_000)
        errors: list[str] = []
        pg.on("pageerror", lambda e: errors.append(str(e)))
        pg.goto(base + "/-/login")
        pg.fill("#username", "lihua")
        pg.fill("#password", "reviewer-pass-1")
        pg.click("input[type=submit]")
        pg.wait_for_load_state()
        yield pg
        b.close()
        assert not errors, errors


def rows(root: Path, sql: str, params=()) -> list[dict]:  # type: ignore[no-untyped-def]
    with Archive(root) as a:
        return list(a.db.query(sql, list(params)))


def shot(pg, name: str) -> None:  # type: ignore[no-untyped-def]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(ARTIFACTS / name), full_page=True)


def test_draw_transcribe_and_report_in_the_browser(site, page) -> None:
    base, root = site
    page.goto(base + "/-/spotcheck")
    assert "还没有抽检样本" in page.inner_text("body")

    # 1. draw: one notebook, 4 lines, blind
    page.select_option("select[name=book]", label="张伟（杨树沟村）日记本")
    page.fill("input[name=size]", "4")
    page.select_option("select[name=mode]", "blind")
    page.click("form.sc-draw button[type=submit]")
    page.wait_for_load_state()
    m = re.search(r"/-/spotcheck/(\d+)$", page.url)
    assert m, page.url
    sid = int(m.group(1))
    sample = rows(root, "select * from spot_samples where sample_id = ?", [sid])[0]
    assert (sample["who"], sample["mode"], sample["size"]) == ("lihua", "blind", 4)
    items = rows(root, "select * from spot_items where sample_id = ?", [sid])
    assert {it["book_id"] for it in items} == {"shiqiao-zhangwei"}

    body = page.inner_text("body")
    assert "范围：张伟（杨树沟村）日记本" in body
    when = page.inner_text(".sc-meta time")
    assert LOCAL_TIME.match(when) and when == presentation.local_time(sample["created_at"])
    assert page.inner_text("#sc-verdict") == "未完成"
    assert "已录 0/4 行" in page.inner_text("#sc-summary")
    # blind: nothing of the engine's text shows, each line has its crop
    boxes = page.locator(".sc-item input[name^=tx_]")
    assert boxes.count() == 4
    assert all(boxes.nth(i).input_value() == "" for i in range(4))
    assert page.locator(".sc-item .sc-crop svg").count() == 4
    assert all(
        "张伟（杨树沟村）日记本 第" in t for t in page.locator(".sc-item label").all_inner_texts()
    )
    shot(page, "sample-blind.png")

    # 2. transcribe: three lines as the archive reads them, one with two characters missing
    texts = {r["line_id"]: r["text"] for r in rows(root, "select line_id, text from lines")}
    ids = [page.locator(".sc-item").nth(i).get_attribute("data-line") for i in range(boxes.count())]
    longest = max(ids, key=lambda i: len(spotcheck.cer_text(texts[i])))
    typed = {}
    for lid in ids:
        typed[lid] = texts[lid] if lid != longest else texts[lid][:-3] + texts[lid][-1:]
        page.fill(f'.sc-item[data-line="{lid}"] input', typed[lid])
    page.click("form[action^='/-/spotcheck/'] button[type=submit]")
    page.wait_for_load_state()

    # 3. the report, as the library computes it from what was typed
    with Archive(root) as a:
        rep = spotcheck.report(a, sid)
    assert rep["recorded"] == 4 and rep["overall"]["errors"] >= 1
    summary = page.inner_text("#sc-summary")
    assert "已录 4/4 行" in summary
    cer = rep["overall"]
    assert f"估计字错率 {100 * cer['cer']:.2f}%" in summary
    assert f"95% 置信区间 {100 * cer['lo']:.2f}–{100 * cer['hi']:.2f}%" in summary
    verdict = {"pass": "合格", "fail": "不合格"}[rep["verdict"]]
    assert page.inner_text("#sc-verdict") == verdict
    done = page.locator(f'.sc-item[data-line="{longest}"] .sc-done').inner_text()
    n_err = rows(
        root, "select errors from spot_items where sample_id = ? and line_id = ?", [sid, longest]
    )[0]["errors"]
    assert n_err >= 1 and done.startswith(f"✔ 错 {n_err}/")
    shot(page, "sample-reported.png")
    # the transcription corrected the archive too (audited as the reviewer)
    assert (
        rows(root, "select text from lines where line_id = ?", [longest])[0]["text"]
        == (typed[longest])
    )

    # 4. the list: scope in words, local time, progress and verdict
    page.click("text=← 全部样本")
    page.wait_for_load_state()
    row = page.locator("#sc-samples tr", has=page.locator(f'a[href="/-/spotcheck/{sid}"]'))
    cells = [c.strip() for c in row.locator("td").all_inner_texts()]
    assert cells[0] == f"#{sid}"
    assert LOCAL_TIME.match(cells[1]) and cells[1] == when
    assert cells[2] == "盲录"
    assert cells[3] == "张伟（杨树沟村）日记本"
    assert cells[4] == "4/4"
    assert cells[5].startswith(f"{100 * cer['cer']:.2f}%")
    assert cells[7] == verdict
    assert "{" not in page.inner_text("#sc-samples")  # no raw JSON scope
    shot(page, "list.png")


def test_a_mistyped_date_keeps_the_form_and_a_township_scope_reads_in_words(site, page) -> None:
    base, root = site
    before = rows(root, "select count(*) n from spot_samples")[0]["n"]
    page.goto(base + "/-/spotcheck")
    page.select_option("select[name=township]", "河口乡")
    page.fill("input[name=date_from]", "2024-13-01")
    page.fill("input[name=size]", "3")
    page.click("form.sc-draw button[type=submit]")
    page.wait_for_load_state()
    assert page.url.endswith("/-/spotcheck")
    error = page.inner_text(".rv-error")
    assert "无法抽取样本" in error and "2024-13-01" in error and "2024-03-01" in error
    # what was typed is still there to fix
    assert page.locator("select[name=township]").input_value() == "河口乡"
    assert page.locator("input[name=date_from]").input_value() == "2024-13-01"
    assert page.locator("input[name=size]").input_value() == "3"
    assert rows(root, "select count(*) n from spot_samples")[0]["n"] == before

    page.fill("input[name=date_from]", "2024-03-01")
    page.fill("input[name=date_to]", "2024-03-31")
    page.click("form.sc-draw button[type=submit]")
    page.wait_for_load_state()
    assert re.search(r"/-/spotcheck/\d+$", page.url)
    assert "范围：河口乡的日记本 · 2024年3月1日至2024年3月31日" in page.inner_text("body")
    sid = int(page.url.rsplit("/", 1)[1])
    lines = rows(
        root,
        "select i.book_id, e.date from spot_items i join lines l on l.line_id = i.line_id "
        "left join entries e on e.entry_id = l.entry_id where i.sample_id = ?",
        [sid],
    )
    # 3 asked; the plan may add lines so that 5% of the pages are covered
    size = rows(root, "select size from spot_samples where sample_id = ?", [sid])[0]["size"]
    assert len(lines) == size >= 3
    assert {r["book_id"] for r in lines} == {"shiqiao-zhangwei"}  # the 河口乡 notebook
    assert all("2024-03-01" <= r["date"] <= "2024-03-31" for r in lines)

    # a scope with no lines says so in Chinese and draws nothing
    page.goto(base + "/-/spotcheck")
    page.fill("input[name=date_from]", "1999-01-01")
    page.fill("input[name=date_to]", "1999-12-31")
    page.click("form.sc-draw button[type=submit]")
    page.wait_for_load_state()
    assert "所选范围内没有可抽检的文字行" in page.inner_text(".rv-error")
    assert rows(root, "select count(*) n from spot_samples")[0]["n"] == before + 1
