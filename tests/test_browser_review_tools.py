"""The review page as a line-checking tool (issue 15 item 7), in a real headless chromium
against ``minqing serve`` over HTTP on the OCR'd sample notebooks: zoom and pan on the page
image (buttons, wheel, keyboard, drag), a crop of each line beside its text box, page
progress (n/N checked, page done), queue filters by notebook, cadre and township, plain
Chinese instead of engine jargon, a confirmation before a split, 全文检索 once in the menu.
Screenshots go to ``test-artifacts/review-tools/``."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest

from minqing.archive.store import Archive
from tests._helpers import served_reviewer_copy
from tests.conftest import REPO, needs_chromium

ARTIFACTS = REPO / "test-artifacts" / "review-tools"

pytestmark = [pytest.mark.browser, needs_chromium]


@pytest.fixture(scope="module")
def site(sample_archive: Path, tmp_path_factory: pytest.TempPathFactory):
    with served_reviewer_copy(sample_archive, tmp_path_factory.mktemp("review-tools")) as served:
        yield served


@pytest.fixture()
def page(site, browser):
    base, _ = site
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = ctx.new_page()
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
    ctx.close()
    assert not errors, errors  # no script error on any page


def rows(root: Path, sql: str, params=()) -> list[dict]:  # type: ignore[no-untyped-def]
    with Archive(root) as a:
        return list(a.db.query(sql, list(params)))


def shot(pg, name: str, full_page: bool = True) -> None:  # type: ignore[no-untyped-def]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(ARTIFACTS / name), full_page=full_page)


def queue_labels(pg) -> list[str]:  # type: ignore[no-untyped-def]
    return [t.strip() for t in pg.locator("table.rv-queue td:first-child a").all_inner_texts()]


def test_queue_filters_by_notebook_cadre_and_township(site, page) -> None:
    base, root = site
    pages = {
        b: rows(root, "select count(*) n from pages where book_id = ?", [b])[0]["n"]
        for b in ("shiqiao-liming", "shiqiao-zhangwei")
    }
    page.goto(base + "/-/review")
    assert len(queue_labels(page)) == sum(pages.values())
    # names, not ids, and no engine jargon
    text = page.inner_text("main") if page.locator("main").count() else page.inner_text("body")
    assert "李明（河湾村）日记本 第1页" in text and "张伟（杨树沟村）日记本 第1页" in text
    assert "置信度" not in text and "识别把握" in text

    page.select_option("select[name=cadre]", "李明")
    page.click("form.rv-filter button")
    page.wait_for_load_state()
    labels = queue_labels(page)
    assert len(labels) == pages["shiqiao-liming"]
    assert all(lab.startswith("李明（河湾村）日记本") for lab in labels)
    assert page.locator("select[name=cadre]").input_value() == "李明"  # the choice stays shown

    page.goto(base + "/-/review")
    page.select_option("select[name=township]", "河口乡")
    page.click("form.rv-filter button")
    page.wait_for_load_state()
    labels = queue_labels(page)
    assert len(labels) == pages["shiqiao-zhangwei"]
    assert all(lab.startswith("张伟（杨树沟村）日记本") for lab in labels)
    shot(page, "queue-township.png")

    page.goto(base + "/-/review")
    page.select_option("select[name=book]", label="李明（河湾村）日记本")
    page.click("form.rv-filter button")
    page.wait_for_load_state()
    assert len(queue_labels(page)) == pages["shiqiao-liming"]
    page.select_option("select[name=township]", "河口乡")  # 李明's book is not in 河口乡
    page.click("form.rv-filter button")
    page.wait_for_load_state()
    assert queue_labels(page) == []
    assert "没有符合筛选条件的页面" in page.inner_text("body")


def test_menu_lists_full_text_search_once(site, page) -> None:
    base, _ = site
    page.goto(base + "/-/review")
    page.click("details.nav-menu > summary")
    menu = page.locator("details.nav-menu .nav-menu-inner")
    menu.wait_for(state="visible")
    items = [t.strip() for t in menu.locator("a").all_inner_texts()]
    assert sum("全文检索" in t for t in items) == 1, items
    assert any("校对队列" in t for t in items) and any("抽检" in t for t in items)


def _box(page, line_id: str) -> dict:  # type: ignore[no-untyped-def]
    """Where a line's box is drawn on screen, relative to the image element (which keeps its
    place and size while zooming; the window may scroll when a text box takes the focus)."""
    box = page.locator(f'[id="box-{line_id}"]').bounding_box()
    svg = page.locator("#rv-svg").bounding_box()
    return {**box, "x": box["x"] - svg["x"], "y": box["y"] - svg["y"]}


def test_zoom_and_pan_the_page_image(site, page) -> None:
    base, root = site
    page.goto(base + "/-/review/page/shiqiao-liming/1")
    page.wait_for_selector(".rv-text")
    lines = rows(
        root,
        "select line_id, x0, y0, x1, y1 from lines where book_id = 'shiqiao-liming' "
        "and page_no = 1 order by line_no",
    )
    mid = lines[len(lines) // 2]["line_id"]
    image = page.locator("#rv-image").bounding_box()
    b0 = _box(page, mid)
    assert page.inner_text("#rv-zoom-level") == "100%"

    # the zoom-in button: the handwriting (and its box) gets 1.5× bigger
    page.click("#rv-zoom-in")
    b1 = _box(page, mid)
    assert b1["width"] == pytest.approx(1.5 * b0["width"], rel=0.02)
    assert page.inner_text("#rv-zoom-level") == "150%"

    # the wheel over the image zooms further, around the pointer
    page.mouse.move(image["x"] + image["width"] / 2, image["y"] + image["height"] / 3)
    page.mouse.wheel(0, -120)
    b2 = _box(page, mid)
    assert b2["width"] == pytest.approx(1.25 * b1["width"], rel=0.02)
    shot(page, "zoomed.png", full_page=False)  # the image is sticky: what the window shows
    b2 = _box(page, mid)  # (a full-page screenshot may leave the window scrolled otherwise)

    # drag to pan: the box follows the pointer
    x, y = image["x"] + image["width"] / 2, image["y"] + image["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x - 60, y - 40, steps=5)
    page.mouse.up()
    b3 = _box(page, mid)
    assert b3["x"] == pytest.approx(b2["x"] - 60, abs=3)
    assert b3["y"] == pytest.approx(b2["y"] - 40, abs=3)
    assert b3["width"] == pytest.approx(b2["width"], rel=0.01)

    # keyboard on the image: → pans, - zooms out
    page.focus("#rv-image")
    page.keyboard.press("ArrowRight")
    b4 = _box(page, mid)
    assert b4["x"] < b3["x"] - 5 and b4["y"] == pytest.approx(b3["y"], abs=1)
    page.keyboard.press("-")
    assert _box(page, mid)["width"] == pytest.approx(b4["width"] / 1.5, rel=0.02)

    # focusing a line while zoomed brings its box into view
    page.click("#rv-zoom-in")
    page.click("#rv-zoom-in")
    last = lines[-1]["line_id"]
    page.locator(f'[id="line-{last}"]').focus()
    lb = _box(page, last)
    svg = page.locator("#rv-svg").bounding_box()
    cx, cy = lb["x"] + lb["width"] / 2, lb["y"] + lb["height"] / 2
    assert 0 <= cx <= svg["width"] and 0 <= cy <= svg["height"]

    # Alt+0 from a text box: the whole page again, boxes back where they were
    page.keyboard.press("Alt+0")
    assert page.inner_text("#rv-zoom-level") == "100%"
    b5 = _box(page, mid)
    assert b5["width"] == pytest.approx(b0["width"], rel=0.01)
    assert b5["x"] == pytest.approx(b0["x"], abs=1) and b5["y"] == pytest.approx(b0["y"], abs=1)
    page.keyboard.press("Alt+Equal")
    assert page.inner_text("#rv-zoom-level") == "150%"
    # the zoom script ships with the package: nothing is loaded from another host
    scripts = page.eval_on_selector_all("script[src]", "els => els.map(e => e.src)")
    assert scripts and all(s.startswith(base) for s in scripts), scripts


def test_each_line_has_a_crop_of_its_handwriting(site, page) -> None:
    import numpy as np
    from PIL import Image

    base, root = site
    page.goto(base + "/-/review/page/shiqiao-liming/2")
    page.wait_for_selector(".rv-text")
    lines = rows(
        root,
        "select line_id, text, x0, y0, x1, y1 from lines where book_id = 'shiqiao-liming' "
        "and page_no = 2 order by line_no",
    )
    assert page.locator(".rv-line svg.rv-crop").count() == len(lines)
    inked = 0
    for ln in lines:
        crop = page.locator(f'.rv-line[data-line="{ln["line_id"]}"] svg.rv-crop')
        x, y, w, h = (float(v) for v in crop.get_attribute("viewBox").split())
        # the crop shows the line's own box (with a small margin) ...
        assert (x, y) == (ln["x0"] - 6, ln["y0"] - 4)
        assert (w, h) == (ln["x1"] - ln["x0"] + 12, ln["y1"] - ln["y0"] + 8)
        # ... beside (right above) the line's text box
        tb = page.locator(f'[id="line-{ln["line_id"]}"]').bounding_box()
        cb = crop.bounding_box()
        assert cb["height"] > 15 and 0 <= tb["y"] - (cb["y"] + cb["height"]) < 20
        # ... and a person sees handwriting in it: dark strokes on the paper
        crop.scroll_into_view_if_needed()
        png = np.asarray(Image.open(io.BytesIO(crop.screenshot())).convert("L"))
        ink = (png < np.median(png) - 60).mean()  # strokes far darker than the paper
        assert ink > 0.002, (ln, ink)  # short lines ("3月12日") fill little of the crop
        inked += ink > 0.01
    assert inked >= 2 * len(lines) / 3, (inked, len(lines))
    shot(page, "line-crops.png")


def test_progress_counts_checked_lines_until_the_page_is_done(site, page) -> None:
    base, root = site
    sql = (
        "select line_id, text, corrected from lines where book_id = 'shiqiao-liming' "
        "and page_no = 3 order by line_no"
    )
    lines = rows(root, sql)
    n = len(lines)
    assert not any(ln["corrected"] for ln in lines)
    page.goto(base + "/-/review/page/shiqiao-liming/3")
    page.wait_for_selector(".rv-text")
    assert page.inner_text("#rv-progress") == f"已校 0/{n} 行"
    assert not page.locator("#rv-page-done").is_visible()
    # plain words: 识别把握 xx%, never a bare engine score or "机器"
    body = page.inner_text("body")
    assert "机器" not in body and "置信度" not in body
    assert re.search(r"自动分类，把握 \d+%", body)
    assert all(
        re.fullmatch(r"\d{1,3}%|—", t.strip()) for t in page.locator(".rv-conf").all_inner_texts()
    )

    # Enter on a line that reads right: checked as it stands (text unchanged, audited)
    first = page.locator(f'[id="line-{lines[0]["line_id"]}"]')
    first.focus()
    first.press("Enter")
    page.wait_for_selector("#rv-save-status:has-text('已保存')")
    assert page.inner_text("#rv-progress") == f"已校 1/{n} 行"
    row = rows(root, "select text, corrected from lines where line_id = ?", [lines[0]["line_id"]])
    assert row == [{"text": lines[0]["text"], "corrected": 1}]
    audit = rows(
        root, "select who, field from corrections where target_id = ?", [lines[0]["line_id"]]
    )
    assert audit == [{"who": "lihua", "field": "checked"}]

    # a corrected line counts too
    second = page.locator(f'[id="line-{lines[1]["line_id"]}"]')
    second.fill(lines[1]["text"] + "。")
    second.press("Enter")
    page.wait_for_function("document.getElementById('rv-progress').innerText.startsWith('已校 2/')")

    # the rest read right: one click checks them, and the page says it is done
    page.click("#rv-check-rest")
    page.wait_for_selector("#rv-page-done", state="visible")
    assert page.inner_text("#rv-progress") == f"已校 {n}/{n} 行"
    assert page.inner_text("#rv-page-done") == "✔ 本页已校完"
    shot(page, "page-done.png")
    now = rows(root, sql)
    assert all(ln["corrected"] for ln in now)
    assert [ln["text"] for ln in now[2:]] == [ln["text"] for ln in lines[2:]]
    assert now[1]["text"] == lines[1]["text"] + "。"
    # after a reload the count stays, and the queue shows the page done
    page.reload()
    assert page.inner_text("#rv-progress") == f"已校 {n}/{n} 行"
    assert page.locator("#rv-page-done").is_visible()
    page.goto(base + "/-/review?book=shiqiao-liming")
    row = page.locator("table.rv-queue tr", has_text="李明（河湾村）日记本 第3页")
    assert f"{n}/{n}" in row.inner_text() and "已校完" in row.inner_text()


def test_split_asks_first(site, page) -> None:
    base, root = site
    entry = rows(
        root,
        "select entry_id, line_ids from entries where book_id = 'shiqiao-zhangwei' "
        "and json_array_length(line_ids) >= 3 order by seq limit 1",
    )[0]
    ids = json.loads(entry["line_ids"])
    page_no = rows(root, "select page_no from lines where line_id = ?", [ids[1]])[0]["page_no"]
    page.goto(base + f"/-/review/page/shiqiao-zhangwei/{page_no}")
    page.wait_for_selector(".rv-text")
    before = rows(root, "select entry_id, line_ids from entries order by entry_id")
    split = page.locator(f'.rv-line[data-line="{ids[1]}"] >> text=从此行拆分')

    # declined: nothing changes
    asked: list[str] = []

    def decline(d):  # type: ignore[no-untyped-def]
        asked.append(d.message)
        d.dismiss()

    page.once("dialog", decline)
    split.click()
    page.wait_for_timeout(500)
    assert asked and "拆成新的一条" in asked[0], asked
    assert rows(root, "select entry_id, line_ids from entries order by entry_id") == before

    # accepted: split there
    page.once("dialog", lambda d: d.accept())
    split.click()
    page.wait_for_load_state()
    page.wait_for_selector(".rv-text")
    now = json.loads(
        rows(root, "select line_ids from entries where entry_id = ?", [entry["entry_id"]])[0][
            "line_ids"
        ]
    )
    assert now == ids[:1]
    assert len(rows(root, "select 1 from entries")) == len(before) + 1
