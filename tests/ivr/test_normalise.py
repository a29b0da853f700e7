"""normalise(): SIP datagrams rewritten into what pyVoIP 1.6.8 parses, or rejected with a reason.

Every accepted message is handed to pyVoIP's own ``SIPMessage`` here, and every
accepted INVITE to pyVoIP's own ``VoIPCall`` (on a stub phone), because "pyVoIP
can digest it" is the whole contract.
"""

from __future__ import annotations

from typing import Any

import pytest
import pyVoIP.VoIP  # must come before pyVoIP.SIP (circular import in pyVoIP)
from pyVoIP import RTP, SIP
from pyVoIP.VoIP.VoIP import CallState

from ivr.sip.normalise import SipRejected, normalise

pytestmark = pytest.mark.unit

BARESIP_VIA_KAMAILIO = (
    b"INVITE sip:12320@127.0.0.1:5071 SIP/2.0\r\n"
    b"Record-Route: <sip:127.0.0.1;lr=on;ftag=cf994fb320ba9cec>\r\n"
    b"Via: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKb032.eb4ccbc06fa641703d517c2281711e6f.1\r\n"
    b"Via: SIP/2.0/UDP 127.0.0.1:60974;received=127.0.0.1;branch=z9hG4bK72d6f66106a021fc"
    b";rport=60974\r\n"
    b"Contact: <sip:13800138000-0x55c905e44380@127.0.0.1:60974>\r\n"
    b"Max-Forwards: 69\r\n"
    b"To: <sip:12320@127.0.0.1:5060>\r\n"
    b"From: <sip:13800138000@127.0.0.1:5060>;tag=cf994fb320ba9cec\r\n"
    b"Call-ID: 94f3c1f0fb5cac62\r\n"
    b"CSeq: 5082 INVITE\r\n"
    b"User-Agent: baresip v1.0.0 (x86_64/linux)\r\n"
    b"Allow: INVITE,ACK,BYE,CANCEL,OPTIONS,NOTIFY,SUBSCRIBE,INFO,MESSAGE,REFER\r\n"
    b"Supported:\r\n"
    b"Content-Type: application/sdp\r\n"
    b"Content-Length: 325\r\n"
    b"\r\n"
    b"v=0\r\n"
    b"o=- 1440023640 855860516 IN IP4 127.0.0.1\r\n"
    b"s=-\r\n"
    b"c=IN IP4 127.0.0.1\r\n"
    b"t=0 0\r\n"
    b"a=tool:baresip 1.0.0\r\n"
    b"m=audio 54524 RTP/AVP 0 101\r\n"
    b"a=rtpmap:0 PCMU/8000\r\n"
    b"a=rtpmap:101 telephone-event/8000\r\n"
    b"a=fmtp:101 0-15\r\n"
    b"a=sendrecv\r\n"
    b"a=label:1\r\n"
    b"a=rtcp-rsize\r\n"
    b"a=ssrc:3852522244 cname:sip:13800138000@127.0.0.1:5060\r\n"
    b"a=minptime:20\r\n"
    b"a=ptime:20\r\n"
)

SDP = [
    "v=0",
    "o=- 1 1 IN IP4 192.0.2.10",
    "s=-",
    "c=IN IP4 192.0.2.10",
    "t=0 0",
    "m=audio 40000 RTP/AVP 8 0 101",
    "a=rtpmap:8 PCMA/8000",
    "a=rtpmap:0 PCMU/8000",
    "a=rtpmap:101 telephone-event/8000",
    "a=fmtp:101 0-16",
    "a=sendrecv",
]

HEADERS = [
    "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-1",
    'From: "Caller" <sip:13800138000@192.0.2.1>;tag=abc',
    "To: <sip:12320@192.0.2.2>",
    "Call-ID: call-1@192.0.2.1",
    "CSeq: 1 INVITE",
    "Contact: <sip:13800138000@192.0.2.1:5060>",
    "Max-Forwards: 70",
    "Content-Type: application/sdp",
]


def message(
    headers: list[str] = HEADERS,
    sdp: list[str] | None = SDP,
    start: str = "INVITE sip:12320@192.0.2.2 SIP/2.0",
) -> bytes:
    body = "".join(line + "\r\n" for line in sdp or [])
    return (start + "\r\n" + "".join(h + "\r\n" for h in headers) + "\r\n" + body).encode()


