"""RFC 3261 §17 transactions on their own, and the stack's purity (no I/O imports)."""

from __future__ import annotations

import ast
import itertools
from pathlib import Path

import pytest

from ivr.sip.stack.dialog import response_to
from ivr.sip.stack.message import SipRequest, request
from ivr.sip.stack.transaction import (
    T2,
    InviteServer,
    NonInviteClient,
    NonInviteServer,
    Send,
    State,
    Timeout,
    server_key,
)

pytestmark = pytest.mark.unit

PEER = ("10.0.0.9", 5060)


def req(method: str, branch: str = "z9hG4bKt1") -> SipRequest:
    return request(
        method,
        "sip:a@10.0.0.1",
        (
            ("Via", f"SIP/2.0/UDP 10.0.0.9;branch={branch}"),
            ("From", "<sip:b@10.0.0.9>;tag=f"),
            ("To", "<sip:a@10.0.0.1>"),
            ("Call-ID", "tx-1"),
            ("CSeq", f"1 {method}"),
        ),
    )


def test_non_invite_client_timer_e_doubles_to_t2_and_f_gives_up() -> None:
    tx = NonInviteClient(req("OPTIONS"), PEER)
    sends = [0.0] if tx.start(0.0) else []
    outputs = []
    while (deadline := tx.next_deadline()) is not None:
        out = tx.on_timer(deadline)
        sends += [deadline for o in out if isinstance(o, Send)]
        outputs += out
    gaps = [round(b - a, 2) for a, b in itertools.pairwise(sends)]
    assert gaps[:4] == [0.5, 1, 2, 4] and set(gaps[4:]) == {T2}
    assert isinstance(outputs[-1], Timeout) and tx.state is State.TERMINATED


def test_non_invite_server_absorbs_retransmissions_and_repeats_its_answer() -> None:
    tx = NonInviteServer(req("BYE"), PEER)
    assert tx.on_request(req("BYE"), 0.1) == []  # nothing to repeat yet
    tx.respond(response_to(tx.request, 200), 0.2)
    [again] = tx.on_request(req("BYE"), 0.3)
    assert isinstance(again, Send) and again.message.status == 200  # type: ignore[union-attr]
    assert tx.on_timer(0.2 + 32) == [] and tx.terminated  # timer J


def test_invite_server_retransmits_a_non_2xx_until_the_ack() -> None:
    tx = InviteServer(req("INVITE"), PEER)
    tx.respond(response_to(tx.request, 486, to_tag="x"), 0.0)
    assert [isinstance(o, Send) for o in tx.on_timer(0.5)] == [True]  # timer G
    [repeat] = tx.on_request(req("INVITE"), 0.6)
    assert isinstance(repeat, Send)
    tx.on_request(req("ACK"), 0.7)
    assert tx.state is State.CONFIRMED
    assert tx.on_timer(1.5) == []  # G stopped
    tx.on_timer(0.7 + 5)  # timer I
    assert tx.terminated


def test_ack_and_cancel_match_their_invite_transaction() -> None:
    invite, ack, cancel = req("INVITE"), req("ACK"), req("CANCEL")
    assert server_key(ack) == server_key(invite)
    assert server_key(cancel) != server_key(invite)


def test_rfc_2543_branch_matching_without_the_magic_cookie() -> None:
    """RFC 4475 §3.2.1 (badbranch): no z9hG4bK, so the transaction is found by the old rules."""
    first, again = req("INVITE", "390skdjuw"), req("INVITE", "390skdjuw")
    other = req("INVITE", "390skdjuw").with_header("Call-ID", "tx-2")
    assert server_key(first) == server_key(again) != server_key(other)
    assert server_key(first)[0] == "server-2543"


def test_the_stack_imports_no_io_library() -> None:
    forbidden = {"socket", "asyncio", "threading", "pyVoIP", "selectors", "subprocess", "time"}
    package = Path(__file__).resolve().parents[2] / "ivr" / "sip" / "stack"
    found = {}
    for path in package.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            bad = [n for n in names if n.split(".")[0] in forbidden]
            if bad:
                found[path.name] = bad
    assert found == {}
