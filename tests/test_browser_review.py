"""The review page in a real headless browser (Debian's chromium via Playwright) against
``minqing serve`` over HTTP, logged in through the login page."""

from __future__ import annotations

import json
import re
import urllib.parse
from pathlib import Path

import cv2
import pytest

from minqing.archive.store import Archive
from minqing.ocr.testing import DIARY_LINES, find_cjk_font, render_page
from minqing.web import access
from tests._helpers import REPO, needs_chromium, run_cli, serve

ARTIFACTS = REPO / "test-artifacts"

pytestmark = [
    pytest.mark.browser,
    needs_chromium,
    pytest.mark.skipif(find_cjk_font() is None, reason="no CJK font to render a test page"),
]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory):
    from minqing import pipeline

    tmp = tmp_path_factory.mktemp("browser")
    book = tmp / "scans" / "yangshugou-zhang"
    book.mkdir(parents=True)
    cv2.imwrite(str(book / "page-01.png"), render_page(DIARY_LINES[:7], seed=1))
    cv2.imwrite(str(book / "page-02.png"), render_page(DIARY_LINES[7:], seed=2))
    root = tmp / "arc"
    with Archive(root, create=True) as arc:
        pipeline.run_ingest([book.parent], arc, workers=1)
        access.add_user(arc.db, "lihua", "reviewer", "reviewer-pass-1")
        access.add_user(arc.db, "wang", "inspector", "inspector-pass-1")
    with serve(root) as base:
        yield base, root


def login(browser, base: str, user: str, password: str, next_path: str):  # type: ignore[no-untyped-def]
    ctx = browser.new_context(viewport={"width": 1500, "height": 1000})
    page = ctx.new_page()
    page.goto(base + next_path)
    assert "/-/login" in page.url
    page.fill("#username", user)
    page.fill("#password", password)
    page.click("input[type=submit]")
    page.wait_for_load_state()
    return ctx, page


def shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def rows(root: Path, sql: str, params=()) -> list[dict]:  # type: ignore[no-untyped-def]
    with Archive(root) as a:
        return list(a.db.query(sql, list(params)))


def test_reviewer_corrects_line_category_link_and_splits(served, browser) -> None:
    base, root = served
    ctx, page = login(browser, base, "lihua", "reviewer-pass-1", "/-/review")
    try:
        assert page.url.endswith("/-/review")
        assert page.locator("table.rv-queue a").count() == 2
        page.click("text=yangshugou-zhang 第1页")
        page.wait_for_selector(".rv-text")
        assert page.locator("rect.rv-box").count() == page.locator(".rv-text").count() >= 5
        shot(page, "review-page-before.png")

        # 1. correct a line from the keyboard: focus, type, Enter
        line = rows(
            root, "select * from lines where page_no = 1 and text like '%饮水%' order by line_no"
        )[0]
        box = page.locator(f'[id="line-{line["line_id"]}"]')
        box.click()
        box.fill("张大爷反映自家饮水井水量不足，夏季经常断水。")
        box.press("Enter")
        page.wait_for_selector("#rv-save-status:has-text('已保存')")  # saved in the background
        assert (
            page.locator(f'[id="line-{line["line_id"]}"]').input_value()
            == "张大爷反映自家饮水井水量不足，夏季经常断水。"
        )
        # the next line has the focus, ready for the next correction
        assert page.evaluate("document.activeElement.classList.contains('rv-text')")

        # 2. change the category of the first entry
        eid = rows(root, "select entry_id from lines where line_id = ?", [line["line_id"]])[0][
            "entry_id"
        ]
        section = page.locator(f'[id="entry-{eid}"]')
        section.locator("select[name=category_code]").select_option("2")
        section.locator("text=保存条目").click()
        page.wait_for_load_state()

        # 3. confirm a follow-up link: the second entry follows up the first
        entries = rows(root, "select * from entries order by seq")
        second = entries[1]["entry_id"]
        sec2 = page.locator(f'[id="entry-{second}"]')
        sec2.locator("select[name=parent]").select_option(eid)
        sec2.locator(".rv-link-form button").click()
        page.wait_for_load_state()

        # 4. split the first entry at its third line
        ids = json.loads(
            rows(root, "select line_ids from entries where entry_id = ?", [eid])[0]["line_ids"]
        )
        split_at = ids[2]
        asked: list[str] = []

        def accept(d):  # type: ignore[no-untyped-def]
            asked.append(d.message)
            d.accept()

        page.once("dialog", accept)  # issue 15: a split asks first
        page.locator(f'.rv-line[data-line="{split_at}"] >> text=从此行拆分').click()
        page.wait_for_load_state()
        assert asked and "拆成新的一条" in asked[0]
        shot(page, "review-page-after.png")
    finally:
        ctx.close()

    # the archive reflects all four
    ln = rows(root, "select * from lines where line_id = ?", [line["line_id"]])[0]
    assert (ln["text"], ln["corrected"]) == ("张大爷反映自家饮水井水量不足，夏季经常断水。", 1)
    e1 = rows(root, "select * from entries where entry_id = ?", [eid])[0]
    assert (e1["category_code"], e1["category_confirmed"]) == (2, 1)
    assert json.loads(e1["line_ids"]) == ids[:2]
    new = rows(root, "select * from entries where line_ids like ?", [f'["{split_at}"%'])[0]
    assert json.loads(new["line_ids"]) == ids[2:]
    follow = rows(
        root,
        "select * from entries where follow_up_of = ? and entry_id != ?",
        [eid, new["entry_id"]],
    )
    assert (
        follow
        and rows(root, "select confirmed from links where child = ?", [follow[0]["entry_id"]])[0][
            "confirmed"
        ]
        == 1
    )
    who = {r["who"] for r in rows(root, "select who from corrections")}
    assert who == {"lihua"}
    # the search index, through the same server
    ctx2, page2 = login(browser, base, "wang", "inspector-pass-1", "/")
    try:
        hits = page2.request.get(
            base + "/archive/entries.json?_search=" + urllib.parse.quote("夏季") + "&_shape=array"
        ).json()
        assert [h["entry_id"] for h in hits] == [eid]
    finally:
        ctx2.close()
    # and the export
    out = run_cli("export", "entries", "--archive", str(root))
    exported = {e["entry_id"]: e for e in map(json.loads, out.stdout.splitlines())}
    assert exported[eid]["category_code"] == 2 and "夏季" in exported[eid]["text"]
    assert exported[follow[0]["entry_id"]]["follow_up_of"] == eid


