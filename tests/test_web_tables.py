"""The table pages as an inspector reads them (issue 6): a compact entries table with the
hits' snippets, no list of column descriptions above it, Chinese facet headings, filters
and book labels, JSON lists shown as items; every column still reachable through ``_col``,
``_nocol``, ``_mq_cols=all`` and the JSON/CSV exports. Real Datasette and real plugins over
a small archive written with sqlite-utils, in process."""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
import urllib.parse
from pathlib import Path

import pytest

from minqing.web import presentation
from tests._small_archive import ENTRIES, build_small_archive

COMPACT_HEADERS = ["条目", "日期", "乡镇", "村", "干部", "类别", "状态", "正文摘要", "页"]
FACET_LABELS = {
    "township": "乡镇",
    "village": "村",
    "cadre": "记录干部",
    "category": "类别",
    "status": "办理状态",
    "month": "月份",
}
EVIDENCE = ["自来水", "cue:回访", "date:3月4日", "weekday_mismatch"]
LINE_IDS = [f"b-zhang/1/{i}" for i in range(1, 10)]


def with_word(word: str) -> set[str]:
    return {f"{e[0]}:{e[1]:03d}" for e in ENTRIES if word in e[6]}


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = build_small_archive(tmp_path_factory.mktemp("tables") / "archive")
    with sqlite3.connect(root / "archive.db") as conn:
        conn.execute(
            "update entries set category_evidence = ?, line_ids = ?, fields = ?"
            " where entry_id = 'b-zhang:001'",
            [
                json.dumps(EVIDENCE, ensure_ascii=False),
                json.dumps(LINE_IDS),
                json.dumps({"problem": "饮水难", "measures": "<换管>"}, ensure_ascii=False),
            ],
        )
    return root


@pytest.fixture
def ds(root: Path):  # type: ignore[no-untyped-def]
    from minqing.cmd_serve import make_datasette

    return make_datasette(root)


async def html_of(ds, path: str, params=()) -> str:  # type: ignore[no-untyped-def]
    url = path + ("?" + urllib.parse.urlencode(params) if params else "")
    resp = await ds.client.get(url)
    assert resp.status_code == 200, resp.text[:500]
    return resp.text


def headers(html: str, table_class: str = "rows-and-columns") -> list[str]:
    table = html.split(f'<table class="{table_class}', 1)[1].split("</thead>", 1)[0]
    cells = re.findall(r"<th\b[^>]*>(.*?)</th>", table, re.DOTALL)
    return [re.sub(r"<[^>]+>|&nbsp;|[▲▼]", "", c).strip() for c in cells]


def facet_headings(html: str) -> list[str]:
    found = re.findall(r'<p class="facet-info-name">\s*<strong[^>]*>([^<\s]+)', html)
    return [f.strip() for f in found]


async def test_search_page_is_a_compact_table_of_marked_hits(ds) -> None:  # type: ignore[no-untyped-def]
    html = await html_of(ds, "/archive/entries", {"_search": "饮水"})
    # the column descriptions are not listed above the results ...
    assert "column-descriptions" not in html
    # ... the search box and the compact table are there, hits in it
    assert 'name="_search" value="饮水"' in html
    assert headers(html, "rows-and-columns mq-compact") == COMPACT_HEADERS
    ids = set(
        re.findall(r'class="mq-entry-link" href="/-/entry/[^"?]+\?q=[^"]+">([^<]+)</a>', html)
    )
    assert ids == with_word("饮水") and len(ids) == 2
    cells = re.findall(r'<td class="col-text type-str">(.*?)</td>', html, re.DOTALL)
    assert len(cells) == 2 and all("<mark>饮水</mark>" in c for c in cells)
    pages = re.findall(r'<td class="col-pages">(.*?)</td>', html, re.DOTALL)
    # the text a person reads (the page number is a link to the page image)
    assert pages and all(re.sub(r"<[^>]+>", "", p).startswith("b-zhang 第1页") for p in pages)
    # the raw columns are not in the compact table; the descriptions are tooltips
    assert "col-category_evidence" not in html and "col-line_ids" not in html
    assert 'title="条目编号（日记本:序号）"' in html
    # a Chinese summary instead of "2 rows where search matches"
    assert "共 2 条：检索“饮水”" in html and "rows where" not in html


