"""Issue #5 acceptance: key 9 then 1 sends the caller to 120 at once, with context.

Real peers on loopback: baresip is the caller (it carries out the REFER), Kamailio
the edge, scripted phones play the dedicated line ``120`` and its backup (static
gateways the edge knows) and ``1901``, the first emergency agent (registered with
its password).
"""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Node, make_wav, wait_until
from tests.e2e.peers import Baresip
from tests.e2e.sip_phone import ScriptedPhone

pytestmark = pytest.mark.e2e


def _get(node: Node, path: str) -> Any:
    request = urllib.request.Request(
        node.api + path, headers={"Authorization": f"Bearer {node.token}"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.load(response)


@pytest.fixture(scope="module")
def silence(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_wav(tmp_path_factory.mktemp("silence") / "s.wav", ["-n"], ["trim", "0", "120"])


@pytest.mark.parametrize(
    ("case", "phones", "answered_by", "outcomes"),
    [
        ("120-answers", {"120": "answer"}, "120", [("120", "answered", 200)]),
        (
            "120-busy",
            {"120": "busy", "120-backup": "answer"},
            "120-backup",
            [("120", "refused", 486), ("120-backup", "answered", 200)],
        ),
        (
            "lines-down",
            {"1901": "answer"},  # the gateways of 120 and its backup do not answer
            "1901",
            [("120", "refused", 408), ("120-backup", "refused", 408), ("1901", "answered", 200)],
        ),
    ],
)
def test_emergency_key_reaches_the_line_with_an_urgent_order_recording_every_attempt(
    node: Node,
    tmp_path: Path,
    silence: Path,
    case: str,
    phones: dict[str, str],
    answered_by: str,
    outcomes: list[tuple[str, str, int]],
) -> None:
    number = {"120-answers": "13700000001", "120-busy": "13700000002"}.get(case, "13700000003")
    started = {user: ScriptedPhone.at(node.edge, user, how) for user, how in phones.items()}
    caller = Baresip(
        tmp_path / "caller", user=number, proxy_port=node.edge_port, audio_source=silence
    )
    caller.start()
    try:
        caller.command("dial", f"sip:12320@127.0.0.1:{node.edge_port}")
        caller.wait_event("CALL_ESTABLISHED", 15)
        time.sleep(node.prompt_seconds("welcome") + 1.0)
        caller.command("sndcode", "9")
        time.sleep(1.0)
        caller.command("sndcode", "1")  # barges into the emergency menu
        target = started[answered_by]
        wait_until(lambda: target.invites, 60, f"the call at {answered_by}")
        (order,) = wait_until(lambda: node.orders(number), 10, "the urgent order")

        def attempts_so_far() -> list[dict[str, Any]]:
            items = _get(node, f"/api/v1/workorders/{order['number']}/ledger")["items"]
            return [e["data"] for e in items if e["action"] == "transfer_attempt"]

        attempts = wait_until(
            lambda: len(attempts_so_far()) >= len(outcomes) and attempts_so_far(),
            15,
            "every attempt on the order",
        )
    finally:
        caller.stop()
        for phone in started.values():
            phone.stop()

    assert order["category"] == "emergency"
    assert order["flags"] == ["urgent"]
    assert order["menu_path"] == ["9", "1"]
    invite = target.invites[0]
    assert f"X-Hotline-Order: {order['number']}" in invite
    assert "X-Hotline-Category: emergency" in invite
    assert [
        (a["target"].split(":")[1].split("@")[0], a["outcome"], a["code"]) for a in attempts
    ] == outcomes
    assert {a["line"] for a in attempts} == {"medical_120"}
    assert attempts[-1]["fallback"] is (answered_by == "1901")
    # The IVR's leg ended once the line had the caller: the worker logged the call finished.
    wait_until(lambda: f"call {order['call_id']} finished" in node.worker.log(), 15, "IVR leg end")


def test_an_agent_sends_a_caller_in_the_menu_to_120_through_the_api(
    node: Node, tmp_path: Path, silence: Path
) -> None:
    number = "13700000009"
    phone = ScriptedPhone.at(node.edge, "120", "answer")
    caller = Baresip(
        tmp_path / "caller", user=number, proxy_port=node.edge_port, audio_source=silence
    )
    caller.start()
    try:
        caller.command("dial", f"sip:12320@127.0.0.1:{node.edge_port}")
        caller.wait_event("CALL_ESTABLISHED", 15)
        answered = wait_until(
            lambda: [
                m
                for _, m in list(node.pops.messages)
                if m["type"] == "call.answered" and m["payload"]["caller_number"] == number
            ],
            10,
            "the screen-pop of the call",
        )
        call_id = answered[0]["payload"]["call_id"]
        request = urllib.request.Request(
            f"{node.api}/api/v1/calls/{call_id}/emergency",
            data=json.dumps({"line": "medical_120"}).encode(),
            headers={"Authorization": f"Bearer {node.token}", "Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 202
        wait_until(lambda: phone.invites, 60, "the call at 120")
        (order,) = wait_until(lambda: node.orders(number), 10, "the urgent order")
    finally:
        caller.stop()
        phone.stop()
    assert order["category"] == "emergency"
    assert f"X-Hotline-Order: {order['number']}" in phone.invites[0]
