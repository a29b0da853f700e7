"""The stack's message codec on hand-written messages (the corpora are in test_stack_corpus)."""

from __future__ import annotations

import pytest

from ivr.sip.stack.errors import SipParseError
from ivr.sip.stack.grammar import NameAddr, parse_name_addr, parse_via
from ivr.sip.stack.message import SipRequest, SipResponse, parse_message

pytestmark = pytest.mark.unit

INVITE = (
    b"INVITE sip:12320@10.0.0.1 SIP/2.0\r\n"
    b"v: SIP/2.0/UDP 10.0.0.9:5070;branch=z9hG4bK1;rport, SIP/2.0/UDP 10.0.0.8;branch=z9hG4bK0\r\n"
    b'f: "\xe5\xbc\xa0\xe4\xb8\x89" <sip:caller@10.0.0.9>;tag=a1\r\n'
    b"t: <sip:12320@10.0.0.1>\r\n"
    b"i: abc@10.0.0.9\r\n"
    b"CSeq: 1 INVITE\r\n"
    b"m: <sip:caller@10.0.0.9:5070>\r\n"
    b"Record-Route: <sip:edge1;lr>, <sip:edge2;lr>\r\n"
    b"Record-Route: <sip:edge3;lr>\r\n"
    b"k: replaces, timer\r\n"
    b"c: application/sdp\r\n"
    b"l: 4\r\n"
    b"\r\n"
    b"v=0\r\n"
)


def test_compact_and_list_headers_are_expanded_and_split() -> None:
    m = parse_message(INVITE)
    assert isinstance(m, SipRequest)
    assert m.call_id == "abc@10.0.0.9"
    assert [v.branch for v in m.vias] == ["z9hG4bK1", "z9hG4bK0"]
    assert [r.uri for r in m.record_route] == ["sip:edge1;lr", "sip:edge2;lr", "sip:edge3;lr"]
    assert m.header_values("supported") == ("replaces", "timer")
    assert m.content_type == "application/sdp"
    assert m.contacts == (NameAddr("sip:caller@10.0.0.9:5070"),)
    assert m.body == b"v=0\r"  # Content-Length counts, not the datagram's end


def test_non_utf8_display_names_survive_a_round_trip() -> None:
    gbk = INVITE.replace("张三".encode(), "张三".encode("gbk"))
    m = parse_message(gbk)
    assert parse_message(m.serialise()) == m
    assert "张三".encode("gbk") in m.serialise()


def test_serialise_recomputes_content_length() -> None:
    m = parse_message(INVITE).with_header("Subject", "x")
    wire = m.serialise()
    assert b"Content-Length: 4\r\n\r\nv=0\r" in wire
    assert wire.count(b"Content-Length") == 1


def test_bare_line_feeds_and_folded_lines_are_accepted() -> None:
    m = parse_message(INVITE.replace(b"\r\n", b"\n").replace(b"CSeq: 1", b"CSeq:\n 1"))
    assert m.cseq.number == 1
    assert m.body == b"v=0\n"


def test_a_response_is_parsed() -> None:
    m = parse_message(b"SIP/2.0 180 Ringing\r\n" + INVITE.split(b"\r\n", 1)[1])
    assert isinstance(m, SipResponse)
    assert (m.status, m.reason) == (180, "Ringing")


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "no blank line after the headers"),
        (b"\r\n\r\n", "no blank line after the headers"),  # keep-alive
        (INVITE.replace(b"CSeq: 1 INVITE", b"CSeq: 1 BYE"), "CSeq method does not match"),
        (INVITE.replace(b"i: abc@10.0.0.9\r\n", b""), "missing Call-ID"),
        (INVITE.replace(b"l: 4", b"l: 5000"), "Content-Length larger than the message"),
        (INVITE.replace(b"SIP/2.0/UDP 10.0.0.8", b"SIP/2.0/UDP"), "malformed Via"),
        (INVITE.replace(b"INVITE sip", b"INVITE  sip"), "bad request line"),
        (INVITE.replace(b"t: <sip:", b"t: <tel"), "To is not a URI"),
    ],
)
def test_what_must_be_refused_raises_sip_parse_error(data: bytes, reason: str) -> None:
    with pytest.raises(SipParseError, match=reason):
        parse_message(data)


def test_name_addr_forms() -> None:
    assert parse_name_addr("sip:a@b;tag=1", "From") == NameAddr("sip:a@b", None, (("tag", "1"),))
    quoted = parse_name_addr('"A \\"B\\"" <sip:a@b;lr>;tag=2', "From")
    assert (quoted.display, quoted.uri, quoted.tag) == ('A "B"', "sip:a@b;lr", "2")
    assert parse_name_addr(str(quoted), "From") == quoted
    assert str(NameAddr("sip:x@y").with_tag("t")) == "<sip:x@y>;tag=t"


def test_via_reply_address_follows_received_and_rport() -> None:
    via = parse_via("SIP/2.0/UDP 10.0.0.9:5070;branch=z9hG4bK1;rport")
    assert via.reply_to() == ("10.0.0.9", 5070)
    nat = via.with_params(received="192.0.2.1", rport="40000")
    assert nat.reply_to() == ("192.0.2.1", 40000)
    assert parse_via(str(nat)) == nat
    assert parse_via("SIP/2.0/UDP [::1];branch=z9hG4bKx").reply_to() == ("::1", 5060)
