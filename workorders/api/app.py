"""The aiohttp application of the work-order API (``/api/v1``), and its error and auth layers.

Every error leaves as ``{"error": {"code", "message", "field"?}}``; bad input is a 4xx,
never a 500. Everything under ``/api/`` needs ``Authorization: Bearer <token>`` or the agent
console's session cookie (with its CSRF token on requests that change something; see
``workorders.console.session``) except the OpenAPI document; ``/healthz`` is public.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.typedefs import Handler, Middleware
from aiohttp.web_request import BaseRequest

from workorders.api.agents import AgentHandlers
from workorders.api.invalid_calls import InvalidCallHandlers
from workorders.api.openapi import build_openapi
from workorders.api.operations import OperationHandlers
from workorders.api.reports import ReportHandlers
from workorders.api.workflow import WorkflowHandlers
from workorders.console.session import check_csrf, session_of
from workorders.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    MalformedRequest,
    NotFound,
    SequenceExhausted,
    StoreUnavailable,
    TooManyRequests,
    Unauthorized,
    WorkOrderError,
)
from workorders.fields import LINE
from workorders.model import CallResult, WorkOrder, format_utc, is_order_number
from workorders.store import Store
from workorders.store.orders import OrderStore
from workorders.store.people import PeopleAndUnitsStore
from workorders.tokens import (
    ROLE_ADMIN,
    ROLE_CALL_TAKER,
    ROLE_DISPATCHER,
    ROLE_HANDLER,
    ROLE_IVR,
    ROLE_LEADER,
    ROLE_SUPERVISOR,
    Principal,
)
from workorders.validation import (
    parse_answered_call,
    parse_call_id,
    parse_idempotency_key,
    parse_json_object,
    parse_new_order,
    parse_transcript_update,
)

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"
OPENAPI_PATH = f"{API_PREFIX}/openapi.json"
MAX_BODY_BYTES = 256 * 1024

PRINCIPAL = web.RequestKey("principal", Principal)

_STATUS_OF_ERROR: tuple[tuple[type[WorkOrderError], int], ...] = (
    (MalformedRequest, 400),
    (Unauthorized, 401),
    (Forbidden, 403),
    (NotFound, 404),
    (Conflict, 409),
    (InvalidInput, 422),
    (TooManyRequests, 429),
    (StoreUnavailable, 503),
    (SequenceExhausted, 503),
)
_CODE_OF_HTTP_STATUS = {
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
}

_dumps = functools.partial(json.dumps, ensure_ascii=False, separators=(",", ":"))


class AccessLogger(AbstractAccessLogger):
    """Access log without query strings: ``?caller=`` would put phone numbers in the log."""

    def log(self, request: BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info(
            "%s %s %d %.1fms", request.method, request.path, response.status, time * 1000
        )


def error_response(status: int, code: str, message: str, field: str | None = None) -> web.Response:
    error: dict[str, str] = {"code": code, "message": message}
    if field is not None:
        error["field"] = field
    return web.json_response({"error": error}, status=status, dumps=_dumps)


@dataclass(frozen=True, slots=True)
class _Route:
    method: str
    path: str
    name: str
    roles: frozenset[str] | None  # None: public


_BOTH = frozenset({ROLE_ADMIN, ROLE_IVR})
_PEOPLE = frozenset(
    {ROLE_ADMIN, ROLE_CALL_TAKER, ROLE_SUPERVISOR, ROLE_DISPATCHER, ROLE_HANDLER, ROLE_LEADER}
)
_INTAKE = frozenset({ROLE_ADMIN, ROLE_IVR, ROLE_CALL_TAKER, ROLE_SUPERVISOR})
_CENTRE_DESK = frozenset({ROLE_ADMIN, ROLE_CALL_TAKER, ROLE_SUPERVISOR})
_AGENT_DESK = frozenset({ROLE_ADMIN, ROLE_CALL_TAKER, ROLE_SUPERVISOR, ROLE_LEADER})
_ORDER = f"{API_PREFIX}/workorders/{{number}}"
_QUEUED_CALL = f"{API_PREFIX}/queues/calls/{{call_id}}"
ROUTES = (
    _Route("GET", "/healthz", "health", None),
    _Route("GET", OPENAPI_PATH, "openapi", None),
    _Route("POST", f"{API_PREFIX}/workorders", "create_order", _INTAKE),
    _Route("GET", f"{API_PREFIX}/workorders", "list_orders", _PEOPLE | {ROLE_IVR}),
    _Route("GET", _ORDER, "get_order", _PEOPLE | {ROLE_IVR}),
    _Route("PUT", f"{_ORDER}/transcript", "put_transcript", _BOTH),
    _Route("PUT", f"{_ORDER}/caller", "put_caller", _CENTRE_DESK),
    _Route("POST", f"{_ORDER}/actions", "post_action", _PEOPLE | {ROLE_IVR}),
    _Route("GET", f"{_ORDER}/ledger", "get_ledger", _PEOPLE),
    _Route("POST", f"{API_PREFIX}/calls", "record_call", _BOTH),
    _Route("POST", f"{API_PREFIX}/invalid-calls", "post_invalid_call", _BOTH),
    _Route(
        "GET",
        f"{API_PREFIX}/reports/invalid-calls",
        "report_invalid_calls",
        frozenset({ROLE_ADMIN, ROLE_SUPERVISOR, ROLE_LEADER}),
    ),
    _Route(
        "POST",
        f"{API_PREFIX}/calls/{{call_id}}/emergency",
        "request_emergency",
        frozenset({ROLE_ADMIN, ROLE_CALL_TAKER, ROLE_SUPERVISOR}),
    ),
    _Route(
        "GET",
        f"{API_PREFIX}/supervisions",
        "list_supervisions",
        frozenset({ROLE_ADMIN, ROLE_SUPERVISOR, ROLE_LEADER}),
    ),
    _Route("GET", f"{API_PREFIX}/audit", "list_audit", frozenset({ROLE_ADMIN, ROLE_SUPERVISOR})),
    _Route("GET", f"{API_PREFIX}/reports/rates", "report_rates", _PEOPLE),
    # The ACD (api/agents.py): agents and supervisors, then the IVR's side of a queued call.
    _Route("GET", f"{API_PREFIX}/agents", "list_agents", _AGENT_DESK),
    _Route("PUT", f"{API_PREFIX}/agents/{{login}}/presence", "put_presence", _CENTRE_DESK),
    _Route("GET", f"{API_PREFIX}/queues", "list_queues", _AGENT_DESK),
    _Route("POST", f"{API_PREFIX}/queues/{{group}}/calls", "queue_call", _BOTH),
    _Route("GET", _QUEUED_CALL, "get_queued_call", _BOTH),
    _Route("POST", f"{_QUEUED_CALL}/result", "post_offer_result", _BOTH),
    _Route("DELETE", _QUEUED_CALL, "delete_queued_call", _BOTH),
    _Route("GET", f"{_ORDER}/recording", "get_recording", _PEOPLE),
    _Route(
        "GET",
        f"{API_PREFIX}/reports/hotspots",
        "report_hotspots",
        frozenset({ROLE_ADMIN, ROLE_SUPERVISOR, ROLE_LEADER}),
    ),
    _Route(
        "GET",
        f"{API_PREFIX}/reports/due",
        "report_due",
        frozenset({ROLE_ADMIN, ROLE_SUPERVISOR, ROLE_LEADER}),
    ),
    # Operators (api/operations.py): the outbox quarantine, console login limits.
    _Route(
        "GET",
        f"{API_PREFIX}/outbox/quarantine",
        "list_quarantine",
        frozenset({ROLE_ADMIN, ROLE_SUPERVISOR}),
    ),
    _Route(
        "POST",
        f"{API_PREFIX}/outbox/quarantine/{{id}}/release",
        "release_quarantined",
        frozenset({ROLE_ADMIN}),
    ),
    _Route(
        "POST",
        f"{API_PREFIX}/console/logins/{{login}}/unlock",
        "unlock_login",
        frozenset({ROLE_ADMIN}),
    ),
)
#: Routes whose handlers live in ``workflow.py`` (the rest are ``_Handlers`` methods).
_WORKFLOW_ROUTES = frozenset(
    {"list_orders", "get_order", "put_caller", "post_action", "get_ledger",
     "list_supervisions", "list_audit", "report_rates"}
)  # fmt: skip
_AGENT_ROUTES = frozenset(
    {"list_agents", "put_presence", "list_queues", "queue_call", "get_queued_call",
     "post_offer_result", "delete_queued_call"}
)  # fmt: skip
#: Routes whose handlers live in ``reports.py``.
_REPORT_ROUTES = frozenset({"get_recording", "report_hotspots", "report_due"})
_OPERATION_ROUTES = frozenset({"list_quarantine", "release_quarantined", "unlock_login"})
#: Routes whose handlers live in ``invalid_calls.py``.
_INVALID_CALL_ROUTES = frozenset({"post_invalid_call", "report_invalid_calls"})
_ROLES_OF_ROUTE = {route.name: route.roles for route in ROUTES}


def create_app(
    store: Store,
    *,
    pop_group_default: str = "intake",
    notify_outbox: Callable[[], None] | None = None,
    recordings: Path | None = None,
) -> web.Application:
    """The API application over ``store``.

    ``notify_outbox`` is called after every commit that queued a screen-pop event or may have
    queued a speech alert (the service passes ``OutboxPublisher.wake`` so events go out
    without waiting for a poll).
    ``recordings`` is the root of the call recordings (``…/recording`` plays them).
    """
    handlers = _Handlers(store.orders, store, pop_group_default, notify_outbox or _nothing)
    app = web.Application(
        middlewares=[_error_middleware, _auth_middleware(store.people)],
        client_max_size=MAX_BODY_BYTES,
    )
    workflow = WorkflowHandlers(store, PRINCIPAL)
    agents = AgentHandlers(store.acd, PRINCIPAL, notify_outbox or _nothing)
    reports = ReportHandlers(store, PRINCIPAL, recordings)
    operations = OperationHandlers(store.outbox, store.people)
    invalid_calls = InvalidCallHandlers(store.orders, store.reports, pop_group_default)
    for route in ROUTES:
        owner: object = handlers
        if route.name in _INVALID_CALL_ROUTES:
            owner = invalid_calls
        elif route.name in _WORKFLOW_ROUTES:
            owner = workflow
        elif route.name in _AGENT_ROUTES:
            owner = agents
        elif route.name in _REPORT_ROUTES:
            owner = reports
        elif route.name in _OPERATION_ROUTES:
            owner = operations
        app.router.add_route(route.method, route.path, getattr(owner, route.name), name=route.name)
    return app


def _nothing() -> None:
    return None


class _Handlers:
    """Health, the OpenAPI document and the intake routes the IVR calls (orders and calls)."""

    def __init__(
        self, orders: OrderStore, store: Store, default_group: str, notify: Callable[[], None]
    ) -> None:
        self._orders = orders
        self._store = store  # for ping and clock only
        self._default_group = default_group
        self._notify = notify
        self._openapi = build_openapi()

    async def health(self, _request: web.Request) -> web.Response:
        await self._store.ping()
        return _json({"status": "ok"})

    async def openapi(self, _request: web.Request) -> web.Response:
        return _json(self._openapi)

    async def create_order(self, request: web.Request) -> web.Response:
        key = parse_idempotency_key(request.headers.get("Idempotency-Key"))
        body = await _json_object(request)
        new = parse_new_order(body, default_group=self._default_group, now=self._store.clock())
        result = await self._orders.create_order(new, idempotency_key=key)
        if not result.replayed:
            self._notify()
        headers = {"Location": f"{API_PREFIX}/workorders/{result.order.number}"}
        if result.replayed:
            headers["Idempotent-Replayed"] = "true"
        return _json(
            result.order.to_json(), status=200 if result.replayed else 201, headers=headers
        )

    async def put_transcript(self, request: web.Request) -> web.Response:
        number = _order_number(request)
        update = parse_transcript_update(await _json_object(request))
        order: WorkOrder = await self._orders.set_transcript(number, update)
        if update.classification is not None and update.classification.emergency_line:
            self._notify()  # a speech_emergency alert may have been queued
        return _json(order.to_json())

    async def record_call(self, request: web.Request) -> web.Response:
        call = parse_answered_call(await _json_object(request), default_group=self._default_group)
        result = await self._orders.record_call(call)
        if not result.replayed:
            self._notify()
        return _json(_call_json(result), status=200 if result.replayed else 201)

    async def request_emergency(self, request: web.Request) -> web.Response:
        """An agent sends the caller of a live call to a dedicated line (120, 110 …)."""
        body = await _json_object(request)
        line = body.get("line")
        if not LINE.matches(line):
            raise InvalidInput("line must be the name of a dedicated line", field="line")
        unknown = set(body) - {"line"}
        if unknown:
            field = sorted(unknown)[0]
            raise InvalidInput(f"unknown field {field!r}", field=field)
        principal = request[PRINCIPAL]
        call_id = parse_call_id(request.match_info["call_id"])
        event_id = await self._orders.request_emergency(call_id, line, principal.name)
        self._notify()
        return _json({"command_id": event_id, "line": line}, status=202)


def _json(
    data: Any, *, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    return web.json_response(data, status=status, headers=headers, dumps=_dumps)


def _call_json(result: CallResult) -> dict[str, Any]:
    return {**result.call.to_json(), "answered_at": format_utc(result.answered_at)}


def _order_number(request: web.Request) -> str:
    number = request.match_info["number"]
    if not is_order_number(number):
        raise NotFound(f"no work order {number}", field="number")
    return number


async def _json_object(request: web.Request) -> Mapping[str, object]:
    return parse_json_object(await request.read())


def _status_of(error: WorkOrderError) -> int:
    for kind, status in _STATUS_OF_ERROR:
        if isinstance(error, kind):
            return status
    return 500


@web.middleware
async def _error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except WorkOrderError as error:
        status = _status_of(error)
        if status >= 500:
            log.warning("%s %s: %s", request.method, request.path, error.message)
        response = error_response(status, error.code, error.message, error.field)
        if status == 401:
            response.headers["WWW-Authenticate"] = "Bearer"
        return response
    except web.HTTPException as http_error:
        if http_error.status < 400:
            raise
        code = _CODE_OF_HTTP_STATUS.get(http_error.status, "http_error")
        response = error_response(http_error.status, code, http_error.reason)
        if "Allow" in http_error.headers:
            response.headers["Allow"] = http_error.headers["Allow"]
        return response
    except Exception:
        log.exception("%s %s failed", request.method, request.path)
        return error_response(500, "internal", "internal error")


def _auth_middleware(people: PeopleAndUnitsStore) -> Middleware:
    @web.middleware
    async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
        route_name = request.match_info.route.name
        roles = _ROLES_OF_ROUTE.get(route_name) if route_name else None
        public = route_name is not None and roles is None
        if public or not request.path.startswith("/api/"):
            return await handler(request)
        header = request.headers.get("Authorization")
        token = _bearer_token(header)
        principal = None if token is None else await people.authenticate(token)
        if principal is None and header is None:
            console = await session_of(people, request)
            if console is not None:
                check_csrf(request, console)
                principal = console.user.principal
        if principal is None:
            raise Unauthorized("a valid bearer token is required")
        if roles is not None and principal.role not in roles:
            raise Forbidden(f"role {principal.role} may not use this route")
        request[PRINCIPAL] = principal
        return await handler(request)

    return authenticate


def _bearer_token(header: str | None) -> str | None:
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token
