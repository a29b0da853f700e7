"""The edge's log writer (hotline/edge_log.py): what Kamailio prints, made safe to keep."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotline.edge_log import MAX_RECORD, RotatingFile, clean_lines, mask_numbers

pytestmark = pytest.mark.unit

# Kamailio 5.6 on rfc4475 "invalid" messages (shortened).
KAMAILIO_OUTPUT = """\
loading modules under config path: /usr/lib/x86_64-linux-gnu/kamailio/modules/
 1(745) ERROR: <core> [core/parser/msg_parser.c:749]: parse_msg(): ERROR: parse_msg: message=<INVITE sip:13912345678@example.com SIP/2.0
To: "Mr. J. User <sip:13912345678@example.com>
From: sip:caller@example.net;tag=93334
Call-ID: quotbal.aksdj

v=0
>
 1(745) ERROR: <core> [core/receive.c:376]: receive_msg(): core parsing of SIP message failed (127.0.0.1:49815/1)
 2(747) ERROR: <core> [core/parser/msg_parser.c:339]: parse_headers(): bad header field [Content-Length: -999

v=0
t]
 3(748) WARNING: <script>: dispatcher: IVR worker sip:127.0.0.1:5070 up
"""  # noqa: E501


def test_numbers_keep_their_first_three_and_last_two_digits() -> None:
    assert mask_numbers("from 13912345678 to 010-88886666") == "from 139******78 to 010-888***66"
    assert mask_numbers("sip:127.0.0.1:5070 pid 31542 call 12-3456@h") == (
        "sip:127.0.0.1:5070 pid 31542 call 12-3456@h"
    )


def test_quoted_sip_messages_are_dropped_and_records_kept() -> None:
    lines = list(clean_lines(KAMAILIO_OUTPUT.splitlines(keepends=True)))
    text = "\n".join(lines)
    assert "13912345678" not in text and "Call-ID" not in text and "v=0" not in text
    assert "message=<" not in text and "[SIP message not logged]" in text
    assert lines[0].startswith("loading modules")
    assert lines[-1] == " 3(748) WARNING: <script>: dispatcher: IVR worker sip:127.0.0.1:5070 up"
    assert len(lines) == 5


def test_a_long_record_is_cut() -> None:
    (line,) = clean_lines([" 1(2) ERROR: " + "x" * 5000 + "\n"])
    assert len(line) <= MAX_RECORD + len(" [cut]") and line.endswith("[cut]")


def test_the_file_is_rotated_keeping_so_many_old_files(tmp_path: Path) -> None:
    log = tmp_path / "kamailio.log"
    out = RotatingFile(log, max_bytes=100, keep=2)
    for n in range(40):
        out.write(f"record {n:03d} " + "." * 20)
    out.close()
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["kamailio.log", "kamailio.log.1", "kamailio.log.2"]
    assert all(p.stat().st_size <= 100 + 40 for p in tmp_path.iterdir())
    assert (
        "record 039" in log.read_text() or "record 039" in (tmp_path / "kamailio.log.1").read_text()
    )
