"""The review plugin in a real in-process Datasette (minqing's config dir, auth plugin
included): permissions, CSRF, one-transaction saves, 409 on stale forms."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import httpx
import pytest

from minqing.archive.store import Archive
from minqing.web import access
from tests._review_archive import BOOK_A, build_archive


@pytest.fixture()
def site(tmp_path: Path):
    root = tmp_path / "arc"
    a = build_archive(root, {"bookA": BOOK_A})
    access.add_user(a.db, "rev", "reviewer", "secret-pass-1")
    access.add_user(a.db, "insp", "inspector", "secret-pass-2")
    a.close()
    from minqing.cmd_serve import make_datasette

    ds = make_datasette(root)
    return ds, root


_SESSIONS: dict[tuple[str, str], str] = {}


def cookies_for(ds, name: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """The session cookie of ``name`` (one server-side session per user and instance)."""
    root = Path(ds.get_database("archive").path).parent
    key = (str(root), name)
    if key not in _SESSIONS:
        _SESSIONS[key] = access.create_session(root, access.get_user(root, name), time.time())
    return {"minqing_session": ds.sign({"s": _SESSIONS[key]}, "minqing-session")}


async def get(ds, path: str, who: str | None):  # type: ignore[no-untyped-def]
    return await ds.client.get(path, cookies=cookies_for(ds, who) if who else None)


def csrf(html: str) -> str:
    return re.search(r'name="csrftoken" value="([^"]+)"', html).group(1)


async def post(ds, who: str, data: dict, page: httpx.Response | None = None):  # type: ignore[no-untyped-def]
    """POST a review form the way a browser does: session cookie + csrftoken cookie + field."""
    page = page or await get(ds, "/-/review/page/bookA/1", who)
    cookies = {**cookies_for(ds, who), **{k: v for k, v in page.cookies.items()}}
    return await ds.client.post(
        "/-/review/save", data={"csrftoken": csrf(page.text), **data}, cookies=cookies
    )


def db(root: Path) -> Archive:
    return Archive(root)


async def test_reviewer_sees_queue_and_page_with_boxes(site) -> None:
    ds, _ = site
    r = await get(ds, "/-/review", "rev")
    assert r.status_code == 200
    # flagged page first, each named by cadre and village (issue 15: names, not ids)
    assert r.text.index("/-/review/page/bookA/2") < r.text.index("/-/review/page/bookA/1")
    assert "张伟（杨树沟村）日记本 第2页" in r.text
    r = await get(ds, "/-/review/page/bookA/1", "rev")
    assert r.status_code == 200
    assert r.text.count('class="rv-box') == 6
    assert "/-/page-image/bookA/1" in r.text
    assert 'value="水量不足，夏天经常断水。"' in r.text
    img = await get(ds, "/-/page-image/bookA/1", "rev")
    assert img.status_code == 200 and img.content[:4] == b"\x89PNG"


@pytest.mark.parametrize(
    "path", ["/-/review", "/-/review/page/bookA/1", "/-/spotcheck", "/-/review/entry/bookA:001"]
)
async def test_inspector_and_anonymous_cannot_reach_review_pages(site, path: str) -> None:
    ds, _ = site
    assert (await get(ds, path, "insp")).status_code == 403
    anon = await ds.client.get(path)
    assert anon.status_code in (302, 403) and "/-/login" in anon.headers.get("location", "/-/login")


async def test_inspector_cannot_post(site) -> None:
    ds, root = site
    page = await get(ds, "/-/review/page/bookA/1", "rev")  # a form a reviewer saw
    cookies = {**cookies_for(ds, "insp"), **dict(page.cookies)}
    r = await ds.client.post(
        "/-/review/save",
        data={
            "csrftoken": csrf(page.text),
            "action": "line",
            "line_id": "bookA/1/2",
            "text": "X",
            "back": "/-/review",
        },
        cookies=cookies,
    )
    assert r.status_code == 403
    with db(root) as a:
        assert a.db["corrections"].count == 0


async def test_post_without_csrf_token_is_rejected(site) -> None:
    ds, root = site
    page = await get(ds, "/-/review/page/bookA/1", "rev")
    cookies = {**cookies_for(ds, "rev"), **dict(page.cookies)}
    r = await ds.client.post(
        "/-/review/save",
        data={"action": "line", "line_id": "bookA/1/2", "text": "X", "back": "/-/review"},
        cookies=cookies,
    )
    assert r.status_code == 403
    with db(root) as a:
        assert a.db["corrections"].count == 0


async def test_line_save_redirects_and_updates_archive_and_search(site) -> None:
    ds, root = site
    r = await post(
        ds,
        "rev",
        {
            "action": "line",
            "line_id": "bookA/1/2",
            "text": "水量不足，夏天经常渴水。",
            "expected": "水量不足，夏天经常断水。",
            "back": "/-/review/page/bookA/1",
            "next_focus": "bookA/1/3",
        },
    )
    assert r.status_code == 303
    assert r.headers["location"] == "/-/review/page/bookA/1?focus=bookA%2F1%2F3"
    hits = await ds.client.get(
        "/archive/entries.json?_search=渴水&_shape=array", cookies=cookies_for(ds, "insp")
    )
    assert [e["entry_id"] for e in hits.json()] == ["bookA:001"]
    with db(root) as a:
        (c,) = list(a.db.query("select who, target_id, old, new from corrections"))
        assert c == {
            "who": "rev",
            "target_id": "bookA/1/2",
            "old": "水量不足，夏天经常断水。",
            "new": "水量不足，夏天经常渴水。",
        }


async def test_stale_form_gets_409_and_keeps_the_first_save(site) -> None:
    ds, root = site
    page = await get(ds, "/-/review/page/bookA/1", "rev")  # both reviewers loaded the page
    base = {
        "action": "line",
        "line_id": "bookA/1/2",
        "expected": "水量不足，夏天经常断水。",
        "back": "/-/review/page/bookA/1",
    }
    assert (await post(ds, "rev", {**base, "text": "第一个人的改法"}, page)).status_code == 303
    r = await post(ds, "rev", {**base, "text": "第二个人的改法"}, page)
    assert r.status_code == 409
    assert "changed by someone else" in r.text and "第一个人的改法" in r.text
    with db(root) as a:
        assert (
            next(a.db.query("select text from lines where line_id = 'bookA/1/2'"))["text"]
            == "第一个人的改法"
        )


async def test_entry_link_split_through_forms(site) -> None:
    ds, root = site
    page = await get(ds, "/-/review/page/bookA/1", "rev")
    r = await post(
        ds,
        "rev",
        {
            "action": "entry",
            "entry_id": "bookA:002",
            "category_code": "5",
            "status_code": "resolved",
            "date": "2024-03-12",
            "expected_category_code": "4",
            "expected_status_code": "resolved",
            "expected_date": "2024-03-12",
            "back": "/-/review/page/bookA/1",
        },
        page,
    )
    assert r.status_code == 303
    r = await post(
        ds,
        "rev",
        {
            "action": "link",
            "entry_id": "bookA:004",
            "parent": "bookA:001",
            "expected": "bookA:001",
            "back": "/-/review/page/bookA/2",
        },
        page,
    )
    assert r.status_code == 303, r.text
    with db(root) as a:
        rev = next(a.db.query("select * from entries where entry_id = 'bookA:001'"))
    from minqing.review.corrections import entry_rev

    r = await post(
        ds,
        "rev",
        {
            "action": "split",
            "entry_id": "bookA:001",
            "line_id": "bookA/1/2",
            "rev": entry_rev(rev),
            "back": "/-/review/page/bookA/1",
        },
        page,
    )
    assert r.status_code == 303, r.text
    with db(root) as a:
        e = {r["entry_id"]: r for r in a.db.query("select * from entries")}
    assert (e["bookA:003"]["category_code"], e["bookA:003"]["category_confirmed"]) == (5, 1)
    assert e["bookA:005"]["follow_up_of"] == "bookA:001"
    assert json.loads(e["bookA:002"]["line_ids"]) == ["bookA/1/2"]
    with db(root) as a:
        link = next(a.db.query("select confirmed from links where child = 'bookA:005'"))
        from minqing.archive.export import iter_entries

        exported = {r["entry_id"]: r for r in iter_entries(a)}
    assert link["confirmed"] == 1
    assert (exported["bookA:003"]["category_code"], exported["bookA:005"]["follow_up_of"]) == (
        5,
        "bookA:001",
    )


async def test_bad_value_gets_400(site) -> None:
    ds, _ = site
    r = await post(
        ds,
        "rev",
        {
            "action": "entry",
            "entry_id": "bookA:002",
            "date": "next tuesday",
            "expected_date": "2024-03-12",
            "back": "/-/review",
        },
    )
    assert r.status_code == 400 and "YYYY-MM-DD" in r.text


def test_times_scopes_and_flags_read_in_chinese() -> None:
    """Issue 15: what the spot-check and review pages print instead of UTC ISO times, JSON
    scopes and flag names."""
    from minqing.web import presentation as p

    assert p.local_time("2024-03-07T10:05:09+00:00") == "2024年3月7日 18:05"
    assert p.local_time("2024-03-07T20:30:00+00:00") == "2024年3月8日 04:30"  # next day there
    assert p.local_time(None) == ""
    books = [{"book_id": "b1", "cadre": "张伟", "village": "杨树沟村"}]
    assert p.scope_words('{"books": [], "date_from": null, "date_to": null}', books) == "全部日记本"
    assert p.scope_words({"books": ["b1"]}, books) == "张伟（杨树沟村）日记本"
    assert (
        p.scope_words({"townships": ["石桥镇"], "date_from": "2024-03-01", "date_to": "2024-04-30"})
        == "石桥镇的日记本 · 2024年3月1日至2024年4月30日"
    )
    assert (
        p.scope_words({"books": ["zz"], "date_from": "2024-03-01"}) == "日记本 zz · 2024年3月1日起"
    )
    assert p.flag_words({"blur": 120.0, "skew": 4.1}) == ["模糊", "歪斜"]
    assert p.confidence_words(0.904) == "识别把握 90%"
