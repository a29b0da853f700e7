"""``hotline check-config``, ``schema``, ``simulate``, ``reload`` and ``diff`` via the CLI."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from hotline.cli import main as hotline
from ivr.engine.jsonschema import menu_schema_text
from ivr.runstate import WorkerState, state_path, write_state

ROOT = Path(__file__).resolve().parents[2]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        hotline(list(args))
    out, err = capsys.readouterr()
    return int(exited.value.code or 0), out, err


@pytest.fixture
def in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # hotline.yaml's paths are relative to the repository


@pytest.fixture
def config_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of config/ whose hotline.yaml points at the copy (cwd = tmp_path)."""
    shutil.copytree(ROOT / "config", tmp_path / "config")
    monkeypatch.chdir(tmp_path)
    return tmp_path / "config"


def test_check_config_passes_on_the_shipped_config(
    in_repo: None, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run(capsys, "check-config", "config/", "--today", "2026-10-01")
    assert (status, err) == (0, "")
    for checked in ("menus/12320.yaml", "prompts/zh.yaml", "prompts/en.yaml", "routing.yaml",
                    "menus/menu.schema.json", "calendar.yaml"):  # fmt: skip
        assert f"config/{checked}" in out


def test_check_config_reports_a_broken_menu_and_fails(
    config_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    menu = config_copy / "menus" / "12320.yaml"
    text = menu.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    line = next(n for n, t in enumerate(lines, 1) if t.strip() == "9: emergency")
    lines[line - 1] = lines[line - 1].replace("9: emergency", "9: ambulance")
    menu.write_text("".join(lines), encoding="utf-8")
    status, _, err = run(capsys, "check-config", "config")
    assert status == 1
    assert f"config/menus/12320.yaml:{line}:14 flows.main[1].menu.options.9:" in err
    assert "unknown flow 'ambulance'" in err


@pytest.mark.parametrize(
    ("file", "old", "new", "message"),
    [
        pytest.param("routing.yaml", "groups:", "group:",
                     "config/routing.yaml:", id="routing"),
        pytest.param("prompts/en.yaml", "voice: en", "voice: en\nspeed: 1",
                     "config/prompts/en.yaml:4:1 speed: unknown key 'speed'", id="prompts"),
        pytest.param("calendar.yaml", "timezone:", "time_zone:",
                     "config/calendar.yaml", id="calendar"),
        pytest.param("menus/menu.schema.json", '"title": "12320 hotline menu"', '"title": "x"',
                     "menu.schema.json: out of date", id="stale-schema"),
        pytest.param("intake.yaml", "  medical_120:", "  ambulance:",
                     "config/intake.yaml: emergency line(s) not in config/routing.yaml: ambulance",
                     id="intake-line"),
        pytest.param("intake.yaml", "  medical_service:", "  医疗服务:",
                     "config/intake.yaml: domain(s) 医疗服务 are not dispatch domains",
                     id="intake-domain"),
        pytest.param("units.yaml", "units:", "unitz:", "config/units.yaml", id="units"),
        pytest.param("sla.yaml", "warn_at: 0.75", "warn_at: 1.75", "config/sla.yaml", id="sla"),
        pytest.param("agents.yaml", "max_wait: 300}", "max_wait: 300, colour: red}",
                     "config/agents.yaml:15:116 groups.intake: unknown key 'colour'", id="agents"),
    ],
)  # fmt: skip
def test_check_config_checks_every_file(
    config_copy: Path,
    capsys: pytest.CaptureFixture[str],
    file: str,
    old: str,
    new: str,
    message: str,
) -> None:
    path = config_copy / file
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    status, _, err = run(capsys, "check-config", "config")
    assert status == 1
    assert message in err


def test_check_config_wants_every_queued_to_group_in_agents_yaml(
    config_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    agents = config_copy / "agents.yaml"
    text = agents.read_text(encoding="utf-8")
    text = text.replace("  emergency_agents: {label: 应急值守组, ring_seconds: 20}\n", "")
    agents.write_text(text.replace("[intake, emergency_agents]", "[intake]"), encoding="utf-8")
    status, _, err = run(capsys, "check-config", "config")
    assert status == 1
    assert (
        "config/routing.yaml: lines.medical_120.fallback_group: agent group 'emergency_agents' "
        "is not in config/agents.yaml (groups: intake, complaints)"
    ) in err


def test_check_config_audio_reports_unrendered_prompts(
    config_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, err = run(capsys, "check-config", "--audio", "config")
    assert status == 1
    assert "prompt audio missing" in err and "welcome" in err


def test_schema_prints_the_shipped_schema(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "schema")
    assert status == 0
    assert out == menu_schema_text()
    assert out == (ROOT / "config" / "menus" / "menu.schema.json").read_text(encoding="utf-8")


def test_simulate_prints_prompts_with_texts_waits_and_actions(
    in_repo: None, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = run(capsys, "simulate", "--input", "2, talk:5", "--at", "2026-10-01T09:00")
    assert status == 0
    assert "call at 2026-10-01T09:00+08:00" in out
    assert "play main_menu (barge-in)" in out
    assert "「咨询请按1，投诉请按2" in out  # the prompt's text
    assert "waits until 12.00s" in out  # the menu timeout after the prompt
    assert "caller   presses 2" in out
    assert "create order: complaint, menu path 2" in out
    assert out.rstrip().endswith("ended by the engine after 27.95s")


def test_simulate_with_another_menu_and_speech(
    tmp_path: Path, in_repo: None, capsys: pytest.CaptureFixture[str]
) -> None:
    menus = tmp_path / "menus"
    menus.mkdir()
    shutil.copytree(ROOT / "config" / "prompts", tmp_path / "prompts")
    (menus / "speech.yaml").write_text(
        yaml.safe_dump({
            "version": 1, "start": "main",
            "flows": {"main": [
                {"gather": {"prompt": "main_menu", "input": ["digits", "speech"], "into": "choice",
                            "phrases": {"complaint": ["投诉"], "consult": ["咨询"]}}},
                {"if": {"condition": {"variable": "choice", "equals": "complaint"},
                        "then": "bye"}},
                {"play": "no_input"},
                {"hangup": None},
            ], "bye": [{"play": "goodbye"}, {"hangup": None}]},
        }, allow_unicode=True),
        encoding="utf-8",
    )  # fmt: skip
    status, out, _ = run(
        capsys, "simulate", "--menu", str(menus / "speech.yaml"), "--input", "speech:我要投诉收费"
    )
    assert status == 0, out
    assert "listen for speech (投诉 / 咨询)" in out
    assert "caller   says 「我要投诉收费」" in out
    assert "play goodbye" in out and "play no_input" not in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["simulate", "--input", "2, x"], "bad input 'x'"),
        (["simulate", "--at", "tomorrow"], "Invalid isoformat string: 'tomorrow'"),
        (["simulate", "--menu", "no/such.yaml"], "no/such.yaml:1:1 cannot read menu"),
    ],
)
def test_simulate_reports_bad_arguments(
    in_repo: None, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    status, _, err = run(capsys, *args)
    assert status == 1
    assert message in err


def _settings_file(tmp_path: Path) -> Path:
    config = tmp_path / "hotline.yaml"
    config.write_text(yaml.safe_dump({"paths": {"var": str(tmp_path / "var")}}))
    return config


def test_reload_and_diff_without_a_running_worker(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = str(_settings_file(tmp_path))
    status, _, err = run(capsys, "--config", config, "reload")
    assert status == 1 and "no running IVR worker" in err
    status, _, err = run(capsys, "--config", config, "diff")
    assert status == 2 and "no running IVR worker" in err


def test_reload_refuses_a_stale_state_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = str(_settings_file(tmp_path))
    dead = WorkerState(pid=2**22 + 12345, menu="m.yaml", flow_version="abc", menu_text="",
                       started_at="2026-05-01T09:00:00+08:00")  # fmt: skip
    write_state(state_path(tmp_path / "var", 5070), dead)
    status, _, err = run(capsys, "--config", config, "reload")
    assert status == 1 and "missing or stale" in err


def test_diff_shows_the_running_against_the_on_disk_menu(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = str(_settings_file(tmp_path))
    menu = tmp_path / "menu.yaml"
    menu.write_text("a: 1\nb: 2\n", encoding="utf-8")
    state = WorkerState(pid=1, menu=str(menu), flow_version="v1", menu_text="a: 1\nb: 2\n",
                        started_at="2026-05-01T09:00:00+08:00")  # fmt: skip
    write_state(state_path(tmp_path / "var", 5070), state)
    assert run(capsys, "--config", config, "diff")[:2] == (
        0,
        f"{menu}: the running version v1 is what is on disk\n",
    )
    menu.write_text("a: 1\nb: 3\n", encoding="utf-8")
    status, out, _ = run(capsys, "--config", config, "diff")
    assert status == 1
    assert out.splitlines() == [
        f"--- {menu} (running, version v1)",
        f"+++ {menu} (on disk)",
        "@@ -1,2 +1,2 @@",
        " a: 1",
        "-b: 2",
        "+b: 3",
    ]
