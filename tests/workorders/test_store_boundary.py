"""Architecture rules of the store, checked on the source: SQLAlchemy and Alembic are imported
by ``workorders/store`` only, and the store's classes and modules stay small."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("ivr", "asr", "routing", "recordings", "workorders", "hotline", "bench")
ADAPTER = ROOT / "workorders" / "store"
DATABASE_LIBRARIES = frozenset({"sqlalchemy", "alembic"})
#: Where the size rules of issue 15 are kept by this test (other packages have their own).
SIZED = (ROOT / "workorders" / "store", ROOT / "workorders" / "api")
MAX_METHODS = 20
MAX_LINES = 500


def imported_packages(source: str) -> set[str]:
    """Top-level packages ``source`` imports (``import x.y``, ``from x.y import z``, and
    ``importlib.import_module("x")`` / ``__import__("x")`` with a literal name)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
        elif (
            isinstance(node, ast.Call)
            and (getattr(node.func, "id", None) or getattr(node.func, "attr", None))
            in ("__import__", "import_module")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            names.add(node.args[0].value.split(".")[0])
    return names


def _product_files() -> list[Path]:
    return sorted(file for package in PRODUCT for file in (ROOT / package).rglob("*.py"))


def test_the_walker_sees_every_form_of_import() -> None:
    source = (
        "import sqlalchemy.orm\nfrom alembic import command\n"
        "def f():\n    import importlib\n    importlib.import_module('sqlalchemy.ext')\n"
    )
    assert imported_packages(source) >= {"sqlalchemy", "alembic", "importlib"}
    assert imported_packages("from .tables import x\nimport os\n") == {"os"}


def test_only_the_store_imports_the_database_libraries() -> None:
    files = _product_files()
    assert len(files) > 100  # the walk found the product code
    outside = [
        f"{file.relative_to(ROOT)}: {sorted(found)}"
        for file in files
        if not file.is_relative_to(ADAPTER)
        and (found := imported_packages(file.read_text(encoding="utf-8")) & DATABASE_LIBRARIES)
    ]
    assert outside == []


def oversized(package: Path) -> list[str]:
    """Modules of ``package`` over ``MAX_LINES`` lines and classes over ``MAX_METHODS``
    methods, counting those inherited from classes of the same package (a class made of
    mixins is as big as the mixins together)."""
    too_big = []
    classes: dict[str, ast.ClassDef] = {}
    for file in sorted(package.rglob("*.py")):
        source = file.read_text(encoding="utf-8")
        lines = source.count("\n")
        if lines > MAX_LINES:
            too_big.append(f"{file.relative_to(ROOT)}: {lines} lines")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.ClassDef):
                classes[node.name] = node

    def methods(name: str, seen: frozenset[str] = frozenset()) -> set[str]:
        node = classes[name]
        own = {
            item.name
            for item in node.body
            if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef)
        }
        for base in node.bases:
            if isinstance(base, ast.Name) and base.id in classes and base.id not in seen:
                own |= methods(base.id, seen | {name})
        return own

    for name in classes:
        count = len(methods(name))
        if count > MAX_METHODS:
            too_big.append(f"class {name} has {count} methods")
    return too_big


@pytest.mark.parametrize("package", SIZED, ids=lambda p: str(p.relative_to(ROOT)))
def test_classes_and_modules_stay_small(package: Path) -> None:
    assert oversized(package) == []
