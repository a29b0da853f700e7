"""Every message of the shared SIP corpora through the sans-io stack's codec.

Corpora (``shared/corpora/sip``, see tests/ivr/test_sip_corpus.py): RFC 4475 torture
messages, the PROTOS c07 INVITE mutations and the pjsip OSS-Fuzz seeds. Each message
must parse or be rejected with ``SipParseError`` — never another exception — and what
parses must survive ``serialise`` unchanged.
"""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from ivr.sip.stack.errors import SipParseError
from ivr.sip.stack.message import SipMessage, SipRequest, SipResponse, parse_message

# shared/ sits beside the main checkout, two levels further up from a worktree.
CORPUS = next(
    (
        p / "shared" / "corpora" / "sip"
        for p in Path(__file__).resolve().parents
        if (p / "shared" / "corpora" / "sip").is_dir()
    ),
    Path("/nonexistent"),
)
NOT_MESSAGES = {"MANIFEST.tsv", "SHA256SUMS", "README.TXT", "LICENSE.TXT"}

pytestmark = [
    pytest.mark.unit,
    pytest.mark.skipif(not CORPUS.is_dir(), reason=f"SIP corpora not present at {CORPUS}"),
]


@dataclass(frozen=True)
class Outcome:
    corpus: str
    message: SipMessage | None
    rejected: SipParseError | None
    crash: str | None
    round_trip: bool


def _run(path: Path) -> Outcome:
    corpus = path.relative_to(CORPUS).parts[0]
    try:
        message = parse_message(path.read_bytes())
    except SipParseError as exc:
        return Outcome(corpus, None, exc, None, False)
    except Exception as exc:
        return Outcome(corpus, None, None, repr(exc), False)
    return Outcome(corpus, message, None, None, parse_message(message.serialise()) == message)


@pytest.fixture(scope="module")
def outcomes() -> dict[str, Outcome]:
    files = sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.name not in NOT_MESSAGES)
    return {str(p.relative_to(CORPUS)): _run(p) for p in files}


def test_nothing_but_sip_parse_error_is_raised(outcomes: dict[str, Outcome]) -> None:
    assert len(outcomes) == 49 + 4527 + 27
    assert {k: o.crash for k, o in outcomes.items() if o.crash} == {}


def test_what_parses_survives_serialise(outcomes: dict[str, Outcome]) -> None:
    assert [k for k, o in outcomes.items() if o.message is not None and not o.round_trip] == []


PARSE = "parse"
RFC4475 = {
    # valid: every one parses, whatever the method (RFC 4475 §3.1.1)
    "valid/wsinv.dat": PARSE,
    "valid/intmeth.dat": PARSE,
    "valid/esc01.dat": PARSE,
    "valid/escnull.dat": PARSE,
    "valid/esc02.dat": PARSE,
    "valid/lwsdisp.dat": PARSE,
    "valid/longreq.dat": PARSE,
    "valid/dblreq.dat": PARSE,
    "valid/semiuri.dat": PARSE,
    "valid/transports.dat": PARSE,
    "valid/mpart01.dat": PARSE,
    "valid/unreason.dat": PARSE,
    "valid/noreason.dat": PARSE,
    # invalid: rejected, except where the RFC allows leniency or the fault is in a
    # header the stack does not read
    "invalid/badinv01.dat": "empty Via value",
    "invalid/clerr.dat": "Content-Length larger than the message",
    "invalid/ncl.dat": "malformed Content-Length",
    "invalid/scalar02.dat": "malformed CSeq",
    "invalid/scalarlg.dat": "malformed CSeq",
    "invalid/quotbal.dat": "unbalanced quote in To",
    "invalid/ltgtruri.dat": "bad Request-URI",
    "invalid/lwsruri.dat": "bad request line",
    "invalid/lwsstart.dat": "bad request line",
    "invalid/trws.dat": PARSE,  # trailing SP tolerated (allowed by §3.1.2.10)
    "invalid/escruri.dat": "headers in the Request-URI",
    "invalid/baddate.dat": PARSE,  # Date is not read
    "invalid/regbadct.dat": PARSE,  # the "?" belongs to the addr-spec's URI
    "invalid/badaspec.dat": PARSE,  # spaces in < > tolerated (allowed by §3.1.2.14)
    "invalid/baddn.dat": "no blank line after the headers",  # the datagram is cut short
    "invalid/badvers.dat": "SIP version not supported",
    "invalid/mismatch01.dat": "CSeq method does not match",
    "invalid/mismatch02.dat": "CSeq method does not match",
    "invalid/bigcode.dat": "bad status code",
    "transaction/badbranch.dat": PARSE,
    "application/insuf.dat": "missing From, To, Call-ID",
    "application/unkscm.dat": PARSE,  # 416 is the UA core's business
    "application/novelsc.dat": PARSE,
    "application/unksm2.dat": PARSE,
    "application/bext01.dat": PARSE,  # 420 is the UA core's business
    "application/invut.dat": PARSE,  # 415 is the UA core's business
    "application/regaut01.dat": PARSE,
    "application/multi01.dat": "repeated CSeq, Call-ID, From, Max-Forwards, To",
    "application/mcl01.dat": "repeated Content-Length",
    "application/bcast.dat": PARSE,
    "application/zeromf.dat": PARSE,
    "application/cparam01.dat": PARSE,
    "application/cparam02.dat": PARSE,
    "application/regescrt.dat": PARSE,
    "application/sdp01.dat": PARSE,
    "backcompat/inv2543.dat": PARSE,
}


