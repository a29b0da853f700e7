"""Paths in ``hotline.yaml`` never depend on the working directory (issue 12, item 2).

Configuration files are relative to the directory of ``hotline.yaml``; state (``var/``)
to the project root, its parent. These tests run the CLI from a working directory whose
own ``config/`` is valid (the repository) on a broken copy elsewhere: before the fix
the repository's files were checked and the copy got a silent "ok".
"""

from __future__ import annotations

import runpy
import shutil
import sys
from pathlib import Path

import pytest

from hotline.cli import main as hotline
from settings.node import load_settings, sqlite_anchored

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        hotline(list(args))
    out, err = capsys.readouterr()
    return int(exited.value.code or 0), out, err


@pytest.fixture
def broken_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, int]:
    """A copy of config/ named ``site-b`` with a menu option to an unknown flow, and the
    line of that option; the working directory is the repository (valid ``config/``)."""
    copy = tmp_path / "elsewhere" / "site-b"
    shutil.copytree(ROOT / "config", copy)
    menu = copy / "menus" / "12320.yaml"
    lines = menu.read_text(encoding="utf-8").splitlines(keepends=True)
    line = next(n for n, t in enumerate(lines, 1) if t.strip() == "9: emergency")
    lines[line - 1] = lines[line - 1].replace("9: emergency", "9: ambulance")
    menu.write_text("".join(lines), encoding="utf-8")
    monkeypatch.chdir(ROOT)
    return copy, line


def test_check_config_dir_checks_the_copy_not_the_working_directory(
    broken_copy: tuple[Path, int], capsys: pytest.CaptureFixture[str]
) -> None:
    copy, line = broken_copy
    status, out, err = run(capsys, "check-config", str(copy))
    assert status == 1
    assert f"{copy}/menus/12320.yaml:{line}:14 flows.main[1].menu.options.9:" in err
    assert "unknown flow 'ambulance'" in err
    assert "12320.yaml (version" not in out  # no "ok" for the broken menu, from any directory
    assert str(ROOT / "config") not in out and " config/" not in out


def test_check_config_without_dir_checks_the_files_next_to_config(
    broken_copy: tuple[Path, int], capsys: pytest.CaptureFixture[str]
) -> None:
    copy, line = broken_copy
    status, _, err = run(capsys, "check-config", "--config", str(copy / "hotline.yaml"))
    assert status == 1
    assert f"{copy}/menus/12320.yaml:{line}:14" in err


def test_check_config_of_a_missing_directory_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run(capsys, "check-config", str(tmp_path / "nothing"))
    assert (status, out) == (1, "")
    assert "nothing: no such directory" in err


def test_config_is_accepted_after_the_subcommand(
    broken_copy: tuple[Path, int], capsys: pytest.CaptureFixture[str]
) -> None:
    copy, _ = broken_copy
    status, _, err = run(
        capsys, "simulate", "--config", str(copy / "hotline.yaml"), "--input", "9",
        "--at", "2026-10-01T09:00",
    )  # fmt: skip
    assert status == 1
    assert f"{copy}/menus/12320.yaml" in err and "unknown flow 'ambulance'" in err
    # Before the sub-command it still works, and after it wins.
    status, _, err = run(
        capsys, "--config", "config/hotline.yaml", "simulate",
        "--config", str(copy / "hotline.yaml"), "--input", "9",
    )  # fmt: skip
    assert status == 1 and "ambulance" in err


def test_simulate_reads_the_menu_and_prompts_of_its_config_from_anywhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = tmp_path / "site" / "conf"
    shutil.copytree(ROOT / "config", copy)
    texts = copy / "prompts" / "zh.yaml"
    texts.write_text(
        texts.read_text(encoding="utf-8").replace("一二三二零卫生", "九九九卫生"), "utf-8"
    )
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    status, out, err = run(capsys, "simulate", "--config", str(copy / "hotline.yaml"),
                           "--input", "hangup", "--at", "2026-10-01T09:00")  # fmt: skip
    assert (status, err) == (0, "")
    assert f"menu {copy}/menus/12320.yaml" in out
    assert "九九九卫生" in out  # the copy's prompt texts, not the repository's