def replace_header(name: str, *lines: str, headers: list[str] = HEADERS) -> list[str]:
    """HEADERS with every ``name:`` line replaced by ``lines`` (at its first place)."""
    out: list[str] = []
    for header in headers:
        if header.split(":", 1)[0] == name:
            out.extend(line for line in lines if line not in out)
        else:
            out.append(header)
    return out


def replace_sdp(prefix: str, *lines: str, sdp: list[str] = SDP) -> list[str]:
    out: list[str] = []
    for line in sdp:
        if line.startswith(prefix):
            out.extend(line_ for line_ in lines if line_ not in out)
        else:
            out.append(line)
    return out


def parse(raw: bytes) -> Any:
    return SIP.SIPMessage(normalise(raw))


class StubPhone:
    """Just enough of VoIPPhone, names and all, for pyVoIP's VoIPCall to read an offer."""

    sip = None
    rtpPortLow = 30000
    rtpPortHigh = 30010

    def request_port(self, blocking: bool = True) -> int:
        return 30000

    def release_ports(self, call: Any = None) -> None:
        pass


def answer_side(request: Any) -> list[Any]:
    """pyVoIP's RTP clients for an offer, as VoIPCall.__init__ builds them on a ringing call."""
    call = pyVoIP.VoIP.VoIPCall(
        StubPhone(),  # type: ignore[arg-type]
        CallState.RINGING,
        request,
        1,
        "127.0.0.1",
        sendmode=RTP.TransmitType.SENDRECV,
    )
    return list(call.RTPClients)


def assert_answerable(request: Any, address: str, port: int) -> dict[int, Any]:
    body = request.body
    assert len(body["c"]) == 1
    audio = [m for m in body["m"] if m["type"] == "audio"]
    assert len(audio) == 1
    assert audio[0]["port_count"] == body["c"][0]["address_count"] == 1
    clients = answer_side(request)
    assert len(clients) == 1
    client = clients[0]
    assert (client.outIP, client.outPort) == (address, port)
    assert client.preference in (RTP.PayloadType.PCMU, RTP.PayloadType.PCMA)
    return dict(client.assoc)


# ----------------------------------------------------------------------------
# The real thing


def test_baresip_invite_relayed_by_kamailio() -> None:
    normalised = normalise(BARESIP_VIA_KAMAILIO)
    assert b"Supported:" not in normalised  # the empty header crashed pyVoIP
    request = SIP.SIPMessage(normalised)
    assert request.method == "INVITE"
    assert request.headers["Record-Route"] == "<sip:127.0.0.1;lr=on;ftag=cf994fb320ba9cec>"
    assert [via["address"] for via in request.headers["Via"]] == [
        ("127.0.0.1", "5060"),
        ("127.0.0.1", "60974"),
    ]
    assert request.headers["Via"][0]["branch"] == "z9hG4bKb032.eb4ccbc06fa641703d517c2281711e6f.1"
    assert request.headers["Via"][1]["rport"] == "60974"
    assert request.headers["From"]["number"] == "13800138000"
    assert request.headers["From"]["tag"] == "cf994fb320ba9cec"
    assert request.headers["To"]["number"] == "12320"
    assert request.headers["Call-ID"] == "94f3c1f0fb5cac62"
    assert request.headers["CSeq"] == {"check": "5082", "method": "INVITE"}
    body_text = normalised.split(b"\r\n\r\n", 1)[1]
    assert request.headers["Content-Length"] == len(body_text)
    [audio] = request.body["m"]
    assert (audio["port"], audio["methods"]) == (54524, ["0", "101"])
    assert audio["attributes"]["101"]["rtpmap"]["name"] == "telephone-event"
    assert request.body["c"][0]["address"] == "127.0.0.1"
    assert request.body["a"]["transmit_type"] == RTP.TransmitType.SENDRECV
    assoc = assert_answerable(request, "127.0.0.1", 54524)
    assert assoc == {0: RTP.PayloadType.PCMU, 101: RTP.PayloadType.EVENT}


def test_normalising_twice_changes_nothing() -> None:
    once = normalise(BARESIP_VIA_KAMAILIO)
    assert normalise(once) == once
    assert normalise(message()) == normalise(normalise(message()))


