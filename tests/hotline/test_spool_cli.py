"""``hotline spool list|retry`` (issue 13, item 10): the operator sees what was set aside."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotline.cli import main
from ivr.spool import QUARANTINE, REJECTED, Spool

pytestmark = pytest.mark.unit


def test_list_shows_waiting_and_set_aside_entries_with_why_and_retry_puts_them_back(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "hotline.yaml"
    config.write_text(f"paths:\n  spool: {tmp_path / 'spool'}\n", encoding="utf-8")
    spool = Spool(tmp_path / "spool")
    spool.set_aside(spool.put("call-q", {}), QUARANTINE, {"error": "HTTP 500", "attempts": 10})
    spool.set_aside(spool.put("call-r", {}), REJECTED, {"status": 422, "error": "category"})
    spool.put("call-w", {})
    with pytest.raises(SystemExit) as exited:
        main(["--config", str(config), "spool", "list"])
    assert exited.value.code == 1  # something needs a human
    out = capsys.readouterr().out
    assert "quarantine call_q  tries 10" in out and "HTTP 500" in out
    assert "rejected   call_r" in out and "422" in out
    assert "waiting    call_w  tries 0" in out
    assert "1 quarantine, 1 rejected, 1 waiting" in out
    with pytest.raises(SystemExit) as exited:
        main(["--config", str(config), "spool", "retry"])
    assert exited.value.code == 0
    assert sorted(p.name for p in (tmp_path / "spool").glob("*.json")) == [
        "call_q.json", "call_r.json", "call_w.json",
    ]  # fmt: skip
