"""Routes of the ACD: agents' presence, the queues, and the IVR's side of a queued call.

Agents (role ``call_taker``, token name = login) set their own presence; supervisors and
admins anyone's. The IVR (role ``ivr``) queues a call, long-polls its status, reports how an
offer went and takes the call out of the queue. ``app.py`` mounts these next to the others.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from aiohttp import web

from routing import acd
from routing.agents import AgentsConfig
from workorders.api.workflow import json_object
from workorders.errors import Forbidden, InvalidInput, NotFound
from workorders.fields import (
    ASCII_CALL_ID,
    MAX_MENU_DEPTH,
    MAX_SIP_USER,
    MENU_KEY,
    SIP_USER,
    SKILL,
    mask_phone,
)
from workorders.model import format_utc, is_order_number
from workorders.store.acd import AcdStep, AcdStore
from workorders.tokens import ROLE_ADMIN, ROLE_SUPERVISOR, Principal
from workorders.validation import check_text

#: Longest long-poll the API holds (the IVR asks for less: its calls must be seen).
MAX_WAIT_SECONDS = 30.0
#: How often a long-poll reads again (steps of other service instances are not signalled).
POLL_SECONDS = 0.5
#: A poll marks its call as seen (a write) at most this often.
SEEN_EVERY_SECONDS = 5.0


def _fields(body: Mapping[str, object], allowed: set[str]) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise InvalidInput(f"unknown field {unknown[0]!r}", field=unknown[0])


def parse_presence(body: Mapping[str, object]) -> str:
    _fields(body, {"state"})
    state = body.get("state")
    if state not in acd.SETTABLE_STATES:
        raise InvalidInput(f"state must be one of {', '.join(acd.SETTABLE_STATES)}", field="state")
    return str(state)


def parse_queued_call(group: str, body: Mapping[str, object]) -> acd.CallQueued:
    """``POST /queues/{group}/calls``: ``{call_id, caller, skills?, priority?, order_number?,
    menu_path?}``."""
    _fields(body, {"call_id", "caller", "skills", "priority", "order_number", "menu_path"})
    call_id = body.get("call_id")
    if not isinstance(call_id, str) or not ASCII_CALL_ID.matches(call_id):
        raise InvalidInput(f"call_id must be {ASCII_CALL_ID.says}", field="call_id")
    caller = body.get("caller")
    if not isinstance(caller, str) or not SIP_USER.matches(caller):
        raise InvalidInput("caller must be the SIP user of the caller", field="caller")
    check_text(caller, "caller", max_length=MAX_SIP_USER)  # no lone surrogates either
    skills = body.get("skills", [])
    if not isinstance(skills, list) or not all(SKILL.matches(s) for s in skills):
        raise InvalidInput("skills must be a list of skill names", field="skills")
    priority = body.get("priority", acd.NORMAL)
    if priority not in acd.PRIORITIES:
        raise InvalidInput(f"priority must be one of {', '.join(acd.PRIORITIES)}", field="priority")
    number = body.get("order_number")
    if number is not None and not (isinstance(number, str) and is_order_number(number)):
        raise InvalidInput("order_number must be an order number", field="order_number")
    menu_path = body.get("menu_path", [])
    if (
        not isinstance(menu_path, list)
        or len(menu_path) > MAX_MENU_DEPTH
        or not all(MENU_KEY.matches(key) for key in menu_path)
    ):
        raise InvalidInput("menu_path must be a list of menu keys", field="menu_path")
    return acd.CallQueued(
        call_id, group, caller, frozenset(skills), str(priority), number, tuple(menu_path)
    )


def agent_json(config: AgentsConfig, presence: acd.AgentPresence, now: datetime) -> dict[str, Any]:
    agent = config.agents[presence.login]
    return {
        "login": agent.login,
        "name": agent.name,
        "extension": agent.extension,
        "groups": list(agent.groups),
        "skills": sorted(agent.skills),
        "state": presence.state,
        "since": None if presence.since is None else format_utc(presence.since),
        "call_id": presence.call_id,
        "idle_seconds": round(presence.idle(now), 1),
    }


def call_json(core: acd.Acd, call_id: str) -> dict[str, Any]:
    """The IVR's view of one queued call; ``version`` changes whenever anything in it does."""
    call = core.calls[call_id]
    position = core.positions().get(call_id)
    offer = None
    if call.status == acd.OFFERED and call.agent is not None:
        agent = core.config.agents.get(call.agent)
        via = core.offer_group(call)
        if agent is not None and via is not None:
            ring = core.config.groups[via].ring_seconds
            offer = {"agent": agent.login, "extension": agent.extension, "ring_seconds": ring}
    status = call.shown_status
    deadline = call.offer_deadline.timestamp() if call.offer_deadline else ""
    return {
        "call_id": call.call_id,
        "status": status,
        "group": call.group,
        "position": position,
        "priority": call.priority,
        "offer": offer,
        "detail": call.detail,
        # Unique per offer too (its deadline), so an IVR never mistakes a new offer to the
        # same agent for the one that just failed.
        "version": f"{status}:{call.group}:{position}:{call.agent or ''}:{deadline}",
    }


