"""Entry and matter pages, page images, search-all and search snippets.

A thin adapter over :mod:`minqing.web.presentation`. Routes (each checks permissions
itself: plugin routes bypass Datasette's instance-wide checks):

``/-/entry/<entry_id>[?q=...]``  an entry: text, fields, category, status, its
                                  follow-up chain and its page images with its lines
                                  outlined (hits of ``q`` highlighted)
``/-/matter/<matter_id>``         a matter: its chain of entries, latest status
``/-/page-image/<page_id>``       the normalised page image (only files inside
                                  ``<archive>/images``)
``/-/page-thumb/<page_id>``       a JPEG thumbnail of it
``/-/search?q=...``               entries and recognised lines at once
"""

from __future__ import annotations

import asyncio
import contextvars
import mimetypes
import os
import sqlite3
import urllib.parse
from pathlib import Path

from datasette import Forbidden, NotFound, hookimpl
from datasette.utils.asgi import Response
from markupsafe import Markup, escape

from minqing.web import presentation

DB = "archive"
ENTRY_TABLES = {"entries", "matters"}
#: columns whose value is an entry id, per table
ENTRY_ID_COLUMNS = {
    "entries": {"entry_id", "follow_up_of", "matter_id"},
    "matters": {"matter_id"},
    "lines": {"entry_id"},
    "links": {"child", "parent"},
}


def _archive_root(datasette) -> Path:
    return Path(datasette.get_database(DB).path).parent


async def _check(datasette, request, table: str) -> None:
    """Raise Forbidden unless the actor may view ``table`` of the archive."""
    allowed = True
    for action, resource in (
        ("view-instance", None),
        ("view-database", DB),
        ("view-table", (DB, table)),
    ):
        ok = await datasette.permission_allowed(
            request.actor, action, resource=resource, default=True
        )
        allowed = allowed and ok
    if not allowed:
        raise Forbidden(f"view-table {table}")


def entry_url(entry_id: str, q: str | None = None) -> str:
    """The entry page of ``entry_id`` (with the search query to highlight)."""
    url = "/-/entry/" + urllib.parse.quote(entry_id, safe=":")
    return url + ("?" + urllib.parse.urlencode({"q": q}) if q else "")


def matter_url(matter_id: str) -> str:
    """The matter page of ``matter_id``."""
    return "/-/matter/" + urllib.parse.quote(matter_id, safe=":")


def image_url(page_id: str, thumb: bool = False) -> str:
    """The (thumbnail) image of page ``page_id``."""
    return ("/-/page-thumb/" if thumb else "/-/page-image/") + urllib.parse.quote(page_id, safe="/")


async def entry_page(datasette, request):
    await _check(datasette, request, "entries")
    entry_id = urllib.parse.unquote(request.url_vars["entry_id"])
    q = request.args.get("q") or None
    exact = request.args.get("exact") not in (None, "", "0")
    view = await datasette.get_database(DB).execute_fn(
        lambda conn: presentation.entry_view(conn, entry_id, q, exact=exact)
    )
    if view is None:
        raise NotFound(f"没有条目 {entry_id}")
    for page in view["pages"]:
        page["image_url"] = image_url(page["page_id"])
    for c in view["chain"]:
        c["url"] = entry_url(c["entry_id"], q)
    view["matter_url"] = matter_url(view["entry"]["matter_id"] or entry_id)
    view["text_html"] = Markup(view["text_html"])
    for c in view["chain"]:
        c["snippet"] = Markup(c["snippet"])
    may_review = await datasette.permission_allowed(request.actor, "minqing-review", default=False)
    return Response.html(
        await datasette.render_template(
            "minqing_entry.html", {**view, "may_review": may_review}, request=request
        )
    )


async def matter_page(datasette, request):
    await _check(datasette, request, "entries")
    matter_id = urllib.parse.unquote(request.url_vars["matter_id"])
    view = await datasette.get_database(DB).execute_fn(
        lambda conn: presentation.matter_view(conn, matter_id)
    )
    if view is None:
        raise NotFound(f"没有事项 {matter_id}")
    for c in view["chain"]:
        c["url"] = entry_url(c["entry_id"])
        c["text_html"] = Markup(c["text_html"])
        c["thumbs"] = [(image_url(p, thumb=True), image_url(p)) for p in c["page_ids"]]
    return Response.html(
        await datasette.render_template("minqing_matter.html", view, request=request)
    )


