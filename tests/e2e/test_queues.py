"""Issue #6 acceptance, queues: two (three) agents' phones, a real caller pressing 0.

Real peers on loopback: Kamailio is the edge, baresip the caller (it carries out the REFER to
the agent's phone), scripted phones registered as the agents' extensions 1001, 1002 and 1101,
the work-order service hosting the ACD, the IVR worker. Presence is set through the API as the
agents' console would. The node runs a copy of the shipped config whose agents.yaml overflows
intake after 4 s (instead of 120) and has a third agent only in complaints, and whose menu has
key 8 for callers who need a Cantonese-speaking agent.
"""

from __future__ import annotations

import json
import shutil
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Node, make_wav, running_node, wait_until
from tests.e2e.peers import REPO, Baresip
from tests.e2e.sip_phone import ScriptedPhone

pytestmark = pytest.mark.e2e

AGENTS = """\
groups:
  intake:           {label: 受理组, overflow_to: complaints, overflow_after: 4, max_wait: 90}
  complaints:       {label: 投诉组, overflow_to: intake, overflow_after: 60, max_wait: 120}
  emergency_agents: {label: 应急值守组}
agents:
  - {login: a1001, name: 张敏, extension: "1001", groups: [intake, emergency_agents],
     skills: [mandarin, cantonese]}
  - {login: a1002, name: 李强, extension: "1002", groups: [intake, complaints], skills: [mandarin]}
  - {login: a1101, name: 王芳, extension: "1101", groups: [complaints], skills: [mandarin]}
"""
LOGINS = ("a1001", "a1002", "a1101")
CANTONESE_FLOW = """
  cantonese_agent:
    - queue: {group: intake, skills: [cantonese], timeout: 120, on_failure: agent_unreached}
"""


@pytest.fixture(scope="module")
def acd_node(
    tmp_path_factory: pytest.TempPathFactory, prompt_audio: Path, test_model: Path
) -> Iterator[Node]:
    config = tmp_path_factory.mktemp("config") / "config"
    shutil.copytree(REPO / "config", config)
    (config / "agents.yaml").write_text(AGENTS, encoding="utf-8")
    menu = config / "menus" / "12320.yaml"
    text = menu.read_text(encoding="utf-8")
    assert "          0: agent\n" in text
    text = text.replace(
        "          0: agent\n", "          0: agent\n          8: cantonese_agent\n"
    )
    menu.write_text(text + CANTONESE_FLOW, encoding="utf-8")
    with running_node(
        tmp_path_factory.mktemp("acd-node"), prompt_audio, test_model, menu=menu,
        prompt_texts=config / "prompts" / "zh.yaml", agents=config / "agents.yaml",
    ) as started:  # fmt: skip
        yield started


