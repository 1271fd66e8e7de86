"""Table searches with very many hits skip the facets and say so (issue 6: common words
at 1M entries). A small archive with a low hit limit (plugin config or
``$MINQING_FACET_HIT_LIMIT``) exercises the rule quickly: real Datasette, real plugins,
in process and once over HTTP."""

from __future__ import annotations

import shutil
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests._helpers import http_fetch as fetch
from tests._helpers import http_get_json as get_json
from tests._helpers import serve
from tests._small_archive import ENTRIES, build_small_archive

REPO = Path(__file__).resolve().parents[1]
FACETS = {"township", "village", "cadre", "category", "status", "month"}
NOTE = "结果过多，未统计分面"


def hits(word: str, township: str | None = None) -> set[str]:
    towns = {"b-zhang": "石桥镇", "b-li": "石桥镇", "b-wang": "东关镇"}
    return {
        f"{e[0]}:{e[1]:03d}"
        for e in ENTRIES
        if word in e[6] and (township is None or towns[e[0]] == township)
    }


@pytest.fixture(scope="module")
def small_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_small_archive(tmp_path_factory.mktemp("scale") / "archive")


@pytest.fixture
def ds(small_root: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Datasette over the small archive with a hit limit of 1 (饮水 has 2 hits, 低保 1)."""
    from minqing.cmd_serve import make_datasette

    monkeypatch.setenv("MINQING_FACET_HIT_LIMIT", "1")
    return make_datasette(small_root)


async def get(ds, path: str, **params):  # type: ignore[no-untyped-def]
    resp = await ds.client.get(path + ("?" + urllib.parse.urlencode(params) if params else ""))
    assert resp.status_code == 200, resp.text[:500]
    return resp


def row_ids(data: dict) -> set[str]:
    col = data["columns"].index("entry_id")
    return {r[col] for r in data["rows"]}


def entry_ids(html: str) -> set[str]:
    return {e for e in hits("") if f">{e}</a>" in html}


async def test_many_hits_skip_facets_and_say_so_with_the_count(ds) -> None:  # type: ignore[no-untyped-def]
    html = (await get(ds, "/archive/entries", _search="饮水")).text
    assert f"命中 {len(hits('饮水'))} 条，{NOTE}" in html
    assert 'class="facet-results"' not in html and "facet-info" not in html
    assert entry_ids(html) == hits("饮水")  # the results themselves are all there
    data = (await get(ds, "/archive/entries.json", _search="饮水")).json()
    assert data["facet_results"] == {}
    assert data["filtered_table_rows_count"] == len(hits("饮水"))  # JSON keeps its count
    assert row_ids(data) == hits("饮水")


async def test_few_hits_keep_every_facet_and_no_note(ds) -> None:  # type: ignore[no-untyped-def]
    data = (await get(ds, "/archive/entries.json", _search="低保")).json()
    assert set(data["facet_results"]) == FACETS
    assert data["filtered_table_rows_count"] == len(hits("低保")) == 1
    html = (await get(ds, "/archive/entries", _search="低保")).text
    assert NOTE not in html and "命中" not in html
    assert 'class="facet-results"' in html


async def test_a_filter_that_narrows_the_hits_brings_the_facets_back(ds) -> None:  # type: ignore[no-untyped-def]
    data = (await get(ds, "/archive/entries.json", _search="土地承包", township="东关镇")).json()
    assert len(hits("土地承包")) == 2 and len(hits("土地承包", "东关镇")) == 1
    assert set(data["facet_results"]) == FACETS
    assert row_ids(data) == hits("土地承包", "东关镇")
    html = (await get(ds, "/archive/entries", _search="饮水", township="石桥镇")).text
    assert f"命中 {len(hits('饮水', '石桥镇'))} 条，{NOTE}" in html  # filtered count


async def test_added_params_are_decided_afresh_on_the_next_request(ds) -> None:  # type: ignore[no-untyped-def]
    html = (await get(ds, "/archive/entries", _search="饮水")).text
    # the filter form carries what the wrapper added, marked as added
    assert 'name="_mq_auto"' in html and 'name="_nofacet"' in html
    # ... so the same form submitted with a narrower search gets its facets again
    data = (
        await get(
            ds,
            "/archive/entries.json",
            _search="低保",
            _nofacet="1",
            _nocount="1",
            _mq_auto="1",
        )
    ).json()
    assert set(data["facet_results"]) == FACETS
    assert data["filtered_table_rows_count"] == 1
    # a _nofacet the user wrote (no marker) is respected
    data = (await get(ds, "/archive/entries.json", _search="低保", _nofacet="1")).json()
    assert data["facet_results"] == {}


async def test_explicit_facets_or_the_notes_link_still_facet(ds) -> None:  # type: ignore[no-untyped-def]
    data = (await get(ds, "/archive/entries.json", _search="饮水", _facet="category")).json()
    assert "category" in data["facet_results"]
    html = (await get(ds, "/archive/entries", _search="饮水")).text
    link = html.split('<p class="mq-note mq-search-note">')[1].split('href="')[1].split('"')[0]
    forced = (await ds.client.get("/archive/entries" + link.replace("&amp;", "&"))).text
    assert 'class="facet-results"' in forced
    assert f"命中 {len(hits('饮水'))} 条。" in forced and NOTE not in forced
    assert entry_ids(forced) == hits("饮水")


async def test_limit_comes_from_the_plugin_config(
    small_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from minqing.cmd_serve import make_datasette

    monkeypatch.delenv("MINQING_FACET_HIT_LIMIT", raising=False)
    ds = make_datasette(small_root)  # the shipped limit: 20,000
    assert ds.plugin_config("minqing-web")["facet_hit_limit"] == 20000
    assert (
        set((await get(ds, "/archive/entries.json", _search="饮水")).json()["facet_results"])
        == FACETS
    )
    site = tmp_path / "site"
    shutil.copytree(REPO / "datasette", site)
    meta = site / "metadata.yaml"
    text = meta.read_text(encoding="utf-8")
    assert "facet_hit_limit: 20000" in text
    meta.write_text(text.replace("facet_hit_limit: 20000", "facet_hit_limit: 1"), encoding="utf-8")
    monkeypatch.setenv("MINQING_DATASETTE_DIR", str(site))
    ds = make_datasette(small_root)
    assert (await get(ds, "/archive/entries.json", _search="饮水")).json()["facet_results"] == {}


@pytest.fixture(scope="module")
def served_low_limit(small_root: Path) -> Iterator[str]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MINQING_FACET_HIT_LIMIT", "1")
        with serve(small_root) as base:
            yield base


def test_over_http_with_minqing_serve(served_low_limit: str) -> None:
    base = served_low_limit
    status, ctype, body = fetch(
        base + "/archive/entries?" + urllib.parse.urlencode({"_search": "饮水"})
    )
    assert status == 200 and ctype.startswith("text/html")
    assert f"命中 {len(hits('饮水'))} 条，{NOTE}".encode() in body
    data = get_json(base + "/archive/entries.json?" + urllib.parse.urlencode({"_search": "低保"}))
    assert set(data["facet_results"]) == FACETS


async def test_many_hits_page_newest_first_with_search_box_snippets_and_next_page(ds) -> None:  # type: ignore[no-untyped-def]
    newest_first = sorted((e for e in ENTRIES if "饮水" in e[6]), key=lambda e: e[2], reverse=True)
    ids = [f"{e[0]}:{e[1]:03d}" for e in newest_first]
    seen = []
    url = "/archive/entries?" + urllib.parse.urlencode({"_search": "饮水", "_size": "1"})
    while url:
        html = (await ds.client.get(url)).text
        assert 'name="_search" value="饮水"' in html  # the search box keeps the query
        assert "<mark>饮水</mark>" in html  # the hit is marked in the text
        assert f"命中 {len(ids)} 条，{NOTE}" in html
        seen += [
            e
            for e in ids
            if f'mq-entry-link" href="/-/entry/{urllib.parse.quote(e, safe="")}'
            '?q=%E9%A5%AE%E6%B0%B4"' in html
        ]
        nxt = (
            html.split('<p class="mq-next"><a href="')[1].split('">下一页')[0]
            if "下一页" in html
            else ""
        )
        url = (
            urllib.parse.urlsplit(nxt.replace("&amp;", "&"))._replace(scheme="", netloc="").geturl()
        )
    assert seen == ids  # date descending, every hit once
