"""Issue #3 acceptance: ``hotline reload`` switches new calls; a live call keeps its version.

A real node (Kamailio, the worker as a subprocess, the work-order service,
baresip callers) runs a *copy* of the shipped config that the test edits. The
observable difference: the new version maps key 2 to ``report`` instead of
``complaint``, and every order carries the ``flow_version`` it came through.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hotline.cli import main as hotline
from ivr.runstate import read_state, state_path
from tests.e2e.conftest import Node, make_wav, running_node, wait_until
from tests.e2e.peers import REPO, Baresip

pytestmark = pytest.mark.e2e

COMPLAINT = "2: {set: {category: complaint}, goto: intake}"
REPORT = "2: {set: {category: report}, goto: intake}"
BROKEN = "2: {set: {category: complain}, goto: intake}"


@pytest.fixture(scope="module")
def config_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    config = tmp_path_factory.mktemp("config") / "config"
    shutil.copytree(REPO / "config", config)
    return config


@pytest.fixture(scope="module")
def reload_node(
    tmp_path_factory: pytest.TempPathFactory,
    prompt_audio: Path,
    test_model: Path,
    config_copy: Path,
) -> Iterator[Node]:
    with running_node(
        tmp_path_factory.mktemp("reload-node"),
        prompt_audio,
        test_model,
        menu=config_copy / "menus" / "12320.yaml",
        prompt_texts=config_copy / "prompts" / "zh.yaml",
        calendar=config_copy / "calendar.yaml",
    ) as started:
        yield started


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        hotline(list(args))
    out, err = capsys.readouterr()
    return int(exited.value.code or 0), out, err


def running_version(node: Node) -> str:
    state = read_state(state_path(Path(node.config["paths"]["var"]), node.worker_sip_port))
    assert state is not None
    return state.flow_version


def dial_and_choose(node: Node, tmp: Path, number: str, silence: Path) -> Baresip:
    """Dial, press 2 during the main menu, and wait until the beep has played."""
    caller = Baresip(tmp / f"baresip-{number}", user=number, proxy_port=node.edge_port,
                     codec="PCMU", audio_source=silence)  # fmt: skip
    caller.start()
    caller.command("dial", f"sip:12320@127.0.0.1:{node.edge_port}")
    caller.wait_event("CALL_ESTABLISHED", 15)
    time.sleep(node.prompt_seconds("welcome") + 1.0)
    caller.command("sndcode", "2")
    time.sleep(node.prompt_seconds("record_instructions") + 0.25 + 1.0)
    return caller


def finish(caller: Baresip) -> None:
    try:
        caller.command("sndcode", "#")
        caller.wait_event("CALL_CLOSED", 60)  # order, read-back, goodbye
    finally:
        caller.stop()


def test_live_call_keeps_its_version_while_reload_switches_new_calls(
    reload_node: Node, config_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    node = reload_node
    menu = config_copy / "menus" / "12320.yaml"
    original = menu.read_text(encoding="utf-8")
    assert COMPLAINT in original
    config = str(node.config_path)
    # The caller speaks (a tone above the silence gate): a silent intake is a 无效来电 now.
    silence = make_wav(
        tmp_path / "voice.wav", ["-n"], ["synth", "120", "sine", "300", "vol", "0.3"]
    )
    old_version = running_version(node)
    assert run_cli(capsys, "--config", config, "diff")[0] == 0

    first = dial_and_choose(node, tmp_path, "13800138101", silence)
    try:
        # A broken change is rejected with its location; the running version stays.
        menu.write_text(original.replace(COMPLAINT, BROKEN), encoding="utf-8")
        status, _, err = run_cli(capsys, "--config", config, "reload")
        assert status == 1
        line = next(n for n, text in enumerate(original.splitlines(), 1) if COMPLAINT in text)
        column = original.splitlines()[line - 1].index("complaint") + 1
        assert f"{menu}:{line}:{column} flows.main[1].menu.options.2.set.category: " in err
        assert "unknown category 'complain'" in err
        assert running_version(node) == old_version
        assert "reload rejected" in node.worker.log()

        # A valid change: diff shows it, reload switches to it.
        menu.write_text(original.replace(COMPLAINT, REPORT), encoding="utf-8")
        status, out, _ = run_cli(capsys, "--config", config, "diff")
        assert status == 1
        assert f"-          {COMPLAINT}" in out and f"+          {REPORT}" in out
        status, out, _ = run_cli(capsys, "--config", config, "reload")
        assert status == 0, out
        new_version = running_version(node)
        assert new_version != old_version
        assert f"new calls run flow {new_version} (was {old_version})" in out
        assert run_cli(capsys, "--config", config, "diff")[0] == 0
    finally:
        finish(first)  # the first call ends on the version it started with

    second = dial_and_choose(node, tmp_path, "13800138102", silence)
    finish(second)

    (old_order,) = wait_until(lambda: node.orders("13800138101"), 15, "the first order")
    (new_order,) = wait_until(lambda: node.orders("13800138102"), 15, "the second order")
    assert (old_order["category"], old_order["flow_version"]) == ("complaint", old_version)
    assert (new_order["category"], new_order["flow_version"]) == ("report", new_version)
    assert old_order["menu_path"] == new_order["menu_path"] == ["2"]
