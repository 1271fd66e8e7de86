"""The archive in minqing's Datasette (its config dir and plugins, in process): search,
snippets, entry pages, images, facets and canned queries. ``test_serve.py`` checks the
same over real HTTP with ``minqing serve``."""

from __future__ import annotations

import datetime as dt
import json
import re
import sqlite3
import urllib.parse
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from minqing.archive import keywords
from minqing.archive.store import Archive
from minqing.web import presentation
from tests._helpers import Site, site
from tests._helpers import urlq as q
from tests._small_archive import (
    BOOKS,
    CATEGORY_NAMES,
    ENTRIES,
    STATUS_NAMES,
    WEEK_END,
    WEEK_START,
    build_small_archive,
)

# -- helpers -----------------------------------------------------------------------------------


def rows_of(db_path: Path, sql: str, params=()) -> list[dict]:  # type: ignore[no-untyped-def]
    conn = sqlite3.connect(db_path)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(sql, params)]
    finally:
        conn.close()


def substring_entries(db: Path, query: str) -> set[str]:
    words = query.split()
    return {
        r["entry_id"]
        for r in rows_of(db, "select entry_id, text from entries")
        if all(w in (r["text"] or "") for w in words)
    }


def substring_lines(db: Path, query: str) -> set[str]:
    words = query.split()
    return {
        r["line_id"]
        for r in rows_of(db, "select line_id, text from lines")
        if all(w in re.sub(r"\s+", "", r["text"] or "") for w in words)
    }


# 2-character words, 4-character compounds, a name, a place, multi-word queries
QUERIES = ["饮水", "低保", "土地承包", "孙桂兰", "河湾村", "饮水 村民", "低保 申请", "承包"]


# -- sample archive (real OCR) -------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample_db(sample_archive: Path) -> Path:
    return sample_archive / "archive.db"


@pytest.mark.parametrize("query", QUERIES)
def test_table_search_returns_exactly_the_substring_scan(
    sample_site: Site, sample_db: Path, query: str
) -> None:
    rows = sample_site.get_json(
        "/archive/entries.json?"
        + q({"_search": query, "_shape": "array", "_col": "entry_id", "_size": "max"})
    )
    assert {r["entry_id"] for r in rows} == substring_entries(sample_db, query)


@pytest.mark.parametrize("query", QUERIES)
def test_search_all_finds_entries_and_lines_like_a_substring_scan(
    sample_site: Site, sample_db: Path, query: str
) -> None:
    res = sample_site.get_json("/-/search.json?" + q({"q": query}))
    expected_entries = substring_entries(sample_db, query)
    expected_lines = substring_lines(sample_db, query)
    assert res["entry_count"] == len(expected_entries)
    assert {r["entry_id"] for r in res["entries"]} == expected_entries
    assert res["line_count"] == len(expected_lines)
    assert {r["line_id"] for r in res["lines"]} == expected_lines
    for r in res["entries"] + res["lines"]:
        for w in query.split():
            if w in re.sub(r"<[^>]+>", "", r["snippet"]):
                assert f"<mark>{w}</mark>" in r["snippet"] or "<mark>" in r["snippet"]


def test_some_query_finds_hits(sample_site: Site, sample_db: Path) -> None:
    # guards the tests above against an archive in which nothing matches
    assert substring_entries(sample_db, "低保") and substring_entries(sample_db, "饮水")


def test_search_results_show_snippets_with_the_hit_marked(sample_site: Site) -> None:
    status, _, body = sample_site.fetch("/archive/entries?" + q({"_search": "低保"}))
    html = body.decode("utf-8")
    assert status == 200
    cells = re.findall(r'<td class="col-text type-str">(.*?)</td>', html, re.DOTALL)
    assert cells and all("<mark>低保</mark>" in c for c in cells)
    # entry ids link to the entry page, carrying the query
    links = re.findall(r'href="(/-/entry/[^"]+)"', html)
    assert links and all("q=%E4%BD%8E%E4%BF%9D" in link for link in links)
    # Chinese column headers
    assert "正文" in html and "办理状态" in html


