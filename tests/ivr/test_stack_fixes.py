"""The signalling fixes of the pyVoIP adapter (notes' defect numbers in brackets), each
checked on the sans-io stack; and a recorded baresip INVITE relayed by Kamailio replayed
through it (``tests/data/sip``, captured for tests/ivr/test_normalise.py)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from ivr.sip.stack import events as ev
from ivr.sip.stack.dialog import response_to
from ivr.sip.stack.message import SipRequest, SipResponse, parse_message, request
from ivr.sip.stack.transaction import Address
from tests.ivr.stack_net import FakeNetwork

pytestmark = pytest.mark.unit

DATA = Path(__file__).resolve().parents[1] / "data" / "sip"
KAMAILIO: Address = ("127.0.0.1", 5060)
IVR: Address = ("127.0.0.1", 5071)
BARESIP: Address = ("127.0.0.1", 60974)
SDP = b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"


def replayed_call(net: FakeNetwork) -> str:
    """The recorded INVITE arrives from Kamailio; the IVR answers and Kamailio relays the ACK."""
    net.agent(*IVR, user="12320")
    net.listen(KAMAILIO)
    invite = parse_message((DATA / "baresip-via-kamailio-invite.sip").read_bytes())
    assert isinstance(invite, SipRequest)
    net.inject(invite, KAMAILIO, IVR)
    net.run(0.1)
    [incoming] = net.events[IVR]
    assert isinstance(incoming, ev.IncomingCall)
    assert incoming.offer is not None and b"telephone-event" in incoming.offer
    net.agents[IVR].apply(ev.Answer(incoming.call, SDP), net.now)
    net.run(0.1)
    ok = net.raw_inbox[KAMAILIO][-1]
    assert isinstance(ok, SipResponse) and ok.status == 200
    ack_headers = (
        ("Via", "SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKack1"),
        ("Via", "SIP/2.0/UDP 127.0.0.1:60974;rport=60974;branch=z9hG4bKack0"),
        ("Max-Forwards", "69"),
        ("From", ok.header("From") or ""),
        ("To", ok.header("To") or ""),
        ("Call-ID", ok.call_id),
        ("CSeq", f"{ok.cseq.number} ACK"),
    )
    net.inject(request("ACK", ok.contacts[0].uri, ack_headers), KAMAILIO, IVR)
    net.run(0.1)
    assert net.events[IVR][-1] == ev.CallConfirmed(incoming.call, None)
    return incoming.call


def test_replayed_baresip_invite_is_answered_through_kamailio() -> None:
    net = FakeNetwork()
    call = replayed_call(net)
    trying, ok = net.raw_inbox[KAMAILIO][:2]
    assert isinstance(trying, SipResponse) and trying.status == 100
    assert isinstance(ok, SipResponse)
    assert trying.to.tag is None and ok.to.tag is not None
    assert len(ok.vias) == 2  # both Vias back, Kamailio's first
    assert [str(r) for r in ok.record_route] == ["<sip:127.0.0.1;lr=on;ftag=cf994fb320ba9cec>"]
    assert ok.contacts[0].uri == "sip:12320@127.0.0.1:5071"
    assert ok.body == SDP
    assert call == "94f3c1f0fb5cac62"


def test_fix_13_in_dialog_requests_carry_the_route_set_and_our_own_cseq() -> None:
    """[13] pyVoIP's in-dialog requests had no Route set and a CSeq of INVITE+1; the
    REFER (blind transfer) and BYE now follow Record-Route via Kamailio to the caller's
    Contact with our own, increasing CSeq, and the NOTIFYs are answered and reported."""
    net = FakeNetwork()
    call = replayed_call(net)
    net.agents[IVR].apply(ev.Refer(call, "sip:1000@127.0.0.1", (("X-Queue", "a b"),)), net.now)
    net.run(0.1)
    refer = net.raw_inbox[KAMAILIO][-1]
    assert isinstance(refer, SipRequest) and refer.method == "REFER"
    assert net.wire[-1].destination == KAMAILIO  # the first route, not the Contact
    assert refer.uri == "sip:13800138000-0x55c905e44380@127.0.0.1:60974"
    assert refer.header_values("Route") == ("<sip:127.0.0.1;lr=on;ftag=cf994fb320ba9cec>",)
    assert refer.header("Refer-To") == "<sip:1000@127.0.0.1?X-Queue=a%20b>"
    assert refer.from_.tag == net.agents[IVR].calls[call].local_tag
    assert refer.to.tag == "cf994fb320ba9cec"
    net.inject(response_to(refer, 202), KAMAILIO, IVR)
    for number, (frag, state) in enumerate(
        [(b"SIP/2.0 100 Trying\r\n", "active"), (b"SIP/2.0 200 OK\r\n", "terminated")]
    ):
        notify = request(
            "NOTIFY",
            "sip:12320@127.0.0.1:5071",
            (
                ("Via", f"SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKn{number}"),
                ("From", str(refer.to)),
                ("To", str(refer.from_)),
                ("Call-ID", call),
                ("CSeq", f"{5083 + number} NOTIFY"),
                ("Event", "refer"),
                ("Subscription-State", state),
                ("Content-Type", "message/sipfrag"),
            ),
            frag,
        )
        net.inject(notify, KAMAILIO, IVR)
        net.run(0.1)
    assert net.events[IVR][-3:] == [
        ev.ReferProgress(call, 202, False),
        ev.ReferProgress(call, 100, False),
        ev.ReferProgress(call, 200, True),
    ]
    assert len(net.sent("200 NOTIFY")) == 2
    net.agents[IVR].apply(ev.HangUp(call), net.now)
    net.run(0.1)
    bye = net.raw_inbox[KAMAILIO][-1]
    assert isinstance(bye, SipRequest) and bye.method == "BYE"
    assert bye.cseq.number == refer.cseq.number + 1
    assert bye.header_values("Route") == refer.header_values("Route")


def test_fix_14_responses_go_to_the_via_address_not_a_configured_server() -> None:
    """[14] pyVoIP sent every reply to the configured server; replies now follow the top
    Via, with ``received``/``rport`` when the request came from elsewhere (RFC 3581)."""
    net = FakeNetwork()
    net.agent(*IVR, user="12320")
    nat: Address = ("192.0.2.7", 40000)
    net.listen(nat)
    options = request(
        "OPTIONS",
        "sip:12320@127.0.0.1:5071",
        (
            ("Via", "SIP/2.0/UDP 10.1.1.1:5060;branch=z9hG4bKprobe;rport"),
            ("From", "<sip:probe@10.1.1.1>;tag=p"),
            ("To", "<sip:12320@127.0.0.1>"),
            ("Call-ID", "probe-1"),
            ("CSeq", "1 OPTIONS"),
        ),
    )
    net.inject(options, nat, IVR)
    net.run(0.1)
    [reply] = net.raw_inbox[nat]
    assert isinstance(reply, SipResponse) and reply.status == 200
    assert reply.vias[0].received == "192.0.2.7" and reply.vias[0].rport == 40000
    assert "INVITE" in (reply.header("Allow") or "")
    assert net.events[IVR] == [ev.OptionsProbe(nat, False)]


def test_fix_12_call_ids_are_random_not_a_counter() -> None:
    """[12] pyVoIP's Call-IDs repeated after every restart (a hash of a counter)."""
    ids = set()
    for _ in range(2):  # two "processes"
        net = FakeNetwork()
        ua = net.agent("10.0.0.1")
        ids |= {ua.apply(ev.Invite("sip:x@10.0.0.2", SDP), net.now) for _ in range(50)}
    assert len(ids) == 100


