"""The architecture rules of pyproject's ``[tool.importlinter]`` hold on the code as it is.

One adapter module per external library, sans-io cores that import no I/O, ``hotline`` on
top and ``settings`` at the bottom. ``./dev test`` runs ``lint-imports`` too; this test makes
a plain ``pytest -m unit`` catch a stray import as well.
"""

from __future__ import annotations

from pathlib import Path

import importlinter.cli
import pytest
from importlinter.cli import lint_imports

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[1]


def test_every_import_contract_is_kept(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(REPO)
    monkeypatch.syspath_prepend(str(REPO))
    # lint_imports configures logging with dictConfig, which disables every logger that
    # exists already (disable_existing_loggers): the later tests' caplog then saw nothing.
    monkeypatch.setattr(importlinter.cli, "_configure_logging", lambda verbose: None)
    status = lint_imports(config_filename=str(REPO / "pyproject.toml"), no_cache=True, no_logo=True)
    report = capsys.readouterr().out
    assert "BROKEN" not in report, report
    assert status == 0, report
    assert " 0 broken" in report, report
