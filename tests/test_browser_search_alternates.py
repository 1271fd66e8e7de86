"""Search finds what was written, not only what was read (issue 17), in a real browser.

The sample notebooks, OCR'd for real: a line where the recogniser read a character wrongly
but kept the written one as an alternate. Searching for a word that starts with the written
character finds the entry after the exact hits, marked 可能的匹配, with the character marked
on the snippet and on the page image; once a reviewer corrects the line, it stops matching
through its alternates (Debian's chromium through Playwright)."""

from __future__ import annotations

import json
import re
import sqlite3
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

import pytest

from minqing.archive.search import accepted_alternates
from tests.conftest import SAMPLES, launch_chromium, needs_chromium, serve

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
VIEWPORT = {"width": 1400, "height": 1000}
CJK = re.compile(r"^[\u4e00-\u9fff]+$")


@dataclass(frozen=True)
class Misread:
    word: str  # what was written: the alternate, then the characters read after it
    read: str  # the character read in its place
    line_id: str
    entry_id: str


def truth_lines() -> dict[tuple[str, int], list[str]]:
    """The written lines of every sample page (spaces removed), by (book, page)."""
    out: dict[tuple[str, int], list[str]] = {}
    for book in SAMPLES.iterdir():
        f = book / "lines.json"
        if f.is_file():
            for page in json.loads(f.read_text(encoding="utf-8")):
                out[(book.name, page["page"])] = [re.sub(r"\s", "", t) for t in page["lines"]]
    return out


def find_misread(archive: Path) -> Misread:
    """A line whose character at i was misread and whose alternate there is the written
    character: the written word (alternate + the next character(s)) is in the truth of that
    page and in no entry's read text."""
    truth = truth_lines()
    with sqlite3.connect(archive / "archive.db") as conn:
        rows = conn.execute(
            "select line_id, book_id, page_no, text, alternates, entry_id from lines "
            "where alternates is not null and entry_id is not null order by line_id"
        ).fetchall()
        for line_id, book, page_no, text, stored, entry_id in rows:
            written = truth.get((book, page_no), [])
            for i, alts in sorted(accepted_alternates(stored).items()):
                for a in alts:
                    for n in (3, 2):
                        word = a + text[i + 1 : i + n]
                        if len(word) != n or not CJK.match(word):
                            continue
                        if not any(word in t for t in written):
                            continue
                        exact = conn.execute(
                            "select count(*) from entries where instr(text, ?) > 0", [word]
                        ).fetchone()[0]
                        if exact == 0:
                            return Misread(word, text[i], line_id, entry_id)
    raise AssertionError("no misread character with the written one among its alternates")


pytestmark = [pytest.mark.browser, needs_chromium]


def test_a_misread_word_is_found_marked_as_possible_and_highlighted_on_the_image(
    served_archive: str, sample_archive: Path
) -> None:
    m = find_misread(sample_archive)
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            # Datasette's own search box on the entries table
            page.goto(f"{served_archive}/archive/entries")
            page.fill("input#_search", m.word)
            page.locator("form.filters input[type=submit]").click()
            page.wait_for_load_state("networkidle")
            # no exact hit; the entry follows as a possible match, its character marked
            assert page.locator("table.mq-compact td.col-entry_id a").count() == 0
            hit = page.locator("ul.mq-maybe-hits li.mq-maybe-hit").filter(has_text=m.entry_id)
            assert hit.count() == 1
            assert hit.locator(".mq-maybe-label").inner_text() == "可能的匹配"
            marked = hit.locator("mark.mq-maybe")
            assert marked.count() >= 1
            alt = marked.first.locator("span.mq-alt")
            assert alt.locator("sup").inner_text() == m.word[0]
            assert m.read in (alt.get_attribute("title") or "")
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "search-maybe-table.png"), full_page=True)
            # the exact-only switch hides it
            page.get_by_text("只看确切匹配").first.click()
            page.wait_for_load_state("networkidle")
            assert page.locator("ul.mq-maybe-hits").count() == 0
            assert "_mq_exact=1" in page.url

            # /-/search ranks it after the exact hits, marked the same way
            page.goto(f"{served_archive}/-/search?q={urllib.parse.quote(m.word)}")
            items = page.locator("ul.mq-hits").first.locator("li")
            assert items.count() >= 1
            labels = [items.nth(i).get_attribute("class") or "" for i in range(items.count())]
            first_maybe = next(i for i, c in enumerate(labels) if "mq-maybe-hit" in c)
            assert all("mq-maybe-hit" in c for c in labels[first_maybe:])  # exact hits first
            entry_hit = items.filter(has_text=m.entry_id)
            assert entry_hit.locator(".mq-maybe-label").inner_text() == "可能的匹配"
            page.goto(f"{served_archive}/-/search?q={urllib.parse.quote(m.word)}&exact=1")
            assert page.locator("li.mq-maybe-hit").count() == 0

            # the entry page marks the character on the page image
            page.goto(f"{served_archive}/-/search?q={urllib.parse.quote(m.word)}")
            page.locator("ul.mq-hits").first.locator(f"a:text-is('{m.entry_id}')").click()
            page.wait_for_load_state("networkidle")
            assert "可能的匹配" in page.locator("p.mq-query").inner_text()
            assert page.locator("p.mq-body mark.mq-maybe span.mq-alt").count() >= 1
            char = page.locator(f'rect.mq-alt-char[data-line-id="{m.line_id}"]')
            assert char.count() == 1
            assert char.get_attribute("data-alt") == m.word[0]
            box = char.bounding_box()
            line = page.locator(f'rect.mq-line[data-line-id="{m.line_id}"]').bounding_box()
            assert box is not None and line is not None
            # the character's box lies inside its line's box, on the visible image
            assert (
                line["x"] - 1 <= box["x"]
                and box["x"] + box["width"] <= line["x"] + line["width"] + 1
            )
            assert 0 < box["width"] < line["width"]
            page.screenshot(path=str(ARTIFACTS / "search-maybe-entry.png"), full_page=True)
        finally:
            browser.close()


def test_a_corrected_line_stops_matching_by_its_alternates(archive_copy: Path) -> None:
    from minqing.archive.store import Archive
    from minqing.review.corrections import correct_line

    m = find_misread(archive_copy)
    archive = Archive(archive_copy, write=True)
    try:
        text = archive.db.execute(
            "select text from lines where line_id = ?", [m.line_id]
        ).fetchone()[0]
        # the reviewer types what the line says, but keeps the misread (a partial fix of
        # another character): the line's alternates are gone all the same
        fixed = text + "。"
        assert correct_line(archive, m.line_id, fixed, who="test")
        row = archive.db.execute(
            "select alternates, corrected from lines where line_id = ?", [m.line_id]
        ).fetchone()
        assert row == (None, 1)
    finally:
        archive.close()
    sync_api = pytest.importorskip("playwright.sync_api")
    with serve(archive_copy) as base, sync_api.sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            page.goto(f"{base}/archive/entries?_search={urllib.parse.quote(m.word)}")
            assert page.locator("ul.mq-maybe-hits li").filter(has_text=m.entry_id).count() == 0
            page.goto(f"{base}/-/search?q={urllib.parse.quote(m.word)}")
            assert page.locator("li").filter(has_text=m.entry_id).count() == 0
        finally:
            browser.close()
