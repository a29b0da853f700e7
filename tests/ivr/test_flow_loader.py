"""Loading menu files: the shipped menu, and broken files with exact error locations."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from ivr.engine.errors import FlowError
from ivr.engine.flow import load_flow
from ivr.engine.verbs.menu import MenuVerb
from ivr.prompts.texts import load_prompt_texts

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
SHIPPED_MENU = ROOT / "config" / "menus" / "12320.yaml"
PROMPTS = """\
voice: cmn-latn-pinyin
prompts:
  welcome: 您好
  menu: 请选择
  bye: 再见
  please_wait: 请稍候
  beep: {tone: 1000, seconds: 0.25}
""" + "".join(f"  digits/{digit}: '{digit}'\n" for digit in "0123456789")
GOOD_MAIN = """\
version: 1
start: main
flows:
  main:
    - play: welcome
    - menu:
        prompt: menu
        options:
          1: {set: {category: consult}, goto: bye}
          9: bye
  bye:
    - play: bye
    - hangup
"""


def write(tmp_path: Path, menu: str, prompts: str | None = PROMPTS) -> Path:
    (tmp_path / "menus").mkdir(exist_ok=True)
    (tmp_path / "prompts").mkdir(exist_ok=True)
    if prompts is not None:
        (tmp_path / "prompts" / "zh.yaml").write_text(prompts, encoding="utf-8")
    path = tmp_path / "menus" / "test.yaml"
    path.write_text(textwrap.dedent(menu), encoding="utf-8")
    return path


def test_the_shipped_menu_loads() -> None:
    flow = load_flow(SHIPPED_MENU)
    assert flow.start == "answer"
    assert flow.language == "zh"
    assert len(flow.version) == 12
    assert int(flow.version, 16) >= 0
    menu = flow.flows["main"][1]
    assert isinstance(menu, MenuVerb)
    assert sorted(menu.options) == ["0", "1", "2", "3", "4", "5", "9"]
    texts = load_prompt_texts(ROOT / "config" / "prompts" / "zh.yaml")
    assert flow.prompt_keys() <= texts.keys()
    assert {"beep", "please_wait", "digits/0", "digits/9", "main_menu"} <= flow.prompt_keys()


def test_version_is_the_hash_of_the_file_bytes(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD_MAIN)
    first = load_flow(path).version
    path.write_text(GOOD_MAIN + "# a comment changes the version\n", encoding="utf-8")
    assert load_flow(path).version != first
    assert load_flow(path).source == path


def test_prompt_texts_can_be_given_explicitly(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD_MAIN, prompts=None)
    texts = tmp_path / "elsewhere.yaml"
    texts.write_text(PROMPTS, encoding="utf-8")
    assert load_flow(path, prompt_texts=texts).prompt_texts == texts


# Each case: the menu text and the exact message after "<file>:".
BROKEN = [
    pytest.param(
        GOOD_MAIN.replace("- play: welcome", "- plya: welcome"),
        "5:7 flows.main[0].plya: unknown verb 'plya' (did you mean 'play'?)",
        id="unknown-verb",
    ),
    pytest.param(
        GOOD_MAIN.replace("prompt: menu", "prompt: menu\n        tiemout: 5"),
        "8:9 flows.main[1].menu.tiemout: unknown key 'tiemout' (did you mean 'timeout'?)",
        id="unknown-key",
    ),
    pytest.param(
        GOOD_MAIN.replace("9: bye", "9: ambulance"),
        "10:14 flows.main[1].menu.options.9: unknown flow 'ambulance'",
        id="bad-goto-target",
    ),
    pytest.param(
        GOOD_MAIN.replace("goto: bye}", "goto: byebye}"),
        "9:47 flows.main[1].menu.options.1.goto: unknown flow 'byebye'",
        id="bad-goto-in-branch",
    ),
    pytest.param(
        GOOD_MAIN.replace("prompt: menu", "prompt: menu\n        timeout: soon"),
        "8:18 flows.main[1].menu.timeout: input should be a valid number, got 'soon'",
        id="wrong-type",
    ),
    pytest.param(
        GOOD_MAIN.replace("prompt: menu", "prompt: menu\n        timeout: 30"),
        "8:18 flows.main[1].menu.timeout: input should be less than or equal to 10, got 30",
        id="silence-too-long",
    ),
    pytest.param(
        GOOD_MAIN.replace("- play: bye", "- play: [bye, farewell]"),
        "12:19 flows.bye[0].play[1]: no text for prompt 'farewell' in {prompts}",
        id="missing-prompt-text",
    ),
    pytest.param(
        GOOD_MAIN.replace("    - hangup", "    - hangup\n   - play: bye"),
        "14:4 YAML syntax error: expected <block end>, but found '<block sequence start>'"
        " (check the indentation)",
        id="yaml-syntax",
    ),
    pytest.param(
        GOOD_MAIN.replace("9: bye", "1: bye"),
        "10:11 flows.main[1].menu.options.1: duplicate key '1'",
        id="duplicate-key",
    ),
    pytest.param(
        GOOD_MAIN.replace("- play: welcome", "- play: welcome\n      barge_in: true"),
        "5:7 flows.main[0]: a verb is a mapping with exactly one key (its name);"
        " found keys: play, barge_in",
        id="verb-with-two-keys",
    ),
    pytest.param(
        GOOD_MAIN.replace("{category: consult}", "{caller: '110'}"),
        "9:21 flows.main[1].menu.options.1.set.caller:"
        " variable 'caller' is set by the engine and cannot be changed",
        id="read-only-variable",
    ),
    pytest.param(
        GOOD_MAIN.replace("{category: consult}", "{category: complain}"),
        "9:31 flows.main[1].menu.options.1.set.category: unknown category 'complain'"
        " (one of: consult, complaint, report, suggestion, help, emergency)",
        id="unknown-category",
    ),
    pytest.param(
        GOOD_MAIN.replace("- hangup", "- say_digits: $order_nmuber"),
        "13:19 flows.bye[1].say_digits: unknown variable '$order_nmuber'",
        id="unknown-variable",
    ),
    pytest.param(
        GOOD_MAIN.replace("start: main", "start: mian"),
        "2:8 start: unknown flow 'mian'",
        id="unknown-start",
    ),
    pytest.param(
        GOOD_MAIN.replace("start: main", "start: main\nlanguages: zh"),
        "3:1 languages: unknown key 'languages' (did you mean 'language'?)",
        id="unknown-top-level-key",
    ),
    pytest.param(
        GOOD_MAIN.replace("    - hangup", "    - record: {silence_seconds: 8}"),
        "13:33 flows.bye[1].record.silence_seconds: input should be less than or equal to 5, got 8",
        id="record-silence-bound",
    ),
    pytest.param(
        GOOD_MAIN.replace("options:", "options:\n          12: bye"),
        "9:11 flows.main[1].menu.options.12: bad key '12': one of 0-9, *, #, A-D",
        id="bad-menu-key",
    ),
    pytest.param(
        GOOD_MAIN.replace("    - hangup", "    - play"),
        "13:7 flows.bye[1]: missing required key 'prompt'",
        id="bare-verb-needs-arguments",
    ),
]


@pytest.mark.parametrize(("menu", "message"), BROKEN)
def test_broken_menu_names_file_line_column_and_path(
    tmp_path: Path, menu: str, message: str
) -> None:
    path = write(tmp_path, menu)
    with pytest.raises(FlowError) as caught:
        load_flow(path)
    prompts = tmp_path / "prompts" / "zh.yaml"
    assert str(caught.value) == f"{path}:" + message.format(prompts=prompts)


def test_every_problem_is_reported_in_file_order(tmp_path: Path) -> None:
    menu = GOOD_MAIN.replace("9: bye", "9: ambulance").replace("- play: bye", "- play: nope")
    path = write(tmp_path, menu)
    with pytest.raises(FlowError) as caught:
        load_flow(path)
    assert [(p.line, p.path) for p in caught.value.problems] == [
        (10, "flows.main[1].menu.options.9"),
        (12, "flows.bye[0].play"),
    ]


def test_missing_prompt_texts_file_is_reported(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD_MAIN, prompts=None)
    with pytest.raises(FlowError) as caught:
        load_flow(path)
    assert str(caught.value).startswith(f"{tmp_path / 'prompts' / 'zh.yaml'}:1:1 cannot read")


def test_broken_prompt_texts_are_reported_with_their_location(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD_MAIN, prompts=PROMPTS.replace("bye: 再见", "bye: [再见]"))
    with pytest.raises(FlowError) as caught:
        load_flow(path)
    prompts = tmp_path / "prompts" / "zh.yaml"
    assert str(caught.value).splitlines()[0] == (
        f"{prompts}:5:8 prompts.bye: expected the prompt's text (quote numbers)"
        " or a tone {tone: HZ, seconds: S}"
    )
