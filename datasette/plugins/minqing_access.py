"""Login, roles and request checks for the archive in Datasette.

A thin adapter over :mod:`minqing.web.access` (accounts, sessions, decisions) and
:mod:`minqing.web.guard` (host, origin, CSRF, redirects, throttling); issue 12.

Every HTTP request passes one ASGI wrapper, which

1. answers 400 to a ``Host`` a loopback-bound server does not go by (DNS rebinding);
2. refuses a state-changing request (POST ...) that comes from another origin, or that
   carries no cookie of this site (no session, no visitor cookie: it cannot hold a token);
3. binds the CSRF token to the visitor: the ``ds_csrftoken`` cookie Datasette's own CSRF
   check compares the form field with is replaced by an HMAC of the server-side session
   (or, before a login, of the ``minqing_visitor`` cookie), so every form of the site —
   review saves, spot-checks, login, logout — carries a token that is worthless with any
   other session;
4. when a login is required (users configured, see :func:`minqing.web.access.login_required`),
   sends every request without a live session to the login page (JSON/CSV: 403).

``permission_allowed`` then denies every view action to the anonymous actor when a login
is required (belt and braces) and grants the review action ``minqing-review`` to role
``reviewer`` and to root. Sessions are rows of ``accounts.db`` (never a database Datasette
serves): logging out ends the row for good.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
import urllib.parse
from pathlib import Path

from datasette import hookimpl
from datasette.utils.asgi import Response
from itsdangerous import BadSignature

from minqing.web import access, guard, presentation

DB = "archive"
COOKIE = "minqing_session"
VISITOR = "minqing_visitor"
NAMESPACE = "minqing-session"
CSRF_COOKIE = "ds_csrftoken"
#: Paths anyone may fetch: the login form and the stylesheets it needs.
OPEN_PATHS = ("/-/login", "/-/static/", "/static/", "/favicon.ico")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
_VISITOR_RE = re.compile(r"^[A-Za-z0-9_\-]{32,64}$")


def _db(datasette):
    try:
        return datasette.get_database(DB)
    except KeyError:
        return None


def _root(datasette) -> Path | None:
    db = _db(datasette)
    return Path(db.path).parent if db is not None and db.path else None


def _state(datasette) -> dict:
    st = getattr(datasette, "_minqing_access", None)
    if st is None:
        st = {
            "users_at_start": None,
            "seen": False,
            "cache": None,
            "throttle": guard.LoginThrottle(),
        }
        datasette._minqing_access = st
    return st


def bound_host(datasette) -> str:
    """The address ``minqing serve`` listens on (in-process instances: loopback)."""
    return getattr(datasette, "minqing_bound_host", None) or "127.0.0.1"


async def users_exist(datasette) -> bool:
    """True when the archive has users now (cached for one second)."""
    st = _state(datasette)
    now = time.monotonic()
    if st["cache"] and now - st["cache"][0] < 1.0:
        return st["cache"][1]
    root = _root(datasette)
    exists = bool(root and await asyncio.to_thread(access.users_configured, root))
    st["cache"] = (now, exists)
    if exists:
        st["seen"] = True
    return exists


async def login_required(datasette) -> bool:
    """Does every request need a login? Once yes, yes for the life of the server."""
    st = _state(datasette)
    exists = await users_exist(datasette)
    if st["users_at_start"] is None:
        st["users_at_start"] = exists
    return access.login_required(
        st["users_at_start"], exists, guard.is_loopback_name(bound_host(datasette)), st["seen"]
    )


def _cookies(scope: dict) -> list[tuple[str, str]]:
    out = []
    for key, value in scope.get("headers") or []:
        if key.lower() == b"cookie":
            for part in value.decode("latin-1").split(";"):
                k, sep, v = part.strip().partition("=")
                if sep:
                    out.append((k, v))
    return out


def _cookie(scope: dict, name: str) -> str | None:
    for k, v in _cookies(scope):
        if k == name:
            return v
    return None


def _header(scope: dict, name: bytes) -> str | None:
    for key, value in scope.get("headers") or []:
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def session_token(datasette, scope: dict) -> str | None:
    """The session token of the request's (signed) ``minqing_session`` cookie."""
    raw = _cookie(scope, COOKIE)
    if not raw:
        return None
    try:
        payload = datasette.unsign(raw, NAMESPACE)
    except (BadSignature, ValueError, TypeError):
        return None
    token = payload.get("s") if isinstance(payload, dict) else None
    return token if isinstance(token, str) and token else None


