"""Settings sit below everything: the packages that run the hotline never import ``hotline``.

``hotline`` is the command line (issue 15): it starts the workers and the service and hands
them the path of ``hotline.yaml``; they read it through ``settings``. An import the other way
(the engine room importing the CLI) drags the whole CLI into every worker and makes a cycle
waiting to happen. ``settings`` itself imports none of the packages it configures.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
BELOW_THE_CLI = ("ivr", "workorders", "routing", "asr", "recordings", "events")
CONFIGURED = (*BELOW_THE_CLI, "hotline")


def imported_packages(path: Path) -> Iterator[tuple[int, str]]:
    """(line, top-level package) of every import in ``path``, lazy ones in functions too."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name.partition(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module.partition(".")[0]


def offenders(packages: tuple[str, ...], forbidden: tuple[str, ...]) -> list[str]:
    found = []
    for package in packages:
        for path in sorted((REPO / package).rglob("*.py")):
            for line, name in imported_packages(path):
                if name in forbidden:
                    found.append(f"{path.relative_to(REPO)}:{line} imports {name}")
    return found


@pytest.mark.parametrize("package", BELOW_THE_CLI)
def test_packages_below_the_cli_never_import_it(package: str) -> None:
    assert offenders((package,), ("hotline",)) == []


def test_settings_import_none_of_the_packages_they_configure() -> None:
    assert offenders(("settings",), CONFIGURED) == []


def test_the_walk_sees_imports_inside_functions(tmp_path: Path) -> None:
    module = tmp_path / "lazy.py"
    module.write_text("def f() -> None:\n    from hotline.cli import main\n    import hotline\n")
    assert list(imported_packages(module)) == [(2, "hotline"), (3, "hotline")]


def test_only_the_positioned_reader_imports_pyyaml() -> None:
    """Every YAML file goes through ``settings.located`` (file:line:col errors); ruamel.yaml
    only edits calendar.yaml keeping its comments (``routing/calendar_edit.py``)."""
    found = offenders(("settings", *CONFIGURED), ("yaml", "ruamel"))
    assert [line for line in found if not line.startswith("settings/yamlsource.py:")] == [
        line for line in found if line.startswith("routing/calendar_edit.py:")
    ]
    assert any(line.startswith("settings/yamlsource.py:") for line in found)