def test_rfc4475_table_covers_the_manifest() -> None:
    with (CORPUS / "rfc4475" / "MANIFEST.tsv").open(newline="") as manifest:
        listed = {row["file"] for row in csv.DictReader(manifest, delimiter="\t")}
    assert listed == set(RFC4475)


@pytest.mark.parametrize(("name", "expected"), sorted(RFC4475.items()))
def test_rfc4475_message(outcomes: dict[str, Outcome], name: str, expected: str) -> None:
    o = outcomes[f"rfc4475/{name}"]
    if expected == PARSE:
        assert o.rejected is None
        assert o.message is not None
    else:
        assert o.message is None
        assert str(o.rejected) == expected


def test_rfc4475_bad_version_asks_for_505(outcomes: dict[str, Outcome]) -> None:
    rejected = outcomes["rfc4475/invalid/badvers.dat"].rejected
    assert rejected is not None
    assert rejected.status == 505


def test_rfc4475_whitespace_torture_invite_is_read_correctly(outcomes: dict[str, Outcome]) -> None:
    m = outcomes["rfc4475/valid/wsinv.dat"].message
    assert isinstance(m, SipRequest)
    assert [(v.transport, v.host, v.port, v.branch) for v in m.vias] == [
        ("UDP", "192.0.2.2", None, "390skdjuw"),
        ("TCP", "spindle.example.com", None, "z9hG4bK9ikj8"),
        ("UDP", "192.168.255.111", None, "z9hG4bK30239"),
    ]
    assert m.call_id == "wsinv.ndaksdj@192.0.2.1"
    assert (m.cseq.number, m.cseq.method) == (9, "INVITE")
    assert m.from_.tag == "98asjd8"
    assert m.from_.display == 'J Rosenberg \\"'
    assert m.to.tag == "1918181833n"
    assert m.to.uri == "sip:vivekg@chair-dnrc.example.com"
    assert m.header("NewFangledHeader") == "newfangled value continued newfangled value"
    assert m.body.startswith(b"v=0") and len(m.body) == 150


def test_rfc4475_long_request_keeps_every_via(outcomes: dict[str, Outcome]) -> None:
    m = outcomes["rfc4475/valid/longreq.dat"].message
    assert m is not None
    raw = (CORPUS / "rfc4475" / "valid" / "longreq.dat").read_bytes()
    assert len(m.vias) == raw.count(b"SIP/2.0/") == 34  # compact "v:", "V:" and comma lists
    assert m.to.display is not None and m.to.display.startswith("I have a user name")
    assert m.from_.uri.startswith("sip:amazinglylongcallername")


def test_rfc4475_double_request_keeps_only_the_first(outcomes: dict[str, Outcome]) -> None:
    m = outcomes["rfc4475/valid/dblreq.dat"].message
    assert isinstance(m, SipRequest)
    assert m.method == "REGISTER"
    assert m.body == b""


def test_rfc4475_responses_keep_their_reason(outcomes: dict[str, Outcome]) -> None:
    no_reason = outcomes["rfc4475/valid/noreason.dat"].message
    assert isinstance(no_reason, SipResponse)
    assert (no_reason.status, no_reason.reason) == (100, "")
    unusual = outcomes["rfc4475/valid/unreason.dat"].message
    assert isinstance(unusual, SipResponse)
    assert unusual.status == 200
    assert unusual.reason.startswith("= 2**3 * 5**2 но")


def test_rfc4475_semicolon_in_user_part_stays_in_the_uri(outcomes: dict[str, Outcome]) -> None:
    m = outcomes["rfc4475/valid/semiuri.dat"].message
    assert isinstance(m, SipRequest)
    assert m.uri == "sip:user;par=u%40example.net@example.com"
    assert len(m.header_values("Accept")) == 6


def test_protos_counts(outcomes: dict[str, Outcome]) -> None:
    with (CORPUS / "protos-c07" / "MANIFEST.tsv").open(newline="") as manifest:
        parts = {
            f"protos-c07/invites/{row['index']}.sip": row["mutated_part(vs case 0)"]
            for row in csv.DictReader(manifest, delimiter="\t")
        }
    parsed = Counter(parts[k] for k, o in outcomes.items() if k in parts and o.message)
    total = Counter(parts.values())
    assert sum(parsed.values()) == 3331  # measured; the SDP body is not the codec's business
    for part in ("valid-case", "identical-template", "hdr:Expires"):
        assert parsed[part] == total[part], part
    assert parsed["hdr:CSeq"] <= 30
    assert parsed["hdr:Via"] <= total["hdr:Via"] // 2
