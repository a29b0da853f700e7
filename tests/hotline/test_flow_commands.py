"""``hotline check-config``, ``schema``, ``simulate``, ``reload`` and ``diff`` via the CLI."""

from __future__ import annotations

import shutil
import wave
from datetime import UTC, datetime
from pathlib import Path

import pytest
import time_machine
import yaml

from hotline.cli import main as hotline
from ivr.engine.jsonschema import menu_schema_text
from ivr.prompts.build import audio_path
from ivr.prompts.durations import estimate_seconds
from ivr.prompts.texts import load_prompt_texts
from ivr.runstate import WorkerState, state_path, write_state

pytestmark = pytest.mark.unit

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


def _silent_wav(path: Path, seconds: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(8000)
        writer.writeframes(bytes(2 * round(8000 * seconds)))


@pytest.fixture
def sim_config(tmp_path: Path) -> Path:
    """Settings naming the shipped menu, texts and calendar by absolute path, and an empty
    prompt audio directory of the test's own (a built ``var/prompts`` must not change what
    the test sees)."""
    config = tmp_path / "hotline.yaml"
    settings = {
        "ivr": {
            "menu": str(ROOT / "config/menus/12320.yaml"),
            "prompt_texts": str(ROOT / "config/prompts/zh.yaml"),
            "prompt_audio": str(tmp_path / "prompts" / "zh"),
        },
        "calendar": str(ROOT / "config/calendar.yaml"),
    }
    config.write_text(yaml.safe_dump(settings), encoding="utf-8")
    return config


def _render_silence(config: Path, seconds: dict[str, float]) -> Path:
    """A silent WAV of the given length for every zh prompt (3 s, digits 0.5 s, or ``seconds``)."""
    audio = Path(yaml.safe_load(config.read_text(encoding="utf-8"))["ivr"]["prompt_audio"])
    for key in load_prompt_texts(ROOT / "config/prompts/zh.yaml").entries:
        default = 0.5 if key.startswith("digits/") else 3.0
        _silent_wav(audio_path(audio, key), seconds.get(key, default))
    return audio


def test_simulate_prints_prompts_with_texts_waits_and_actions(
    sim_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _render_silence(sim_config, {})
    status, out, _ = run(capsys, "--config", str(sim_config), "simulate", "--input", "2, talk:5",
                         "--at", "2026-10-01T09:00")  # fmt: skip
    assert status == 0
    assert "call at 2026-10-01T09:00+08:00\n" in out
    assert "play main_menu (barge-in)" in out
    assert "「咨询请按1，投诉请按2" in out  # the prompt's text
    assert "waits until 12.00s" in out  # the menu timeout after the prompt
    assert "caller   presses 2" in out
    assert "create order: complaint, menu path 2" in out
    assert "order created: 12320-20261001-00042" in out  # numbered on the call's day
    assert "estimated" not in out  # every length came from the audio
    assert out.rstrip().endswith("ended by the engine after 27.95s")


def test_simulate_takes_prompt_lengths_from_the_rendered_audio(
    sim_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _render_silence(sim_config, {"welcome": 1.7, "main_menu": 4.25})
    status, out, _ = run(capsys, "--config", str(sim_config), "simulate", "--input", "hangup",
                         "--at", "2026-10-01T09:00")  # fmt: skip
    assert status == 0
    assert "   1.70s  engine   play main_menu (barge-in)" in out
    assert "   5.95s  engine   waits until 11.95s" in out  # 1.70 + 4.25, then 6 s to answer


def test_simulate_estimates_unrendered_prompts_from_their_text_and_says_so(
    sim_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = run(capsys, "--config", str(sim_config), "simulate", "--input", "hangup",
                         "--at", "2026-10-01T09:00")  # fmt: skip
    assert status == 0
    texts = load_prompt_texts(ROOT / "config/prompts/zh.yaml").entries
    welcome = estimate_seconds(str(texts["welcome"]))
    assert 8 < welcome < 12  # espeak-ng renders the 39 characters in 9.6 s
    assert f"{welcome:7.2f}s  engine   play main_menu (barge-in)" in out
    assert "prompt lengths estimated from the text for 2 prompt(s) without audio in" in out


@pytest.mark.parametrize(
    ("zone", "called_at"),
    [
        ("Asia/Shanghai", "2027-01-01T00:30+08:00 (now)"),
        ("Asia/Urumqi", "2026-12-31T22:30+06:00 (now)"),  # a calendar in another zone
    ],
)
def test_simulate_calls_now_in_the_calendars_zone_by_default(
    sim_config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], zone: str,
    called_at: str,
) -> None:  # fmt: skip
    calendar = tmp_path / "calendar.yaml"
    text = (ROOT / "config/calendar.yaml").read_text(encoding="utf-8")
    calendar.write_text(text.replace("timezone: Asia/Shanghai", f"timezone: {zone}"), "utf-8")
    settings = yaml.safe_load(sim_config.read_text(encoding="utf-8"))
    sim_config.write_text(yaml.safe_dump({**settings, "calendar": str(calendar)}), "utf-8")
    _render_silence(sim_config, {})
    with time_machine.travel(datetime(2026, 12, 31, 16, 30, tzinfo=UTC), tick=False):
        status, out, _ = run(
            capsys, "--config", str(sim_config), "simulate", "--input", "2, talk:5"
        )
    assert status == 0
    assert f"call at {called_at}\n" in out
    assert "order created: 12320-20270101-00042" in out  # numbers count days in China


def test_simulate_prints_unused_input_as_typed(
    sim_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _render_silence(sim_config, {})
    script = "hangup, 3, speech:你好, !4, talk:2, -"
    status, out, _ = run(capsys, "--config", str(sim_config), "simulate", "--at",
                         "2026-10-01T09:00", "--input", script)  # fmt: skip
    assert status == 0
    assert out.splitlines()[-1] == "unused input: 3, speech:你好, !4, talk:2, silence"


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


def test_simulate_classifies_what_is_said_into_the_intake(
    sim_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The worker's classifier on config/intake.yaml: a sure intake goes to 120 at once."""
    settings = yaml.safe_load(sim_config.read_text(encoding="utf-8"))
    settings["intake"] = str(ROOT / "config/intake.yaml")
    sim_config.write_text(yaml.safe_dump(settings), encoding="utf-8")
    args = ("--config", str(sim_config), "simulate", "--at", "2026-10-09T09:00", "--connects",
            "--input", "2, speech:我爸昏迷了")  # fmt: skip
    status, out, err = run(capsys, *args)
    assert (status, err) == (0, "")
    assert "session  emergency medical_120 raised by the classifier" in out
    assert "transfer to line medical_120" in out
    status, out, _ = run(capsys, *args, "--no-classify")
    assert status == 0
    assert "raised by the classifier" not in out
    assert "create order: complaint, menu path 2" in out


def test_simulate_shows_the_confirming_question_and_the_answer(
    sim_config: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unsure verdict (a stand-in until config/intake.yaml's rules give ``confirm_line``)."""
    import hotline.commands.flow as flow_command

    def unsure(text: str, menu: str | None) -> dict[str, object]:
        return {"emergency_line": None, "confirm_line": "medical_120"}

    monkeypatch.setattr(flow_command, "_intake_classifier", lambda rules: unsure)
    script = "2, speech:我家老人胸口有点闷, 2"
    status, out, _ = run(capsys, "--config", str(sim_config), "simulate", "--at",
                         "2026-10-09T09:00", "--input", script)  # fmt: skip
    assert status == 0
    assert "「是否需要立即转接一二零急救？需要请按1，不需要请按2或稍候。」" in out
    assert "emergency question for medical_120: declined" in out
    assert "create order: complaint, menu path 2" in out
    assert out.rstrip().endswith("asked whether to transfer to medical_120: declined")