async def session_actor(datasette, token: str | None) -> dict | None:
    """The actor of a live session token, or None when unknown, ended, expired or stale."""
    root = _root(datasette)
    if not token or root is None:
        return None
    user = await asyncio.to_thread(access.user_for_session, root, token)
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


def _sha(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def _with_csrf_cookie(scope: dict, token: str) -> dict:
    """``scope`` whose cookies carry ``ds_csrftoken=token`` instead of the browser's own."""
    pairs = [(k, v) for k, v in _cookies(scope) if k != CSRF_COOKIE] + [(CSRF_COOKIE, token)]
    headers = [(k, v) for k, v in scope.get("headers") or [] if k.lower() != b"cookie"]
    headers.append((b"cookie", "; ".join(f"{k}={v}" for k, v in pairs).encode("latin-1")))
    return {**scope, "headers": headers}


async def _refuse(send, status: int, message: str, scope: dict) -> None:
    accept = _header(scope, b"accept") or ""
    path = scope.get("path") or ""
    if "json" in accept or path.endswith(".json"):
        response = Response.json({"ok": False, "error": message, "status": status}, status=status)
    else:
        response = Response.text(message + "\n", status=status)
    await response.asgi_send(send)


@hookimpl
def prepare_connection(conn):
    # no SQL run through Datasette reads the legacy accounts table, a blind sample's
    # engine text, or attaches another database (accounts.db)
    conn.set_authorizer(access.hide_secrets_authorizer)


@hookimpl
def startup(datasette):
    async def inner():
        # "no users -> no login" is decided now and only ever tightened (item 3)
        await login_required(datasette)

    return inner


@hookimpl(tryfirst=True)
def actor_from_request(datasette, request):
    if "minqing.actor" in request.scope:
        return request.scope["minqing.actor"]
    token = session_token(datasette, request.scope)
    if not token:
        return None
    return session_actor(datasette, token)


@hookimpl
def asgi_wrapper(datasette):
    def wrap(app):
        async def guarded(scope, receive, send):
            if scope.get("type") != "http":
                return await app(scope, receive, send)
            host = _header(scope, b"host")
            also = getattr(datasette, "minqing_allowed_hosts", ())
            if not guard.host_allowed(host, bound_host(datasette), also):
                return await _refuse(
                    send,
                    400,
                    f"unknown Host {host!r}: this archive answers only to its own address",
                    scope,
                )
            token = session_token(datasette, scope)
            actor = await session_actor(datasette, token) if token else None
            root = _root_actor(datasette, scope)
            new_visitor = None
            if token:
                key = "s:" + _sha(token)
            elif root:
                key = "r:" + _sha(_cookie(scope, "ds_actor") or "")
            else:
                visitor = _cookie(scope, VISITOR) or ""
                if not _VISITOR_RE.match(visitor):
                    import secrets

                    visitor = new_visitor = secrets.token_urlsafe(32)
                key = "v:" + visitor
            if scope.get("method") not in SAFE_METHODS:
                why = guard.cross_site(
                    host,
                    _header(scope, b"origin"),
                    _header(scope, b"sec-fetch-site"),
                    _header(scope, b"referer"),
                )
                if why:
                    return await _refuse(send, 403, f"cross-site request refused ({why})", scope)
                if new_visitor:
                    return await _refuse(
                        send,
                        403,
                        "refused: no session cookie (open the form on this site and send it again)",
                        scope,
                    )
                # only a token from a form of this site proves intent (no Bearer shortcut)
                scope = {
                    **scope,
                    "headers": [
                        (k, v) for k, v in scope["headers"] if k.lower() != b"authorization"
                    ],
                }
            bound = datasette.sign(guard.csrf_value(datasette._secret, key), "csrftoken")
            scope = _with_csrf_cookie(scope, bound)
            scope["minqing.actor"] = actor or root

            send_out = send
            if new_visitor:

                async def send_out(event):
                    if event["type"] == "http.response.start":
                        cookie = f"{VISITOR}={new_visitor}; Path=/; HttpOnly; SameSite=Lax"
                        event = {
                            **event,
                            "headers": [
                                *event.get("headers", []),
                                (b"set-cookie", cookie.encode()),
                            ],
                        }
                    await send(event)

            if not await login_required(datasette):
                return await app(scope, receive, send_out)
            path = scope.get("path") or "/"
            if path == "/-/login" or path.startswith(OPEN_PATHS[1:]):
                return await app(scope, receive, send_out)
            if root or actor:
                return await app(scope, receive, send_out)
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
            await response.asgi_send(send_out)

        return guarded

    return wrap


@hookimpl(trylast=True)
def permission_allowed(datasette, actor, action, resource):
    async def decide():
        required = await login_required(datasette)
        if action == access.REVIEW_ACTION:
            return access.may_review(actor, required)
        if action in (
            "view-instance",
            "view-database",
            "view-table",
            "view-query",
            "execute-sql",
            "view-database-download",
        ):
            if not access.may_view(actor, required):
                return False
            if action == "view-table" and resource and resource[1] == access.USERS:
                # the legacy accounts table of older archives: root only
                return bool(actor and actor.get("id") == "root") or not required
            if action == "view-database-download" and required:
                return bool(actor and actor.get("id") == "root")
        return None

    return decide


@hookimpl
def forbidden(datasette, request, message):
    if request.actor is None:
        return Response.redirect(
            "/-/login?" + urllib.parse.urlencode({"next": guard.safe_next(request.full_path)})
        )

    async def inner():
        return await presentation.render_error(datasette, request, 403, message)

    return inner


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


def _client(request) -> str:
    client = request.scope.get("client")
    return str(client[0]) if client else "?"


async def login(datasette, request):
    next_url = guard.safe_next(request.args.get("next"))
    error, status = None, 200
    if request.method == "POST":
        form = await request.post_vars()
        next_url = guard.safe_next(form.get("next"))
        name, password = form.get("username", ""), form.get("password", "")
        throttle = _state(datasette)["throttle"]
        keys = {"account": name.strip().lower()[:64], "client": _client(request)}
        wait = throttle.begin(keys)
        if wait > 0:
            error = f"尝试次数过多，请 {int(wait) + 1} 秒后再试"
            status = 429
        else:
            # scrypt is slow on purpose: keep it off the event loop
            user = await asyncio.to_thread(access.authenticate, _root(datasette), name, password)
            if user is not None:
                throttle.succeeded(keys)
                try:
                    token = await asyncio.to_thread(access.create_session, _root(datasette), user)
                except access.AccountsUnavailableError as exc:
                    return Response.text(f"cannot log in: {exc.problem}\n", status=503)
                response = Response.redirect(next_url)
                response.set_cookie(
                    COOKIE,
                    datasette.sign({"s": token}, NAMESPACE),
                    max_age=access.SESSION_SECONDS,
                    httponly=True,
                    samesite="lax",
                )
                return response
            error, status = "用户名或密码错误", 401
    return Response.html(
        await datasette.render_template(
            "minqing_login.html",
            {"error": error, "next": next_url, "users": await login_required(datasette)},
            request=request,
        ),
        status=status,
    )


async def logout(datasette, request):
    if request.method == "POST":
        token = session_token(datasette, request.scope)
        if token and _root(datasette) is not None:
            try:
                await asyncio.to_thread(access.end_session, _root(datasette), token)
            except access.AccountsUnavailableError as exc:
                return Response.text(f"cannot log out: {exc.problem}\n", status=503)
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