def test_fix_8_compact_lowercase_and_repeated_headers_reach_the_call() -> None:
    """[8] pyVoIP needed ``Name: value`` exactly, kept one header of a name (losing
    Record-Route) and dropped non-UTF-8 display names; all of these now reach the call."""
    raw = (DATA / "baresip-via-kamailio-invite.sip").read_bytes()
    raw = raw.replace(b"From: <sip:", 'f: "张三" <sip:'.encode("gbk"))
    raw = raw.replace(b"Call-ID:", b"i:").replace(b"Contact:", b"m:").replace(b"To:", b"to :")
    raw = raw.replace(
        b"Record-Route: <sip:127.0.0.1;",
        b"Record-Route: <sip:edge2;lr>\r\nrecord-route: <sip:127.0.0.1;",
    )
    net = FakeNetwork()
    net.agent(*IVR, user="12320")
    net.listen(KAMAILIO)
    net.agents[IVR].receive(raw, KAMAILIO, net.now)
    [incoming] = [e for e in [net.agents[IVR].next_event()] if e]
    assert isinstance(incoming, ev.IncomingCall)
    assert len(incoming.request.record_route) == 2
    net.agents[IVR].apply(ev.Answer(incoming.call, SDP), net.now)
    ok = parse_message(net.agents[IVR].outgoing()[-1][0])
    assert len(ok.record_route) == 2
    assert "张三".encode("gbk") in ok.serialise()


def test_unparseable_datagrams_are_counted_never_raised() -> None:
    net = FakeNetwork()
    ua = net.agent(*IVR)
    for junk in (b"", b"\r\n\r\n", b"\x00" * 100, b"INVITE sip:x SIP/2.0\r\n\r\n"):
        ua.receive(junk, KAMAILIO, net.now)
    assert ua.rejected_datagrams == 4
    assert ua.outgoing() == []


def test_register_answers_a_digest_challenge() -> None:
    net = FakeNetwork()
    ua = net.agent(
        "10.0.0.5", 5080, user="ivr1", domain="edge", registrar="sip:10.0.0.1", password="s3cret"
    )
    net.listen(("10.0.0.1", 5060))
    ua.apply(ev.Register(600), net.now)
    net.run(0.1)
    [first] = net.raw_inbox[("10.0.0.1", 5060)]
    assert isinstance(first, SipRequest)
    challenge = ("WWW-Authenticate", 'Digest realm="edge", nonce="abc", qop="auth"')
    net.inject(
        response_to(first, 401, to_tag="r", headers=(challenge,)),
        ("10.0.0.1", 5060),
        ("10.0.0.5", 5080),
    )
    net.run(0.1)
    second = net.raw_inbox[("10.0.0.1", 5060)][-1]
    assert isinstance(second, SipRequest)
    assert second.cseq.number == first.cseq.number + 1 and second.call_id == first.call_id
    fields = dict(
        part.strip().split("=", 1) for part in (second.header("Authorization") or "")[7:].split(",")
    )
    fields = {k: v.strip('"') for k, v in fields.items()}

    def md5(text: str) -> str:
        return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()

    ha1, ha2 = md5("ivr1:edge:s3cret"), md5("REGISTER:sip:edge")
    expected = md5(f"{ha1}:abc:{fields['nc']}:{fields['cnonce']}:auth:{ha2}")
    assert fields["response"] == expected
    contact = ("Contact", "<sip:ivr1@10.0.0.5:5080>;expires=300")
    net.inject(
        response_to(second, 200, to_tag="r", headers=(contact,)),
        ("10.0.0.1", 5060),
        ("10.0.0.5", 5080),
    )
    net.run(0.1)
    assert net.events[("10.0.0.5", 5080)] == [ev.Registered(200, 300)]
