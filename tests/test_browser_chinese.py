"""Every page in Chinese (issue 15 item 3-5, 9): a real headless chromium visits every page
of ``minqing serve`` as anonymous, inspector and reviewer, and fails on Datasette's stock
English, on a server error (500) and on a tofu lock (☒/🔒). Screenshots go to
``test-artifacts/chinese/``."""

from __future__ import annotations

import re
import shutil
import urllib.parse
from pathlib import Path

import pytest
import yaml

from minqing.archive.store import Archive
from minqing.review import spotcheck
from minqing.web import access
from tests.conftest import REPO, launch_chromium, needs_chromium, serve

ARTIFACTS = REPO / "test-artifacts" / "chinese"

pytestmark = [pytest.mark.browser, needs_chromium]

#: Datasette's (and our own earlier) English that must never reach a user: matched as whole
#: words in the visible text of the page and in its <title>
ENGLISH = (
    "Run SQL",
    "Edit SQL",
    "This data as",
    "Custom SQL query",
    "Table not found",
    "Database not found",
    "Row not found",
    "Forbidden",
    "Not Found",
    "Not found",
    "Internal Server Error",
    "Error 4",
    "Error 5",
    "rows",
    "row",
    "records",
    "where",
    "sorted by",
    "Sort ascending",
    "Sort descending",
    "Facet by this",
    "Hide this column",
    "Show all columns",
    "Suggested facets",
    "Advanced export",
    "Download file",
    "Powered by",
    "Data license",
    "Source",
    "Query parameters",
    "Links from other tables",
    "Next page",
    "View and edit SQL",
    "Apply",
    "Search",
    "Queries",
    "Tables",
    "hidden",
    "private",
    "Log out",
    "Log in",
    "Home",
    "Menu",
    "cannot save",
    "is not a date",
    "reviewer role",
    "Debug",
    "Permission denied",
    "Page not found",
)
TOFU = ("☒", "🔒")
#: header cells of a rows table that show their raw column name
RAW_HEADERS = "table.rows-and-columns th[data-column]"
RAW_HEADERS_JS = (
    "els => els.filter(e => e.innerText.replace(/[▲▼\\s]/g, '') === e.dataset.column)"
    ".map(e => e.dataset.column)"
)
#: tables metadata.yaml hides from the database page
HIDDEN = {
    name
    for name, meta in yaml.safe_load((REPO / "datasette" / "metadata.yaml").read_text("utf-8"))[
        "databases"
    ]["archive"]["tables"].items()
    if meta.get("hidden")
}
_WORDS = re.compile("|".join(r"(?<![A-Za-z_])" + re.escape(w) + r"(?![A-Za-z_])" for w in ENGLISH))


