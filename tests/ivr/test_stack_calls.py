"""Two user agents back to back through a fake network: every call flow, on a fake clock."""

from __future__ import annotations

import itertools

import pytest

from ivr.sip.stack import events as ev
from ivr.sip.stack.message import SipMessage, SipRequest, SipResponse
from ivr.sip.stack.transaction import Address
from tests.ivr.stack_net import FakeNetwork

pytestmark = pytest.mark.unit

CALLER: Address = ("10.0.0.1", 5060)
IVR: Address = ("10.0.0.2", 5060)
OFFER = (
    b"v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n"
    b"m=audio 4000 RTP/AVP 8\r\n"
)
ANSWER = OFFER.replace(b"10.0.0.1", b"10.0.0.2")
HOLD = OFFER + b"a=sendonly\r\n"


@pytest.fixture
def net() -> FakeNetwork:
    network = FakeNetwork()
    network.agent(*CALLER, user="caller")
    network.agent(*IVR, user="12320")
    return network


def call_in(net: FakeNetwork, sdp: bytes | None = OFFER) -> tuple[str, str]:
    """The caller dials the IVR; returns (caller's call id, IVR's call id)."""
    call = net.agents[CALLER].apply(ev.Invite(f"sip:12320@{IVR[0]}", sdp), net.now)
    assert call is not None
    net.run(0.1)
    incoming = [e for e in net.events[IVR] if isinstance(e, ev.IncomingCall)]
    assert len(incoming) == 1
    return call, incoming[0].call


def answered(net: FakeNetwork) -> tuple[str, str]:
    uac, uas = call_in(net)
    net.agents[IVR].apply(ev.Answer(uas, ANSWER), net.now)
    net.run(0.1)
    return uac, uas


def is_(method: str) -> object:
    def rule(m: SipMessage, source: Address, destination: Address) -> bool:
        return isinstance(m, SipRequest) and m.method == method

    return rule


def test_early_offer_call_answered_and_hung_up(net: FakeNetwork) -> None:
    uac, uas = call_in(net)
    assert net.events[IVR][0] == ev.IncomingCall(uas, OFFER, net.events[IVR][0].request, CALLER)  # type: ignore[union-attr]
    assert uac == uas  # one Call-ID end to end
    net.agents[IVR].apply(ev.Ring(uas), net.now)
    net.agents[IVR].apply(ev.Answer(uas, ANSWER), net.now)
    net.run(0.1)
    assert net.events[CALLER] == [
        ev.CallRinging(uac, 180, None),
        ev.CallAnswered(uac, ANSWER, False),
    ]
    assert net.events[IVR][1:] == [ev.CallConfirmed(uas, None)]
    net.agents[CALLER].apply(ev.HangUp(uac), net.now)
    net.run(0.1)
    assert net.events[IVR][-1] == ev.CallEnded(uas, ev.REASON_REMOTE_BYE)
    assert net.events[CALLER][-1] == ev.CallEnded(uac, ev.REASON_LOCAL_BYE, 200)
    assert len(net.sent("100 INVITE")) == 1
    assert [len(net.sent(m)) for m in ("INVITE", "ACK", "BYE")] == [1, 1, 1]
    net.run(40)  # every transaction and call is forgotten once its timers ran out
    assert all(not ua.calls and not ua.clients and not ua.servers for ua in net.agents.values())
    assert net.agents[IVR].next_timer() is None


def test_lost_2xx_and_ack_are_recovered_by_retransmission(net: FakeNetwork) -> None:
    """§13.3.1.4: the UAS core retransmits its 2xx until the ACK; the UAC ACKs each copy."""
    lost = {"200 INVITE": 2, "ACK": 1}

    def drop(m: SipMessage, source: Address, destination: Address) -> bool:
        name = m.method if isinstance(m, SipRequest) else f"{m.status} {m.cseq.method}"
        if lost.get(name, 0) > 0:
            lost[name] -= 1
            return True
        return False

    net.drop = drop
    uac, uas = answered(net)
    net.run(5)
    assert ev.CallAnswered(uac, ANSWER, False) in net.events[CALLER]
    assert net.events[IVR][-1] == ev.CallConfirmed(uas, None)
    oks = net.sent("200 INVITE")
    assert [round(w.at - oks[0].at, 2) for w in oks] == [0, 0.5, 1.5, 3.5]  # T1, 2T1, 4T1
    assert len(net.sent("ACK")) == 2
    net.run(60)
    assert len(net.sent("200 INVITE")) == 4  # the ACK stopped them


