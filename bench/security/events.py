"""e) A hostile Call-ID must not make an event the broker refuses, nor hold back the others.

A bare caller from 127.0.0.10 (``uac.py``) dials with a Call-ID holding U+0001, a control
character the broker refuses in a topic; once the call is answered, an agent asks for an
emergency transfer of it (``POST /api/v1/calls/{call_id}/emergency``). Before issue 13 that
command's topic carried the raw Call-ID, the broker refused it and the outbox held every later
event; now the call is known by the worker's own id (found through the worker's log), so the
request is accepted and its topic is clean. Then three ordinary callers go through the intake;
a subscriber on ``hotline/#`` must get their ``call.answered`` and ``order.created`` events.
(A row the broker does refuse is quarantined without holding the others back: that is tested
on a real Mosquitto in ``tests/workorders/test_publisher.py``.)"""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from typing import Any

import paho.mqtt.client as mqtt

from bench.capacity.media import make as make_media
from bench.security.node import REPO, BatteryNode, caller_numbers, sipp, wait_process
from bench.security.report import Figure, StepResult
from bench.security.uac import BareCall
from tests.e2e.sipp import answered_calls

SOURCE = "127.0.0.10"
REFUSED_CHARACTER = "\x01"
LEGIT_CALLS = 3
WAIT_EVENTS_SECONDS = 60


class Listener:
    def __init__(self, port: int) -> None:
        self.messages: list[tuple[str, dict[str, Any]]] = []
        self.lock = threading.Lock()
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,  # type: ignore[attr-defined]
            client_id="security-battery",
        )
        self.client.on_message = self._message
        self.client.connect("127.0.0.1", port)
        self.client.subscribe("hotline/#", qos=1)
        self.client.loop_start()

    def _message(self, client: object, userdata: object, message: Any) -> None:
        try:
            body = json.loads(message.payload)
        except ValueError:
            return
        with self.lock:
            self.messages.append((message.topic, body))

    def events_of(self, call_ids: set[str]) -> list[str]:
        with self.lock:
            return [
                m.get("type", "?")
                for _, m in self.messages
                if m.get("payload", {}).get("call_id") in call_ids
            ]

    def stop(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def _scenario(call_id: str, welcome_ms: int, intake_ms: int) -> str:
    return (
        (REPO / "bench/capacity/caller.xml")
        .read_text()
        .replace("1390000[call_number]", "[field0]")
        .replace("Call-ID: [call_id]", f"Call-ID: {call_id}")
        .replace("WELCOME_MS", str(welcome_ms))
        .replace("INTAKE_MS", str(intake_ms))
        .replace('<recv request="BYE" timeout="90000"/>', '<recv request="BYE" timeout="40000"/>')
    )


def _emergency(node: BatteryNode, call_id: str) -> tuple[int, str]:
    url = f"{node.up.api}/api/v1/calls/{urllib.parse.quote(call_id, safe='')}/emergency"
    request = urllib.request.Request(
        url,
        data=json.dumps({"line": "medical_120"}).encode(),
        method="POST",
        headers={"Authorization": f"Bearer {node.up.token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status), response.read().decode(errors="replace")[:200]
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read().decode(errors="replace")[:200]
    except OSError as exc:
        return 0, str(exc)


def run(node: BatteryNode) -> StepResult:
    started = time.monotonic()
    mark = node.mark()
    work = node.work / "events"
    make_media(work)
    listener = Listener(node.broker.port)
    numbers = caller_numbers("1393300", LEGIT_CALLS + 1)
    callers = sipp(
        work,
        target=node.edge,
        source=SOURCE,
        name="after",
        calls=LEGIT_CALLS,
        rate=1,
        scenario=_scenario("[call_id]", 11_500, 8_000),
        numbers=numbers[1:],
    )
    status, detail, answered = 0, "", None
    hostile = BareCall(
        node.edge, SOURCE, f"evil{REFUSED_CHARACTER}{uuid.uuid4().hex}@{SOURCE}", numbers[0]
    )
    try:
        answered = hostile.invite()
        if answered == 200:
            time.sleep(3)  # the worker tells the service the call was answered
            # Since issue 13 the worker gives every call its own id, and only that id reaches
            # topics and the API: the agent's request names it (found by the SIP Call-ID the
            # worker logs, printable and cut), so its command topic is no longer refused.
            calls = answered_calls(node.up.worker_log(0) + node.up.worker_log(1))
            mark_text = hostile.call_id.split(REFUSED_CHARACTER)[1][:16]
            server = next((c for c, sip in calls.items() if mark_text in sip), hostile.call_id)
            status, detail = _emergency(node, server)
        time.sleep(2)
        callers.start()
        wait_process(callers, LEGIT_CALLS + 60)
        hostile.hang_up()
        logs = node.up.worker_log(0) + node.up.worker_log(1)
        assert callers.proc is None
        ids = {
            server
            for server, sip in answered_calls(logs).items()
            if re.fullmatch(rf"\d+-\d+@{re.escape(SOURCE)}", sip)
        }
        expected = 2 * len(ids)  # call.answered and order.created of each
        deadline = time.monotonic() + WAIT_EVENTS_SECONDS
        while time.monotonic() < deadline and len(listener.events_of(ids)) < expected:
            time.sleep(1)
        arrived = listener.events_of(ids)
    finally:
        callers.stop()
        listener.stop()
    return StepResult(
        "events",
        TITLE,
        figures=(
            Figure("hostile call answered", int(answered == 200), "== 1"),
            Figure(
                "agent's emergency request for it (202: its topic is sanitised)",
                int(status == 202),
                "== 1",
            ),
            Figure("later calls", len(ids), f">= {LEGIT_CALLS}"),
            Figure(
                "their events that arrived",
                len(arrived),
                f">= {max(expected, 1)}",
                f"of {expected}",
            ),
            Figure("process deaths", len(node.deaths_since(mark)), "== 0"),
        ),
        seconds=time.monotonic() - started,
        notes=(
            f"emergency request for the hostile call: HTTP {status} {detail}",
            f"event types seen for the later calls: {sorted(set(arrived))}",
        ),
    )


TITLE = "e) a refused MQTT event (a control character in a command topic); later events arrive"