def test_entry_page_shows_text_chain_image_and_highlighted_lines(
    sample_site: Site, sample_db: Path
) -> None:
    entry = rows_of(sample_db, "select * from entries where text like '%低保%' order by entry_id")[
        0
    ]
    status, _, body = sample_site.fetch(
        f"/-/entry/{urllib.parse.quote(entry['entry_id'])}?" + q({"q": "低保"})
    )
    html = body.decode("utf-8")
    assert status == 200
    assert entry["category"] in html and entry["status"] in html
    assert "<mark>低保</mark>" in html
    # the follow-up chain lists every entry of the matter
    chain = rows_of(
        sample_db, "select entry_id from entries where matter_id = ?", [entry["matter_id"]]
    )
    for c in chain:
        assert c["entry_id"] in html
    # the page image is served and the entry's lines are outlined, hits highlighted
    page = rows_of(
        sample_db,
        "select * from pages where book_id = ? and page_no = ?",
        [entry["book_id"], entry["page_start"]],
    )[0]
    img_url = "/-/page-image/" + urllib.parse.quote(page["page_id"])
    assert img_url in html
    status, ctype, data = sample_site.fetch(img_url)
    assert status == 200 and ctype.startswith("image/")
    assert data == (sample_db.parent / page["image"]).read_bytes()
    rects = re.findall(r'<rect class="mq-line([^"]*)" data-line-id="([^"]+)"', html)
    line_ids = set(json.loads(entry["line_ids"]))
    outlined = {lid for cls, lid in rects if "mq-in-entry" in cls}
    assert outlined and outlined <= line_ids
    hit_ids = {lid for cls, lid in rects if "mq-hit" in cls}
    texts = {
        r["line_id"]: r["text"]
        for r in rows_of(
            sample_db, "select line_id, text from lines where entry_id = ?", [entry["entry_id"]]
        )
    }
    assert hit_ids == {lid for lid in outlined if "低保" in texts[lid]} or (
        hit_ids and all(lid in outlined for lid in hit_ids)
    )
    assert hit_ids


def test_thumbnail_is_a_small_jpeg(sample_site: Site, sample_db: Path) -> None:
    from io import BytesIO

    from PIL import Image

    page = rows_of(sample_db, "select page_id, width from pages limit 1")[0]
    status, ctype, data = sample_site.fetch("/-/page-thumb/" + urllib.parse.quote(page["page_id"]))
    assert status == 200 and ctype == "image/jpeg"
    with Image.open(BytesIO(data)) as im:
        assert im.width == min(presentation.THUMB_WIDTH, page["width"])


def test_matter_page_lists_the_chain(sample_site: Site, sample_db: Path) -> None:
    m = rows_of(sample_db, "select * from matters order by entries desc, matter_id limit 1")[0]
    status, _, body = sample_site.fetch(f"/-/matter/{urllib.parse.quote(m['matter_id'])}")
    html = body.decode("utf-8")
    assert status == 200 and m["status"] in html
    for c in rows_of(
        sample_db, "select entry_id from entries where matter_id = ?", [m["matter_id"]]
    ):
        assert c["entry_id"] in html


def test_matter_page_shows_handling_time_and_page_images(
    sample_site: Site, sample_db: Path
) -> None:
    """Issue 15 item 8: the matter page says how long the matter took (or has been open)
    and shows each record's page images."""
    for m in rows_of(sample_db, "select * from matters where entries > 1 order by matter_id"):
        status, _, body = sample_site.fetch(f"/-/matter/{urllib.parse.quote(m['matter_id'])}")
        html = body.decode("utf-8")
        assert status == 200
        days = dt.date.fromisoformat(m["latest_date"]) - dt.date.fromisoformat(m["first_date"])
        if not m["open"]:
            expected = "当天办结" if days.days == 0 else f"办结用时 {days.days} 天"
        else:
            expected = "尚未办结"
        assert expected in html.split('class="mq-handling">')[1].split("</dd>")[0], m
        thumbs = re.findall(r'<img class="mq-thumb" src="([^"]+)"', html)
        pages = rows_of(
            sample_db,
            "select distinct p.page_id from entries e join pages p on p.book_id = e.book_id "
            "and p.page_no between e.page_start and coalesce(e.page_end, e.page_start) "
            "where e.matter_id = ?",
            [m["matter_id"]],
        )
        assert len(thumbs) >= len(pages) > 0
        status, ctype, data = sample_site.fetch(thumbs[0].replace("&amp;", "&"))
        assert status == 200 and ctype == "image/jpeg" and data[:2] == b"\xff\xd8"


