"""The console's session cookie on a request: who it speaks for, and the CSRF check.

The cookie (``hotline_session``) is ``HttpOnly``, ``SameSite=Strict`` and ``Path=/``; the
store keeps only its SHA-256. A request authenticated by the cookie that changes something
(POST, PUT, PATCH, DELETE) must also carry the session's CSRF token in ``X-CSRF-Token`` —
a header another site's page cannot set — and, when the browser sends one, an ``Origin``
equal to this server's.
"""

from __future__ import annotations

from datetime import timedelta

from aiohttp import web

from workorders.console.auth import same_secret, session_digest
from workorders.errors import Forbidden
from workorders.store.people import ConsoleSession, PeopleAndUnitsStore

COOKIE = "hotline_session"
CSRF_HEADER = "X-CSRF-Token"
LIFETIME = timedelta(hours=12)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def session_of(people: PeopleAndUnitsStore, request: web.Request) -> ConsoleSession | None:
    value = request.cookies.get(COOKIE)
    if not value or len(value) > 128:
        return None
    return await people.console_session(session_digest(value))


def check_same_origin(request: web.Request) -> None:
    origin = request.headers.get("Origin")
    if origin is None:
        return
    expected = f"{request.scheme}://{request.host}"
    if origin != expected:
        raise Forbidden("cross-origin request refused", field="Origin")


def check_csrf(request: web.Request, session: ConsoleSession) -> None:
    """Refuse a state-changing cookie request without the session's CSRF token."""
    if request.method in SAFE_METHODS:
        return
    check_same_origin(request)
    if not same_secret(request.headers.get(CSRF_HEADER), session.csrf_token):
        raise Forbidden("missing or wrong CSRF token", field=CSRF_HEADER)


def set_cookie(response: web.StreamResponse, session_id: str, *, secure: bool) -> None:
    response.set_cookie(
        COOKIE,
        session_id,
        max_age=int(LIFETIME.total_seconds()),
        path="/",
        httponly=True,
        samesite="Strict",
        secure=secure,
    )


def clear_cookie(response: web.StreamResponse) -> None:
    response.del_cookie(COOKIE, path="/")