def test_settings_anchor_config_at_its_directory_and_state_at_its_parent(
    tmp_path: Path,
) -> None:
    conf = tmp_path / "node" / "conf"
    conf.mkdir(parents=True)
    (conf / "hotline.yaml").write_text(
        "ivr: {menu: menus/a.yaml, prompt_texts: p/zh.yaml, prompt_audio: var/prompts/zh}\n"
        "api: {database: 'sqlite+aiosqlite:///var/h.db'}\n"
        "mqtt: {ivr: {username: ivr, password_file: var/ivr.pw}}\n"
        "paths: {var: var, recordings: /data/rec}\n"
        "calendar: cal.yaml\n"
    )
    s = load_settings(conf / "hotline.yaml")
    node = tmp_path / "node"
    assert (s.ivr.menu, s.ivr.prompt_texts) == (conf / "menus/a.yaml", conf / "p/zh.yaml")
    assert (s.calendar, s.units, s.agents) == (conf / "cal.yaml", conf / "units.yaml",
                                               conf / "agents.yaml")  # fmt: skip
    assert s.ivr.prompt_audio == node / "var/prompts/zh"
    assert (s.paths.var, s.paths.recordings, s.paths.spool) == (
        node / "var",
        Path("/data/rec"),
        node / "var/spool",
    )
    assert s.api.database == f"sqlite+aiosqlite:///{node}/var/h.db"
    assert s.mqtt.ivr is not None and s.mqtt.ivr.password_file == node / "var/ivr.pw"
    assert s.asr.model == node / "var/models/vosk-model-small-cn-0.22"


def test_the_shipped_config_keeps_var_in_the_checkout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``./dev up`` (cwd = the checkout, default --config) finds what it always found."""
    monkeypatch.chdir(ROOT)
    s = load_settings(None)
    assert s.ivr.menu.resolve() == ROOT / "config/menus/12320.yaml"
    assert s.calendar.resolve() == ROOT / "config/calendar.yaml"
    assert s.paths.var.resolve() == ROOT / "var"
    assert s.api.database == "sqlite+aiosqlite:///var/hotline.db"
    monkeypatch.chdir(ROOT / "config")  # from inside the config directory
    inside = load_settings(Path("hotline.yaml"))
    assert inside.paths.var.resolve() == ROOT / "var"
    assert inside.ivr.menu.resolve() == ROOT / "config/menus/12320.yaml"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite+aiosqlite:///var/h.db", "sqlite+aiosqlite:////r/var/h.db"),
        ("sqlite:///h.db?timeout=5", "sqlite:////r/h.db?timeout=5"),
        ("sqlite+aiosqlite:////abs/h.db", "sqlite+aiosqlite:////abs/h.db"),
        ("sqlite+aiosqlite:///:memory:", "sqlite+aiosqlite:///:memory:"),
        ("postgresql+asyncpg://u@127.0.0.1/test", "postgresql+asyncpg://u@127.0.0.1/test"),
    ],
)
def test_a_relative_sqlite_file_is_anchored_at_the_root(url: str, expected: str) -> None:
    assert sqlite_anchored(url, Path("/r")) == expected


def test_up_takes_config_after_the_subcommand(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``hotline up --config x.yaml`` reads x.yaml (here: missing, so nothing starts)."""
    status, out, err = run(capsys, "up", "--config", str(tmp_path / "x.yaml"))
    assert (status, out) == (1, "")
    assert f"{tmp_path / 'x.yaml'}: no such file" in err


def test_check_config_says_what_it_did_not_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = tmp_path / "conf"
    shutil.copytree(ROOT / "config", copy)
    (copy / "routing.yaml").unlink()
    (copy / "menus" / "menu.schema.json").unlink()
    _, out, _ = run(capsys, "check-config", str(copy), "--today", "2026-10-01")
    assert f"{copy}/routing.yaml: absent, not checked" in out
    assert f"{copy}/menus/menu.schema.json: absent, not checked" in out
    assert "routing.yaml (" not in out


def test_python_m_hotline_cli_runs_the_cli(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # How helpers run a worktree's code (the console script runs the installed one).
    monkeypatch.delitem(sys.modules, "hotline.cli")  # run fresh, as ``python -m`` does
    monkeypatch.setattr(sys, "argv", ["hotline", "--help"])
    with pytest.raises(SystemExit) as exited:
        runpy.run_module("hotline.cli", run_name="__main__")
    assert exited.value.code == 0
    assert "12320 hotline server" in capsys.readouterr().out