async def test_without_a_search_the_text_starts_the_row(ds) -> None:  # type: ignore[no-untyped-def]
    html = await html_of(ds, "/archive/entries", {"_size": "3"})
    assert headers(html, "rows-and-columns mq-compact") == COMPACT_HEADERS
    cells = re.findall(r'<td class="col-text type-str">(.*?)</td>', html, re.DOTALL)
    newest = sorted(ENTRIES, key=lambda e: e[2], reverse=True)[:3]
    assert cells == [e[6] for e in newest]  # short texts shown whole, newest first
    assert "<mark>" not in html
    # the next page keeps the compact table
    nxt = html.split('<p class="mq-next"><a href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    html2 = await html_of(ds, urllib.parse.urlsplit(nxt)._replace(scheme="", netloc="").geturl())
    assert 'class="rows-and-columns mq-compact"' in html2
    assert ">" + f"{newest[0][0]}:{newest[0][1]:03d}" + "<" not in html2


async def test_facets_and_filters_are_named_in_chinese(ds) -> None:  # type: ignore[no-untyped-def]
    html = await html_of(ds, "/archive/entries", {"_search": "饮水"})
    assert sorted(facet_headings(html)) == sorted(FACET_LABELS.values())
    for name, label in FACET_LABELS.items():
        assert f'<option value="{name}">{label}</option>' in html
    assert "Search:" not in html and "Apply" not in html and "This data as" not in html
    # the book is labelled by its id, not "None <id>"
    books = await html_of(ds, "/archive/entries", {"_mq_cols": "all"})
    assert "None" not in re.sub(r"<[^>]+>", " ", books)
    assert '<a href="/archive/books/b-zhang">b-zhang</a>' in books


async def test_every_column_stays_reachable(ds, root: Path) -> None:  # type: ignore[no-untyped-def]
    with sqlite3.connect(root / "archive.db") as conn:
        columns = [r[1] for r in conn.execute("pragma table_info(entries)")]
    # the full table on request (the compact view's link, Datasette's _col / _nocol)
    full = await html_of(ds, "/archive/entries", {"_search": "饮水", "_mq_cols": "all"})
    assert "mq-compact" not in full
    assert len(headers(full)) == len(columns)
    assert "紧凑视图" in full
    picked = await html_of(ds, "/archive/entries", [("_col", "text"), ("_col", "status")])
    assert "mq-compact" not in picked and len(headers(picked)) == 3  # + the entry id
    dropped = await html_of(ds, "/archive/entries", {"_nocol": "classifier"})
    assert "mq-compact" not in dropped and len(headers(dropped)) == len(columns) - 1
    # the exports carry every column, or exactly those asked for
    data = (await ds.client.get("/archive/entries.json?_search=饮水")).json()
    assert data["columns"] == columns
    arr = (await ds.client.get("/archive/entries.json?_shape=array&_col=entry_id")).json()
    assert {tuple(r) for r in arr} == {("entry_id",)} and len(arr) == len(ENTRIES)
    text = (await ds.client.get("/archive/entries.csv?_size=max")).text
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == columns and len(rows) == len(ENTRIES) + 1
    # the JSON list stays JSON in the export
    row = next(r for r in data["rows"] if r[0] == "b-zhang:001")
    assert json.loads(row[columns.index("category_evidence")]) == EVIDENCE


async def test_json_cells_are_shown_as_items(ds) -> None:  # type: ignore[no-untyped-def]
    html = await html_of(ds, "/archive/entries/b-zhang~3A001")
    # the row page keeps every field and links to the entry page
    assert 'href="/-/entry/b-zhang%3A001">打开条目页</a>' in html
    cell = re.search(r'<td class="col-category_evidence[^"]*">(.*?)</td>', html, re.DOTALL)
    assert cell, html[:2000]
    assert '["' not in cell.group(1)
    assert "提示语：回访" in cell.group(1) and "星期与日期不符" in cell.group(1)
    fields = re.search(r'<td class="col-fields[^"]*">(.*?)</td>', html, re.DOTALL).group(1)
    assert "问题" in fields and "饮水难" in fields and "&lt;换管&gt;" in fields
    lines = re.search(r'<td class="col-line_ids[^"]*">(.*?)</td>', html, re.DOTALL).group(1)
    assert "共 9 项" in lines and "b-zhang/1/9" in lines and "b-zhang/1/5" not in lines


async def test_other_pages_read_in_chinese(ds) -> None:  # type: ignore[no-untyped-def]
    for path in ("/", "/archive", "/archive/matters", "/archive/books", "/archive/open_matters"):
        html = await html_of(ds, path)
        assert ">首页</a>" in html, path
        assert "Powered by" not in html and "Data license" not in html, path
    db = await html_of(ds, "/archive")
    assert "常用查询" in db and ">超期未办结事项</a>" in db and ">事项条目</a>" in db
    assert "Custom SQL query" not in db and "rows in" not in db
    home = await html_of(ds, "/")
    assert ">民情日记档案库</a>" in home and "rows in" not in home
    matters = await html_of(ds, "/archive/matters")
    assert "column-descriptions" not in matters
    assert "办理状态" not in facet_headings(matters)  # the matters' own column titles ...
    assert "当前状态" in facet_headings(matters)  # ... from metadata


def test_json_cell_html() -> None:
    assert presentation.json_cell_html("[]") == ""
    assert presentation.json_cell_html("{}") == ""
    assert presentation.json_cell_html("饮水") is None
    assert presentation.json_cell_html("[not json") is None
    assert presentation.json_cell_html('"a string"') is None
    out = presentation.json_cell_html(json.dumps(["<b>", "cue:回访", "sim:0.21", "category"]))
    assert out == (
        '<span class="mq-list-item">&lt;b&gt;</span>'
        '<span class="mq-list-item">提示语：回访</span>'
        '<span class="mq-list-item">文字相似度：0.21</span>'
        '<span class="mq-list-item">同一类别</span>'
    )
    # only the columns named in JSON_LIST_SHOWN are shortened
    ids = json.dumps([f"b/1/{i}" for i in range(1, 8)])
    assert presentation.json_cell_html(ids).count("mq-list-item") == 7
    short = presentation.json_cell_html(ids, "line_ids")
    assert "b/1/7" in short and "b/1/4" not in short and "共 7 项" in short
    assert presentation.json_cell_html('{"place": "三组", "x": 1.5}') == (
        '<span class="mq-field"><span class="mq-field-name">地点</span>：三组</span>；'
        '<span class="mq-field"><span class="mq-field-name">x</span>：1.5</span>'
    )
    assert presentation.evidence_label("unknown:thing") == "unknown:thing"


async def test_every_published_table_and_column_has_a_chinese_title(ds, root: Path) -> None:  # type: ignore[no-untyped-def]
    """The table pages name tables and columns (headers, the filter dropdown) by the
    titles in metadata.yaml; a column without one shows its raw English name."""
    tables = ds.metadata()["databases"]["archive"]["tables"]
    with sqlite3.connect(root / "archive.db") as conn:
        names = [
            n
            for (n,) in conn.execute(
                "select name from sqlite_master where type in ('table', 'view')"
                " and name not like 'sqlite_%'"
            )
        ]
        shadow = {n for n in names for f in names if n != f and n.startswith(f + "_")}
        missing = []
        for name in sorted(set(names) - shadow):
            meta = tables.get(name) or {}
            if meta.get("hidden"):
                continue
            if not meta.get("title"):
                missing.append(name)
            columns = [c[1] for c in conn.execute(f"pragma table_info([{name}])")]
            missing += [f"{name}.{c}" for c in columns if c not in (meta.get("columns") or {})]
    assert missing == []
    html = await html_of(ds, "/archive/review_decisions")
    dropdown = html.split('<select name="_filter_column">', 1)[1].split("</select>", 1)[0]
    offered = re.findall(r'<option value="([^"]+)">([^<]*)</option>', dropdown)
    assert ("page_sha", "页面图像指纹") in offered
    assert [v for v, label in offered if v == label] == []


async def test_canned_queries_offer_the_townships_and_say_what_an_empty_field_means(
    ds, root: Path
) -> None:  # type: ignore[no-untyped-def]
    """Issue 15 item 4: parameters were bare text boxes, defaults hidden ("留空为默认（全部）"
    even where the SQL takes 30 days), no township choice, dates breaking at a hyphen."""
    with sqlite3.connect(root / "archive.db") as conn:
        towns = [t for (t,) in conn.execute("select distinct township from books order by 1")]
    assert towns
    html = await html_of(ds, "/archive/open_matters")
    select = html.split('<select id="qp3" name="乡镇">', 1)[1].split("</select>", 1)[0]
    assert re.findall(r'<option value="([^"]*)"', select) == ["", *towns]
    assert (
        'placeholder="留空为 30 天"' in html and 'placeholder="如 2024-05-31；留空为今天"' in html
    )
    town = towns[0]
    html = await html_of(ds, "/archive/open_matters", [("截至日期", "2030-01-01"), ("乡镇", town)])
    assert f'<option value="{town}" selected>' in html
    cells = re.findall(r'<td class="col-([^" ]+)( mq-nowrap)?">([^<]*)</td>', html)
    dates = [c for c in cells if re.fullmatch(r"\d{4}-\d{2}-\d{2}", c[2])]
    assert dates and all(nowrap for _, nowrap, _ in dates)