# ----------------------------------------------------------------------------
# Header dialects pyVoIP does not read


def test_compact_header_names() -> None:
    headers = [
        "v: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK-c",
        "f: <sip:13800138000@192.0.2.1>;tag=1",
        "t: <sip:12320@192.0.2.2>",
        "i: compact@192.0.2.1",
        "CSeq: 1 INVITE",
        "m: <sip:13800138000@192.0.2.1>",
        "c: application/sdp",
        "l: 9999",
        "k: timer",
    ]
    request = parse(message(headers))
    assert request.headers["Call-ID"] == "compact@192.0.2.1"
    assert request.headers["From"]["number"] == "13800138000"
    assert request.headers["To"]["number"] == "12320"
    assert request.headers["Via"][0]["branch"] == "z9hG4bK-c"
    assert request.headers["Contact"] == "<sip:13800138000@192.0.2.1>"
    assert request.headers["Supported"] == ["timer"]
    assert request.headers["Content-Type"] == "application/sdp"
    assert request.body["m"][0]["port"] == 40000
    assert request.headers["Content-Length"] != 9999  # recomputed, not copied


def test_compact_names_are_case_insensitive_too() -> None:
    headers = [
        "V: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK-C",
        "F: <sip:13800138000@192.0.2.1>;tag=1",
        "T: <sip:12320@192.0.2.2>",
        "I: upper@192.0.2.1",
        "CSeq: 1 INVITE",
        "C: application/sdp",
    ]
    request = parse(message(headers))
    assert request.headers["Call-ID"] == "upper@192.0.2.1"
    assert request.headers["From"]["number"] == "13800138000"


def test_lowercase_and_mixed_case_names() -> None:
    headers = [
        "via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK-l",
        "FROM: <sip:13800138000@192.0.2.1>;tag=1",
        "tO: <sip:12320@192.0.2.2>",
        "call-id: lower@192.0.2.1",
        "cseq: 1 INVITE",
        "record-route: <sip:192.0.2.9;lr>",
        "content-type: application/sdp",
        "content-length: 1",
    ]
    request = parse(message(headers))
    assert request.headers["Call-ID"] == "lower@192.0.2.1"
    assert request.headers["CSeq"] == {"check": "1", "method": "INVITE"}
    assert request.headers["Record-Route"] == "<sip:192.0.2.9;lr>"
    assert request.body["c"][0]["address"] == "192.0.2.10"


def test_name_colon_value_without_space_and_extra_whitespace() -> None:
    headers = [
        "Via:SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK-n",
        "From:<sip:13800138000@192.0.2.1>;tag=1",
        "To   :   <sip:12320@192.0.2.2>",
        "Call-ID:\tnospace@192.0.2.1",
        "CSeq:1    INVITE",
        "Content-Type:application/sdp",
    ]
    request = parse(message(headers))
    assert request.headers["Call-ID"] == "nospace@192.0.2.1"
    assert request.headers["To"]["number"] == "12320"
    assert request.headers["CSeq"] == {"check": "1", "method": "INVITE"}


def test_folded_header_lines_are_unfolded() -> None:
    headers = replace_header(
        "From",
        'From: "Folded"',
        "   <sip:13800138000@192.0.2.1>",
        "\t;tag=folded",
    )
    headers = replace_header(
        "Via", "Via: SIP/2.0/UDP", " 192.0.2.1;branch=z9hG4bK-f", headers=headers
    )
    request = parse(message(headers))
    assert request.headers["From"]["number"] == "13800138000"
    assert request.headers["From"]["tag"] == "folded"
    assert request.headers["Via"][0]["address"] == ("192.0.2.1", "5060")


def test_comma_separated_via_values_become_one_line_each() -> None:
    headers = replace_header(
        "Via",
        "Via: SIP/2.0/UDP 192.0.2.7;branch=z9hG4bK-a, SIP/2.0/UDP 192.0.2.8:5070;branch=z9hG4bK-b",
        "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK-c",
    )
    normalised = normalise(message(headers))
    assert normalised.count(b"\r\nVia: ") == 3
    request = SIP.SIPMessage(normalised)
    assert [(v["address"], v["branch"]) for v in request.headers["Via"]] == [
        (("192.0.2.7", "5060"), "z9hG4bK-a"),
        (("192.0.2.8", "5070"), "z9hG4bK-b"),
        (("192.0.2.1", "5060"), "z9hG4bK-c"),
    ]