@pytest.fixture(scope="module")
def silence(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_wav(tmp_path_factory.mktemp("silence") / "s.wav", ["-n"], ["trim", "0", "120"])


def api(node: Node, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    request = urllib.request.Request(
        node.api + path,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {node.token}", "Content-Type": "application/json"},
        method=method,
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.load(response)


def presence(node: Node, login: str, state: str) -> None:
    api(node, "PUT", f"/api/v1/agents/{login}/presence", {"state": state})


@pytest.fixture
def agents_off(acd_node: Node) -> Iterator[None]:
    for login in LOGINS:
        presence(acd_node, login, "offline")
    yield
    for login in LOGINS:
        presence(acd_node, login, "offline")


class Call:
    """A baresip caller that dials the hotline, waits for the menu and presses a key."""

    def __init__(self, node: Node, tmp_path: Path, silence: Path, number: str) -> None:
        self.node = node
        self.number = number
        self.caller = Baresip(
            tmp_path / f"caller-{number}", user=number, proxy_port=node.edge_port,
            audio_source=silence,
        )  # fmt: skip

    def __enter__(self) -> Call:
        self.caller.start()
        self.caller.command("dial", f"sip:12320@127.0.0.1:{self.node.edge_port}")
        self.caller.wait_event("CALL_ESTABLISHED", 15)
        return self

    def __exit__(self, *exc: object) -> None:
        self.caller.stop()

    def press(self, key: str) -> None:
        self.caller.command("sndcode", key)

    def after_menu_press(self, key: str) -> str:
        """Waits out the greeting, presses ``key``; the IVR's Call-ID of this call."""
        time.sleep(self.node.prompt_seconds("welcome") + 1.0)
        self.press(key)
        answered = wait_until(
            lambda: [
                m for _, m in list(self.node.pops.messages)
                if m["type"] == "call.answered" and m["payload"]["caller_number"] == self.number
            ],
            10,
            "the screen-pop of the call",
        )  # fmt: skip
        return str(answered[-1]["payload"]["call_id"])

    def queued(self, call_id: str) -> dict[str, Any]:
        """The ACD's view of the call (``{}`` until the IVR has queued it)."""
        quoted = urllib.parse.quote(call_id, safe="")
        try:
            return dict(api(self.node, "GET", f"/api/v1/queues/calls/{quoted}"))
        except urllib.error.HTTPError as error:
            if error.code == 404:
                return {}
            raise

    def connected(self, call_id: str) -> dict[str, Any]:
        return dict(
            wait_until(
                lambda: self.queued(call_id).get("status") == "connected" and self.queued(call_id),
                20,
                "the transfer to the agent answered",
            )
        )


def agent_pops(node: Node, login: str, call_id: str) -> list[dict[str, Any]]:
    with node.pops.lock:
        return [
            m for t, m in node.pops.messages
            if t == f"hotline/agents/{login}/pops" and m["payload"]["call_id"] == call_id
        ]  # fmt: skip


@pytest.mark.parametrize(
    ("first", "second", "phone"),
    [("a1002", "a1001", "1002"), ("a1001", "a1002", "1001")],
)
def test_the_agent_idle_longer_gets_the_call(
    acd_node: Node, agents_off: None, tmp_path: Path, silence: Path,
    first: str, second: str, phone: str,
) -> None:  # fmt: skip
    number = f"1360000{phone}"
    phones = {ext: ScriptedPhone.at(acd_node.edge, ext, "answer")
              for ext in ("1001", "1002")}  # fmt: skip
    try:
        presence(acd_node, first, "ready")
        time.sleep(1.5)
        presence(acd_node, second, "ready")
        with Call(acd_node, tmp_path, silence, number) as call:
            call_id = call.after_menu_press("0")
            wait_until(lambda: phones[phone].invites, 30, f"the call at {phone}")
            status = call.connected(call_id)
    finally:
        for started in phones.values():
            started.stop()
    other = "1001" if phone == "1002" else "1002"
    assert phones[other].invites == []
    invite = phones[phone].invites[0]
    assert number in phones[phone].header_values("From")[0]
    assert f"X-Hotline-Call: {call_id}" in invite
    assert "?" not in invite.split("\r\n", 1)[0]  # the edge moved the context into headers
    assert status["group"] == "intake"
    (pop,) = wait_until(lambda: agent_pops(acd_node, first, call_id), 5, "the agent's pop")
    assert pop["type"] == "call.offered"
    assert pop["payload"]["caller_number"] == number
    assert pop["payload"]["menu_path"] == ["0"]
    assert agent_pops(acd_node, second, call_id) == []


def test_a_call_needing_a_skill_goes_to_the_one_agent_who_has_it(
    acd_node: Node, agents_off: None, tmp_path: Path, silence: Path
) -> None:
    phones = {ext: ScriptedPhone.at(acd_node.edge, ext, "answer")
              for ext in ("1001", "1002")}  # fmt: skip
    try:
        presence(acd_node, "a1002", "ready")  # idle longer, but no Cantonese
        time.sleep(1.5)
        presence(acd_node, "a1001", "ready")
        with Call(acd_node, tmp_path, silence, "13600000008") as call:
            call_id = call.after_menu_press("8")
            wait_until(lambda: phones["1001"].invites, 30, "the call at 1001")
            call.connected(call_id)
    finally:
        for started in phones.values():
            started.stop()
    assert phones["1002"].invites == []
    wait_until(lambda: agent_pops(acd_node, "a1001", call_id), 5, "the agent's pop")


def test_with_no_ready_agent_in_the_group_the_call_overflows(
    acd_node: Node, agents_off: None, tmp_path: Path, silence: Path
) -> None:
    phones = {ext: ScriptedPhone.at(acd_node.edge, ext, "answer")
              for ext in ("1001", "1101")}  # fmt: skip
    try:
        presence(acd_node, "a1001", "away")  # intake is staffed, nobody ready
        presence(acd_node, "a1101", "ready")  # complaints only
        with Call(acd_node, tmp_path, silence, "13600000011") as call:
            call_id = call.after_menu_press("0")
            waiting = wait_until(lambda: call.queued(call_id), 10, "the call in the queue")
            assert (waiting["status"], waiting["group"]) == ("waiting", "intake")
            wait_until(lambda: phones["1101"].invites, 30, "the call at 1101 after the overflow")
            final = call.connected(call_id)
    finally:
        for started in phones.values():
            started.stop()
    assert phones["1001"].invites == []
    assert final["group"] == "complaints"
    wait_until(lambda: agent_pops(acd_node, "a1101", call_id), 5, "the agent's pop")


def test_an_agent_who_does_not_answer_is_set_away_and_the_next_gets_the_call(
    acd_node: Node, agents_off: None, tmp_path: Path, silence: Path
) -> None:
    phones = {"1001": ScriptedPhone.at(acd_node.edge, "1001", "busy"),
              "1002": ScriptedPhone.at(acd_node.edge, "1002", "answer")}  # fmt: skip
    try:
        presence(acd_node, "a1001", "ready")  # longest idle, but the phone is busy
        time.sleep(1.0)
        presence(acd_node, "a1002", "ready")
        with Call(acd_node, tmp_path, silence, "13600000012") as call:
            call_id = call.after_menu_press("0")
            wait_until(lambda: phones["1002"].invites, 40, "the call at 1002")
            call.connected(call_id)
    finally:
        for started in phones.values():
            started.stop()
    assert len(phones["1001"].invites) == 1
    agents = {a["login"]: a for a in api(acd_node, "GET", "/api/v1/agents")["items"]}
    assert agents["a1001"]["state"] == "away"  # RONA
    assert agents["a1002"]["state"] == "busy"


def test_the_caller_leaves_a_callback_request_instead_of_waiting(
    acd_node: Node, agents_off: None, tmp_path: Path, silence: Path
) -> None:
    number = "13600000013"
    presence(acd_node, "a1001", "away")  # staffed, nobody ready: the caller waits
    with Call(acd_node, tmp_path, silence, number) as call:
        call_id = call.after_menu_press("0")
        wait_until(lambda: call.queued(call_id).get("status") == "waiting", 10, "queued")
        time.sleep(acd_node.prompt_seconds("queue_next") + 0.5)
        call.press("1")
        (order,) = wait_until(lambda: acd_node.orders(number), 15, "the callback order")
        left = call.queued(call_id)
    assert order["flags"] == ["callback", "callback_requested"]
    assert order["menu_path"] == ["0"]
    assert (left["status"], left["detail"]) == ("left", "callback")


def test_an_emergency_whose_line_is_down_goes_to_a_ready_emergency_agent(
    acd_node: Node, agents_off: None, tmp_path: Path, silence: Path
) -> None:
    number = "13600000014"
    phone = ScriptedPhone.at(acd_node.edge, "1001", "answer")
    try:
        presence(acd_node, "a1001", "ready")  # 120 and its backup are not registered
        with Call(acd_node, tmp_path, silence, number) as call:
            time.sleep(acd_node.prompt_seconds("welcome") + 1.0)
            call.press("9")
            time.sleep(1.0)
            call.press("1")
            wait_until(lambda: phone.invites, 60, "the call at the emergency agent")
            (order,) = wait_until(lambda: acd_node.orders(number), 10, "the urgent order")

            def attempts() -> list[dict[str, Any]]:
                items = api(acd_node, "GET", f"/api/v1/workorders/{order['number']}/ledger")
                return [e["data"] for e in items["items"] if e["action"] == "transfer_attempt"]

            recorded = wait_until(lambda: len(attempts()) >= 3 and attempts(), 15, "attempts")
    finally:
        phone.stop()
    assert f"X-Hotline-Order: {order['number']}" in phone.invites[0]
    assert [(a["target"].split(":")[1].split("@")[0], a["outcome"], a["fallback"])
            for a in recorded] == [
        ("120", "refused", False), ("120-backup", "refused", False), ("1001", "answered", True),
    ]  # fmt: skip
    (pop,) = wait_until(
        lambda: [m for t, m in list(acd_node.pops.messages) if t == "hotline/agents/a1001/pops"
                 and m["payload"]["order_number"] == order["number"]],
        5, "the agent's pop",
    )  # fmt: skip
    assert pop["payload"]["priority"] == "emergency"