def test_duplicated_and_reordered_datagrams_change_nothing(net: FakeNetwork) -> None:
    net.duplicate = lambda m, s, d: True
    net.jitter = 0.05
    uac, _uas = answered(net)
    net.agents[CALLER].apply(ev.HangUp(uac), net.now)
    net.run(1)
    assert net.kinds(IVR) == ["IncomingCall", "CallConfirmed", "CallEnded"]
    assert net.kinds(CALLER) == ["CallAnswered", "CallEnded"]


def test_late_offer_is_reported_and_the_ack_carries_the_answer(net: FakeNetwork) -> None:
    uac, uas = call_in(net, sdp=None)
    incoming = net.events[IVR][0]
    assert isinstance(incoming, ev.IncomingCall) and incoming.offer is None
    net.agents[IVR].apply(ev.Answer(uas, OFFER), net.now)  # our offer in the 200
    net.run(0.1)
    assert net.events[CALLER] == [ev.CallAnswered(uac, OFFER, True)]
    assert net.sent("ACK") == []
    net.agents[CALLER].apply(ev.Answer(uac, ANSWER), net.now)
    net.run(0.1)
    assert net.events[IVR][-1] == ev.CallConfirmed(uas, ANSWER)


def test_late_offer_can_be_refused_by_the_caller_of_the_stack(net: FakeNetwork) -> None:
    uac, uas = call_in(net, sdp=None)
    net.agents[IVR].apply(ev.Reject(uas, 488), net.now)
    net.run(0.1)
    assert net.events[CALLER] == [ev.CallEnded(uac, ev.REASON_REJECTED, 488)]
    assert len(net.sent("ACK")) == 1  # the INVITE client transaction ACKs the 488
    net.run(10)
    assert len(net.sent("488 INVITE")) == 1  # the ACK stopped timer G


def test_fix_9_cancel_answers_200_and_487_and_the_call_is_never_answered(
    net: FakeNetwork,
) -> None:
    """[9] pyVoIP answered a CANCEL with 200 but sent no 487 and still answered the call."""
    uac, uas = call_in(net)
    net.agents[CALLER].apply(ev.HangUp(uac), net.now)
    net.run(0.1)
    assert [len(net.sent(x)) for x in ("CANCEL", "200 CANCEL", "487 INVITE")] == [1, 1, 1]
    assert net.events[IVR][1:] == [
        ev.CallCancelled(uas),
        ev.CallEnded(uas, ev.REASON_CANCELLED, 487),
    ]
    assert net.events[CALLER] == [ev.CallEnded(uac, ev.REASON_CANCELLED, 487)]
    with pytest.raises(ev_state_error()):
        net.agents[IVR].apply(ev.Answer(uas, ANSWER), net.now)


def ev_state_error() -> type[Exception]:
    from ivr.sip.stack.errors import SipStateError

    return SipStateError


def test_cancel_waits_for_a_provisional_response(net: FakeNetwork) -> None:
    net.drop = lambda m, s, d: isinstance(m, SipResponse) and m.status == 100
    uac = net.agents[CALLER].apply(ev.Invite(f"sip:12320@{IVR[0]}", OFFER), net.now)
    assert uac is not None
    net.agents[CALLER].apply(ev.HangUp(uac), net.now)
    net.run(0.1)
    assert net.sent("CANCEL") == []  # §9.1: nothing to cancel yet
    net.agents[IVR].apply(ev.Ring(uac), net.now)
    net.run(0.1)
    assert len(net.sent("CANCEL")) == 1
    assert net.events[CALLER][-1] == ev.CallEnded(uac, ev.REASON_CANCELLED, 487)


def test_fix_ack_wait_refer_and_bye_wait_for_the_ack_of_our_2xx(net: FakeNetwork) -> None:
    """The adapter's ACK_WAIT_SECONDS rule: a REFER sent before the caller's ACK of our
    200 confused the caller; in-dialog requests wait for the ACK (4 s at most)."""
    net.drop = is_("ACK")  # type: ignore[assignment]
    _uac, uas = call_in(net)
    net.agents[IVR].apply(ev.Answer(uas, ANSWER), net.now)
    net.agents[IVR].apply(ev.Refer(uas, "sip:operator@10.0.0.9"), net.now)
    net.run(3.9)
    assert net.sent("REFER") == []
    net.drop = None
    net.run(0.2)  # the 2xx retransmitted at 3.5 s is ACKed at last; the REFER follows
    acks, refers = net.sent("ACK"), net.sent("REFER")
    assert len(refers) == 1
    assert refers[0].at >= acks[-1].at