def test_whitespace_inside_the_via_sent_protocol_is_removed() -> None:
    headers = replace_header("Via", "Via: SIP / 2.0 / UDP  192.0.2.1:5062 ;branch=z9hG4bK-w")
    request = parse(message(headers))
    [via] = request.headers["Via"]
    assert (via["type"], via["address"], via["branch"]) == (
        "SIP/2.0/UDP",
        ("192.0.2.1", "5062"),
        "z9hG4bK-w",
    )


def test_several_record_route_lines_become_one_in_order() -> None:
    headers = [
        *HEADERS[:1],
        "Record-Route: <sip:edge1.example;lr>",
        "Record-Route: <sip:edge2.example;lr>, <sip:edge3.example;lr>",
        *HEADERS[1:],
        "record-route: <sip:edge4.example;lr>",
    ]
    normalised = normalise(message(headers))
    assert normalised.count(b"Record-Route") == 1
    request = SIP.SIPMessage(normalised)
    assert request.headers["Record-Route"] == (
        "<sip:edge1.example;lr>, <sip:edge2.example;lr>, "
        "<sip:edge3.example;lr>, <sip:edge4.example;lr>"
    )


def test_gbk_display_name_still_parses() -> None:
    raw = message(replace_header("From", "From: DISPLAY <sip:13800138000@192.0.2.1>;tag=g"))
    raw = raw.replace(b"DISPLAY", '"张三"'.encode("gbk"))
    with pytest.raises(UnicodeDecodeError):
        SIP.SIPMessage(raw)  # what defect 8 is about: pyVoIP drops the whole message
    request = parse(raw)
    assert request.headers["From"]["number"] == "13800138000"
    assert request.headers["From"]["tag"] == "g"


def test_colon_space_inside_a_value_survives_pyvoip_splitting() -> None:
    # pyVoIP splits each header line at every ": " and keeps the second piece only.
    headers = replace_header("From", 'From: "Dr: Who" <sip:13800138000@192.0.2.1>;tag=d')
    headers = [*headers, "Subject: Re: hotline"]
    request = parse(message(headers))
    assert request.headers["From"]["number"] == "13800138000"
    assert "hotline" in request.headers["Subject"]


def test_tag_parameter_is_found_despite_spaces_and_case() -> None:
    # pyVoIP splits From/To at the literal ";tag=": a spaced or upper-case one was lost.
    headers = replace_header("From", 'From: "A; b = c" <sip:13800138000@192.0.2.1> ; TAG = t1')
    headers = replace_header("To", "To: sip:12320@192.0.2.2 ;tag= t2", headers=headers)
    request = parse(message(headers))
    assert request.headers["From"]["tag"] == "t1"
    assert request.headers["From"]["caller"].startswith("A; b = c")  # display name untouched
    assert request.headers["To"]["tag"] == "t2"
    assert request.headers["To"]["number"] == "12320"


def test_duplicate_single_headers_keep_the_first() -> None:
    headers = [*HEADERS, "Call-ID: second@192.0.2.1", "Max-Forwards: 10"]
    request = parse(message(headers))
    assert request.headers["Call-ID"] == "call-1@192.0.2.1"
    assert request.headers["Max-Forwards"] == "70"


def test_empty_headers_are_dropped() -> None:
    normalised = normalise(message([*HEADERS, "Supported:", "Allow:    ", "X-Empty:"]))
    assert b"Supported" not in normalised
    assert b"X-Empty" not in normalised
    SIP.SIPMessage(normalised)


def test_bare_lf_line_ends_are_accepted() -> None:
    request = parse(message().replace(b"\r\n", b"\n"))
    assert request.headers["Call-ID"] == "call-1@192.0.2.1"
    assert request.body["m"][0]["methods"] == ["8", "0", "101"]


# ----------------------------------------------------------------------------
# SDP pyVoIP mishandles


