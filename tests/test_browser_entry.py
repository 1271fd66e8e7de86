"""A person's path in a real browser: search, open an entry from a hit, see the handwriting
with the matching line highlighted (Debian's chromium through Playwright)."""

from __future__ import annotations

import urllib.parse
from pathlib import Path

import pytest

from tests._helpers import launch_chromium, needs_chromium

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"

pytestmark = [
    pytest.mark.browser,
    needs_chromium,
]


def test_entry_page_from_a_search_hit_shows_image_and_highlighted_line(
    served_archive: str,
) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{served_archive}/archive/entries?_search={urllib.parse.quote('低保')}")
            # the hit's snippet is shown with the word marked
            assert page.locator("td.col-text mark").first.inner_text() == "低保"
            page.locator("td.col-entry_id a.mq-entry-link").first.click()
            page.wait_for_load_state("networkidle")
            assert "/-/entry/" in page.url and "q=" in page.url
            img = page.locator(".mq-page-frame img").first
            img.wait_for(state="visible")
            # the page image really loaded (natural size known) and is shown beside the text
            assert page.evaluate("(el) => el.complete && el.naturalWidth > 0", img.element_handle())
            text_box = page.locator(".mq-text").bounding_box()
            img_box = img.bounding_box()
            assert img_box["x"] > text_box["x"] + text_box["width"] - 1
            # the matching line is outlined and highlighted over the image
            hits = page.locator("rect.mq-hit")
            assert hits.count() >= 1
            titles = "".join(
                hits.nth(i).locator("title").text_content() for i in range(hits.count())
            )
            assert "低" in titles and "保" in titles  # the word, possibly across a line break
            hit = hits.first
            hit_box = hit.bounding_box()
            assert hit_box and hit_box["width"] > 20 and hit_box["height"] > 5
            assert img_box["y"] <= hit_box["y"] <= img_box["y"] + img_box["height"]
            assert page.locator(".mq-body mark").first.inner_text() == "低保"
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "entry-page.png"), full_page=True)
        finally:
            browser.close()