def test_without_any_ack_held_requests_go_after_ack_wait_and_the_call_ends(
    net: FakeNetwork,
) -> None:
    net.drop = is_("ACK")  # type: ignore[assignment]
    _uac, uas = call_in(net)
    start = net.now
    net.agents[IVR].apply(ev.Answer(uas, ANSWER), net.now)
    net.agents[IVR].apply(ev.HangUp(uas), net.now)
    net.run(5)
    byes = net.sent("BYE")
    assert len(byes) == 1 and round(byes[0].at - start, 1) == 4.0
    assert net.events[IVR][-1] == ev.CallEnded(uas, ev.REASON_LOCAL_BYE, 200)


def test_no_ack_at_all_ends_the_call_after_64_t1(net: FakeNetwork) -> None:
    net.drop = is_("ACK")  # type: ignore[assignment]
    _uac, uas = call_in(net)
    net.agents[IVR].apply(ev.Answer(uas, ANSWER), net.now)
    net.run(40)
    oks = net.sent("200 INVITE")
    gaps = [round(b.at - a.at, 2) for a, b in itertools.pairwise(oks)]
    assert gaps == [0.5, 1, 2, 4, 4, 4, 4, 4, 4, 4]  # T1 doubling, capped at T2
    assert ev.CallEnded(uas, ev.REASON_NO_ACK, 408) in net.events[IVR]
    assert len(net.sent("BYE", source=IVR)) == 1


def test_invite_to_nobody_times_out_with_timer_b(net: FakeNetwork) -> None:
    ua = net.agents[CALLER]
    call = ua.apply(ev.Invite("sip:nobody@10.9.9.9", OFFER), net.now)
    net.run(40)
    invites = net.sent("INVITE")
    assert [round(w.at - invites[0].at, 1) for w in invites] == [0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5]
    assert net.events[CALLER] == [ev.CallEnded(str(call), ev.REASON_TIMEOUT, 408)]


def test_reinvite_to_hold_and_back(net: FakeNetwork) -> None:
    uac, uas = answered(net)
    net.agents[CALLER].apply(ev.Reinvite(uac, HOLD), net.now)
    net.run(0.1)
    assert net.events[IVR][-1] == ev.ReInvite(uas, HOLD, True, "INVITE")
    net.agents[IVR].apply(ev.Answer(uas, ANSWER + b"a=recvonly\r\n"), net.now)
    net.run(0.1)
    assert net.events[CALLER][-1] == ev.ReInviteAnswered(uac, 200, ANSWER + b"a=recvonly\r\n")
    assert len(net.sent("ACK")) == 2
    net.agents[IVR].apply(ev.Reinvite(uas, ANSWER), net.now)  # the IVR's own re-INVITE
    net.run(0.1)
    assert net.events[CALLER][-1] == ev.ReInvite(uac, ANSWER, False, "INVITE")
    net.agents[CALLER].apply(ev.Reject(uac, 488), net.now)
    net.run(0.1)
    assert net.events[IVR][-1] == ev.ReInviteAnswered(uas, 488, None)
    net.run(40)
    assert len(net.sent("488 INVITE")) == 1


def test_reinvite_glare_is_answered_491(net: FakeNetwork) -> None:
    uac, uas = answered(net)
    net.agents[CALLER].apply(ev.Reinvite(uac, HOLD), net.now)
    net.agents[IVR].apply(ev.Reinvite(uas, ANSWER), net.now)
    net.run(0.1)
    assert len(net.sent("491 INVITE")) == 2
    assert net.events[CALLER][-1] == ev.ReInviteAnswered(uac, 491, None)


def test_dtmf_info_and_in_dialog_options(net: FakeNetwork) -> None:
    uac, uas = answered(net)
    ua = net.agents[CALLER]
    call = ua.calls[uac]
    ua.send_in_dialog(
        call,
        "INFO",
        net.now,
        (("Content-Type", "application/dtmf-relay"),),
        b"Signal=5\r\nDuration=160\r\n",
    )
    ua.send_in_dialog(call, "OPTIONS", net.now)
    net.run(0.1)
    assert net.events[IVR][-2:] == [ev.DtmfInfo(uas, "5", 160), ev.OptionsProbe(CALLER, True)]
    assert len(net.sent("200 INFO")) == 1


def test_bye_for_an_unknown_dialog_gets_481(net: FakeNetwork) -> None:
    uac, _uas = answered(net)
    ua = net.agents[CALLER]
    dialog = ua.calls[uac].dialog
    assert dialog is not None
    stray = dialog.request("BYE", CALLER).with_header("Call-ID", "nope@10.0.0.1")
    net.inject(stray, CALLER, IVR)
    net.run(0.1)
    assert len(net.sent("481 BYE")) == 1
