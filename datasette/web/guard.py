"""Request checks of the web archive that are not about roles (issue 12).

Pure functions and one small class, no Datasette; ``datasette/plugins/minqing_access.py``
applies them to every request:

* :func:`host_allowed` — a server bound to a loopback address answers only to loopback
  names (and the name it was started with): a page on ``evil.example`` that rebinds its
  DNS name to 127.0.0.1 gets 400, not the archive (item 2).
* :func:`cross_site` — a state-changing request whose ``Origin`` (or ``Sec-Fetch-Site``,
  or ``Referer``) names another origin is refused (items 1, 8).
* :func:`csrf_value` — the CSRF token of a form is an HMAC of the visitor's session key
  (the server-side session, or the anonymous visitor cookie before a login), so a token
  is worth nothing with another session (item 9) and a cookie-less POST has no token.
* :func:`safe_next` — only same-origin paths are redirect targets after a login (item 4).
* :class:`LoginThrottle` — failed logins by account and by client, shared by parallel
  requests, with a growing lock-out (item 6).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
import time
import urllib.parse
from collections import defaultdict, deque

#: Host names a loopback-bound server answers to.
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def split_host(value: str) -> str:
    """The host name of a ``Host`` header or origin netloc, lower-case, without the port."""
    value = (value or "").strip().lower()
    if value.startswith("["):  # [::1]:8001
        return value[1 : value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def is_loopback_name(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1); ``host`` has no port."""
    host = host.strip().strip("[]").lower()
    if host in LOOPBACK_NAMES or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_allowed(
    host_header: str | None, bound_host: str, also: tuple[str, ...] | list[str] = ()
) -> bool:
    """May a server bound to ``bound_host`` answer a request for ``host_header``?

    A loopback-bound server answers to loopback names, to ``bound_host`` itself and to the
    names in ``also`` (``minqing serve --allow-host``, e.g. behind a reverse proxy); a
    server bound beyond loopback (which always requires a login) answers to any name.
    """
    if not is_loopback_name(bound_host):
        return True
    name = split_host(host_header or "")
    allowed = {bound_host.lower(), *(a.lower() for a in also)}
    return bool(name) and (is_loopback_name(name) or name in allowed)


def cross_site(
    host_header: str | None,
    origin: str | None,
    sec_fetch_site: str | None,
    referer: str | None,
) -> str | None:
    """Why a state-changing request comes from another site, or None when it does not.

    Browsers send ``Origin`` with every cross-origin POST, and ``Sec-Fetch-Site``; a
    request that carries neither (curl, scripts) must still bring the session's CSRF
    token, which only a page of this site can read.
    """
    host = (host_header or "").strip().lower()
    if origin is not None:
        origin = origin.strip().lower()
        if origin == "null":
            return "Origin null"
        parts = urllib.parse.urlsplit(origin)
        if parts.scheme not in ("http", "https") or parts.netloc != host:
            return f"Origin {origin} is not this site"
        return None
    if sec_fetch_site and sec_fetch_site.strip().lower() not in ("same-origin", "none"):
        return f"Sec-Fetch-Site {sec_fetch_site}"
    if referer:
        parts = urllib.parse.urlsplit(referer.strip())
        if parts.netloc.lower() != host:
            return "Referer is not this site"
    return None


def csrf_value(secret: str, session_key: str) -> str:
    """The CSRF token value bound to ``session_key`` (an HMAC under the server's secret)."""
    return hmac.new(
        secret.encode("utf-8"), b"minqing-csrf:" + session_key.encode("utf-8"), hashlib.sha256
    ).hexdigest()


def safe_next(value: str | None) -> str:
    """``value`` when it is a path of this site, else ``/`` (no open redirect).

    Refused: anything not starting with one ``/``, ``//`` and ``/\\`` (other hosts to a
    browser), control characters (browsers drop tabs and newlines, turning ``/\\t/evil``
    into ``//evil``; a newline would split the ``Location`` header), and anything a URL
    parser reads as having a scheme or a host.
    """
    if not value or not value.startswith("/") or _CONTROL.search(value):
        return "/"
    if value.startswith(("//", "/\\")) or "\\" in value:
        return "/"
    parts = urllib.parse.urlsplit(value)
    if parts.scheme or parts.netloc:
        return "/"
    return value


class LoginThrottle:
    """Failed logins per key (account, client), shared by every request of the process.

    Each key may fail ``free`` times within ``window`` seconds; after that it is locked
    for ``2 ** (failures - free)`` seconds (capped at ``cap``) after its latest failure.
    An attempt counts as a failure *before* the password is checked
    (:meth:`begin`), so parallel requests cannot slip past the limit, and is taken back
    only when it succeeds (:meth:`succeeded`).
    """

    #: Above this many keys, keys without a recent failure are forgotten.
    MAX_KEYS = 10_000

    def __init__(
        self,
        *,
        free: dict[str, int] | None = None,
        window: float = 900.0,
        cap: float = 900.0,
    ) -> None:
        self.free = free or {"account": 5, "client": 20}
        self.window = window
        self.cap = cap
        self._fails: dict[str, deque[float]] = defaultdict(deque)

    def _recent(self, key: str, now: float) -> deque[float]:
        q = self._fails[key]
        while q and q[0] < now - self.window:
            q.popleft()
        return q

    def wait(self, keys: dict[str, str], now: float | None = None) -> float:
        """Seconds until any of ``keys`` (kind → key) may try again (0 = now)."""
        now = time.monotonic() if now is None else now
        longest = 0.0
        for kind, key in keys.items():
            q = self._recent(f"{kind}:{key}", now)
            over = len(q) - self.free.get(kind, 5)
            if over >= 0:
                until = q[-1] + min(2.0**over, self.cap)
                longest = max(longest, until - now)
        return longest

    def begin(self, keys: dict[str, str], now: float | None = None) -> float:
        """0 and the attempt recorded as a failure, or the seconds to wait (nothing recorded)."""
        now = time.monotonic() if now is None else now
        wait = self.wait(keys, now)
        if wait > 0:
            return wait
        for kind, key in keys.items():
            self._fails[f"{kind}:{key}"].append(now)
        if len(self._fails) > self.MAX_KEYS:  # many made-up names: forget the quiet ones
            for k in [k for k, q in self._fails.items() if not q or q[-1] < now - self.window]:
                del self._fails[k]
        return 0.0

    def succeeded(self, keys: dict[str, str]) -> None:
        """The attempt was right: the account starts afresh; the client's attempt is taken back."""
        for kind, key in keys.items():
            q = self._fails.get(f"{kind}:{key}")
            if not q:
                continue
            if kind == "account":
                q.clear()
            else:
                q.pop()
