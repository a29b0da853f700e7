"""Broken menus using the verbs of issue #3: each gives the exact file:line:col path: message.

(The skeleton's cases are in ``test_flow_loader.py``.) Also: routing.yaml and
second-language problems, and the JSON Schema shipped for editors.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import jsonschema
import pytest
import yaml

from ivr.engine.errors import FlowError
from ivr.engine.flow import load_flow
from ivr.engine.jsonschema import menu_schema, menu_schema_text
from ivr.engine.verbs.connect import QUEUE_PROMPTS

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
PROMPTS = (
    """\
voice: cmn-latn-pinyin
prompts:
  ask: 请输入
  again: 输入有误
  bye: 再见
  please_wait: 请稍候
  beep: {tone: 1000, seconds: 0.25}
"""
    + "".join(f"  digits/{digit}: '{digit}'\n" for digit in "0123456789")
    + "".join(f"  {key}: 文\n" for key in QUEUE_PROMPTS if not key.startswith("digits/"))
)  # what the `queue` verb says
ROUTING = """\
lines:
  duty: {targets: ["sip:8001@127.0.0.1"], ring_seconds: 30}
groups:
  agents: {members: ["sip:1001@127.0.0.1"]}
"""
BASE = """\
version: 1
start: main
flows:
  main:
    - hours: {open: staffed, closed: bye}
  staffed:
    - gather: {prompt: ask, num_digits: 4, into: id_number, invalid: again}
    - if: {condition: {variable: id_number, equals: "1234"}, then: bye}
    - language: en
    - transfer: {line: duty, on_failure: agents}
  agents:
    - queue: {group: agents, on_failure: bye}
  bye:
    - play: bye
    - hangup