async def _page_image_path(datasette, request) -> Path:
    await _check(datasette, request, "pages")
    page_id = urllib.parse.unquote(request.url_vars["page_id"])
    rel = await datasette.get_database(DB).execute_fn(
        lambda conn: presentation.page_image_rel(conn, page_id)
    )
    path = presentation.image_file(_archive_root(datasette), rel)
    if path is None:
        raise NotFound(f"页面 {page_id} 没有图像")
    return path


async def page_image(datasette, request):
    path = await _page_image_path(datasette, request)
    body = await asyncio.to_thread(path.read_bytes)
    ctype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return Response(body, content_type=ctype, headers={"cache-control": "private, max-age=3600"})


async def page_thumb(datasette, request):
    path = await _page_image_path(datasette, request)
    body = await asyncio.to_thread(presentation.thumbnail_bytes, _archive_root(datasette), path)
    return Response(
        body, content_type="image/jpeg", headers={"cache-control": "private, max-age=3600"}
    )


async def search_page(datasette, request):
    await _check(datasette, request, "entries")
    await _check(datasette, request, "lines")
    q = request.args.get("q", "")
    exact = request.args.get("exact") not in (None, "", "0")
    result = await datasette.get_database(DB).execute_fn(
        lambda conn: presentation.search_all(conn, q, limit=50, exact=exact)
    )
    for r in result["entries"]:
        r["url"] = entry_url(r["entry_id"], q)
        r["snippet"] = Markup(r["snippet"])
    for r in result["lines"]:
        r["url"] = entry_url(r["entry_id"], q) if r["entry_id"] else None
        r["thumb"] = image_url(r["page_id"], thumb=True)
        r["snippet"] = Markup(r["snippet"])
    if request.args.get("_format") == "json" or request.path.endswith(".json"):
        for r in result["entries"] + result["lines"]:
            r["snippet"] = str(r["snippet"])
        return Response.json(result)
    result["entries_search_url"] = "/archive/entries?" + urllib.parse.urlencode({"_search": q})
    result["exact_url"] = "/-/search?" + urllib.parse.urlencode({"q": q, "exact": "1"})
    result["all_url"] = "/-/search?" + urllib.parse.urlencode({"q": q})
    result["lines_search_url"] = "/archive/lines?" + urllib.parse.urlencode({"_search": q})
    return Response.html(
        await datasette.render_template("minqing_search_all.html", result, request=request)
    )


@hookimpl
def register_routes():
    return [
        (r"^/-/entry/(?P<entry_id>[^/]+)$", entry_page),
        (r"^/-/matter/(?P<matter_id>[^/]+)$", matter_page),
        (r"^/-/page-image/(?P<page_id>.+)$", page_image),
        (r"^/-/page-thumb/(?P<page_id>.+)$", page_thumb),
        (r"^/-/search(\.json)?$", search_page),
    ]


#: the current request's ``_search`` value: Datasette 0.65's ``render_cell`` gets no
#: request, so an ASGI wrapper records it (a context variable is per request task)
_SEARCH: contextvars.ContextVar[str | None] = contextvars.ContextVar("minqing_search", default=None)

# -- searches with very many hits -------------------------------------------------------------
#
# Facets over ~96,000 hits of a common word cost ~0.9 s at 1M entries and Datasette's
# ``count(*)`` over them ~0.12 s, while counting the FTS hits alone takes a few ms. So a
# search of the entries table first counts its hits; above the limit the page skips the
# facets (``_nofacet``) and, as HTML, the second count (``_nocount``) and says so above
# the results, with the count. The parameters it adds carry the marker ``_mq_auto``: a
# request that carries it (a next-page link, the filter form, a sort link) is decided
# afresh, so narrowing a search brings the facets back. Explicit ``_facet=`` params and
# ``_mq_facets=1`` (the note's "统计分面" link) keep the facets.
#
# Such an HTML page in the default order (newest first) is also served through
# ``_mq_search`` instead of ``_search``: the same FTS condition written as a correlated
# ``exists (... where entries_fts.rowid = entries.rowid)``, so SQLite walks the date index
# and looks each row up in the FTS index, stopping after one page of hits, instead of
# fetching every hit's row to sort them (~130 ms for 96,000 hits at 1M entries). An
# earlier ``+rowid in (select rowid ...)`` walked the index too but first gathered every
# hit's rowid: 32 ms for 饮水 (96k hits) and 46 ms for 土地承包 (104k) against 2 and 9 ms
# now (sqlite3, 1M entries). Only many hits make the walk short (at least one hit in
# limit/rows): with 1,500 hits the same walk takes over a second, hence only here.

