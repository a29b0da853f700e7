"""The edge's tables (hotline/edge_db.py), its policy defines and ``hotline agents passwd``."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
import yaml

from hotline.cli import main
from hotline.edge import PKG_MB, SHM_MB, EdgeError, EdgePolicy, edge_policy, own_networks
from hotline.edge_db import (
    EdgeDbError,
    gateways_table,
    ha1,
    parse_subscriber_table,
    read_credentials,
    set_password,
    subscriber_table,
    write_tables,
)
from settings.errors import SettingsError
from settings.node import load_settings

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]


def test_ha1_is_rfc2617() -> None:
    expected = hashlib.md5(b"1001:hotline:s3cret-pass").hexdigest()
    assert ha1("1001", "hotline", "s3cret-pass") == expected


def test_the_subscriber_table_round_trips_and_holds_no_password(tmp_path: Path) -> None:
    created = set_password(tmp_path, "1001", "hotline", "s3cret-pass", forbidden=frozenset())
    assert created
    text = (tmp_path / "subscriber").read_text()
    assert "s3cret-pass" not in text
    assert read_credentials(tmp_path) == {"1001": ha1("1001", "hotline", "s3cret-pass")}
    assert not set_password(tmp_path, "1001", "hotline", "other-pass", forbidden=frozenset())
    assert parse_subscriber_table(subscriber_table({"1001": "0" * 32})) == {"1001": "0" * 32}


@pytest.mark.parametrize("user", ["120", "110", "8001"])
def test_a_dedicated_line_is_never_given_a_password(tmp_path: Path, user: str) -> None:
    with pytest.raises(EdgeDbError, match="never registrable"):
        set_password(tmp_path, user, "hotline", "s3cret-pass", forbidden=frozenset({user}))


@pytest.mark.parametrize("user", ["", "10 01", "1001:x", "a" * 40])
def test_a_user_name_the_edge_cannot_match_is_refused(tmp_path: Path, user: str) -> None:
    with pytest.raises(EdgeDbError):
        set_password(tmp_path, user, "hotline", "s3cret-pass", forbidden=frozenset())


def test_gateways_are_escaped_for_db_text_and_checked() -> None:
    assert "120:0:0:sip\\:10.0.0.5\\:5060:0" in gateways_table({"120": "sip:10.0.0.5:5060"})
    with pytest.raises(EdgeDbError, match="sip:HOST"):
        gateways_table({"120": "sip:10.0.0.5:5060;lr>, <sip:evil"})


def test_write_tables_keeps_existing_credentials(tmp_path: Path) -> None:
    set_password(tmp_path, "1001", "hotline", "s3cret-pass", forbidden=frozenset())
    write_tables(tmp_path, {"120": "sip:10.0.0.5"})
    assert set(read_credentials(tmp_path)) == {"1001"}
    assert "subscriber:7" in (tmp_path / "version").read_text()


def test_the_policy_becomes_defines_and_refuses_what_would_break_the_config(
    tmp_path: Path,
) -> None:
    policy = EdgePolicy(db_dir=tmp_path, allow=("10.1.0.0/16", "127.0.0.1/32"), rate=40)
    defines = policy.defines()
    assert 'ALLOW="10.1.0.0/16,127.0.0.1/32"' in defines and "RATE=40" in defines
    assert f'DBURL="text://{tmp_path.resolve()}"' in defines
    with pytest.raises(EdgeError):
        EdgePolicy(db_dir=tmp_path, allow=('1.2.3.4"; exit; "',)).defines()
    assert (SHM_MB, PKG_MB) == (256, 16)  # tm ran out of shared memory at 64 MB


def test_own_hosts_are_always_on_the_allow_list() -> None:
    assert own_networks(["10.1.0.0/16"], "127.0.0.1", "edge.example", "10.1.2.3") == (
        "10.1.0.0/16", "127.0.0.1/32", "10.1.2.3/32",
    )  # fmt: skip


def test_settings_validate_the_allow_list(tmp_path: Path) -> None:
    path = tmp_path / "hotline.yaml"
    path.write_text(yaml.safe_dump({"edge": {"allow": ["10.1.0.0/16", "not-an-address"]}}))
    with pytest.raises(SettingsError, match=r"edge\.allow"):
        load_settings(path)


def test_edge_policy_writes_the_gateways_of_the_settings(tmp_path: Path) -> None:
    path = tmp_path / "hotline.yaml"
    path.write_text(yaml.safe_dump({
        "edge": {"gateways": {"120": "sip:10.0.0.5:5060"}, "allow": ["10.9.0.0/24"]},
        "paths": {"edge_db": str(tmp_path / "edge")},
    }))  # fmt: skip
    policy = edge_policy(load_settings(path))
    assert "sip\\:10.0.0.5\\:5060" in (tmp_path / "edge" / "gateways").read_text()
    assert policy.allow == ("10.9.0.0/24", "127.0.0.1/32")


def _run(config: Path, *argv: str) -> int:
    with pytest.raises(SystemExit) as exit_:
        main(["--config", str(config), *argv])
    return int(exit_.value.code or 0)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "hotline.yaml"
    path.write_text(yaml.safe_dump({
        "edge": {"gateways": {"8801": "sip:10.0.0.8"}},
        "ivr": {"menu": str(REPO / "config/menus/12320.yaml")},
        "paths": {"edge_db": str(tmp_path / "edge")},
    }))  # fmt: skip
    return path


def test_agents_passwd_stores_ha1_only(
    config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("agent-password-1\n"))
    assert _run(config, "agents", "passwd", "1001", "--password-stdin") == 0
    assert read_credentials(tmp_path / "edge") == {
        "1001": ha1("1001", "hotline", "agent-password-1")
    }
    assert "agent-password-1" not in (tmp_path / "edge" / "subscriber").read_text()
    assert _run(config, "agents", "remove", "1001") == 0
    assert read_credentials(tmp_path / "edge") == {}


@pytest.mark.parametrize("line", ["120", "122", "120-backup", "8001", "8801", "12320"])
def test_agents_passwd_refuses_lines_gateways_and_the_ivr_number(
    config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, line: str,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.setattr("sys.stdin", io.StringIO("agent-password-1\n"))
    assert _run(config, "agents", "passwd", line, "--password-stdin") == 2
    assert "不能注册" in capsys.readouterr().err
    assert read_credentials(tmp_path / "edge") == {}
