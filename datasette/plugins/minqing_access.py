"""Login and roles for the archive in Datasette (adapter over :mod:`minqing.web.access`).

* No users in the archive → a local single-user archive: nothing changes, the
  anonymous local user may read, search and review.
* Users configured → an ASGI wrapper sends every request without a valid session to
  the login page (``/-/login``; JSON/CSV requests get 403), whatever the route —
  Datasette's own pages, plugin routes and ``/-/`` introspection alike.
  ``permission_allowed`` then denies every view action to the anonymous actor (belt
  and braces), hides the ``users`` table from everyone but root, and grants the
  review action ``minqing-review`` to role ``reviewer`` and to root.

Sessions are a signed cookie (``minqing_session``) naming the user and the user's
change stamp, checked against the ``users`` table on every request: removing a
user, or changing their password or role, ends their sessions at once.
"""

from __future__ import annotations

import time
import urllib.parse

from datasette import hookimpl
from datasette.utils.asgi import Response
from itsdangerous import BadSignature

from minqing.web import access

DB = "archive"
COOKIE = "minqing_session"
NAMESPACE = "minqing-session"
#: Paths anyone may fetch: the login form and the stylesheets it needs.
OPEN_PATHS = ("/-/login", "/-/static/", "/static/", "/favicon.ico")


def _db(datasette):
    try:
        return datasette.get_database(DB)
    except KeyError:
        return None


async def users_exist(datasette) -> bool:
    """True when the archive has users (cached for one second)."""
    cache = getattr(datasette, "_minqing_users_cache", None)
    now = time.monotonic()
    if cache and now - cache[0] < 1.0:
        return cache[1]
    db = _db(datasette)
    exists = False
    if db is not None:
        exists = bool(await db.execute_fn(access.users_configured))
    datasette._minqing_users_cache = (now, exists)
    return exists


def _cookie(scope: dict, name: str) -> str | None:
    for key, value in scope.get("headers") or []:
        if key == b"cookie":
            for part in value.decode("latin-1").split(";"):
                k, _, v = part.strip().partition("=")
                if k == name:
                    return v
    return None


async def session_actor(datasette, cookie: str | None) -> dict | None:
    """The actor of a ``minqing_session`` cookie value, or None when invalid or stale."""
    if not cookie:
        return None
    try:
        payload = datasette.unsign(cookie, NAMESPACE)
    except (BadSignature, ValueError, TypeError):  # bad signature, garbage
        return None
    db = _db(datasette)
    if db is None:
        return None
    now = time.time()
    user = await db.execute_fn(lambda conn: access.user_for_session(conn, payload, now))
    return user.actor() if user else None


def _root_actor(datasette, scope: dict) -> dict | None:
    """Datasette's own ``ds_actor`` cookie, accepted only for root (``--root``)."""
    raw = _cookie(scope, "ds_actor")
    if not raw:
        return None
    try:
        decoded = datasette.unsign(raw, "actor")
    except (BadSignature, ValueError, TypeError):
        return None
    actor = decoded.get("a") if isinstance(decoded, dict) else None
    return actor if isinstance(actor, dict) and actor.get("id") == "root" else None


@hookimpl
def prepare_connection(conn):
    # no SQL run through Datasette (arbitrary SQL included) can read password hashes
    conn.set_authorizer(access.hide_secrets_authorizer)


@hookimpl(tryfirst=True)
def actor_from_request(datasette, request):
    cookie = request.cookies.get(COOKIE)
    if not cookie:
        return None
    return session_actor(datasette, cookie)


@hookimpl
def asgi_wrapper(datasette):
    def wrap(app):
        async def guarded(scope, receive, send):
            if scope.get("type") != "http" or not await users_exist(datasette):
                return await app(scope, receive, send)
            path = scope.get("path") or "/"
            if path == "/-/login" or path.startswith(OPEN_PATHS[1:]):
                return await app(scope, receive, send)
            if _root_actor(datasette, scope) or await session_actor(
                datasette, _cookie(scope, COOKIE)
            ):
                return await app(scope, receive, send)
            query = scope.get("query_string", b"").decode("latin-1")
            wants_data = path.endswith((".json", ".csv")) or "_shape=" in query
            if scope.get("method") != "GET" or wants_data:
                response = Response.json(
                    {"ok": False, "error": "需要登录 (login required)", "status": 403},
                    status=403,
                )
            else:
                target = path + ("?" + query if query else "")
                response = Response.redirect("/-/login?" + urllib.parse.urlencode({"next": target}))
            await response.asgi_send(send)

        return guarded

    return wrap


@hookimpl(trylast=True)
def permission_allowed(datasette, actor, action, resource):
    async def decide():
        exist = await users_exist(datasette)
        if action == access.REVIEW_ACTION:
            return access.may_review(actor, exist)
        if action in (
            "view-instance",
            "view-database",
            "view-table",
            "view-query",
            "execute-sql",
            "view-database-download",
        ):
            if not access.may_view(actor, exist):
                return False
            if action == "view-table" and resource and resource[1] == access.USERS:
                # account list: root only (hashes are unreadable anyway)
                return bool(actor and actor.get("id") == "root") or not exist
            if action == "view-database-download" and exist:
                # a downloaded copy would carry the password hashes
                return bool(actor and actor.get("id") == "root")
        return None

    return decide


@hookimpl
def forbidden(datasette, request, message):
    if request.actor is None:
        return Response.redirect("/-/login?" + urllib.parse.urlencode({"next": request.full_path}))
    return None


@hookimpl
def extra_template_vars(request):
    # Datasette shows its "Log out" button only for its own ds_actor cookie
    return {
        "show_logout": bool(
            request is not None
            and request.actor
            and (COOKIE in request.cookies or "ds_actor" in request.cookies)
        )
    }


def _safe_next(value: str | None) -> str:
    """Only local paths may be redirect targets (no open redirect)."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


async def login(datasette, request):
    next_url = _safe_next(request.args.get("next"))
    error = None
    if request.method == "POST":
        form = await request.post_vars()
        next_url = _safe_next(form.get("next"))
        name, password = form.get("username", ""), form.get("password", "")
        db_path = _db(datasette).path
        # scrypt is slow on purpose: keep it off the event loop
        import asyncio

        user = await asyncio.to_thread(access.authenticate, db_path, name, password)
        if user is not None:
            response = Response.redirect(next_url)
            response.set_cookie(
                COOKIE,
                datasette.sign(access.session_payload(user, time.time()), NAMESPACE),
                max_age=access.SESSION_SECONDS,
                httponly=True,
                samesite="lax",
            )
            return response
        await asyncio.sleep(0.5)  # slow down guessing
        error = "用户名或密码错误"
    return Response.html(
        await datasette.render_template(
            "minqing_login.html",
            {"error": error, "next": next_url, "users": await users_exist(datasette)},
            request=request,
        ),
        status=401 if error else 200,
    )


async def logout(datasette, request):
    if request.method == "POST":
        response = Response.redirect("/-/login")
        response.set_cookie(COOKIE, "", expires=0, max_age=0)
        response.set_cookie("ds_actor", "", expires=0, max_age=0)
        return response
    return Response.html(
        await datasette.render_template("minqing_logout.html", {}, request=request)
    )


@hookimpl
def register_routes():
    return [(r"^/-/login$", login), (r"^/-/logout$", logout)]


@hookimpl
def menu_links(datasette, actor):
    links = [{"href": "/-/search", "label": "全文检索（条目与识别行）"}]
    if actor is None:
        return links
    return [*links, {"href": "/-/logout", "label": f"退出登录（{actor.get('id')}）"}]
