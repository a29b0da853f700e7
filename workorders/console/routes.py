"""The console's web side: pages, login/logout, who am I, and the WebSocket of live events.

``/console/`` is the agent console, ``/console/wallboard`` the supervisor wallboard; both are
static pages (``static/``) that call ``/api/v1`` with the session cookie. ``/console/ws``
streams the MQTT events the hub addresses to the browser (JSON text frames).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
from datetime import datetime
from pathlib import Path

from aiohttp import WSMsgType, web

from routing.units import DOMAIN_LABELS
from workorders.console.auth import (
    MAX_PASSWORD,
    new_csrf_token,
    new_session_id,
    session_digest,
    verify_password,
)
from workorders.console.directory import AgentDirectory
from workorders.console.fanout import Viewer
from workorders.console.hub import ConsoleHub, Subscription
from workorders.console.session import (
    COOKIE,
    LIFETIME,
    check_csrf,
    check_same_origin,
    clear_cookie,
    session_of,
    set_cookie,
)
from workorders.errors import (
    InvalidInput,
    MalformedRequest,
    TooManyRequests,
    Unauthorized,
    WorkOrderError,
)
from workorders.lifecycle.model import MODE_LABELS
from workorders.store import Store
from workorders.store.people import ConsoleSession
from workorders.validation import check_text, parse_json_object

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "media-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
        "form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


class ConsoleRoutes:
    session_check_seconds = 30.0

    def __init__(
        self,
        store: Store,
        hub: ConsoleHub,
        directory: AgentDirectory,
        *,
        secure_cookie: bool = False,
    ) -> None:
        self._store = store
        self._hub = hub
        self._directory = directory
        self._secure = secure_cookie

    def install(self, app: web.Application) -> None:
        app.router.add_get("/", self.root, name="console_root")
        app.router.add_get("/console", self.root, name="console_bare")
        app.router.add_get("/console/", self.console_page, name="console_page")
        app.router.add_get("/console/wallboard", self.wallboard_page, name="console_wallboard")
        app.router.add_static("/console/static/", STATIC, name="console_static")
        app.router.add_post("/console/login", self.login, name="console_login")
        app.router.add_post("/console/logout", self.logout, name="console_logout")
        app.router.add_get("/console/me", self.me, name="console_me")
        app.router.add_get("/console/ws", self.websocket, name="console_ws")
        app.on_response_prepare.append(_page_headers)

    async def root(self, _request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound("/console/")

    async def console_page(self, _request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC / "console.html")

    async def wallboard_page(self, _request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC / "wallboard.html")

    async def login(self, request: web.Request) -> web.Response:
        if request.content_type != "application/json":
            raise MalformedRequest("log in with a JSON body")
        check_same_origin(request)
        body = parse_json_object(await request.read())
        login, password = body.get("login"), body.get("password")
        if not isinstance(login, str) or not 0 < len(login) <= 64:
            raise InvalidInput("请输入工号", field="login")
        check_text(login, "login", max_length=64)
        if not isinstance(password, str) or not password:
            raise InvalidInput("请输入密码", field="password")
        check_text(password, "password", max_length=MAX_PASSWORD)
        # Behind a reverse proxy this is the proxy: run the console's limits there as well.
        address = request.remote or "unknown"
        until = await self._store.people.login_locked_until(login, address)
        if until is not None:
            raise TooManyRequests(
                f"登录失败次数过多，请 {_minutes_until(until, self._store.clock())} 分钟后再试",
                field="login",
            )
        user = await self._store.people.console_user(login)
        # One scrypt whether the login exists or not (a dummy hash for unknown ones), and the
        # same database work after it: the answer's timing does not tell which logins exist.
        stored = None if user is None else user.password_hash
        if not await asyncio.to_thread(verify_password, password, stored) or user is None:
            await self._store.people.record_login_failure(login, address)
            raise Unauthorized("工号或密码错误")
        await self._store.people.clear_login_failures(login, address)
        session_id, csrf = new_session_id(), new_csrf_token()
        await self._store.people.start_console_session(
            login, session_digest(session_id), csrf, LIFETIME
        )
        log.info("console login: %s (%s)", login, user.role)
        response = web.json_response(self._who(user.login, user.name, user.role, csrf))
        set_cookie(response, session_id, secure=self._secure or request.secure)
        return response

    async def logout(self, request: web.Request) -> web.Response:
        session = await self._session(request)
        check_csrf(request, session)
        await self._store.people.end_console_session(session_digest(request.cookies[COOKIE]))
        response = web.json_response({"logged_out": True})
        clear_cookie(response)
        return response

    async def me(self, request: web.Request) -> web.Response:
        session = await self._session(request)
        user = session.user
        return web.json_response(self._who(user.login, user.name, user.role, session.csrf_token))

    async def websocket(self, request: web.Request) -> web.StreamResponse:
        session = await self._session(request)
        check_same_origin(request)  # a WebSocket handshake carries Origin; no CSRF header
        socket = web.WebSocketResponse(heartbeat=20.0, max_msg_size=4096)
        await socket.prepare(request)
        viewer = Viewer(
            session.user.login, session.user.role, self._directory.groups_of(session.user.login)
        )
        subscription = self._hub.attach(viewer)
        sender = asyncio.create_task(_send(socket, subscription), name="console-ws-send")
        watcher = asyncio.create_task(
            self._close_when_session_ends(request, socket), name="console-ws-session"
        )
        try:
            await socket.send_json(
                {"kind": "hello", "login": viewer.login, "groups": sorted(viewer.groups)}
            )
            async for message in socket:
                if message.type is WSMsgType.TEXT and message.data == "ping":
                    await socket.send_json({"kind": "pong"})
        finally:
            self._hub.detach(subscription)
            for task in (sender, watcher):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        return socket

    async def _close_when_session_ends(
        self, request: web.Request, socket: web.WebSocketResponse
    ) -> None:
        """Logout, a new password or expiry also end the live feed (checked periodically)."""
        while not socket.closed:
            await asyncio.sleep(self.session_check_seconds)
            try:
                session = await session_of(self._store.people, request)
            except WorkOrderError:
                continue  # the database is away: keep the feed, check again later
            if session is None:
                await socket.close(code=4401, message=b"session ended")
                return

    async def _session(self, request: web.Request) -> ConsoleSession:
        session = await session_of(self._store.people, request)
        if session is None:
            raise Unauthorized("请先登录")
        return session

    def _who(self, login: str, name: str, role: str, csrf: str) -> dict[str, object]:
        """The user, and the choices the order form offers (domains, modes, units)."""
        agent = self._directory.get(login)
        tree = self._store.rules.tree
        return {
            "login": login,
            "name": name,
            "role": role,
            "groups": [] if agent is None else sorted(agent.groups),
            "extension": None if agent is None else agent.extension,
            "csrf_token": csrf,
            "domains": dict(DOMAIN_LABELS),
            "modes": dict(MODE_LABELS),
            "units": [
                {"id": unit.id, "name": unit.name, "region": unit.region, "tier": unit.tier}
                for unit in tree
            ],
        }


def _minutes_until(until: datetime, now: datetime) -> int:
    return max(1, math.ceil((until - now).total_seconds() / 60))


async def _send(socket: web.WebSocketResponse, subscription: Subscription) -> None:
    """Forward the browser's queue to its socket; close it if it fell too far behind."""
    slow = asyncio.create_task(subscription.slow.wait())
    message: asyncio.Task[dict[str, object]] | None = None
    try:
        while not socket.closed:
            message = asyncio.create_task(subscription.queue.get())
            done, _ = await asyncio.wait({message, slow}, return_when=asyncio.FIRST_COMPLETED)
            if slow in done:
                await socket.close(code=1013, message=b"too slow")
                return
            await socket.send_str(json.dumps(message.result(), ensure_ascii=False))
    finally:
        slow.cancel()
        if message is not None:
            message.cancel()


async def _page_headers(request: web.Request, response: web.StreamResponse) -> None:
    if request.path == "/console" or request.path.startswith("/console/"):
        for name, value in PAGE_HEADERS.items():
            response.headers.setdefault(name, value)