def queues_json(core: acd.Acd) -> list[dict[str, Any]]:
    positions = core.positions()
    calls = sorted(core.calls.values(), key=acd.QueuedCall.order)
    out = []
    for name, group in core.config.groups.items():
        members = core.config.members(name)
        out.append(
            {
                "group": name,
                "label": group.label,
                "waiting": [
                    {
                        "call_id": call.call_id,
                        "caller_masked": mask_phone(call.caller),
                        "since": format_utc(call.enqueued_at),
                        "position": positions[call.call_id],
                        "priority": call.priority,
                        "status": call.shown_status,
                    }
                    for call in calls
                    if call.group == name and call.status == acd.WAITING
                ],
                "offered": [
                    {
                        "call_id": call.call_id,
                        "caller_masked": mask_phone(call.caller),
                        "since": format_utc(call.enqueued_at),
                        "agent": call.agent,
                    }
                    for call in calls
                    if call.group == name and call.status == acd.OFFERED
                ],
                "agents_ready": len(core.ready_agents(name)),
                "agents_signed_in": sum(
                    1 for agent in members if core.agents[agent.login].state != acd.OFFLINE
                ),
            }
        )
    return out


class AgentHandlers:
    def __init__(
        self, acd_store: AcdStore, principal: web.RequestKey[Principal], notify: Callable[[], None]
    ) -> None:
        self._acd = acd_store
        self._principal = principal
        self._notify = notify

    async def _step(self, event: acd.Event) -> AcdStep:
        step = await self._acd.acd_step(event)
        if step.events:
            self._notify()  # the publisher sends call.offered / queue.changed now
        return step

    async def list_agents(self, _request: web.Request) -> web.Response:
        core, now = await self._acd.acd_state()
        items = [agent_json(core.config, presence, now) for presence in core.agents.values()]
        return _json({"items": items})

    async def put_presence(self, request: web.Request) -> web.Response:
        login = request.match_info["login"]
        principal = request[self._principal]
        if principal.role not in (ROLE_ADMIN, ROLE_SUPERVISOR) and principal.name != login:
            raise Forbidden("agents set only their own presence")
        if login not in self._acd.agents_config.agents:
            raise NotFound(f"no agent {login}", field="login")
        state = parse_presence(await _body(request))
        step = await self._step(acd.PresenceSet(login, state))
        return _json(agent_json(step.state.config, step.state.agents[login], step.now))

    async def list_queues(self, _request: web.Request) -> web.Response:
        core, _ = await self._acd.acd_state()
        return _json({"items": queues_json(core)})

    async def queue_call(self, request: web.Request) -> web.Response:
        event = parse_queued_call(request.match_info["group"], await _body(request))
        known, _ = await self._acd.acd_state()
        earlier = known.calls.get(event.call_id)
        core = (await self._step(event)).state
        status = 200 if earlier is not None and not earlier.finished else 201
        return _json(call_json(core, event.call_id), status=status)

    async def get_queued_call(self, request: web.Request) -> web.Response:
        """Long-poll: answers once ``version`` differs from ``seen`` (or at once without it),
        or after ``wait`` seconds with the status as it is."""
        call_id = request.match_info["call_id"]
        wait = _wait_seconds(request.query.get("wait", "0"))
        seen = request.query.get("seen")
        core, now = await self._acd.acd_state()
        if call_id not in core.calls:
            raise NotFound(f"no queued call {call_id}", field="call_id")
        if (now - core.calls[call_id].last_seen).total_seconds() >= SEEN_EVERY_SECONDS:
            core = (await self._step(acd.CallSeen(call_id))).state
        view = call_json(core, call_id)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while seen is not None and view["version"] == seen and loop.time() < deadline:
            try:
                async with asyncio.timeout(min(POLL_SECONDS, deadline - loop.time())):
                    await self._acd.acd_changed()
            except TimeoutError:
                pass
            core, _ = await self._acd.acd_state()
            if call_id not in core.calls:
                raise NotFound(f"no queued call {call_id}", field="call_id")
            view = call_json(core, call_id)
        return _json(view)

    async def post_offer_result(self, request: web.Request) -> web.Response:
        call_id = request.match_info["call_id"]
        body = await _body(request)
        _fields(body, {"outcome"})
        outcome = body.get("outcome")
        if outcome not in acd.OUTCOMES:
            raise InvalidInput(f"outcome must be one of {', '.join(acd.OUTCOMES)}", field="outcome")
        core = (await self._step(acd.OfferResult(call_id, str(outcome)))).state
        return _json(call_json(core, call_id))

    async def delete_queued_call(self, request: web.Request) -> web.Response:
        call_id = request.match_info["call_id"]
        reason = request.query.get("reason", "hangup")
        if reason not in acd.LEAVE_REASONS:
            raise InvalidInput(
                f"reason must be one of {', '.join(acd.LEAVE_REASONS)}", field="reason"
            )
        core = (await self._step(acd.CallLeft(call_id, reason))).state
        return _json(call_json(core, call_id))


def _wait_seconds(text: str) -> float:
    try:
        wait = float(text)
    except ValueError:
        raise InvalidInput("wait must be a number of seconds", field="wait") from None
    if not 0 <= wait <= MAX_WAIT_SECONDS:
        raise InvalidInput(f"wait must be between 0 and {MAX_WAIT_SECONDS:.0f}", field="wait")
    return wait


async def _body(request: web.Request) -> Mapping[str, object]:
    return await json_object(request)


def _json(data: Any, *, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=_dumps)


_dumps = functools.partial(json.dumps, ensure_ascii=False, separators=(",", ":"))
