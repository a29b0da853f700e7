"""aiomqtt stays in one module, and the IVR reaches the events only through the contract."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
# bench/ is left out: like the tests, its security battery talks to the broker as an outside
# client would (paho), it is no part of the product.
PRODUCT = ("ivr", "asr", "routing", "workorders", "recordings", "hotline", "events")
ADAPTER = "events/mqtt.py"
MQTT_LIBRARIES = {"aiomqtt", "paho"}


def imported(path: Path) -> set[str]:
    """Every absolute module ``path`` imports, at any depth of its code, dotted in full."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
        elif (
            isinstance(node, ast.Call)
            and (getattr(node.func, "id", None) or getattr(node.func, "attr", None))
            in ("__import__", "import_module")
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            names.add(str(node.args[0].value))
    return names


def modules(*packages: str) -> list[Path]:
    return sorted(path for package in packages for path in (REPO / package).rglob("*.py"))


def test_the_walk_sees_the_adapter_import_aiomqtt() -> None:
    assert "aiomqtt" in imported(REPO / ADAPTER)  # the check below can fail


def test_only_the_adapter_imports_an_mqtt_library() -> None:
    importers = {
        str(path.relative_to(REPO))
        for path in modules(*PRODUCT)
        if {name.split(".")[0] for name in imported(path)} & MQTT_LIBRARIES
    }
    assert importers == {ADAPTER}


def test_the_contract_imports_neither_ivr_nor_workorders() -> None:
    for path in modules("events"):
        roots = {name.split(".")[0] for name in imported(path)}
        assert not roots & {"ivr", "workorders", "asr", "hotline"}, path


def test_the_ivr_imports_no_workorders_code() -> None:
    for path in modules("ivr"):
        roots = {name.split(".")[0] for name in imported(path)}
        assert "workorders" not in roots, path