def test_raw_pages_and_lines_tables_read_as_a_person_reads_them(sample_site: Site) -> None:
    """Issue 15 item 9: no 64-hex file names, polygon JSON, 16-digit confidences or English
    column names in the pages and lines tables; the values are still there on hover, and
    JSON keeps them whole."""
    _, _, body = sample_site.fetch("/archive/pages")
    html = body.decode("utf-8")
    cells = re.sub(r'title="[^"]*"', "", html)  # full values stay in the hover titles
    assert not re.search(r"[0-9a-f]{64}", cells)
    for english in ("source_file", "ingest_version", "created_at", "original_sha256"):
        assert f">{english}<" not in html, english
    assert "来源文件" in html and "图像指纹" in html
    _, _, body = sample_site.fetch("/archive/lines")
    html = body.decode("utf-8")
    cells = re.sub(r'title="[^"]*"', "", html)
    assert "[[" not in cells  # no polygon or alternates JSON
    assert not re.search(r"0\.\d{5,}", cells)  # no long decimals
    assert "字或为" in cells  # alternates in words
    assert re.search(r">\d{1,3}%<", html)  # confidences as percentages
    # the entries table's page column opens the page image
    _, _, body = sample_site.fetch("/archive/entries")
    links = re.findall(r'<a class="mq-page-link" href="([^"]+)"', body.decode("utf-8"))
    assert links
    status, ctype, _ = sample_site.fetch(links[0])
    assert status == 200 and ctype.startswith("image/"), links[0]
    data = sample_site.get_json("/archive/lines.json?_shape=array&_size=1")
    assert isinstance(data[0]["confidence"], float) and data[0]["box"].startswith("[[")


def test_unknown_entry_and_page_are_404(sample_site: Site) -> None:
    assert sample_site.fetch("/-/entry/nope:999")[0] == 404
    assert sample_site.fetch("/-/matter/nope:999")[0] == 404
    assert sample_site.fetch("/-/page-image/nope/1")[0] == 404
    # following Datasette's %-redirect
    status, _, _ = sample_site.fetch("/-/page-image/..%2F..%2Fetc%2Fpasswd", follow_redirects=True)
    assert status == 404


def test_image_route_never_serves_outside_the_images_folder(
    archive_copy: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "secret.png"
    outside.write_bytes(b"\x89PNG not yours")
    link = archive_copy / "images" / "link.png"
    link.symlink_to(outside)
    conn = sqlite3.connect(archive_copy / "archive.db")
    pids = [r[0] for r in conn.execute("select page_id from pages order by page_id limit 4")]
    for pid, bad in zip(
        pids,
        ["../archive.db", str(outside), "images/link.png", "images/../archive.db"],
        strict=True,
    ):
        conn.execute("update pages set image = ? where page_id = ?", [bad, pid])
    conn.commit()
    conn.close()
    with site(archive_copy) as s:
        for pid in pids:
            for route in ("/-/page-image/", "/-/page-thumb/"):
                status, _, body = s.fetch(route + urllib.parse.quote(pid))
                assert status == 404, (pid, route)
                assert b"not yours" not in body and b"SQLite" not in body


def test_entry_page_shows_a_lunar_date_and_later_notes_as_such(archive_copy: Path) -> None:
    """Issue 18: the lunar day beside the Gregorian one; the 补记 listed on their own."""
    conn = sqlite3.connect(archive_copy / "archive.db")
    (lunar_id,), (noted_id,) = conn.execute(
        "select entry_id from entries where date is not null order by entry_id limit 2"
    ).fetchall()
    conn.execute(
        "update entries set date = '2024-03-07', date_kind = 'lunar' where entry_id = ?",
        [lunar_id],
    )
    note = "4月20日补记：已办结，群众满意。"
    conn.execute(
        "update entries set text = text || ?, later_notes = ? where entry_id = ?",
        [note, json.dumps([note], ensure_ascii=False), noted_id],
    )
    conn.commit()
    conn.close()
    with site(archive_copy) as s:
        _, _, body = s.fetch(f"/-/entry/{urllib.parse.quote(lunar_id)}")
        html = body.decode("utf-8")
        # 2024-03-07 was the 27th day of the first lunar month
        assert "2024-03-07（农历正月廿七，原记农历）" in html
        assert "<h2>补记</h2>" not in html
        _, _, body = s.fetch(f"/-/entry/{urllib.parse.quote(noted_id)}")
        html = body.decode("utf-8")
        assert "农历" not in html.split("<dt>日期</dt>")[1].split("</dd>")[0]
        notes = html.split("<h2>补记</h2>")[1].split("</ul>")[0]
        assert f"<li>{note}</li>" in notes


# -- a small synthetic archive: facets and canned queries ----------------------------------------


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Site, Path]]:
    root = build_small_archive(tmp_path_factory.mktemp("small") / "archive")
    with site(root) as s:
        yield s, root / "archive.db"