"""
ENGLISH = "voice: en\nprompts:\n  bye: Goodbye\n"


def write(tmp_path: Path, menu: str, *, routing: str | None = ROUTING) -> Path:
    (tmp_path / "menus").mkdir(exist_ok=True)
    (tmp_path / "prompts").mkdir(exist_ok=True)
    (tmp_path / "prompts" / "zh.yaml").write_text(PROMPTS, encoding="utf-8")
    (tmp_path / "prompts" / "en.yaml").write_text(ENGLISH, encoding="utf-8")
    if routing is not None:
        (tmp_path / "routing.yaml").write_text(routing, encoding="utf-8")
    path = tmp_path / "menus" / "test.yaml"
    path.write_text(textwrap.dedent(menu), encoding="utf-8")
    return path


# (replace, with, the exact message after "<menu file>:"); {routing}/{prompts} are paths.
CASES = [
    pytest.param(
        "line: duty", "line: ambulance",
        "10:24 flows.staffed[3].transfer.line: unknown line 'ambulance'"
        " (lines of {routing}: duty)",
        id="unknown-line",
    ),
    pytest.param(
        "group: agents", "group: agnets",
        "12:22 flows.agents[0].queue.group: unknown group 'agnets' (groups of {routing}: agents)",
        id="unknown-group",
    ),
    pytest.param(
        "num_digits: 4", "num_digits: 4, min_digits: 6",
        "7:15 flows.staffed[0].gather: min_digits (6) is more than num_digits (4)",
        id="gather-min-above-max",
    ),
    pytest.param(
        "num_digits: 4", "num_digits: 4, finish_on_key: '5'",
        "7:15 flows.staffed[0].gather: finish_on_key '5' would be taken as a digit",
        id="gather-digit-finish-key",
    ),
    pytest.param(
        "num_digits: 4", "num_digits: 4, input: speech",
        "7:15 flows.staffed[0].gather: 'phrases' is needed with input speech, and only then",
        id="gather-speech-without-phrases",
    ),
    pytest.param(
        "into: id_number", "into: caller",
        "7:50 flows.staffed[0].gather.into:"
        " variable 'caller' is set by the engine and cannot be changed",
        id="gather-into-read-only",
    ),
    pytest.param(
        "invalid: again", "invalid: agian",
        "7:70 flows.staffed[0].gather.invalid: no text for prompt 'agian' in {prompts}",
        id="gather-prompt-without-text",
    ),
    pytest.param(
        "num_digits: 4", "num_digits: 4, first_digit_timeout: 12",
        "7:65 flows.staffed[0].gather.first_digit_timeout:"
        " input should be less than or equal to 10, got 12",
        id="gather-timeout-bound",
    ),
    pytest.param(
        "{open: staffed, closed: bye}", "{}",
        "5:14 flows.main[0].hours: give at least one of 'open', 'closed', 'holiday'",
        id="hours-without-branches",
    ),
    pytest.param(
        "{open: staffed, closed: bye}", "{open: staffed, closed: night}",
        "5:38 flows.main[0].hours.closed: unknown flow 'night'",
        id="hours-unknown-flow",
    ),
    pytest.param(
        'equals: "1234"}', 'equal: "1234"}',
        "8:45 flows.staffed[1].if.condition.equal: unknown key 'equal'",
        id="if-unknown-key",
    ),
    pytest.param(
        "then: bye}", "then: bye, else: nowhere}",
        "8:79 flows.staffed[1].if.else: unknown flow 'nowhere'",
        id="if-else-unknown-flow",
    ),
    pytest.param(
        '{variable: id_number, equals: "1234"}', "{day_kind: [holliday]}",
        "8:35 flows.staffed[1].if.condition.day_kind[0]:"
        " input should be 'workday', 'weekend', 'holiday' or 'makeup_workday'",
        id="if-bad-day-kind",
    ),
    pytest.param(
        '{variable: id_number, equals: "1234"}', "{time: '18:00-08:00'}",
        "8:30 flows.staffed[1].if.condition.time:"
        " bad time span '18:00-08:00': it ends before it starts",
        id="if-backwards-time-span",
    ),
    pytest.param(
        '{variable: id_number, equals: "1234"}', "{variable: id_numbr, equals: '1'}",
        "8:34 flows.staffed[1].if.condition.variable: unknown variable '$id_numbr'",
        id="if-unknown-variable",
    ),
    pytest.param(
        "language: en", "language: fr",
        "9:17 flows.staffed[2].language:"
        " no prompt texts for language 'fr' ({prompts_dir}/fr.yaml is missing)",
        id="language-without-texts",
    ),
    pytest.param(
        "language: en", "language: English",
        "9:17 flows.staffed[2].language:"
        " string should match pattern '^[a-z]{{2,3}}(-[A-Za-z0-9]+)*$', got 'English'",
        id="language-bad-code",
    ),
    pytest.param(
        "transfer: {line: duty", "transfer: {line: duty, timout: 10",
        "10:30 flows.staffed[3].transfer.timout: unknown key 'timout' (did you mean 'timeout'?)",
        id="transfer-unknown-key",
    ),
    pytest.param(
        "- play: bye", "- say_number: {value: '12', style: roman}",
        "14:40 flows.bye[0].say_number.style: input should be 'number' or 'date'",
        id="say-number-style",
    ),
    pytest.param(
        "- play: bye", "- create_order: {category: consult, on_failure: bye, priority: asap}",
        "14:68 flows.bye[0].create_order.priority:"
        " input should be 'low', 'normal', 'high' or 'urgent'",
        id="create-order-priority",
    ),
    pytest.param(
        "- play: bye", "- create_order: {category: consult, on_failure: bye, domain: disease}",
        "14:66 flows.bye[0].create_order.domain: unknown domain 'disease':"
        " use one of medical_service, hospital_management, medical_fees, medical_quality,"
        " prevention, infectious_disease, food_safety, occupational_poisoning,"
        " health_supervision, medical_ethics, other",
        id="create-order-domain",
    ),
]  # fmt: skip


def test_the_base_menu_is_valid(tmp_path: Path) -> None:
    flow = load_flow(write(tmp_path, BASE))
    assert flow.languages == ("zh", "en")
    assert set(flow.targets.lines) == {"duty"}


@pytest.mark.parametrize(("old", "new", "message"), CASES)
def test_broken_menu_names_file_line_column_and_path(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    assert old in BASE
    path = write(tmp_path, BASE.replace(old, new))
    with pytest.raises(FlowError) as caught:
        load_flow(path)
    expected = message.format(
        routing=tmp_path / "routing.yaml",
        prompts=tmp_path / "prompts" / "zh.yaml",
        prompts_dir=tmp_path / "prompts",
    )
    assert str(caught.value) == f"{path}:{expected}"


def test_a_menu_using_lines_needs_routing_yaml(tmp_path: Path) -> None:
    path = write(tmp_path, BASE, routing=None)
    with pytest.raises(FlowError) as caught:
        load_flow(path)
    assert str(caught.value) == f"{tmp_path / 'routing.yaml'}:1:1 cannot read routing: " + (
        f"[Errno 2] No such file or directory: '{tmp_path / 'routing.yaml'}'"
    )


def test_a_menu_without_transfers_needs_no_routing_yaml(tmp_path: Path) -> None:
    menu = "version: 1\nstart: main\nflows:\n  main:\n    - play: bye\n"
    assert load_flow(write(tmp_path, menu, routing=None)).targets.source is None


@pytest.mark.parametrize(
    ("routing", "message"),
    [
        pytest.param(
            ROUTING.replace("ring_seconds: 30", "ring_second: 30"),
            "2:43 lines.duty.ring_second: unknown key 'ring_second'",
            id="routing-unknown-key",
        ),
        pytest.param(
            ROUTING.replace('"sip:8001@127.0.0.1"', '"8001"'),
            "2:20 lines.duty.targets[0]: string should match pattern '^sips?:[^\\s]+$', got '8001'",
            id="routing-not-a-sip-uri",
        ),
        pytest.param(
            ROUTING.replace('members: ["sip:1001@127.0.0.1"]', "members: []"),
            "4:21 groups.agents.members: tuple should have at least 1 item after validation, not 0",
            id="routing-empty-group",
        ),
        pytest.param(
            ROUTING.replace("ring_seconds: 30}", "ring_seconds: 30, fallback_group: nobody}"),
            "2:77 lines.duty.fallback_group: unknown group 'nobody'",
            id="routing-unknown-fallback-group",
        ),
    ],
)
def test_broken_routing_yaml_is_located(tmp_path: Path, routing: str, message: str) -> None:
    path = write(tmp_path, BASE, routing=routing)
    with pytest.raises(FlowError) as caught:
        load_flow(path)
    assert str(caught.value) == f"{tmp_path / 'routing.yaml'}:{message}"


def test_a_broken_second_language_file_is_located(tmp_path: Path) -> None:
    path = write(tmp_path, BASE)
    (tmp_path / "prompts" / "en.yaml").write_text("voice: en\nprompt: {}\n", encoding="utf-8")
    with pytest.raises(FlowError) as caught:
        load_flow(path)
    en = tmp_path / "prompts" / "en.yaml"
    assert str(caught.value).splitlines() == [
        f"{en}:1:1 missing required key 'prompts'",
        f"{en}:2:1 prompt: unknown key 'prompt' (did you mean 'prompts'?)",
    ]


# -- the JSON Schema for editors ----------------------------------------------------------------
def test_the_shipped_schema_is_the_generated_one() -> None:
    shipped = ROOT / "config" / "menus" / "menu.schema.json"
    assert shipped.read_text(encoding="utf-8") == menu_schema_text(), (
        "run: hotline schema > config/menus/menu.schema.json"
    )


def test_the_shipped_menu_points_editors_at_the_schema() -> None:
    first = (ROOT / "config" / "menus" / "12320.yaml").read_text(encoding="utf-8").splitlines()[0]
    assert first == "# yaml-language-server: $schema=menu.schema.json"


def test_the_schema_accepts_the_shipped_menu_and_the_base_menu() -> None:
    schema = menu_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    for text in ((ROOT / "config" / "menus" / "12320.yaml").read_text(encoding="utf-8"), BASE):
        jsonschema.validate(_json_keys(yaml.safe_load(text)), schema)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("- play: bye", "- plya: bye"),
        ("num_digits: 4", "num_digits: 4, tiemout: 3"),
        ("num_digits: 4", "num_digits: many"),
        ("{open: staffed, closed: bye}", "{open: staffed, closed: bye, when: now}"),
        ("language: en", "language: English"),
        ('{variable: id_number, equals: "1234"}', "{day_kind: [holliday]}"),
    ],
)
def test_the_schema_rejects_what_the_loader_rejects(old: str, new: str) -> None:
    document = _json_keys(yaml.safe_load(BASE.replace(old, new)))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, menu_schema())


def _json_keys(value: object) -> object:
    """YAML ``1:`` keys are numbers; an editor sees them as JSON object keys (text)."""
    if isinstance(value, dict):
        return {str(key): _json_keys(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_keys(item) for item in value]
    return value


def test_schema_is_json_with_every_verb() -> None:
    schema = json.loads(menu_schema_text())
    titles = {verb["title"] for verb in schema["$defs"]["Verb"]["oneOf"] if "title" in verb}
    assert {"gather", "transfer", "queue", "hours", "if", "language", "say_number"} <= titles