#: the default limit; plugin config ``minqing-web: facet_hit_limit`` or the environment
#: variable ``MINQING_FACET_HIT_LIMIT`` change it (0 turns the check off)
FACET_HIT_LIMIT = 20_000
HIT_LIMIT_ENV = "MINQING_FACET_HIT_LIMIT"
PLUGIN = "minqing-web"
AUTO = "_mq_auto"
FORCE_FACETS = "_mq_facets"
DATE_SEARCH = "_mq_search"
SEARCH_TABLE_PATHS = {f"/{DB}/entries": "html", f"/{DB}/entries.json": "json"}
#: the decision for the current request, for the template: hits, limit, facets_skipped,
#: facets_url
_SCALE: contextvars.ContextVar[dict | None] = contextvars.ContextVar(
    "minqing_search_scale", default=None
)


def facet_hit_limit(datasette) -> int:
    """Hits above which a table search skips its facets (0: never skip)."""
    raw = os.environ.get(HIT_LIMIT_ENV)
    if raw is None or not raw.strip():
        raw = (datasette.plugin_config(PLUGIN) or {}).get("facet_hit_limit", FACET_HIT_LIMIT)
    try:
        return max(0, int(raw))
    except (TypeError, ValueError):
        return FACET_HIT_LIMIT


async def count_search_hits(datasette, pairs: list[tuple[str, str]]) -> int | None:
    """Entries a table request with these query pairs matches, or None when unknown.

    Without column filters only the FTS index is counted (a few ms even for 100k hits);
    with filters the same where clauses Datasette builds are counted. Requests this
    cannot reproduce exactly (``_where``, ``_through``, column searches) give None.
    """
    from datasette.database import QueryInterrupted
    from datasette.filters import Filters

    args = dict(pairs)
    search = (args.get("_search") or "").strip()
    if not search or any(k in ("_where", "_through") or k.startswith("_search_") for k, _ in pairs):
        return None
    match = ":search" if args.get("_searchmode") == "raw" else "escape_fts(:search)"
    filter_args = sorted((k, v) for k, v in pairs if not (k.startswith("_") and "__" not in k))
    fts = f"select rowid from entries_fts where entries_fts match {match}"
    try:
        where, params = Filters(filter_args).build_where_clauses("entries")
        params = {**params, "search": search}
        if where:
            sql = f"select count(*) from entries where {' and '.join(where)} and rowid in ({fts})"
        else:
            sql = f"select count(*) from entries_fts where entries_fts match {match}"
        db = datasette.get_database(DB)
        rows = await db.execute(sql, params, custom_time_limit=1000, log_sql_errors=False)
    except (QueryInterrupted, KeyError, TypeError, ValueError, sqlite3.Error):
        return None  # Datasette answers the request itself (and reports any error)
    return int(rows.first()[0])


async def decide_search_scale(datasette, path: str, query: str) -> tuple[str, dict | None]:
    """The query string to serve a request with, and the note for its page (or None)."""
    kind = SEARCH_TABLE_PATHS.get(path)
    if kind is None or ("_search" not in query and DATE_SEARCH not in query):
        return query, None
    pairs = urllib.parse.parse_qsl(query, keep_blank_values=True)
    if any(k == AUTO for k, _ in pairs):  # added by us last time: decide afresh
        pairs = restore_search(pairs)
        query = urllib.parse.urlencode(pairs)
    limit = facet_hit_limit(datasette)
    keys = {k for k, _ in pairs}
    if not limit or "_nofacet" in keys or any(k.startswith("_facet") for k in keys):
        return query, None
    if kind == "json" and (dict(pairs).get("_shape") in ("array", "object")):
        return query, None  # Datasette computes neither facets nor a count for these
    hits = await count_search_hits(datasette, pairs)
    if hits is None or hits <= limit:
        return query, None
    forced = any(k == FORCE_FACETS and v not in ("", "0") for k, v in pairs)
    note: dict[str, object] = {"hits": hits, "limit": limit, "facets_skipped": not forced}
    added = [] if forced else [("_nofacet", "1")]
    if kind == "html":
        added.append(("_nocount", "1"))  # the note shows the count
    if not forced:
        note["facets_url"] = "?" + urllib.parse.urlencode([*pairs, (FORCE_FACETS, "1")])
    args = dict(pairs)
    if (
        kind == "html"
        and "_searchmode" not in args
        and "_sort" not in args
        and args.get("_sort_desc", "date") == "date"
    ):
        pairs = [(DATE_SEARCH if k == "_search" else k, v) for k, v in pairs]
    if not added and pairs == restore_search(pairs):
        return query, note
    return urllib.parse.urlencode([*pairs, *added, (AUTO, "1")]), note


