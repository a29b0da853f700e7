"""config/agents.yaml: the shipped file, and every kind of mistake located by file:line:col."""

from __future__ import annotations

from pathlib import Path

import pytest

from routing.agents import AgentsError, load_agents, parse_agents

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]

GOOD = """\
groups:
  intake: {label: 受理组, overflow_to: complaints, overflow_after: 120, max_wait: 300}
  complaints: {label: 投诉组}
agents:
  - {login: a1001, name: 张敏, extension: "1001", groups: [intake], skills: [cantonese]}
  - {login: a1002, name: 李强, extension: "1002", groups: [intake, complaints]}
"""


def test_the_shipped_file_matches_the_contract() -> None:
    config = load_agents(REPO / "config/agents.yaml")
    assert list(config.groups) == ["intake", "complaints", "emergency_agents"]
    intake = config.groups["intake"]
    assert (intake.label, intake.overflow_to, intake.overflow_after, intake.max_wait) == (
        "受理组", "complaints", 120.0, 300.0,
    )  # fmt: skip
    a1001 = config.agents["a1001"]
    assert (a1001.extension, a1001.groups) == ("1001", ("intake", "emergency_agents"))
    assert a1001.skills == {"mandarin", "cantonese"}
    assert [a.login for a in config.members("intake")] == ["a1001", "a1002"]


def test_a_good_file() -> None:
    config = parse_agents(GOOD)
    assert config.groups["complaints"].ring_seconds == 20.0
    assert config.groups["complaints"].overflow_to is None
    assert config.agents["a1002"].skills == frozenset()
    assert config.unknown_groups(["intake", "nope", "emergency_agents"]) == [
        "emergency_agents",
        "nope",
    ]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("groups: {}\n", "agents.yaml:1:1 missing `agents`"),
        (GOOD + "extra: 1\n", "agents.yaml:7:1 unknown key 'extra' (known: groups, agents)"),
        ("groups: [\n", "agents.yaml:2:1 YAML syntax error"),
        (
            GOOD.replace("{label: 投诉组}", "{label: 投诉组, colour: red}"),
            "agents.yaml:3:28 groups.complaints: unknown key 'colour'",
        ),
        (
            GOOD.replace("{label: 投诉组}", "{}"),
            "agents.yaml:3:15 groups.complaints: missing `label`",
        ),
        (
            GOOD.replace("overflow_to: complaints", "overflow_to: nowhere"),
            "agents.yaml:2:37 groups.intake.overflow_to: unknown group 'nowhere'",
        ),
        (
            GOOD.replace("overflow_to: complaints", "overflow_to: intake"),
            "groups.intake.overflow_to: a group cannot overflow to itself",
        ),
        (
            GOOD.replace("overflow_after: 120, ", ""),
            "agents.yaml:2:11 groups.intake: overflow_to and overflow_after go together",
        ),
        (
            GOOD.replace("max_wait: 300", "max_wait: 100"),
            "groups.intake.max_wait: max_wait must be longer than overflow_after",
        ),
        (
            GOOD.replace("max_wait: 300", "max_wait: -1"),
            "groups.intake.max_wait: expected seconds between 0 and 86400",
        ),
        (
            GOOD.replace("max_wait: 300", "max_wait: yes"),
            "groups.intake.max_wait: expected seconds",
        ),
        (
            GOOD.replace('extension: "1001"', "extension: 1001"),
            "agents.yaml:5:41 agents[0].extension: expected an extension (SIP user) (quote it)",
        ),
        (
            GOOD.replace('extension: "1002"', 'extension: "1001"'),
            "agents[1].extension: extension 1001 is already a1001's",
        ),
        (GOOD.replace("login: a1002", "login: a1001"), "agents[1].login: duplicate login 'a1001'"),
        (GOOD.replace("login: a1002", "login: a/2"), "agents[1].login: 'a/2' is not a login"),
        (
            GOOD.replace("groups: [intake, complaints]", "groups: [intake, sales]"),
            "agents.yaml:6:66 agents[1].groups[1]: unknown group 'sales' (groups: intake, complai",
        ),
        (
            GOOD.replace("skills: [cantonese]", "skills: [Cantonese]"),
            "agents[0].skills[0]: 'Cantonese' is not skill names",
        ),
        (
            GOOD.replace("skills: [cantonese]", "skills: [cantonese, cantonese]"),
            "agents[0].skills[1]: 'cantonese' is listed twice",
        ),
        (
            GOOD.replace("groups: [intake, complaints]", "groups: [intake]"),
            "agents.yaml:3:15 groups.complaints: no agent is in this group",
        ),
        (
            GOOD.replace("{label: 投诉组}", "{label: 投诉组, skills_required: [english]}"),
            "groups.complaints.skills_required: no agent of the group has all of: english",
        ),
        (
            GOOD.replace("  - {login: a1001", "  - login: [a1001]\n  - {login: a1003"),
            "agents.yaml:5:12 agents[0].login: expected a single value",
        ),
        (GOOD.replace("complaints: {label", "bad-name: {label"), "groups.bad-name: bad group name"),
        (GOOD.replace("  complaints:", "  intake:"), "3:3 groups.intake: duplicate key 'intake'"),
        (
            GOOD.replace("{label: 投诉组}", "{lable: 投诉组}"),
            "agents.yaml:3:16 groups.complaints: unknown key 'lable' (did you mean 'label'?)",
        ),
    ],
)
def test_problems_name_file_line_and_path(text: str, problem: str) -> None:
    with pytest.raises(AgentsError) as caught:
        parse_agents(text)
    assert any(problem in line for line in caught.value.problems), caught.value.problems


def test_every_problem_is_reported_at_once() -> None:
    text = GOOD.replace("login: a1002", "login: a1001").replace("max_wait: 300", "max_wait: x")
    with pytest.raises(AgentsError) as caught:
        parse_agents(text, source="config/agents.yaml")
    assert len(caught.value.problems) >= 2
    assert all(p.startswith("config/agents.yaml:") for p in caught.value.problems)


def test_an_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(AgentsError, match="cannot read"):
        load_agents(tmp_path / "missing.yaml")


def test_a_broken_agents_file_names_file_line_column(tmp_path: Path) -> None:
    broken = tmp_path / "agents.yaml"
    text = (REPO / "config/agents.yaml").read_text(encoding="utf-8")
    broken.write_text(text.replace("extension:", "extention:", 1), encoding="utf-8")
    with pytest.raises(AgentsError) as caught:
        load_agents(broken)
    line = next(n for n, x in enumerate(text.splitlines(), 1) if "extension:" in x)
    column = text.splitlines()[line - 1].index("extension:") + 1
    assert (
        f"{broken}:{line}:{column} agents[0]: unknown key 'extention' (did you mean 'extension'?)"
        in caught.value.problems
    ), caught.value.problems