def canned(s: Site, name: str, **params: str) -> list[dict]:
    return s.get_json(f"/archive/{name}.json?" + q({**params, "_shape": "array"}))


def test_facets_count_what_the_data_holds(small) -> None:
    s, _db = small
    res = s.get_json(
        "/archive/entries.json?"
        + q([("township", "石桥镇"), ("_facet", "category"), ("_facet", "status")])
    )
    rows = [e for e in ENTRIES if {b[0]: b[2] for b in BOOKS}[e[0]] == "石桥镇"]
    assert res["filtered_table_rows_count"] == len(rows)
    got = {f["value"]: f["count"] for f in res["facet_results"]["category"]["results"]}
    assert got == Counter(CATEGORY_NAMES[e[3]] for e in rows)
    got = {f["value"]: f["count"] for f in res["facet_results"]["status"]["results"]}
    assert got == Counter(STATUS_NAMES[e[4]] for e in rows)


def test_default_facets_are_configured(small) -> None:
    s, _ = small
    res = s.get_json("/archive/entries.json")
    assert set(res["facet_results"]) == {
        "township",
        "village",
        "cadre",
        "category",
        "status",
        "month",
    }
    assert s.get_json("/-/settings.json")["suggest_facets"] is False


def _iso(d: dt.date) -> str:
    y, w, _ = d.isocalendar()
    return f"{y}-W{w:02d}"


def expected_missing_weeks() -> set[tuple[str, str]]:
    have = {({b[0]: b[1] for b in BOOKS}[e[0]], _iso(dt.date.fromisoformat(e[2]))) for e in ENTRIES}
    weeks = {_iso(WEEK_START + dt.timedelta(days=7 * i)) for i in range(4)}
    return {(b[1], w) for b in BOOKS for w in weeks} - have


def test_cadre_missing_weeks_lists_every_week_below_one_entry(small) -> None:
    s, _ = small
    rows = canned(
        s,
        "cadre_missing_weeks",
        起始日期=WEEK_START.isoformat(),
        截止日期=WEEK_END.isoformat(),
        最少条数="",
        乡镇="",
    )
    got = {(r["干部"], r["ISO周"]) for r in rows}
    assert got == expected_missing_weeks()
    assert ("李明", "2024-W12") in got  # a cadre with one missing week shows up
    assert all(r["记录条数"] == 0 for r in rows)


def test_cadre_weekly_counts_match_the_entries(small) -> None:
    s, _ = small
    rows = canned(
        s,
        "cadre_weekly_counts",
        起始日期=WEEK_START.isoformat(),
        截止日期=WEEK_END.isoformat(),
        干部="",
        乡镇="",
    )
    expected = Counter(
        ({b[0]: b[1] for b in BOOKS}[e[0]], _iso(dt.date.fromisoformat(e[2]))) for e in ENTRIES
    )
    assert len(rows) == 3 * 4
    for r in rows:
        assert r["记录条数"] == expected.get((r["干部"], r["ISO周"]), 0)
        assert (r["每周一记"] == "未达标") == (r["记录条数"] == 0)


def test_open_matters_older_than_n_days(small) -> None:
    s, _ = small
    rows = canned(s, "open_matters", 天数="20", 截至日期="2024-03-31", 乡镇="")
    # open = latest entry of the chain not resolved/explained; first recorded ≥ 20 days before
    assert [r["事项编号"] for r in rows] == ["b-li:001", "b-wang:001"]
    rows = canned(s, "open_matters", 天数="5", 截至日期="2024-03-31", 乡镇="石桥镇")
    assert [r["事项编号"] for r in rows] == ["b-li:001", "b-zhang:002"]
    assert rows[1]["已过天数"] == 18


def test_escalated_matters(small) -> None:
    s, _ = small
    rows = canned(s, "escalated_matters", 乡镇="")
    assert [(r["事项编号"], r["当前状态"], r["办结"]) for r in rows] == [
        ("b-li:001", "已上报", "未办结")
    ]


def test_matters_view_follows_the_latest_status(small) -> None:
    _, db = small
    got = {
        r["matter_id"]: (r["status"], r["open"], r["latest_follow_up_date"], r["entries"])
        for r in rows_of(db, "select * from matters")
    }
    assert got["b-zhang:001"] == ("已解决", 0, "2024-03-20", 2)
    assert got["b-li:002"] == ("已解释", 0, "2024-03-28", 2)
    assert got["b-li:001"] == ("已上报", 1, None, 1)
    assert "b-zhang:003" not in got  # a follow-up is not a matter of its own
    assert len(got) == 6