def test_rtpmap_for_payload_not_in_m_line_is_dropped() -> None:
    # Defect 7: pyVoIP silently drops the whole INVITE (caller gets 408).
    sdp = replace_sdp("m=", "m=audio 40000 RTP/AVP 0")
    sdp = [*sdp, "a=rtpmap:96 opus/48000/2", "a=fmtp:96 useinbandfec=1"]
    normalised = normalise(message(sdp=sdp))
    assert b"opus" not in normalised
    assert b"fmtp:96" not in normalised
    assert b"rtpmap:8" not in normalised
    assert_answerable(SIP.SIPMessage(normalised), "192.0.2.10", 40000)


def test_session_and_media_connection_lines_collapse_to_the_media_one() -> None:
    # Defect 6: two c= lines made pyVoIP answer without m= and crash in read_audio.
    sdp = [*SDP[:6], "c=IN IP4 198.51.100.20", *SDP[6:]]
    request = parse(message(sdp=sdp))
    assert [c["address"] for c in request.body["c"]] == ["198.51.100.20"]
    assert_answerable(request, "198.51.100.20", 40000)


def test_media_level_connection_alone_is_used() -> None:
    sdp = [line for line in SDP if not line.startswith("c=")]
    sdp.insert(6, "c=IN IP4 198.51.100.21/127/3")
    request = parse(message(sdp=sdp))
    assert [c["address"] for c in request.body["c"]] == ["198.51.100.21"]
    assert_answerable(request, "198.51.100.21", 40000)


def test_sdp_lines_without_equals_and_blank_lines_are_dropped() -> None:
    sdp = [*SDP[:3], "garbage line", "", "   ", "x", "==", *SDP[3:]]
    request = parse(message(sdp=sdp))
    assert request.body["s"] == "-"
    assert_answerable(request, "192.0.2.10", 40000)


def test_video_and_second_audio_streams_are_left_out() -> None:
    sdp = [
        *SDP[:5],
        "m=video 40002 RTP/AVP 96",
        "a=rtpmap:96 H264/90000",
        "c=IN IP4 198.51.100.99",
        *SDP[5:],
        "m=audio 40004 RTP/AVP 0",
    ]
    request = parse(message(sdp=sdp))
    assert [(m["type"], m["port"]) for m in request.body["m"]] == [("audio", 40000)]
    assert_answerable(request, "192.0.2.10", 40000)


def test_extra_whitespace_in_sdp_lines_does_not_shift_pyvoip_fields() -> None:
    # pyVoIP splits SDP values at single spaces, so "IN  IP4" would give an empty field.
    sdp = replace_sdp("c=", "c=IN  IP4   192.0.2.10  ")
    sdp = replace_sdp("m=", "m=audio  40000 RTP/AVP  0   101", sdp=sdp)
    sdp = replace_sdp("a=rtpmap:0", "a=rtpmap:0  PCMU/8000", sdp=sdp)
    request = parse(message(sdp=sdp))
    assert request.body["c"][0]["address"] == "192.0.2.10"
    assert request.body["m"][0]["methods"] == ["0", "101"]
    assert request.body["m"][0]["attributes"]["0"]["rtpmap"]["name"] == "PCMU"
    assert_answerable(request, "192.0.2.10", 40000)


def test_session_level_rtpmap_and_fmtp_are_dropped() -> None:
    # pyVoIP looks rtpmap/fmtp up in body["m"], which does not exist before the first m=.
    sdp = [*SDP[:5], "a=rtpmap:0 PCMU/8000", "a=fmtp:101 0-15", *SDP[5:]]
    request = parse(message(sdp=sdp))
    assert_answerable(request, "192.0.2.10", 40000)


def test_rtpmap_without_clock_rate_is_dropped() -> None:
    sdp = replace_sdp("a=rtpmap:0", "a=rtpmap:0 PCMU")
    request = parse(message(sdp=sdp))
    assert "rtpmap" not in request.body["m"][0]["attributes"]["0"]
    assert_answerable(request, "192.0.2.10", 40000)