def restore_search(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """``pairs`` without what :func:`decide_search_scale` added (``_search`` given back)."""
    has_search = any(k == "_search" for k, _ in pairs)
    out = []
    for k, v in pairs:
        if k in (AUTO, "_nofacet", "_nocount") or (k == DATE_SEARCH and has_search):
            continue
        out.append(("_search", v) if k == DATE_SEARCH else (k, v))
    return out


@hookimpl
def filters_from_request(request, database, table, datasette):
    """``_mq_search``: the table search as ``+rowid in (...)`` (see above)."""
    from datasette.filters import FilterArguments

    q = request.args.get(DATE_SEARCH)
    if database != DB or table != "entries" or not q or request.args.get("_search"):
        return None
    return FilterArguments(
        [
            "exists (select 1 from entries_fts where entries_fts match escape_fts(:mq_search)"
            " and entries_fts.rowid = entries.rowid)"
        ],
        {"mq_search": q},
        [f'search matches "{q}"'],
        {"search": q},
    )


@hookimpl
def asgi_wrapper(datasette):
    def wrap(app):
        async def with_search(scope, receive, send):
            q, note = None, None
            if scope.get("type") == "http":
                query = scope.get("query_string", b"").decode("latin-1")
                args = urllib.parse.parse_qs(query)
                q = (args.get("_search") or args.get(DATE_SEARCH) or [None])[0]
                new_query, note = await decide_search_scale(datasette, scope.get("path", ""), query)
                if new_query != query:
                    scope = {**scope, "query_string": new_query.encode("latin-1")}
            token, token_scale = _SEARCH.set(q), _SCALE.set(note)
            try:
                return await app(scope, receive, send)
            finally:
                _SEARCH.reset(token)
                _SCALE.reset(token_scale)

        return with_search

    return wrap


#: the table page's switch for exact matches only (issue 17)
EXACT_ONLY = "_mq_exact"
#: alternate-only hits the entries table page lists after its exact hits
MAYBE_SHOWN = 50


async def _townships(datasette) -> list[str]:
    """The archive's townships, for the 乡镇 choice of the canned queries."""
    rows = await datasette.get_database(DB).execute(
        "select distinct township from books where township is not null and township != ''"
        " order by township"
    )
    return [r[0] for r in rows]


@hookimpl
def extra_template_vars(template, database, table, request, datasette):
    if template == "query.html" and database == DB:

        async def choices():
            return {"mq_townships": await _townships(datasette)}

        return choices
    if database != DB or table != "entries":
        return {}
    scale = _SCALE.get()
    q = None
    if request is not None:
        q = request.args.get("_search") or request.args.get(DATE_SEARCH)
    if not q:
        return {"mq_search_scale": scale}

    async def inner():
        # the table lists the exact hits (escape_fts matches the read text); the hits only
        # the recogniser's alternates explain follow them, marked 可能的匹配
        exact = request.args.get(EXACT_ONLY) not in (None, "", "0")
        out = {
            "mq_search_scale": scale,
            "mq_exact": exact,
            "mq_maybe_label": presentation.MAYBE_LABEL,
            "mq_exact_url": "?" + urllib.parse.urlencode([*_pairs(request), (EXACT_ONLY, "1")]),
            "mq_all_url": "?"
            + urllib.parse.urlencode([(k, v) for k, v in _pairs(request) if k != EXACT_ONLY]),
        }
        if exact:
            return out
        maybe, count = await datasette.get_database(DB).execute_fn(
            lambda conn: presentation.maybe_entries(conn, q, limit=MAYBE_SHOWN)
        )
        for r in maybe:
            r["url"] = entry_url(r["entry_id"], q)
            r["snippet"] = Markup(r["snippet"])
        out.update(mq_maybe=maybe, mq_maybe_count=count)
        return out

    return inner


def _pairs(request) -> list[tuple[str, str]]:
    return [
        (k, v)
        for k, v in urllib.parse.parse_qsl(request.query_string, keep_blank_values=True)
        if k not in ("_next", AUTO)
    ]


#: Datasette's connections to the archive read it through a memory map (SQLite caps it at
#: 2 GiB in this build): a facet over the 1,500 hits of a name looks up each hit's row,
#: ~12 ms through read() calls and ~8 ms mapped, at 1M entries (sqlite3, same machine)
MMAP_BYTES = 2**31


@hookimpl
def prepare_connection(conn, database):
    if database == DB:
        conn.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")


def row_cells(row) -> tuple[dict, dict]:
    """``({column: cell}, {column: raw value})`` of one of Datasette's display rows: the
    compact tables look cells up by column name (a loop in the template cost ~1,200 Jinja
    steps per page of 20 entries)."""
    cells = {cell["column"]: cell for cell in row}
    return cells, {name: cell["raw"] for name, cell in cells.items()}


@hookimpl
def prepare_jinja2_environment(env, datasette):
    env.filters["mq_cells"] = row_cells


@hookimpl
def render_cell(value, column, table, database):
    if database != DB or value is None:
        return None
    if table is None:  # canned queries name their id columns in Chinese
        if column == "事项编号" and isinstance(value, str):  # a matter: its follow-up chain
            return Markup('<a href="{}">{}</a>').format(matter_url(value), value)
        if column == "条目编号" and isinstance(value, str):
            return Markup('<a href="{}">{}</a>').format(entry_url(value), value)
        return None
    q = _SEARCH.get()
    if column == "matter_id" and table in ("entries", "matters") and isinstance(value, str):
        return Markup('<a href="{}">{}</a>').format(matter_url(value), value)
    if column in ENTRY_ID_COLUMNS.get(table, ()) and isinstance(value, str):
        return Markup('<a href="{}">{}</a>').format(entry_url(value, q), value)
    if column == "text" and table in ("entries", "lines") and q and isinstance(value, str):
        return Markup(presentation.snippet_html(value, q))
    if column == "summary" and table == "matters" and isinstance(value, str):
        return Markup('<span class="mq-summary">{}</span>').format(value)
    if column in presentation.JSON_CELLS.get(table, ()) and isinstance(value, str):
        shown = presentation.json_cell_html(value, column)  # ["a", "b"] as readable items
        if shown is not None:
            return Markup(shown or "&nbsp;")
    shown = presentation.raw_cell_html(table, column, value)
    if shown is not None:
        return Markup(shown)
    if table == "pages" and column == "image" and isinstance(value, str):
        return None  # pages rows carry their page_id; the thumbnail is added below
    if table == "pages" and column == "page_id" and isinstance(value, str):
        return Markup(
            '<a href="{img}">{pid}</a><br><img class="mq-thumb" loading="lazy" '
            'src="{thumb}" alt="{pid}">'
        ).format(img=image_url(value), thumb=image_url(value, thumb=True), pid=value)
    return None


@hookimpl
def extra_css_urls():
    return ["/static/minqing.css"]


@hookimpl
def table_actions(datasette, actor, database, table):
    if database == DB and table in ("entries", "lines"):
        return [{"href": "/-/search", "label": "全文检索（条目与识别行一起）"}]
    return None


__all__ = ["entry_url", "escape", "image_url", "matter_url"]


@hookimpl
def handle_exception(datasette, request, exception):
    """Every HTML error page in Chinese, with the site's header and a way back; the
    original English only folded away as 技术信息 (JSON answers stay Datasette's)."""
    from datasette.utils.asgi import Base400
    from datasette.views.base import DatasetteError

    if request.path.split("?")[0].endswith(".json"):
        return None
    if isinstance(exception, Base400):
        status, message = exception.status, str(exception.args[0] if exception.args else "")
    elif isinstance(exception, DatasetteError):
        status, message = exception.status, str(exception.message)
    else:
        return None  # a real crash: Datasette's own handler logs the traceback

    async def inner():
        return await presentation.render_error(datasette, request, status, message)

    return inner
