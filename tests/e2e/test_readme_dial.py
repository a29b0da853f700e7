"""Issue 12, item 4: the README's dial-in commands, run exactly as written, make an order.

A node runs by ``hotline up`` in a directory laid out like a checkout (``config/hotline.yaml``
with the test's free ports, ``var/``, ``.venv``); the README's block runs in it through
bash — ``espeak-ng`` renders the complaint, ``hotline dial`` (a headless baresip) presses 2,
speaks it after the beep and presses ``#`` — and the order must be in the API.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.hotline_up import UpNode, hotline_up, node_config
from tests.e2e.peers import REPO, Mosquitto, require, wait_for

pytestmark = pytest.mark.e2e

MARKER = "<!-- dial-in: tests/e2e/test_readme_dial.py runs this block exactly as written -->"


def readme_dial_in() -> str:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert MARKER in readme
    match = re.search(r"```sh\n(.*?)```", readme[readme.index(MARKER) :], re.DOTALL)
    assert match is not None
    return match.group(1)


@pytest.fixture
def checkout(tmp_path: Path, prompt_audio: Path) -> Iterator[tuple[Path, UpNode]]:
    require("kamailio", "baresip", "mosquitto", "sox", "espeak-ng")
    project = tmp_path / "checkout"
    project.mkdir()
    (project / ".venv").symlink_to(Path(sys.prefix))  # .venv/bin/hotline, as in the checkout
    broker = Mosquitto(tmp_path / "mosquitto")
    broker.start()
    try:
        config = node_config(project, workers=1, mqtt_port=broker.port,
                             prompt_audio=prompt_audio, drain_seconds=5)  # fmt: skip
        with hotline_up(project / "config", config) as node:
            yield project, node
    finally:
        broker.stop()


def test_the_readme_dial_in_commands_make_an_order(checkout: tuple[Path, UpNode]) -> None:
    project, node = checkout
    commands = readme_dial_in()
    assert ".venv/bin/hotline dial --digits 2 --speech complaint.wav" in commands
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", commands], cwd=project,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "answered\npressed 2\nspeaking complaint.wav" in done.stdout
    assert "the hotline hung up after" in done.stdout
    orders = wait_for(lambda: [o for o in node.all_orders() if o["caller_number"] == "13800138000"],
                      30, "the order of the README's call")  # fmt: skip
    assert len(orders) == 1
    (order,) = orders
    assert (order["category"], order["menu_path"]) == ("complaint", ["2"])
    assert order["recording"]  # the caller spoke after the beep