def test_inspector_cannot_reach_or_post_and_csrf_is_required(served, browser) -> None:
    base, root = served
    before = rows(root, "select count(*) n from corrections")[0]["n"]
    ctx, page = login(browser, base, "wang", "inspector-pass-1", "/-/review")
    try:
        resp = page.goto(base + "/-/review/page/yangshugou-zhang/1")
        assert resp.status == 403
        shot(page, "review-inspector-403.png")
        login_html = page.request.get(base + "/-/login").text()
        token = re.search(r'name="csrftoken" value="([^"]+)"', login_html).group(1)
        r = page.request.post(
            base + "/-/review/save",
            form={
                "csrftoken": token,
                "action": "line",
                "line_id": "yangshugou-zhang/1/1",
                "text": "篡改",
                "back": "/-/review",
            },
        )
        assert r.status == 403
    finally:
        ctx.close()
    ctx, page = login(browser, base, "lihua", "reviewer-pass-1", "/-/review")
    try:
        r = page.request.post(
            base + "/-/review/save",
            form={
                "action": "line",
                "line_id": "yangshugou-zhang/1/1",
                "text": "篡改",
                "back": "/-/review",
            },
        )
        assert r.status == 403  # no csrftoken field
    finally:
        ctx.close()
    assert rows(root, "select count(*) n from corrections")[0]["n"] == before
    assert not rows(root, "select 1 from lines where text = '篡改'")


def test_unsaved_edit_survives_while_another_line_is_saved(served, browser) -> None:
    """Issue 15: line 2 saved in the background keeps the unsaved edit of line 1; 全部保存
    saves it; leaving with unsaved edits asks first."""
    base, root = served
    ctx, page = login(
        browser, base, "lihua", "reviewer-pass-1", "/-/review/page/yangshugou-zhang/2"
    )
    try:
        page.wait_for_selector(".rv-text")
        lines = rows(root, "select line_id, text from lines where page_no = 2 order by line_no")
        first, second = lines[0], lines[1]
        one = page.locator(f'[id="line-{first["line_id"]}"]')
        two = page.locator(f'[id="line-{second["line_id"]}"]')
        one.fill("第一行未保存的修改")
        two.fill("第二行已保存的修改")
        two.press("Enter")
        page.wait_for_selector("#rv-save-status:has-text('已保存')")
        assert "还有 1 行未保存" in page.inner_text("#rv-save-status")
        now = {r["line_id"]: r["text"] for r in rows(root, "select line_id, text from lines")}
        assert now[second["line_id"]] == "第二行已保存的修改"
        assert now[first["line_id"]] == first["text"]  # not saved ...
        assert one.input_value() == "第一行未保存的修改"  # ... and not lost
        shot(page, "review-unsaved-kept.png")

        # leaving now asks first
        dialogs = []

        def on_dialog(d):  # type: ignore[no-untyped-def]
            dialogs.append(d.type)
            d.dismiss()

        page.on("dialog", on_dialog)
        page.close(run_before_unload=True)
        page.wait_for_timeout(500)
        assert dialogs == ["beforeunload"]
        assert not page.is_closed()
        page.remove_listener("dialog", on_dialog)

        page.click("#rv-save-all")
        page.wait_for_selector("#rv-save-status:has-text('全部已保存')")
        now = {r["line_id"]: r["text"] for r in rows(root, "select line_id, text from lines")}
        assert now[first["line_id"]] == "第一行未保存的修改"
        audit = rows(root, "select target_id from corrections where who = 'lihua'")
        assert {r["target_id"] for r in audit} >= {first["line_id"], second["line_id"]}
    finally:
        ctx.close()
