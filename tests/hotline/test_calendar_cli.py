"""``hotline calendar import|show`` and the calendar's horizon in ``check-config`` (issue 12,
item 3). Dates are injected (``--today``); nothing here reads the wall clock."""

from __future__ import annotations

import io
import shutil
from datetime import date
from pathlib import Path

import pytest
import yaml

from hotline.cli import main as hotline
from routing import holidays_cn

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
NOTICES = ROOT / "tests" / "routing" / "notices"
# Made up for the tests (the real 2027 notice is not in this repository); weekdays right.
NOTICE_2027 = (
    "国务院办公厅关于2027年部分节假日安排的通知\n"
    "一、元旦：1月1日（周五）至3日（周日）放假，共3天。\n"
)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        hotline(list(args))
    out, err = capsys.readouterr()
    return int(exited.value.code or 0), out, err


@pytest.fixture
def copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of config/, run from elsewhere: returns its hotline.yaml."""
    shutil.copytree(ROOT / "config", tmp_path / "site" / "config")
    monkeypatch.chdir(tmp_path)
    return tmp_path / "site" / "config" / "hotline.yaml"


def written_days(config: Path, year: int) -> dict[str, set[date]]:
    data = yaml.safe_load((config.parent / "calendar.yaml").read_text(encoding="utf-8"))
    kinds: dict[str, set[date]] = {"holiday": set(), "workday": set()}
    for day, entry in data["days"].items():
        if day.year == year:
            ((kind, _),) = entry.items()
            kinds[kind].add(day)
    return kinds


def test_import_round_trips_a_past_notice_to_the_days_chinesecalendar_has(
    copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run(capsys, "calendar", "import", str(NOTICES / "2025.txt"), "--yes",
                           "--config", str(copy))  # fmt: skip
    assert (status, err) == (0, "")
    assert "+  2025-01-28: {holiday: 春节}" in out  # the diff was shown
    assert "wrote 2025: 28 holiday(s), 5 make-up workday(s)" in out
    days = written_days(copy, 2025)
    assert days["holiday"] == {d for d in holidays_cn.holidays() if d.year == 2025}
    assert days["workday"] == {d for d in holidays_cn.makeup_workdays() if d.year == 2025}
    text = (copy.parent / "calendar.yaml").read_text(encoding="utf-8")
    assert "years: [2025]" in text
    assert "# Opening hours of the staffed hotline" in text  # comments kept
    status, out, _ = run(capsys, "calendar", "import", str(NOTICES / "2025.txt"), "--yes",
                         "--config", str(copy))  # fmt: skip
    assert status == 0 and "already has 2025" in out


def test_import_asks_and_writes_nothing_without_a_yes(
    copy: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    calendar = copy.parent / "calendar.yaml"
    before = calendar.read_bytes()
    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))
    status, out, err = run(capsys, "--config", str(copy), "calendar", "import",
                           str(NOTICES / "2026.txt"))  # fmt: skip
    assert status == 1 and "write 2026:" in out and "nothing written" in err
    assert calendar.read_bytes() == before
    assert not list(calendar.parent.glob(".calendar-*"))  # no temporary file left
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))
    status, _, _ = run(capsys, "--config", str(copy), "calendar", "import",
                       str(NOTICES / "2026.txt"))  # fmt: skip
    assert status == 0 and written_days(copy, 2026)["workday"] == {
        d for d in holidays_cn.makeup_workdays() if d.year == 2026
    }


def test_import_from_stdin(
    copy: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(NOTICE_2027))
    status, out, _ = run(capsys, "--config", str(copy), "calendar", "import", "-", "--yes")
    assert status == 0 and "the calendar now ends on 2027-12-31" in out


def test_an_unparseable_notice_is_reported_by_line_and_nothing_is_written(
    copy: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    calendar = copy.parent / "calendar.yaml"
    before = calendar.read_bytes()
    notice = tmp_path / "notice.txt"
    text = (NOTICES / "2025.txt").read_text(encoding="utf-8")
    notice.write_text(text.replace("4月27日（周日）上班", "4月27日（周一）上班"), encoding="utf-8")
    status, out, err = run(capsys, "--config", str(copy), "calendar", "import", str(notice),
                           "--yes")  # fmt: skip
    assert (status, out) == (1, "")
    assert f"{notice}:9: 2025-04-27 is a 周日, the notice says 周一" in err
    assert calendar.read_bytes() == before


def test_show_prints_a_years_non_default_days(
    copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = run(capsys, "--config", str(copy), "calendar", "show", "2025")
    assert status == 0
    assert "2025-01-26 周日  上班（调休）  春节\n" in out and "2025-01-28 周二  放假  春节\n" in out
    assert "2025: 33 day(s) differ" in out
    status, out, err = run(capsys, "--config", str(copy), "calendar", "show", "2027")
    assert (status, out) == (1, "")
    assert "2027: no official holiday data (the calendar ends on 2026-12-31)" in err


def test_check_config_warns_of_the_2027_horizon_and_strict_fails(
    copy: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The shipped calendar on 2026-12-07: 24 days of official data left, under 60."""
    config = str(copy.parent)
    status, out, err = run(capsys, "check-config", config, "--today", "2026-12-07")
    assert status == 0
    assert "calendar.yaml: holiday data ends on 2026-12-31 (24 days from 2026-12-07)" in err
    assert "2027 notice with `hotline calendar import`" in err
    assert "calendar.yaml: ok" not in out
    status, _, err = run(capsys, "check-config", config, "--today", "2026-12-07", "--strict")
    assert status == 1 and "(--strict: an error)" in err
    status, out, err = run(capsys, "check-config", config, "--today", "2026-10-01", "--strict")
    assert (status, err) == (0, "")
    assert "calendar.yaml: ok (holiday data ends on 2026-12-31 (91 days" in out
    # Once 2027 is imported, the same day is fine.
    monkeypatch.setattr("sys.stdin", io.StringIO(NOTICE_2027))
    assert run(capsys, "--config", str(copy), "calendar", "import", "-", "--yes")[0] == 0
    status, out, err = run(capsys, "check-config", config, "--today", "2026-12-07", "--strict")
    assert (status, err) == (0, "")
    assert "ends on 2027-12-31" in out


def test_the_margin_is_configurable(copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    calendar = copy.parent / "calendar.yaml"
    text = calendar.read_text(encoding="utf-8")
    calendar.write_text(text.replace("horizon_warning_days: 60", "horizon_warning_days: 20"))
    status, _, err = run(capsys, "check-config", str(copy.parent), "--today", "2026-12-07",
                         "--strict")  # fmt: skip
    assert (status, err) == (0, "")
    status, _, err = run(capsys, "check-config", str(copy.parent), "--today", "2026-12-12",
                         "--strict")  # fmt: skip
    assert status == 1 and "19 days from 2026-12-12), under the 20-day margin" in err
