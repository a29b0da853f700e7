"""The worker's hot reload without SIP: ``Versions`` swaps only for a fully valid new version.

The end-to-end proof with live calls is ``tests/e2e/test_reload.py``.
"""

from __future__ import annotations

import logging
import os
import shutil
import wave
from pathlib import Path

import pytest

from ivr.errors import IvrError
from ivr.prompts.build import audio_path
from ivr.prompts.texts import load_prompt_texts
from ivr.runstate import read_state, state_path
from ivr.worker import Versions, load_first_version, load_version
from settings.node import Settings

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]


def silent_audio(texts: Path, out: Path) -> None:
    for key in load_prompt_texts(texts).entries:
        path = audio_path(out, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        with wave.open(str(path), "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(8000)
            wav.writeframes(b"\0\0" * 800)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    config = tmp_path / "config"
    shutil.copytree(ROOT / "config", config)
    audio = tmp_path / "var" / "prompts" / "zh"
    silent_audio(config / "prompts" / "zh.yaml", audio)
    silent_audio(config / "prompts" / "en.yaml", audio.with_name("en"))
    return Settings.model_validate(
        {
            "ivr": {
                "menu": config / "menus" / "12320.yaml",
                "prompt_texts": config / "prompts" / "zh.yaml",
                "prompt_audio": audio,
            },
            "paths": {"var": tmp_path / "var"},
            "calendar": config / "calendar.yaml",
        }
    )


def edit_menu(settings: Settings, old: str, new: str) -> None:
    menu = settings.ivr.menu
    text = menu.read_text(encoding="utf-8")
    assert old in text
    menu.write_text(text.replace(old, new), encoding="utf-8")


async def test_reload_switches_new_calls_and_keeps_the_old_version_intact(
    settings: Settings,
) -> None:
    versions = Versions(settings, load_version(settings))
    before = versions.current  # what a call answered now holds
    state = read_state(state_path(settings.paths.var, settings.ivr.sip_port))
    assert state is not None
    assert (state.pid, state.flow_version, state.reloads) == (os.getpid(), before.flow.version, 0)
    assert state.menu_text == settings.ivr.menu.read_text(encoding="utf-8")

    edit_menu(settings, "{category: complaint}", "{category: report}")
    outcome = await versions.reload()
    assert outcome.ok
    assert versions.current.flow.version == outcome.version != before.flow.version
    assert before.flow.flows["main"][1].options["2"].assign == {"category": "complaint"}  # type: ignore[attr-defined]
    assert versions.current.flow.flows["main"][1].options["2"].assign == {"category": "report"}  # type: ignore[attr-defined]
    state = read_state(state_path(settings.paths.var, settings.ivr.sip_port))
    assert state is not None
    assert (state.flow_version, state.reloads) == (outcome.version, 1)
    assert "{category: report}" in state.menu_text


@pytest.mark.parametrize(
    ("old", "new", "error"),
    [
        pytest.param("9: emergency", "9: ambulance", "unknown flow 'ambulance'", id="bad-menu"),
        pytest.param("- play: goodbye", "- play: farewell", "no text for prompt 'farewell'",
                     id="prompt-without-text"),
    ],
)  # fmt: skip
async def test_an_invalid_change_is_rejected_and_the_running_version_stays(
    settings: Settings, old: str, new: str, error: str
) -> None:
    versions = Versions(settings, load_version(settings))
    running = versions.current
    edit_menu(settings, old, new)
    outcome = await versions.reload()
    assert not outcome.ok
    assert error in outcome.error and str(settings.ivr.menu) in outcome.error
    assert versions.current is running
    assert outcome.version == running.flow.version
    state = read_state(state_path(settings.paths.var, settings.ivr.sip_port))
    assert state is not None
    assert (state.flow_version, state.reloads) == (running.flow.version, 1)
    assert state.last_reload == outcome
    assert state.menu_text == running.flow.text  # still what runs, not the broken file


async def test_a_new_prompt_without_audio_is_rejected(settings: Settings) -> None:
    versions = Versions(settings, load_version(settings))
    texts = settings.ivr.prompt_texts
    texts.write_text(texts.read_text(encoding="utf-8") + "  farewell: 再会\n", encoding="utf-8")
    edit_menu(settings, "- play: goodbye", "- play: farewell")
    outcome = await versions.reload()
    assert not outcome.ok
    assert "prompt audio missing" in outcome.error and "farewell" in outcome.error


async def test_a_broken_calendar_is_rejected(settings: Settings) -> None:
    versions = Versions(settings, load_version(settings))
    settings.calendar.write_text("timezone: Mars/Olympus\n", encoding="utf-8")
    outcome = await versions.reload()
    assert not outcome.ok and "Mars/Olympus" in outcome.error


# -- issue 13, item 9: a restart on a broken disk runs the last good configuration --


def test_a_worker_restarting_on_a_broken_menu_runs_the_last_good_one_and_says_so(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    good, why = load_first_version(settings)  # the first start saves what it loaded
    assert why == ""
    assert (settings.paths.var / "run" / "menu-last-good.json").exists()
    edit_menu(settings, "9: emergency", "9: ambulance")  # broken while the worker was down
    with pytest.raises(IvrError):
        load_version(settings)  # what made the worker crash-loop (36 s with no worker)
    with caplog.at_level(logging.ERROR, logger="ivr.worker"):
        version, why = load_first_version(settings)
    assert version.flow.version == good.flow.version
    assert "unknown flow 'ambulance'" in why
    assert any("DOES NOT LOAD" in r.getMessage() for r in caplog.records)
    versions = Versions(settings, version, why)
    state = read_state(state_path(settings.paths.var, settings.ivr.sip_port))
    assert state is not None and "ambulance" in state.fallback
    assert versions.settings.ivr.menu == settings.ivr.menu  # a reload reads the real file


async def test_a_successful_reload_ends_the_fallback_and_becomes_the_last_good(
    settings: Settings,
) -> None:
    load_first_version(settings)
    edit_menu(settings, "9: emergency", "9: ambulance")
    versions = Versions(settings, *load_first_version(settings))
    edit_menu(settings, "9: ambulance", "9: emergency")
    edit_menu(settings, "{category: complaint}", "{category: report}")
    outcome = await versions.reload()
    assert outcome.ok
    state = read_state(state_path(settings.paths.var, settings.ivr.sip_port))
    assert state is not None and state.fallback == ""
    edit_menu(settings, "9: emergency", "9: ambulance")
    version, _ = load_first_version(settings)
    assert version.flow.version == outcome.version  # the reloaded one was saved


def test_without_a_last_good_configuration_a_broken_menu_still_fails_loudly(
    settings: Settings,
) -> None:
    edit_menu(settings, "9: emergency", "9: ambulance")
    with pytest.raises(IvrError, match="ambulance"):
        load_first_version(settings)
