"""The IVR's client of the internal work-order API: the only ``ivr`` module importing aiohttp.

A create carries the call's id as its idempotency key, so retrying after a
timeout can never open a second order. That id is the worker's own
(``ivr.sip.leg.new_call_id``), never the caller's SIP Call-ID: two callers
choosing the same Call-ID must not share an order. When the service stays unreachable the
request is written to a spool directory and replayed later: what a caller said
is never lost.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp

from ivr.engine.actions import CreateOrder
from ivr.errors import IvrError
from ivr.spool import REJECTED, Spool, SpoolEntry, Unreadable

log = logging.getLogger("ivr.orders")


class OrdersUnavailable(IvrError):
    """The work-order service did not take the request (after retries).

    ``status``: the last HTTP status (5xx), or ``None`` when the service was not reached."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class OrderRefused(OrdersUnavailable):
    """The service answered and refused the request for good (a 4xx other than 408/429):
    sending it again cannot help."""

    def __init__(self, message: str, status: int, error: object) -> None:
        super().__init__(message, status)
        self.error = error


class _Retryable(Exception):
    pass


class OrdersClient:
    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        group: str,
        worker: str,
        spool_dir: Path,
        attempts: int = 4,
        first_backoff: float = 0.25,
        timeout: float = 5.0,
        spool_attempts: int | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """``spool_attempts``: failed replays of a spooled intake before its quarantine;
        ``clock``: seconds since the epoch, for the spool's retry times."""
        self.base_url = base_url.rstrip("/")
        self.group = group
        self.worker = worker
        self.spool_dir = spool_dir
        self.spool = (
            Spool(spool_dir)
            if spool_attempts is None
            else Spool(spool_dir, max_attempts=spool_attempts)
        )
        self.clock = clock
        self.attempts = attempts
        self.first_backoff = first_backoff
        self._headers = {"Authorization": f"Bearer {token}"}
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(headers=self._headers, timeout=self._timeout)
        return self._session

    async def _request(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        headers: dict[str, str] | None = None,
        *,
        params: dict[str, str] | None = None,
        seconds: float | None = None,
    ) -> dict[str, Any]:
        """``seconds``: this request's own time limit (a long-poll's is longer)."""
        delay = self.first_backoff
        last = "no attempt"
        status: int | None = None
        limit = self._timeout if seconds is None else aiohttp.ClientTimeout(total=seconds)
        for attempt in range(self.attempts):
            if attempt:
                await asyncio.sleep(delay)
                delay *= 2
            try:
                async with self._http().request(
                    method,
                    self.base_url + path,
                    json=body,
                    headers=headers,
                    params=params,
                    timeout=limit,
                ) as response:
                    payload: dict[str, Any] = await response.json(content_type=None)
                    if response.status < 300:
                        return payload
                    error = payload.get("error", payload)
                    last = f"HTTP {response.status}: {error}"
                    status = response.status
                    if response.status < 500 and response.status not in (408, 429):
                        raise OrderRefused(last, response.status, error)
            except (aiohttp.ClientError, TimeoutError, json.JSONDecodeError) as exc:
                last = f"{type(exc).__name__}: {exc}"
                status = None
        raise OrdersUnavailable(last, status)

    async def create_order(self, order: CreateOrder, received_at: datetime) -> str:
        body = self._order_body(order, received_at)
        try:
            return await self._post_order(order.idempotency_key, body)
        except OrderRefused as exc:
            self._reject(
                self._spool(order.idempotency_key, body), {"status": exc.status, "error": exc.error}
            )
            raise
        except OrdersUnavailable:
            path = self._spool(order.idempotency_key, body)
            log.error("work-order service unavailable: intake spooled to %s", path)
            raise

    async def _post_order(self, key: str, body: dict[str, Any]) -> str:
        payload = await self._request(
            "POST", "/api/v1/workorders", body, headers={"Idempotency-Key": key}
        )
        return str(payload["number"])

    def order_body(self, order: CreateOrder, received_at: datetime) -> dict[str, Any]:
        """The create request's body (also what an intake journal keeps)."""
        return self._order_body(order, received_at)

    def _order_body(self, order: CreateOrder, received_at: datetime) -> dict[str, Any]:
        optional = {"domain": order.domain, "priority": order.priority}
        return {
            **{name: value for name, value in optional.items() if value is not None},
            "call_id": order.idempotency_key,
            "caller_number": order.caller,
            "category": order.category,
            "menu_path": list(order.menu_path),
            "flags": list(order.flags),
            "recording": order.recording,
            "flow_version": order.flow_version,
            "group": self.group,
            "received_at": received_at.isoformat(),
        }

    async def put_transcript(
        self, number: str, text: str, status: str, classification: dict[str, Any] | None = None
    ) -> None:
        """The intake's transcript and, when there is text, its speech classification
        (``{category, domain, emergency_line, evidence}``, kept on the order as a suggestion)."""
        body: dict[str, Any] = {"text": text, "status": status}
        if classification is not None:
            body["classification"] = classification
        await self._request("PUT", f"/api/v1/workorders/{number}/transcript", body)

    async def record_transfer(self, number: str, line: str, attempt: dict[str, object]) -> None:
        """One attempt to reach a dedicated line, kept on the order (emergency transfers)."""
        key = f"transfer:{number}:{attempt.get('target')}:{attempt.get('started')}"
        await self._request(
            "POST",
            f"/api/v1/workorders/{number}/actions",
            {"action": "transfer_attempt", "line": line, **attempt},
            headers={"Idempotency-Key": key},
        )

    async def call_answered(self, call_id: str, caller: str, callee: str) -> None:
        await self._request(
            "POST",
            "/api/v1/calls",
            {
                "call_id": call_id,
                "caller_number": caller,
                "callee": callee,
                "group": self.group,
                "worker": self.worker,
            },
        )

    async def report_invalid_call(self, call_id: str, caller: str, body: dict[str, Any]) -> None:
        """Count a 无效来电 (no order) at the service, by reason and by number.

        Best effort, not spooled: a lost count costs a statistic, never an intake."""
        await self._request(
            "POST",
            "/api/v1/invalid-calls",
            {"call_id": call_id, "caller_number": caller, "worker": self.worker, **body},
            headers={"Idempotency-Key": f"invalid:{call_id}"},
        )

    # -- the ACD queue (ivr/queueing.py) --
    async def enqueue(self, group: str, body: dict[str, Any]) -> dict[str, Any]:
        return await self._request("POST", f"/api/v1/queues/{quote(group, safe='')}/calls", body)

    async def queue_status(self, call_id: str, seen: str | None, wait: float) -> dict[str, Any]:
        """Long-poll: answers when the call's status differs from ``seen`` (or after ``wait``)."""
        params = {"wait": str(wait)} if seen is None else {"wait": str(wait), "seen": seen}
        return await self._request(
            "GET", _queued_call(call_id), None, params=params, seconds=wait + 5.0
        )

    async def report_offer(self, call_id: str, outcome: str) -> dict[str, Any]:
        return await self._request("POST", _queued_call(call_id) + "/result", {"outcome": outcome})

    async def leave_queue(self, call_id: str, reason: str) -> None:
        await self._request("DELETE", _queued_call(call_id), None, params={"reason": reason})

    # -- spool (ivr/spool.py) --
    def _spool(self, key: str, body: dict[str, Any]) -> Path:
        return self.spool.put(key, body)

    async def replay_spool(self) -> int:
        """Send due spooled creates again, oldest name first; returns how many went through.

        While the service cannot be reached, replaying stops and the entries wait, their
        tries not counted. An entry the service answers 5xx is tried again later, with a
        growing delay, then quarantined (``ivr/spool.py``); one it refuses for good (4xx:
        invalid, conflicting key) moves to ``rejected/`` at once. Either way it never
        holds back the entries after it. The workers of a node share the spool: two may
        send the same file, which the idempotency key makes harmless.
        """
        sent = 0
        now = self.clock()
        for entry in self.spool.due(now):
            if isinstance(entry, Unreadable):
                self._reject(entry.path, {"error": entry.error})
                continue
            outcome = await self._replay(entry, now)
            if outcome == "unreachable":
                break
            sent += outcome == "sent"
        return sent

    async def _replay(self, entry: SpoolEntry, now: float) -> str:
        """Try one entry: ``sent``, ``set_aside``, ``failed`` or ``unreachable`` (stop now)."""
        try:
            number = await self._post_order(entry.key, entry.body)
        except OrderRefused as exc:
            self._reject(entry.path, {"status": exc.status, "error": exc.error})
            return "set_aside"
        except OrdersUnavailable as exc:
            if exc.status is None:
                log.warning("spooled intake %s still not accepted: %s", entry.path.name, exc)
                return "unreachable"
            return "set_aside" if self.spool.failed(entry, now, str(exc)) else "failed"
        self.spool.sent(entry)
        log.info("spooled intake %s became order %s", entry.path.name, number)
        return "sent"

    def _reject(self, path: Path, why: dict[str, Any]) -> None:
        """Move a spooled intake the service will never take to ``rejected/``, with why."""
        self.spool.set_aside(path, REJECTED, why)


def _queued_call(call_id: str) -> str:
    return f"/api/v1/queues/calls/{quote(call_id, safe='')}"
