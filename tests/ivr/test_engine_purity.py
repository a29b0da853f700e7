"""The engine is sans-io: no module of ``ivr/engine`` may import an I/O library."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ENGINE = Path(__file__).resolve().parents[2] / "ivr" / "engine"
FORBIDDEN = {
    "asyncio",
    "pyVoIP",
    "vosk",
    "aiohttp",
    "sqlalchemy",
    "aiomqtt",
    "threading",
    "socket",
    "subprocess",
    "time",
}


def forbidden_imports(source: str) -> list[str]:
    """Top-level packages from ``FORBIDDEN`` that ``source`` imports (case-insensitive)."""
    names: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name | ast.Attribute)
            and (getattr(node.func, "id", None) or getattr(node.func, "attr", None))
            in ("__import__", "import_module")
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            names.append(str(node.args[0].value))
    banned = {name.lower() for name in FORBIDDEN}
    return sorted(name for name in names if name.split(".")[0].lower() in banned)


def engine_modules() -> list[Path]:
    return sorted(ENGINE.rglob("*.py"))


def test_engine_modules_are_found() -> None:
    names = {path.name for path in engine_modules()}
    assert {"engine.py", "flow.py", "menu.py", "record.py"} <= names


@pytest.mark.parametrize("path", engine_modules(), ids=lambda path: str(path.relative_to(ENGINE)))
def test_engine_module_imports_no_io_library(path: Path) -> None:
    assert forbidden_imports(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(
    ("source", "found"),
    [
        ("import asyncio", ["asyncio"]),
        ("from pyVoIP.VoIP import VoIPPhone", ["pyVoIP.VoIP"]),
        ("import os, vosk", ["vosk"]),
        ("from sqlalchemy.ext.asyncio import AsyncSession", ["sqlalchemy.ext.asyncio"]),
        ("def f():\n    import aiohttp.web", ["aiohttp.web"]),
        ("importlib.import_module('asyncio')", ["asyncio"]),
        ("import datetime\nfrom ivr.engine import actions", []),
        ("from . import asyncio_helpers", []),
    ],
)
def test_the_checker_finds_forbidden_imports(source: str, found: list[str]) -> None:
    assert forbidden_imports(source) == found