@pytest.fixture(scope="module")
def site(sample_archive: Path, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("chinese") / "archive"
    shutil.copytree(sample_archive, root)
    with Archive(root, write=True) as arc:
        access.add_user(arc.db, "lihua", "reviewer", "reviewer-pass-1")
        access.add_user(arc.db, "wang", "inspector", "inspector-pass-1")
        sid = spotcheck.new_sample(arc, who="lihua", size=5, seed=1)
        one = lambda sql: next(iter(arc.db.query(sql)))  # noqa: E731
        ids = {
            "entry": one("select entry_id from entries order by entry_id")["entry_id"],
            "book": one("select book_id from books order by book_id")["book_id"],
            "page": one("select page_id, book_id, page_no from pages order by page_id"),
            "line": one("select line_id from lines order by line_id")["line_id"],
            "matter": one("select matter_id from matters order by matter_id")["matter_id"],
            "link": one("select rowid from links")["rowid"] if arc.db["links"].count else None,
            # every table and view the database page lists (not the search index's own)
            "tables": [
                r["name"]
                for r in arc.db.query(
                    "select name from sqlite_master where type in ('table', 'view')"
                    " and name not like 'sqlite_%' and name not like '%_fts%' order by name"
                )
                if r["name"] not in HIDDEN
            ],
        }
    with serve(root) as base:
        yield base, ids, sid


def _paths(ids: dict, sid: int) -> list[tuple[str, str]]:
    q = urllib.parse.quote
    page = ids["page"]
    out = [
        ("home", "/"),
        ("database", "/archive"),
        ("search", "/-/search?q=" + q("饮水")),
        ("search-empty", "/-/search?q=" + q("没有这种词")),
        ("entry", "/-/entry/" + q(ids["entry"], safe="")),
        ("matter", "/-/matter/" + q(ids["matter"], safe="")),
        ("review-queue", "/-/review"),
        ("review-page", f"/-/review/page/{q(page['book_id'])}/{page['page_no']}"),
        ("spotcheck-list", "/-/spotcheck"),
        ("spotcheck-sample", f"/-/spotcheck/{sid}"),
        ("404-table", "/archive/no_such_table"),
        ("404-db", "/no_such_database"),
        ("404-entry", "/-/entry/no-such-entry"),
        ("404-row", "/archive/entries/no-such-row"),
        ("400-sql", "/archive?sql=" + q("select nonsense from nowhere")),
        ("400-sort", "/archive/entries?_sort=no_such_column"),
    ]
    for t in ids["tables"]:
        out.append((f"table-{t}", f"/archive/{t}"))
    out += [
        ("row-entry", "/archive/entries/" + q(ids["entry"], safe="")),
        ("row-book", "/archive/books/" + q(ids["book"], safe="")),
        ("row-page", "/archive/pages/" + q(page["page_id"], safe="")),
        ("row-line", "/archive/lines/" + q(ids["line"], safe="")),
    ]
    for name in (
        "open_matters",
        "escalated_matters",
        "cadre_missing_weeks",
        "cadre_weekly_counts",
        "hot_topics",
        "hot_topics_by_township",
    ):
        out.append((f"query-{name}", f"/archive/{name}"))
    return out


def _login(browser, base: str, user: str | None, password: str | None):  # type: ignore[no-untyped-def]
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = ctx.new_page()
    page.goto(base + "/-/login")
    if user:
        page.fill("#username", user)
        page.fill("#password", password)
        page.click("input[type=submit]")
        page.wait_for_load_state()
    return ctx, page


def test_every_page_is_chinese_for_every_role(site) -> None:
    from playwright.sync_api import sync_playwright

    base, ids, sid = site
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    seen = 0
    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            for role, user, pw in (
                ("anonymous", None, None),
                ("inspector", "wang", "inspector-pass-1"),
                ("reviewer", "lihua", "reviewer-pass-1"),
            ):
                ctx, page = _login(browser, base, user, pw)
                if role == "anonymous":
                    text = page.inner_text("body") + " " + page.title()
                    for m in _WORDS.finditer(text):
                        problems.append(f"{role} login: {m.group(0)!r}")
                    page.screenshot(path=str(ARTIFACTS / "anonymous-login.png"), full_page=True)
                for name, path in _paths(ids, sid):
                    resp = page.goto(base + path)
                    seen += 1
                    status = resp.status if resp else 0
                    text = page.inner_text("body") + " " + page.title()
                    where = f"{role} {name} ({path}, {status})"
                    if status >= 500:
                        problems.append(f"{where}: server error")
                    for m in _WORDS.finditer(text):
                        ctxt = text[max(0, m.start() - 20) : m.end() + 20].replace("\n", " ")
                        problems.append(f"{where}: {m.group(0)!r} in …{ctxt}…")
                    for t in TOFU:
                        if t in text:
                            problems.append(f"{where}: {t}")
                    for column in page.eval_on_selector_all(RAW_HEADERS, RAW_HEADERS_JS):
                        problems.append(f"{where}: column header {column!r} not in Chinese")
                    page.screenshot(path=str(ARTIFACTS / f"{role}-{name}.png"), full_page=False)
                ctx.close()
        finally:
            browser.close()
    (ARTIFACTS / "problems.txt").write_text("\n".join(problems) + "\n", encoding="utf-8")
    assert seen >= 3 * 30
    assert not problems, f"{len(problems)} problem(s):\n" + "\n".join(problems[:200])


def test_entry_matter_and_review_pages_name_notebooks_not_pinyin_ids(site) -> None:
    """Issue 15 item 6/8: 张伟（杨树沟村）日记本 第2页 · 第1条, the id in small print; the matter
    page is reachable from the entry page."""
    from playwright.sync_api import sync_playwright

    base, ids, _sid = site
    label = re.compile(r"^(张伟（杨树沟村）|李明（河湾村）)日记本 第\d+页 · 第\d+条")
    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            ctx, page = _login(browser, base, "lihua", "reviewer-pass-1")
            page.goto(base + "/-/entry/" + urllib.parse.quote(ids["entry"], safe=""))
            assert label.match(page.inner_text("h1")), page.inner_text("h1")
            assert ids["entry"] not in page.inner_text("h1")
            assert ids["entry"] in page.inner_text(".mq-id")
            assert label.match(page.title())
            page.click(".mq-text a[href^='/-/matter/']")
            page.wait_for_load_state()
            assert "/-/matter/" in page.url and page.inner_text("h1").startswith("事项：")
            assert label.match(page.inner_text(".mq-chain li a"))
            pg = ids["page"]
            page.goto(f"{base}/-/review/page/{pg['book_id']}/{pg['page_no']}")
            heads = page.locator(".rv-entry h2").all_inner_texts()
            assert heads and all(label.match(h) for h in heads), heads
            page.screenshot(path=str(ARTIFACTS / "reviewer-names-review.png"))
            ctx.close()
        finally:
            browser.close()