def test_matters_by_category_and_village(small) -> None:
    s, _ = small
    rows = canned(s, "matters_by_category_village", 乡镇="", 起始月份="", 截止月份="")
    got = {(r["村"], r["类别"]): (r["事项数"], r["未办结"]) for r in rows}
    assert got == {
        ("河湾村", "群众关注的热点难点"): (1, 0),
        ("河湾村", "农村矛盾纠纷"): (1, 1),
        ("河湾村", "村容村貌整治"): (1, 1),
        ("杨树沟村", "农村矛盾纠纷"): (1, 1),
        ("杨树沟村", "群众关注的热点难点"): (1, 0),
        ("东关村", "农村经济发展"): (1, 1),
    }


def test_hot_topics_count_keywords_by_month_and_township(small) -> None:
    s, _ = small
    rows = canned(s, "hot_topics", 月份="2024-03", 乡镇="石桥镇")
    counts = {r["关键词"]: r["出现次数"] for r in rows}
    # 饮水难 occurs in two entries of 张伟's notebook; 土地承包 in 李明's and in 东关镇
    assert counts.get("饮水难") == 2
    assert counts.get("危房改造") == 2
    rows_all = canned(s, "hot_topics", 月份="", 乡镇="")
    assert {r["关键词"]: r["出现次数"] for r in rows_all}.get("土地承包") == 2
    by_town = canned(s, "hot_topics_by_township", 月份="2024-03")
    assert {r["乡镇"] for r in by_town} == {"石桥镇", "东关镇"}
    assert all(1 <= r["名次"] <= 5 for r in by_town)


def test_canned_query_pages_render_in_chinese(small) -> None:
    s, _ = small
    status, _, body = s.fetch(
        "/archive/open_matters?" + q({"天数": "1", "截至日期": "2024-03-31", "乡镇": ""})
    )
    html = body.decode("utf-8")
    assert status == 200 and "超期未办结事项" in html
    # matter ids link to the matter page with its follow-up chain (issue 15 item 8)
    assert 'href="/-/matter/b-li:001"' in html
    assert 'href="/-/entry/b-li:001"' not in html


def test_keywords_refresh_replaces_a_books_rows(tmp_path: Path) -> None:
    root = build_small_archive(tmp_path / "archive")
    with Archive(root, write=True) as a:
        before = a.db.execute("select count(*) from keywords where book_id='b-li'").fetchone()[0]
        a.db.execute("update entries set text = '修建村道解决行路难。' where book_id = 'b-li'")
        keywords.refresh_keywords(a, ["b-li"])
        words = {r[0] for r in a.db.execute("select word from keywords where book_id='b-li'")}
        others = a.db.execute("select count(*) from keywords where book_id='b-zhang'").fetchone()
    assert before > 0 and "行路难" in words and "危房改造" not in words and others[0] > 0


def test_snippet_and_highlight_helpers() -> None:
    text = "村民孙桂兰想申请低保。材料已上报镇民政办审核，低保待批。"
    assert (
        presentation.snippet_html(text, "低保", width=6)
        == "…想申请<mark>低保</mark>。材料已上报镇…"
    )
    assert (
        presentation.highlight_html("<b>低保</b>", "低保") == "&lt;b&gt;<mark>低保</mark>&lt;/b&gt;"
    )
    assert presentation.hit_lines(["想申请低", "保材料", "无关"], "低保") == {0, 1}
    assert presentation.hit_lines(["申请低保", "无关"], "低保 无关") == {0, 1}
    assert presentation.query_words('"低保" OR (饮水') == ["低保", "OR", "饮水"]


def test_image_file_refuses_paths_outside_images(tmp_path: Path) -> None:
    (tmp_path / "images" / "ab").mkdir(parents=True)
    good = tmp_path / "images" / "ab" / "x.png"
    good.write_bytes(b"x")
    (tmp_path / "archive.db").write_bytes(b"db")
    assert presentation.image_file(tmp_path, "images/ab/x.png") == good.resolve()
    for bad in [
        "../archive.db",
        "archive.db",
        "images/../archive.db",
        str(tmp_path / "archive.db"),
        "images/ab",
        "",
        None,
    ]:
        assert presentation.image_file(tmp_path, bad) is None


def test_page_quality_flags_read_in_words() -> None:
    shown = presentation.json_cell_html('{"blur": 35.2, "too_dark": 41}', "quality_flags")
    assert "模糊</span>：35.2" in shown and "太暗</span>：41" in shown
    assert "blur" not in shown and "too_dark" not in shown