def test_payloads_pyvoip_cannot_use_are_dropped_from_the_offer() -> None:
    # pyVoIP warns on unknown codecs and then resets the process's warning filters
    # (defect 15); only PCMU, PCMA and telephone-event are of any use to it.
    sdp = replace_sdp(
        "m=",
        "m=audio 40000 RTP/AVP 96 9 0 3 101 97",
        "a=rtpmap:96 opus/48000/2",
        "a=rtpmap:9 G722/8000",
        "a=rtpmap:3 GSM/8000",
        "a=rtpmap:97 TELEPHONE-EVENT/8000",
    )
    sdp = [line for line in sdp if not line.startswith(("a=rtpmap:8", "a=rtpmap:0"))]
    request = parse(message(sdp=sdp))
    assert request.body["m"][0]["methods"] == ["0", "101", "97"]
    assoc = assert_answerable(request, "192.0.2.10", 40000)
    assert assoc == {
        0: RTP.PayloadType.PCMU,
        101: RTP.PayloadType.EVENT,
        97: RTP.PayloadType.EVENT,
    }


def test_pcma_only_offer_is_answered_in_pcma() -> None:
    sdp = replace_sdp("m=", "m=audio 40000 RTP/AVP 8 101")
    request = parse(message(sdp=sdp))
    assoc = assert_answerable(request, "192.0.2.10", 40000)
    assert assoc == {8: RTP.PayloadType.PCMA, 101: RTP.PayloadType.EVENT}


def test_response_with_sdp_answer_parses() -> None:
    headers = replace_header("CSeq", "CSeq: 1 INVITE")
    request = parse(message(headers, start="SIP/2.0 200 OK"))
    assert request.type == SIP.SIPMessageType.RESPONSE
    assert request.status == SIP.SIPStatus.OK
    assert request.body["m"][0]["port"] == 40000


def test_bodies_other_than_sdp_are_dropped_from_in_dialog_requests() -> None:
    headers = replace_header("Content-Type", "Content-Type: text/plain")
    headers = replace_header("CSeq", "CSeq: 2 BYE", headers=headers)
    normalised = normalise(message(headers, ["hello=world"], start="BYE sip:x@192.0.2.2 SIP/2.0"))
    assert normalised.endswith(b"Content-Length: 0\r\n\r\n")
    request = SIP.SIPMessage(normalised)
    assert request.method == "BYE"
    assert request.body == {}


@pytest.mark.parametrize("method", ["ACK", "BYE", "CANCEL"])
def test_bodyless_requests_of_the_handled_methods(method: str) -> None:
    headers = replace_header("CSeq", f"CSeq: 1 {method}")
    headers = [h for h in headers if not h.startswith("Content-Type")]
    request = parse(message(headers, None, start=f"{method} sip:12320@192.0.2.2 SIP/2.0"))
    assert request.method == method


def test_options_is_normalised() -> None:
    # pyVoIP's SIPMessage itself only knows INVITE/ACK/BYE/CANCEL; see test_sip_corpus.
    headers = replace_header("CSeq", "CSeq: 3 OPTIONS")
    headers = [h for h in headers if not h.startswith("Content-Type")]
    normalised = normalise(message(headers, None, start="OPTIONS sip:12320@192.0.2.2 SIP/2.0"))
    assert normalised.startswith(b"OPTIONS sip:12320@192.0.2.2 SIP/2.0\r\n")
    assert b"\r\nCSeq: 3 OPTIONS\r\n" in normalised


