"""``config/hotline.yaml``: the broker accounts of the node."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotline.supervisor import _mqtt_account_args
from settings.errors import SettingsError
from settings.node import load_settings

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]


def test_without_accounts_the_node_connects_anonymously() -> None:
    settings = load_settings(REPO / "config/hotline.yaml")
    assert (settings.mqtt.ivr, settings.mqtt.workorders) == (None, None)
    assert _mqtt_account_args(settings) == []


def test_accounts_name_a_password_file(tmp_path: Path) -> None:
    (tmp_path / "ivr.pw").write_text("s3cret\n")
    config = tmp_path / "hotline.yaml"
    config.write_text(
        "mqtt:\n"
        f"  ivr: {{username: ivr, password_file: {tmp_path / 'ivr.pw'}}}\n"
        f"  workorders: {{username: workorders, password_file: {tmp_path / 'wo.pw'}}}\n"
    )
    settings = load_settings(config)
    assert settings.mqtt.ivr is not None and settings.mqtt.ivr.password() == "s3cret"
    # The service reads its own file; the password never goes on a command line.
    assert _mqtt_account_args(settings) == [
        "--mqtt-username", "workorders", "--mqtt-password-file", str(tmp_path / "wo.pw"),
    ]  # fmt: skip


def test_an_account_without_a_password_file_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "hotline.yaml"
    config.write_text("mqtt:\n  ivr: {username: ivr, password: plain}\n")
    with pytest.raises(SettingsError) as caught:
        load_settings(config)
    problems = str(caught.value).splitlines()
    assert f"{config}:2:8 mqtt.ivr: missing required key 'password_file'" in problems
    assert f"{config}:2:24 mqtt.ivr.password: unknown key 'password' (did you mean " \
        "'password_file'?)" in problems  # fmt: skip


def test_a_misspelt_setting_names_file_line_column_and_the_near_miss(tmp_path: Path) -> None:
    config = tmp_path / "hotline.yaml"
    config.write_text("api:\n  port: 8320\nivr:\n  host: 127.0.0.1\n  sip_prot: 5070\n")
    with pytest.raises(SettingsError) as caught:
        load_settings(config)
    assert str(caught.value) == (
        f"{config}:5:3 ivr.sip_prot: unknown key 'sip_prot' (did you mean 'sip_port'?)"
    )


def test_broken_yaml_in_the_settings_names_file_line_column(tmp_path: Path) -> None:
    config = tmp_path / "hotline.yaml"
    config.write_text("api:\n  port: 8320\n  port: 8321\n")
    with pytest.raises(SettingsError, match=r"hotline\.yaml:3:3 api\.port: duplicate key 'port'"):
        load_settings(config)