def test_every_response_code_reaches_pyvoip_as_one_it_knows() -> None:
    # pyVoIP raises on a status code missing from its enum; RFC 3261 §8.1.3.2 says
    # an unknown code is to be treated as the x00 of its class.
    headers = [h for h in replace_header("CSeq", "CSeq: 1 REGISTER") if "Content-Type" not in h]
    seen: dict[int, int] = {}
    for code in range(100, 700):
        response = parse(message(headers, None, start=f"SIP/2.0 {code} Whatever"))
        seen[code] = int(response.status)
    wrong = {code: got for code, got in seen.items() if got not in (code, code // 100 * 100)}
    assert wrong == {}
    assert seen[200] == 200
    assert seen[487] == 487
    assert seen[499] == 400
    assert seen[183] == 183
    assert seen[199] == 199


# ----------------------------------------------------------------------------
# Rejections

REJECTIONS = [
    pytest.param(
        b"INVITE sip:12320@192.0.2.2 SIP/2.0\r\nVia: x\r\n", "no blank line", id="no-blank"
    ),
    pytest.param(b"", "no blank line", id="empty"),
    pytest.param(message(start="INVITE sip:12320@192.0.2.2 SIP/3.0"), "bad start line", id="ver"),
    pytest.param(message(start="INVITE  sip:12320@192.0.2.2 SIP/2.0"), "bad start line", id="2sp"),
    pytest.param(message(start="INVITE sip:a b SIP/2.0"), "bad start line", id="lws-in-uri"),
    pytest.param(message(start="invite sip:12320@192.0.2.2 SIP/2.0"), "bad start line", id="case"),
    pytest.param(message(start="SIP/2.0 99 Odd"), "bad start line", id="status-99"),
    pytest.param(message(start="SIP/2.0 4294967301 Big"), "bad start line", id="status-big"),
    pytest.param(message(start="garbage"), "bad start line", id="garbage"),
    *[
        pytest.param(
            message(
                replace_header("CSeq", f"CSeq: 1 {method}"),
                start=f"{method} sip:12320@192.0.2.2 SIP/2.0",
            ),
            f"method {method} not handled",
            id=f"method-{method}",
        )
        for method in ("REFER", "INFO", "SUBSCRIBE", "UPDATE", "MESSAGE", "REGISTER")
    ],
    *[
        pytest.param(
            message([h for h in HEADERS if not h.startswith(f"{name}:")]),
            f"missing {name}",
            id=f"missing-{name}",
        )
        for name in ("Via", "From", "To", "Call-ID", "CSeq")
    ],
    pytest.param(
        message(replace_header("From", "From: <tel:+8613800138000>;tag=t")),
        "From is not a sip: URI",
        id="tel-from",
    ),
    pytest.param(
        message(replace_header("To", "To: <sips:12320@192.0.2.2>")),
        "To is not a sip: URI",
        id="sips-to",
    ),
    pytest.param(
        message(replace_header("From", "From: <tel:+86138>;tag=sip:x@y")),
        "From is not a sip: URI",
        id="sip-only-in-tag",
    ),
    pytest.param(
        message(replace_header("From", 'From: "x;tag=y" <sip:1@192.0.2.1>;tag=z')),
        "From is not a sip: URI",  # pyVoIP would cut at the first ";tag=" and crash
        id="tag-in-display-name",
    ),
    pytest.param(
        message(replace_header("CSeq", "CSeq: 1 BYE")), "CSeq method does not match", id="cseq"
    ),
    pytest.param(message(replace_header("CSeq", "CSeq: INVITE")), "malformed CSeq", id="cseq-1"),
    pytest.param(message(replace_header("CSeq", "CSeq: x INVITE")), "malformed CSeq", id="cseq-x"),
    pytest.param(
        message(replace_header("CSeq", "CSeq: ١ INVITE")), "malformed CSeq", id="cseq-arabic-digit"
    ),
    pytest.param(
        message(replace_header("CSeq", "CSeq: 99999999999999999999 INVITE")),
        "malformed CSeq",
        id="cseq-overlarge",
    ),
    pytest.param(
        message([*HEADERS, "Content-Encoding: gzip"]), "encoded bodies", id="content-encoding"
    ),
    pytest.param(message([*HEADERS, "e: gzip"]), "encoded bodies", id="compact-encoding"),
    pytest.param(message([*HEADERS, "no colon here"]), "malformed header line", id="no-colon"),
    pytest.param(message([*HEADERS, "Bad Name: x"]), "malformed header line", id="space-in-name"),
    pytest.param(
        message(replace_header("Via", "Via: SIP/2.0/UDP")), "malformed Via", id="via-no-host"
    ),
    pytest.param(message(replace_header("Via", "Via: garbage")), "malformed Via", id="via-junk"),
    pytest.param(
        message(sdp=replace_sdp("m=", "m=video 40000 RTP/AVP 96")), "without an audio", id="video"
    ),
    pytest.param(
        message(sdp=[line for line in SDP if not line.startswith("m=")]),
        "without an audio",
        id="no-m",
    ),
    pytest.param(
        message(sdp=replace_sdp("m=", "m=audio 40000/2 RTP/AVP 0")),
        "malformed m=audio",
        id="port-count",
    ),
    pytest.param(
        message(sdp=replace_sdp("m=", "m=audio ٤0000 RTP/AVP 0")),
        "malformed m=audio",
        id="arabic-port",
    ),
    pytest.param(
        message(sdp=replace_sdp("m=", "m=audio 40000 RTP/AVP")), "malformed m=audio", id="no-fmt"
    ),
    pytest.param(
        message(sdp=replace_sdp("m=", "m=audio 40000 RTP/AVP zero")),
        "malformed m=audio",
        id="fmt-word",
    ),
    pytest.param(
        message(sdp=replace_sdp("m=", "m=audio 40000 RTP/SAVPF 0")),
        "RTP/AVP",
        id="savpf",
    ),
    pytest.param(
        message(sdp=replace_sdp("m=", "m=audio 40000 aaaaaaa 0")), "RTP/AVP", id="transport-junk"
    ),
    pytest.param(
        message(sdp=replace_sdp("m=", "m=audio 40000 RTP/AVP 96 9 101")),
        "no G.711",
        id="no-g711",
    ),
    pytest.param(message(sdp=[line for line in SDP if not line.startswith("c=")]), "c=", id="no-c"),
    pytest.param(message(sdp=replace_sdp("c=", "c=IN IP4")), "c=", id="short-c"),
    pytest.param(message(sdp=replace_sdp("c=", "c=IN IP4 /127")), "c=", id="empty-address"),
    pytest.param(message(sdp=replace_sdp("v=", "v=========0")), "v=", id="bad-version"),
    pytest.param(message(sdp=replace_sdp("v=", "v=1")), "v=", id="version-1"),
    pytest.param(message(sdp=replace_sdp("o=", "o=- 1 1 IN")), "o=", id="short-origin"),
    pytest.param(message(sdp=None), "late offer", id="invite-without-sdp"),
    pytest.param(
        message(replace_header("Content-Type", "Content-Type: application/unknownformat")),
        "late offer",
        id="invite-unknown-body",
    ),
]


@pytest.mark.parametrize(("raw", "reason"), REJECTIONS)
def test_rejections_carry_a_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(SipRejected, match=reason):
        normalise(raw)


def test_rejection_is_an_ivr_error() -> None:
    from ivr.errors import IvrError

    assert issubclass(SipRejected, IvrError)


def test_notify_sipfrag_status_becomes_a_header() -> None:
    """RFC 3515 NOTIFY: pyVoIP keeps only SDP bodies, so the sipfrag status is carried over."""
    notify = (
        b"NOTIFY sip:12320@127.0.0.1:5070 SIP/2.0\r\n"
        b"Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKn1\r\n"
        b"From: <sip:13800138000@127.0.0.1>;tag=a\r\nTo: <sip:12320@127.0.0.1>;tag=b\r\n"
        b"Call-ID: n1\r\nCSeq: 3 NOTIFY\r\nEvent: refer\r\nSubscription-State: active\r\n"
        b"Content-Type: message/sipfrag;version=2.0\r\nContent-Length: 22\r\n\r\n"
        b"SIP/2.0 486 Busy Here\r\n"
    )
    out = normalise(notify).decode()
    assert "X-Sipfrag-Status: 486\r\n" in out
    assert out.endswith("Content-Length: 0\r\n\r\n")
    with pytest.raises(SipRejected, match="sipfrag"):
        normalise(notify.replace(b"SIP/2.0 486 Busy Here", b"garbage here now!!!!!"))


def test_a_late_offer_invite_is_refused_with_its_dialog_headers_for_the_488() -> None:
    from ivr.sip.normalise import SipRefused

    with pytest.raises(SipRefused) as caught:
        normalise(message(sdp=None))
    refusal = caught.value
    assert (refusal.code, refusal.warn_code) == (488, 399)
    assert refusal.warning("10.0.0.1").startswith('399 10.0.0.1 "late offer')
    headers = refusal.message.decode()
    assert headers.startswith("INVITE ")
    assert "Call-ID: " in headers and headers.endswith("Content-Length: 0\r\n\r\n")


def test_a_response_with_a_bad_sdp_is_still_only_rejected() -> None:
    from ivr.sip.normalise import SipRefused

    raw = message(sdp=replace_sdp("m=", "m=audio 40000 RTP/AVP 96"), start="SIP/2.0 200 OK")
    with pytest.raises(SipRejected) as caught:
        normalise(raw)
    assert not isinstance(caught.value, SipRefused)  # nothing to answer: dropped, logged
